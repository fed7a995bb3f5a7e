import Foundation
import SMSCore
import SMSStore

/// What the supervisor's monitor and threshold view show of a campaign (SPEC S1, S2, S3 info, S6), read
/// from the store and computed with the SMSCore metrics (`docs/metrics.md`). "Today" is the day in the
/// campaign's time zone. Which campaigns and agents a viewer may see is the caller's to check; `scope`
/// only decides which other campaigns are named in an agent's channels.
public struct CampaignMonitor: Sendable {
    let storage: Storage
    /// Open conversations listed per campaign at most (agents' conversations and the queue).
    static let openLimit = 2000

    public init(storage: Storage) {
        self.storage = storage
    }

    static func timeZone(_ campaign: CampaignRecord) -> TimeZone {
        TimeZone(identifier: campaign.timeZone) ?? TimeZone(identifier: "UTC") ?? .current
    }

    static func thresholds(_ campaign: CampaignRecord) -> MetricThresholds {
        MetricThresholds(serviceLevelSeconds: campaign.thresholds.serviceLevelSeconds, abandonSeconds: campaign.thresholds.abandonSeconds)
    }

    /// The agent's status as the monitor shows it, and since when.
    public static func status(of agent: MonitoredAgent, cap: Int) -> (status: String, since: Date?) {
        if agent.disabled || agent.sessions == 0 {
            return ("offline", agent.status.status == .offline ? agent.status.since : nil)
        }
        switch agent.status.status {
        case .offline: return ("offline", agent.status.since)
        case .paused: return ("paused", agent.status.since)
        case .available: return (agent.open + agent.liveOffers >= cap ? "busy" : "available", agent.status.since)
        }
    }

    /// The campaign monitor now.
    public func snapshot(of campaign: CampaignRecord, scope: CampaignScope, at now: Date = Date()) async throws -> MonitorSnapshotView {
        let zone = Self.timeZone(campaign)
        let day = LocalDate(containing: now, in: zone)
        let window = day.interval(in: zone)
        let facts = try await storage.supervision.facts(campaignID: campaign.id, from: window.start, to: window.end)
        let agents = try await storage.supervision.agents(campaignID: campaign.id, completedSince: window.start, at: now)
        let open = try await storage.conversations.list(ConversationFilter(campaignID: campaign.id, states: ConversationState.open),
                                                        limit: Self.openLimit, beforeID: nil, at: now)
        let names = Dictionary(try await storage.campaigns.list().map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let held = Dictionary(grouping: open.filter { $0.conversation.state == .assigned }, by: { $0.conversation.agentID ?? 0 })
        let queue = open.filter { $0.conversation.state == .queued || $0.conversation.state == .offered }
            .sorted { ($0.conversation.queuedAt ?? $0.conversation.openedAt, $0.conversation.id)
                < ($1.conversation.queuedAt ?? $1.conversation.openedAt, $1.conversation.id) }
        return MonitorSnapshotView(
            campaign: MonitorCampaignView(campaign), now: now, day: day.description,
            agents: agents.map { agent in
                Self.view(agent, campaign: campaign, scope: scope, names: names,
                          conversations: (held[agent.userID] ?? []).sorted { $0.conversation.id < $1.conversation.id })
            },
            queue: queue.map {
                QueueEntryView(conversationId: $0.conversation.id, clientNumber: $0.conversation.clientNumber,
                               state: $0.conversation.state.rawValue, queuedAt: $0.conversation.queuedAt, offeredTo: $0.offers.map(\.userID))
            },
            today: WindowMetricsView(ConversationMetrics(facts: facts, window: window, thresholds: Self.thresholds(campaign), now: now)),
            live: LiveQueueView(LiveQueue(facts: facts, now: now)))
    }

    static func view(_ agent: MonitoredAgent, campaign: CampaignRecord, scope: CampaignScope, names: [Int64: String],
                     conversations: [ConversationListItem]) -> MonitorAgentView {
        let (status, since) = Self.status(of: agent, cap: campaign.maxInteractionsPerAgent)
        let channels = agent.openByCampaign.filter { scope.allows($0.key) && $0.value > 0 }
            .map { ChannelView(campaignId: $0.key, campaignName: names[$0.key] ?? "", open: $0.value) }
            .sorted { ($0.campaignName, $0.campaignId) < ($1.campaignName, $1.campaignId) }
        return MonitorAgentView(
            userId: agent.userID, username: agent.username, displayName: agent.displayName, status: status,
            reason: status == "paused" ? agent.status.reason : nil, since: since, signedIn: agent.sessions > 0 && !agent.disabled,
            open: agent.open, offers: agent.liveOffers, channels: channels, otherOpen: agent.open - channels.reduce(0) { $0 + $1.open },
            completedToday: agent.completed, conversations: conversations.map(MonitoredConversationView.init))
    }

    /// The threshold view of a day (`every` seconds per slice of the series): for today, as of now.
    public func metrics(of campaign: CampaignRecord, day: LocalDate?, every: Int, at now: Date = Date()) async throws -> DayMetricsView {
        let zone = Self.timeZone(campaign)
        let today = LocalDate(containing: now, in: zone)
        let day = day ?? today
        let window = day.interval(in: zone)
        let thresholds = Self.thresholds(campaign)
        // The day's conversations, and (for the live values) every open one.
        var facts = try await storage.supervision.facts(campaignID: campaign.id, from: window.start, to: window.end)
        var live = facts
        if day != today {
            let todayWindow = today.interval(in: zone)
            live = try await storage.supervision.facts(campaignID: campaign.id, from: todayWindow.start, to: todayWindow.end)
        }
        facts.sort { $0.id < $1.id }
        live = live.filter { $0.closedAt == nil }
        return DayMetricsView(
            campaign: MonitorCampaignView(campaign), day: day.description, now: now, every: every,
            totals: WindowMetricsView(ConversationMetrics(facts: facts, window: window, thresholds: thresholds, now: now)),
            series: ConversationMetrics.series(facts: facts, window: window, every: TimeInterval(every), thresholds: thresholds, now: now)
                .map(WindowMetricsView.init),
            live: LiveQueueView(LiveQueue(facts: live, now: now)))
    }

    /// An agent's details and today's figures over the campaigns in `scope` they are a member of.
    public func info(of user: User, scope: CampaignScope, at now: Date = Date()) async throws -> AgentInfoView {
        let memberOf = try await storage.conversations.memberCampaignIDs(userID: user.id)
        let all = try await storage.campaigns.list()
        let names = Dictionary(all.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        var campaigns: [AgentInfoView.AgentCampaignView] = []
        var today = QueueMetrics()
        var board: MonitoredAgent?
        var firstCampaign: CampaignRecord?
        for campaign in all where memberOf.contains(campaign.id) && scope.allows(campaign.id) {
            let zone = Self.timeZone(campaign)
            let window = LocalDate(containing: now, in: zone).interval(in: zone)
            guard let agent = try await storage.supervision.agents(campaignID: campaign.id, completedSince: window.start, at: now)
                .first(where: { $0.userID == user.id }) else { continue }
            if board == nil {
                board = agent
                firstCampaign = campaign
            }
            campaigns.append(.init(id: campaign.id, name: campaign.name, penalty: agent.penalty, open: agent.openByCampaign[campaign.id] ?? 0,
                                   completedToday: agent.completed))
            let facts = try await storage.supervision.facts(campaignID: campaign.id, from: window.start, to: window.end)
                .filter { $0.agentID == user.id }
            today = today + QueueMetrics(facts: facts, window: window, thresholds: Self.thresholds(campaign), now: now)
        }
        let status = try await storage.conversations.status(userID: user.id)
        let sessions = try await storage.supervision.sessionCount(userID: user.id, at: now)
        let agent = board ?? MonitoredAgent(
            userID: user.id, username: user.username, displayName: user.displayName, disabled: user.disabled, position: 0, penalty: 0,
            status: status, sessions: sessions, openByCampaign: [:], liveOffers: 0, completed: 0)
        let open = try await storage.conversations.inbox(agentID: user.id, at: now)
            .filter { $0.conversation.state == .assigned && scope.allows($0.conversation.campaignID) }
        var view = Self.view(agent, campaign: firstCampaign ?? CampaignRecord(name: "", timeZone: "UTC", schedule: "{}", createdAt: now,
                                                                                 updatedAt: now),
                             scope: scope, names: names, conversations: open)
        view.completedToday = campaigns.reduce(0) { $0 + $1.completedToday }
        return AgentInfoView(agent: view, role: user.role.rawValue, disabled: user.disabled, sessions: sessions, campaigns: campaigns,
                             today: QueueMetricsView(today))
    }
}
