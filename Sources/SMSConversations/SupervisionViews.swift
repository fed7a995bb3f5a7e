import Foundation
import SMSCore
import SMSStore

// The JSON shapes of the supervisor's screens (SPEC S1-S3, S6): the campaign monitor, the threshold
// view's metrics and charts, an agent's details and the supervisor-agent chat. Times are ISO 8601,
// durations are seconds, ratios are fractions 0...1; every field is written, null included (a ratio
// or average with nothing to divide is null, shown as "—").

/// Writes every optional as a value or `null` (synthesised `Encodable` would leave nil ones out).
struct NullWriting<Key: CodingKey> {
    var container: KeyedEncodingContainer<Key>

    mutating func put<T: Encodable>(_ value: T, _ key: Key) throws { try container.encode(value, forKey: key) }
}

/// A campaign as the supervisor's screens need it: name, limits and the thresholds values are compared with (SPEC C4).
public struct MonitorCampaignView: Encodable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var enabled: Bool
    public var timeZone: String
    public var maxInteractionsPerAgent: Int
    /// Target share of conversations answered within the service-level threshold, 0-100.
    public var serviceLevelPercent: Double
    public var thresholds: ThresholdsView

    public struct ThresholdsView: Encodable, Sendable, Equatable {
        public var serviceLevelSeconds: Int
        public var abandonSeconds: Int
        public var chatTimeSeconds: Int
        public var acdWaitSeconds: Int
        public var acdQueueLength: Int
    }

    public init(_ c: CampaignRecord) {
        id = c.id
        name = c.name
        enabled = c.enabled
        timeZone = c.timeZone
        maxInteractionsPerAgent = c.maxInteractionsPerAgent
        serviceLevelPercent = c.serviceLevelPercent
        thresholds = ThresholdsView(
            serviceLevelSeconds: c.thresholds.serviceLevelSeconds, abandonSeconds: c.thresholds.abandonSeconds,
            chatTimeSeconds: c.thresholds.chatTimeSeconds, acdWaitSeconds: c.thresholds.acdWaitSeconds,
            acdQueueLength: c.thresholds.acdQueueLength)
    }
}

/// The counts, ratios and times of the conversations counted in a window (`QueueMetrics`).
public struct QueueMetricsView: Encodable, Sendable, Equatable {
    public var offered: Int
    public var answered: Int
    public var answeredWithinServiceLevel: Int
    public var abandoned: Int
    public var abandonedUnanswered: Int
    public var abandonedClosed: Int
    public var abandonedOptedOut: Int
    public var repliedAfterAbandon: Int
    public var waiting: Int
    public var serviceLevel: Double?
    public var serviceLevelCountingAbandons: Double?
    public var abandonRate: Double?
    public var averageWait: Double?
    public var longestWait: Double?
    public var averageFirstResponseTime: Double?
    public var handled: Int
    public var averageHandleTime: Double?
    public var closed: Int
    public var averageChatTime: Double?
    public var longestChatTime: Double?

    public init(_ q: QueueMetrics) {
        offered = q.offered
        answered = q.answered
        answeredWithinServiceLevel = q.answeredWithinServiceLevel
        abandoned = q.abandoned
        abandonedUnanswered = q.abandonedUnanswered
        abandonedClosed = q.abandonedClosed
        abandonedOptedOut = q.abandonedOptedOut
        repliedAfterAbandon = q.repliedAfterAbandon
        waiting = q.waiting
        serviceLevel = q.serviceLevel
        serviceLevelCountingAbandons = q.serviceLevelCountingAbandons
        abandonRate = q.abandonRate
        averageWait = q.averageWait
        longestWait = q.longestWait
        averageFirstResponseTime = q.averageFirstResponseTime
        handled = q.handled
        averageHandleTime = q.averageHandleTime
        closed = q.closed
        averageChatTime = q.averageChatTime
        longestChatTime = q.longestChat
    }

    enum CodingKeys: String, CodingKey {
        case offered, answered, answeredWithinServiceLevel, abandoned, abandonedUnanswered, abandonedClosed, abandonedOptedOut,
             repliedAfterAbandon, waiting, serviceLevel, serviceLevelCountingAbandons, abandonRate, averageWait, longestWait,
             averageFirstResponseTime, handled, averageHandleTime, closed, averageChatTime, longestChatTime
    }

    public func encode(to encoder: any Encoder) throws {
        var w = NullWriting(container: encoder.container(keyedBy: CodingKeys.self))
        try w.put(offered, .offered)
        try w.put(answered, .answered)
        try w.put(answeredWithinServiceLevel, .answeredWithinServiceLevel)
        try w.put(abandoned, .abandoned)
        try w.put(abandonedUnanswered, .abandonedUnanswered)
        try w.put(abandonedClosed, .abandonedClosed)
        try w.put(abandonedOptedOut, .abandonedOptedOut)
        try w.put(repliedAfterAbandon, .repliedAfterAbandon)
        try w.put(waiting, .waiting)
        try w.put(serviceLevel, .serviceLevel)
        try w.put(serviceLevelCountingAbandons, .serviceLevelCountingAbandons)
        try w.put(abandonRate, .abandonRate)
        try w.put(averageWait, .averageWait)
        try w.put(longestWait, .longestWait)
        try w.put(averageFirstResponseTime, .averageFirstResponseTime)
        try w.put(handled, .handled)
        try w.put(averageHandleTime, .averageHandleTime)
        try w.put(closed, .closed)
        try w.put(averageChatTime, .averageChatTime)
        try w.put(longestChatTime, .longestChatTime)
    }
}

/// How many conversations ran at once over a window (`Occupancy`): average and peak.
public struct OccupancyView: Encodable, Sendable, Equatable {
    public var average: Double?
    public var peak: Int

    public init(_ o: Occupancy) {
        average = o.average
        peak = o.peak
    }

    enum CodingKeys: String, CodingKey { case average, peak }

    public func encode(to encoder: any Encoder) throws {
        var w = NullWriting(container: encoder.container(keyedBy: CodingKeys.self))
        try w.put(average, .average)
        try w.put(peak, .peak)
    }
}

/// The metrics of one window: a day, or a slice of a chart.
public struct WindowMetricsView: Encodable, Sendable, Equatable {
    public var start: Date
    public var end: Date
    public var queue: QueueMetricsView
    /// Conversations waiting in the queue at once.
    public var queueLength: OccupancyView
    /// Conversations assigned to agents at once.
    public var concurrency: OccupancyView

    public init(_ m: ConversationMetrics) {
        start = m.window.start
        end = m.window.end
        queue = QueueMetricsView(m.queue)
        queueLength = OccupancyView(m.queueLength)
        concurrency = OccupancyView(m.concurrency)
    }
}

/// The queue and open conversations now (`LiveQueue`).
public struct LiveQueueView: Encodable, Sendable, Equatable {
    public var queueLength: Int
    public var longestQueueWait: Double?
    public var awaitingReply: Int
    public var longestAwaitingReply: Double?
    public var openConversations: Int
    public var longestOpenChat: Double?

    public init(_ q: LiveQueue) {
        queueLength = q.queueLength
        longestQueueWait = q.longestQueueWait
        awaitingReply = q.awaitingReply
        longestAwaitingReply = q.longestAwaitingReply
        openConversations = q.openConversations
        longestOpenChat = q.longestOpenChat
    }

    enum CodingKeys: String, CodingKey {
        case queueLength, longestQueueWait, awaitingReply, longestAwaitingReply, openConversations, longestOpenChat
    }

    public func encode(to encoder: any Encoder) throws {
        var w = NullWriting(container: encoder.container(keyedBy: CodingKeys.self))
        try w.put(queueLength, .queueLength)
        try w.put(longestQueueWait, .longestQueueWait)
        try w.put(awaitingReply, .awaitingReply)
        try w.put(longestAwaitingReply, .longestAwaitingReply)
        try w.put(openConversations, .openConversations)
        try w.put(longestOpenChat, .longestOpenChat)
    }
}

/// An open conversation an agent holds, as the monitor lists it (what the supervisor can spy on).
public struct MonitoredConversationView: Encodable, Sendable, Equatable {
    public var id: Int64
    public var clientNumber: String
    public var state: String
    public var openedAt: Date
    public var assignedAt: Date?
    public var lastActivityAt: Date
    /// The oldest client message no agent answered since.
    public var waitingSince: Date?
    public var unreadCount: Int

    public init(_ item: ConversationListItem) {
        id = item.conversation.id
        clientNumber = item.conversation.clientNumber
        state = item.conversation.state.rawValue
        openedAt = item.conversation.openedAt
        assignedAt = item.conversation.assignedAt
        lastActivityAt = item.conversation.lastActivityAt
        waitingSince = item.waitingSince
        unreadCount = item.conversation.unreadCount
    }

    enum CodingKeys: String, CodingKey { case id, clientNumber, state, openedAt, assignedAt, lastActivityAt, waitingSince, unreadCount }

    public func encode(to encoder: any Encoder) throws {
        var w = NullWriting(container: encoder.container(keyedBy: CodingKeys.self))
        try w.put(id, .id)
        try w.put(clientNumber, .clientNumber)
        try w.put(state, .state)
        try w.put(openedAt, .openedAt)
        try w.put(assignedAt, .assignedAt)
        try w.put(lastActivityAt, .lastActivityAt)
        try w.put(waitingSince, .waitingSince)
        try w.put(unreadCount, .unreadCount)
    }
}

/// Open conversations of an agent in one campaign ("channels with open interactions", SPEC S1).
public struct ChannelView: Encodable, Sendable, Equatable {
    public var campaignId: Int64
    public var campaignName: String
    public var open: Int
}

/// An agent's line on the campaign monitor (SPEC S1).
public struct MonitorAgentView: Encodable, Sendable, Equatable {
    public var userId: Int64
    public var username: String
    public var displayName: String
    /// `offline` (no session, disabled, or set offline), `available`, `busy` (available, but holding as many
    /// conversations and offers as the campaign allows: offered nothing more) or `paused`.
    public var status: String
    /// Why the agent is paused; null otherwise.
    public var reason: String?
    /// Since when the agent is in this status; null when unknown (signed out without setting a status).
    public var since: Date?
    public var signedIn: Bool
    /// Open conversations assigned to the agent, in every campaign.
    public var open: Int
    /// Live offers to the agent.
    public var offers: Int
    /// Campaigns in which the agent holds open conversations: those the viewer may see by name.
    public var channels: [ChannelView]
    /// Open conversations in campaigns the viewer may not see.
    public var otherOpen: Int
    /// Conversations of this campaign the agent closed today (the campaign's day).
    public var completedToday: Int
    /// The agent's open conversations of this campaign.
    public var conversations: [MonitoredConversationView]

    enum CodingKeys: String, CodingKey {
        case userId, username, displayName, status, reason, since, signedIn, open, offers, channels, otherOpen, completedToday,
             conversations
    }

    public func encode(to encoder: any Encoder) throws {
        var w = NullWriting(container: encoder.container(keyedBy: CodingKeys.self))
        try w.put(userId, .userId)
        try w.put(username, .username)
        try w.put(displayName, .displayName)
        try w.put(status, .status)
        try w.put(reason, .reason)
        try w.put(since, .since)
        try w.put(signedIn, .signedIn)
        try w.put(open, .open)
        try w.put(offers, .offers)
        try w.put(channels, .channels)
        try w.put(otherOpen, .otherOpen)
        try w.put(completedToday, .completedToday)
        try w.put(conversations, .conversations)
    }
}

/// A conversation waiting in the campaign queue (SPEC S2).
public struct QueueEntryView: Encodable, Sendable, Equatable {
    public var conversationId: Int64
    public var clientNumber: String
    /// `queued` or `offered`.
    public var state: String
    public var queuedAt: Date?
    /// The members it is offered to now.
    public var offeredTo: [Int64]

    enum CodingKeys: String, CodingKey { case conversationId, clientNumber, state, queuedAt, offeredTo }

    public func encode(to encoder: any Encoder) throws {
        var w = NullWriting(container: encoder.container(keyedBy: CodingKeys.self))
        try w.put(conversationId, .conversationId)
        try w.put(clientNumber, .clientNumber)
        try w.put(state, .state)
        try w.put(queuedAt, .queuedAt)
        try w.put(offeredTo, .offeredTo)
    }
}

/// The campaign monitor (SPEC S1, S2, S6 live): agents, queue, today so far and the queue now.
public struct MonitorSnapshotView: Encodable, Sendable {
    public var campaign: MonitorCampaignView
    public var now: Date
    /// Today in the campaign's time zone, `YYYY-MM-DD`.
    public var day: String
    public var agents: [MonitorAgentView]
    public var queue: [QueueEntryView]
    /// The day so far.
    public var today: WindowMetricsView
    public var live: LiveQueueView
}

/// The threshold view's day (SPEC S6): the day's metrics and one slice per `every` seconds for the charts.
public struct DayMetricsView: Encodable, Sendable {
    public var campaign: MonitorCampaignView
    public var day: String
    public var now: Date
    /// Seconds per slice of `series`.
    public var every: Int
    public var totals: WindowMetricsView
    public var series: [WindowMetricsView]
    /// The queue now (also for a past day: it is what the thresholds are compared with live).
    public var live: LiveQueueView
}

/// An agent's details and today's figures (SPEC S3 "info").
public struct AgentInfoView: Encodable, Sendable {
    public var agent: MonitorAgentView
    public var role: String
    public var disabled: Bool
    public var sessions: Int
    /// The campaigns of the agent the viewer may see, with the agent's penalty and figures there.
    public var campaigns: [AgentCampaignView]
    /// Today, over those campaigns: the conversations counted today that the agent held.
    public var today: QueueMetricsView

    public struct AgentCampaignView: Encodable, Sendable {
        public var id: Int64
        public var name: String
        public var penalty: Int
        public var open: Int
        public var completedToday: Int
    }
}

/// A supervisor-agent chat message (SPEC S3).
public struct ChatMessageView: Encodable, Sendable, Equatable {
    public var id: Int64
    public var fromUserId: Int64
    public var fromName: String
    public var toUserId: Int64
    public var toName: String
    public var text: String
    public var at: Date

    public init(_ m: AgentChatMessage) {
        id = m.id
        fromUserId = m.fromUserID
        fromName = m.fromName
        toUserId = m.toUserID
        toName = m.toName
        text = m.body
        at = m.at
    }
}
