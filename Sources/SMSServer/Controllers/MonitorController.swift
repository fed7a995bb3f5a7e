import Foundation
import Hummingbird
import SMSConversations
import SMSCore
import SMSStore

/// The supervisor's live screens and actions (SPEC S1-S3, S6): the campaign monitor (agents, queue, the
/// day so far and the queue now), the threshold view's day with its series for charts, and the actions
/// on an agent (info, pause, disconnect, chat) and on a conversation (spy, take over). The agent's side
/// of the chat is `/api/v1/agent/chat`.
///
/// Scope: an admin sees every campaign; a supervisor only the campaigns an admin assigned them to
/// (`ConversationController.viewer`, the one scope function of the conversation API), the agents who
/// are members of one of them, and their conversations. Anything else answers 404, as if it did not
/// exist. Every action, reads of an agent's details and spying included, is written to the audit log.
///
/// Spying is a plain read: it marks nothing read, sends no typing sign, changes no offer or state, and
/// publishes no event; what the agent and the client see does not change.
struct MonitorController {
    let storage: Storage
    let inbox: Inbox
    let supervision: Supervision
    let monitor: CampaignMonitor
    let conversations: ConversationController
    let screens: ScreenMonitoring

    init(storage: Storage, inbox: Inbox) {
        self.storage = storage
        self.inbox = inbox
        supervision = Supervision(storage: storage, inbox: inbox)
        screens = ScreenMonitoring(storage: storage, inbox: inbox)
        monitor = CampaignMonitor(storage: storage)
        conversations = ConversationController(storage: storage, inbox: inbox)
    }

    // MARK: bodies

    struct PauseInput: Decodable { var reason: String? }
    struct ChatInput: Decodable {
        var text: String?
        /// The agent's answer: to whom (default: the last person who wrote to them).
        var toUserId: Int64?
    }

    struct WatchInput: Decodable { var watch: Bool? }
    struct ScreenInput: Decodable {
        var conversationId: Int64?
        var draft: String?
    }

    struct CampaignList: Encodable, Sendable { var campaigns: [MonitorCampaignView] }
    struct Watching: Encodable, Sendable {
        var agentId: Int64
        var watching: Bool
    }
    struct Watched: Encodable, Sendable { var watchedBy: [String] }
    struct Relayed: Encodable, Sendable { var relayed: Bool }
    struct StatusEnvelope: Encodable, Sendable { var status: AgentStatusView }
    struct Disconnected: Encodable, Sendable { var endedSessions: Int }
    struct ChatList: Encodable, Sendable { var messages: [ChatMessageView] }
    struct ChatEnvelope: Encodable, Sendable { var message: ChatMessageView }

    // MARK: OpenAPI

    static let seconds = JSONSchema.nullable(.number)
    static let campaignSchema = JSONSchema.object([
        ("id", .integer), ("name", .string()), ("enabled", .boolean), ("timeZone", .string()), ("maxInteractionsPerAgent", .integer),
        ("serviceLevelPercent", .number),
        ("thresholds", .object([("serviceLevelSeconds", .integer), ("abandonSeconds", .integer), ("chatTimeSeconds", .integer),
                                ("acdWaitSeconds", .integer), ("acdQueueLength", .integer)],
                               required: ["serviceLevelSeconds", "abandonSeconds", "chatTimeSeconds", "acdWaitSeconds", "acdQueueLength"])),
    ], required: ["id", "name", "enabled", "timeZone", "maxInteractionsPerAgent", "serviceLevelPercent", "thresholds"])
    static let queueMetricsSchema = JSONSchema.object([
        ("offered", .integer), ("answered", .integer), ("answeredWithinServiceLevel", .integer), ("abandoned", .integer),
        ("abandonedUnanswered", .integer), ("abandonedClosed", .integer), ("abandonedOptedOut", .integer),
        ("repliedAfterAbandon", .integer), ("waiting", .integer), ("serviceLevel", seconds), ("serviceLevelCountingAbandons", seconds),
        ("abandonRate", seconds), ("averageWait", seconds), ("longestWait", seconds), ("averageFirstResponseTime", seconds),
        ("handled", .integer), ("averageHandleTime", seconds), ("closed", .integer), ("averageChatTime", seconds),
        ("longestChatTime", seconds),
    ], required: ["offered", "answered", "answeredWithinServiceLevel", "abandoned", "abandonedUnanswered", "abandonedClosed",
                  "abandonedOptedOut", "repliedAfterAbandon", "waiting", "serviceLevel", "serviceLevelCountingAbandons", "abandonRate",
                  "averageWait", "longestWait", "averageFirstResponseTime", "handled", "averageHandleTime", "closed", "averageChatTime",
                  "longestChatTime"])
    static let occupancySchema = JSONSchema.object([("average", seconds), ("peak", .integer)], required: ["average", "peak"])
    static let windowSchema = JSONSchema.object([
        ("start", .string(format: "date-time")), ("end", .string(format: "date-time")), ("queue", queueMetricsSchema),
        ("queueLength", occupancySchema), ("concurrency", occupancySchema),
    ], required: ["start", "end", "queue", "queueLength", "concurrency"])
    static let liveSchema = JSONSchema.object([
        ("queueLength", .integer), ("longestQueueWait", seconds), ("awaitingReply", .integer), ("longestAwaitingReply", seconds),
        ("openConversations", .integer), ("longestOpenChat", seconds),
    ], required: ["queueLength", "longestQueueWait", "awaitingReply", "longestAwaitingReply", "openConversations", "longestOpenChat"])
    static let agentSchema = JSONSchema.object([
        ("userId", .integer), ("username", .string()), ("displayName", .string()),
        ("status", .enumeration(["offline", "available", "busy", "paused"])), ("reason", .nullable(.string())),
        ("since", .nullable(.string(format: "date-time"))), ("signedIn", .boolean), ("open", .integer), ("offers", .integer),
        ("channels", .array(.object([("campaignId", .integer), ("campaignName", .string()), ("open", .integer)],
                                    required: ["campaignId", "campaignName", "open"]))),
        ("otherOpen", .integer), ("completedToday", .integer),
        ("conversations", .array(.object([
            ("id", .integer), ("clientNumber", .string()), ("state", .string()), ("openedAt", .string(format: "date-time")),
            ("assignedAt", .nullable(.string(format: "date-time"))), ("lastActivityAt", .string(format: "date-time")),
            ("waitingSince", .nullable(.string(format: "date-time"))), ("unreadCount", .integer),
        ], required: ["id", "clientNumber", "state", "openedAt", "assignedAt", "lastActivityAt", "waitingSince", "unreadCount"]))),
    ], required: ["userId", "username", "displayName", "status", "reason", "since", "signedIn", "open", "offers", "channels",
                  "otherOpen", "completedToday", "conversations"])
    static let snapshotSchema = JSONSchema.object([
        ("campaign", campaignSchema), ("now", .string(format: "date-time")), ("day", .string(format: "date")),
        ("agents", .array(agentSchema)),
        ("queue", .array(.object([
            ("conversationId", .integer), ("clientNumber", .string()), ("state", .enumeration(["queued", "offered"])),
            ("queuedAt", .nullable(.string(format: "date-time"))), ("offeredTo", .array(.integer)),
        ], required: ["conversationId", "clientNumber", "state", "queuedAt", "offeredTo"]))),
        ("today", windowSchema), ("live", liveSchema),
    ], required: ["campaign", "now", "day", "agents", "queue", "today", "live"])
    static let dayMetricsSchema = JSONSchema.object([
        ("campaign", campaignSchema), ("day", .string(format: "date")), ("now", .string(format: "date-time")), ("every", .integer),
        ("totals", windowSchema), ("series", .array(windowSchema)), ("live", liveSchema),
    ], required: ["campaign", "day", "now", "every", "totals", "series", "live"])
    static let infoSchema = JSONSchema.object([
        ("agent", agentSchema), ("role", .string()), ("disabled", .boolean), ("sessions", .integer),
        ("campaigns", .array(.object([("id", .integer), ("name", .string()), ("penalty", .integer), ("open", .integer),
                                      ("completedToday", .integer)],
                                     required: ["id", "name", "penalty", "open", "completedToday"]))),
        ("today", queueMetricsSchema),
    ], required: ["agent", "role", "disabled", "sessions", "campaigns", "today"])
    static let chatSchema = JSONSchema.object([
        ("id", .integer), ("fromUserId", .integer), ("fromName", .string()), ("toUserId", .integer), ("toName", .string()),
        ("text", .string()), ("at", .string(format: "date-time")),
    ], required: ["id", "fromUserId", "fromName", "toUserId", "toName", "text", "at"])
    static let chatListSchema = JSONSchema.object([("messages", .array(chatSchema))], required: ["messages"])
    static let chatEnvelopeSchema = JSONSchema.object([("message", chatSchema)], required: ["message"])

    func addRoutes(to routes: APIRoutes) {
        let staff = routes.group(.staff)
        staff.on(.get, "/api/v1/monitor/campaigns", RouteDoc(
            "The campaigns you may monitor (supervisors: those an admin assigned to you), by name", tag: "monitor",
            response: .object([("campaigns", .array(Self.campaignSchema))], required: ["campaigns"])), use: campaigns)
        staff.on(.get, "/api/v1/monitor/campaigns/{id}", RouteDoc(
            "Campaign monitor (SPEC S1, S2, S6): agents with status, channels, completed today and open conversations; the queue; "
                + "today's metrics so far and the queue now; live changes arrive as agent.status and conversation.* events",
            tag: "monitor", response: Self.snapshotSchema), use: snapshot)
        staff.on(.get, "/api/v1/monitor/campaigns/{id}/metrics", RouteDoc(
            "Threshold view (SPEC S6): a day's metrics (?day=YYYY-MM-DD in the campaign's time zone, default today) with a series "
                + "of slices for charts (?every=900|1800|3600 seconds, default 3600)",
            tag: "monitor", response: Self.dayMetricsSchema), use: metrics)
        staff.on(.get, "/api/v1/monitor/agents/{id}", RouteDoc(
            "An agent's details and today's figures (audited)", tag: "monitor", response: Self.infoSchema), use: info)
        staff.on(.post, "/api/v1/monitor/agents/{id}/pause", RouteDoc(
            "Pause an agent with a reason: their pending offers go to the next member, their page shows it at once (audited)",
            tag: "monitor", request: .object([("reason", .string())], required: ["reason"]),
            response: AgentController.statusEnvelope), use: pause)
        staff.on(.post, "/api/v1/monitor/agents/{id}/disconnect", RouteDoc(
            "End every session of an agent and set them offline; their pages return to the sign-in view at once (audited)",
            tag: "monitor", response: .object([("endedSessions", .integer)], required: ["endedSessions"])), use: disconnect)
        staff.on(.get, "/api/v1/monitor/agents/{id}/chat", RouteDoc(
            "Your chat with an agent, oldest first (the newest 200)", tag: "monitor", response: Self.chatListSchema), use: chat)
        staff.on(.post, "/api/v1/monitor/agents/{id}/chat", RouteDoc(
            "Write to an agent: it appears in the agent's page at once (audited)", tag: "monitor",
            request: .object([("text", .string())], required: ["text"]), status: 201, response: Self.chatEnvelopeSchema), use: sendChat)
        staff.on(.post, "/api/v1/monitor/agents/{id}/screen", RouteDoc(
            "Start (watch: true) or stop watching an agent's screen (SPEC S3): the conversation they have open and their draft "
                + "arrive as agent.screen events; their page shows they are monitored. 403 screen_monitoring_off unless an admin "
                + "allowed it for the agent (audited)",
            tag: "monitor", request: .object([("watch", .boolean)], required: ["watch"]),
            response: .object([("agentId", .integer), ("watching", .boolean)], required: ["agentId", "watching"])), use: watchScreen)
        staff.on(.get, "/api/v1/monitor/conversations/{id}", RouteDoc(
            "Spy on a conversation: read-only and silent (nothing is marked read, nothing the agent or client sees changes); "
                + "its new messages arrive as conversation.message events (audited)",
            tag: "monitor", response: ConversationController.detailSchema), use: spy)
        staff.on(.post, "/api/v1/monitor/conversations/{id}/takeover", RouteDoc(
            "Take a conversation over: it is assigned to you (reply and close it through /api/v1/conversations), its agent loses it (audited)",
            tag: "monitor", response: ConversationController.envelopeSchema), use: takeOver)

        let agents = routes.group(.roles([.agent]))
        agents.on(.get, "/api/v1/agent/chat", RouteDoc(
            "Your chat with supervisors, oldest first (the newest 200)", tag: "inbox", response: Self.chatListSchema), use: agentChat)
        agents.on(.post, "/api/v1/agent/chat", RouteDoc(
            "Answer in your chat with supervisors (toUserId: whom; default the last one who wrote to you)", tag: "inbox",
            request: .object([("text", .string()), ("toUserId", .integer)], required: ["text"]), status: 201,
            response: Self.chatEnvelopeSchema), use: agentSend)
        agents.on(.get, "/api/v1/agent/screen", RouteDoc(
            "Who is watching your screen now (SPEC S3 monitor screen)", tag: "inbox",
            response: .object([("watchedBy", .array(.string()))], required: ["watchedBy"])), use: agentWatchers)
        agents.on(.post, "/api/v1/agent/screen", RouteDoc(
            "Your screen while you are monitored: the conversation you have open (null: none) and your draft; relayed to your "
                + "watchers as an agent.screen event (relayed: false when nobody watches). 409 screen_monitoring_off unless "
                + "an admin allowed it for you",
            tag: "inbox", request: .object([("conversationId", .nullable(.integer)), ("draft", .string())], required: []),
            response: .object([("relayed", .boolean)], required: ["relayed"])), use: agentScreen)
    }

    // MARK: scope

    /// The campaigns the caller may monitor: every one for an admin, the assigned ones for a supervisor.
    func scope(_ context: AppRequestContext) async throws -> CampaignScope {
        try await ConversationController.viewer(context, storage: storage).campaignScope ?? .only([])
    }

    /// The campaign, if the caller may monitor it; 404 otherwise.
    func campaign(_ context: AppRequestContext, scope: CampaignScope) async throws -> CampaignRecord {
        let id = try ConversationController.id(context)
        guard scope.allows(id), let campaign = try await storage.campaigns.campaign(id: id) else {
            throw APIError.notFound("campaign \(id) not found")
        }
        return campaign
    }

    /// The agent, if they are a member of a campaign the caller may monitor (an admin: any agent); 404 otherwise.
    func agent(_ context: AppRequestContext, scope: CampaignScope) async throws -> User {
        let id = try ConversationController.id(context)
        guard let user = try await storage.users.user(id: id), user.role == .agent else { throw APIError.notFound("agent \(id) not found") }
        if case .only(let campaigns) = scope {
            let memberOf = try await storage.conversations.memberCampaignIDs(userID: id)
            guard memberOf.contains(where: campaigns.contains) else { throw APIError.notFound("agent \(id) not found") }
        }
        return user
    }

    func audit(_ context: AppRequestContext, _ action: String, target: String, _ id: Int64, details: String? = nil) async throws {
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: action,
            targetType: target, targetID: String(id), details: details, clientAddress: context.clientAddress))
    }

    // MARK: campaigns

    @Sendable func campaigns(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignList> {
        let scope = try await scope(context)
        return JSONResponse(CampaignList(campaigns: try await storage.campaigns.list().filter { scope.allows($0.id) }
            .map(MonitorCampaignView.init)))
    }

    @Sendable func snapshot(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<MonitorSnapshotView> {
        let scope = try await scope(context)
        let campaign = try await campaign(context, scope: scope)
        return JSONResponse(try await monitor.snapshot(of: campaign, scope: scope))
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DayMetricsView> {
        let scope = try await scope(context)
        let campaign = try await campaign(context, scope: scope)
        let q = request.uri.queryParameters
        var day: LocalDate?
        if let text = q["day"].map(String.init), !text.isEmpty {
            do { day = try LocalDate(text) } catch {
                throw APIError.validation(field: "day", "day must be a date such as 2025-03-30")
            }
        }
        let every = try ConversationController.number(q["every"], field: "every") ?? 3600
        guard [300, 900, 1800, 3600].contains(every) else {
            throw APIError.validation(field: "every", "every must be 300, 900, 1800 or 3600 seconds")
        }
        return JSONResponse(try await monitor.metrics(of: campaign, day: day, every: Int(every)))
    }

    // MARK: agents

    @Sendable func info(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<AgentInfoView> {
        let scope = try await scope(context)
        let agent = try await agent(context, scope: scope)
        let info = try await monitor.info(of: agent, scope: scope)
        try await audit(context, "monitor.info", target: "user", agent.id)
        return JSONResponse(info)
    }

    @Sendable func pause(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<StatusEnvelope> {
        let scope = try await scope(context)
        let agent = try await agent(context, scope: scope)
        let input = try await request.decodeJSON(PauseInput.self, context: context)
        let principal = try context.requirePrincipal()
        let status = try await supervision.pause(agent.id, reason: input.reason ?? "", by: principal.displayName)
        try await audit(context, "monitor.pause", target: "user", agent.id, details: "reason=\(status.reason ?? "")")
        return JSONResponse(StatusEnvelope(status: AgentStatusView(status)))
    }

    @Sendable func disconnect(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Disconnected> {
        let scope = try await scope(context)
        let agent = try await agent(context, scope: scope)
        let ended = try await supervision.disconnect(agent.id)
        try await audit(context, "monitor.disconnect", target: "user", agent.id, details: "ended=\(ended)")
        return JSONResponse(Disconnected(endedSessions: ended))
    }

    @Sendable func chat(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ChatList> {
        let scope = try await scope(context)
        let agent = try await agent(context, scope: scope)
        let (_, me) = try context.requireUser()
        let messages = try await storage.supervision.chat(agentID: agent.id, with: me.id, limit: 200)
        return JSONResponse(ChatList(messages: messages.map(ChatMessageView.init)))
    }

    @Sendable func sendChat(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ChatEnvelope> {
        let scope = try await scope(context)
        let agent = try await agent(context, scope: scope)
        let (_, me) = try context.requireUser()
        let input = try await request.decodeJSON(ChatInput.self, context: context)
        let message = try await supervision.chat(from: me.id, to: agent.id, text: input.text ?? "")
        try await audit(context, "monitor.chat", target: "user", agent.id, details: "message \(message.id)")
        return JSONResponse(ChatEnvelope(message: ChatMessageView(message)), status: .created)
    }

    /// 403 to a supervisor; 409 to the agent, whose role may use the route but whose screen may not be watched.
    static func screenMonitoringOff(_ who: String, status: HTTPResponse.Status = .forbidden) -> APIError {
        APIError(status: status, code: "screen_monitoring_off",
                 message: "screen monitoring is not allowed for \(who); an admin can allow it on the Users page")
    }

    @Sendable func watchScreen(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Watching> {
        let scope = try await scope(context)
        let agent = try await agent(context, scope: scope)
        let input = try await request.decodeJSON(WatchInput.self, context: context)
        guard let watch = input.watch else { throw APIError.validation(field: "watch", "watch is required (true or false)") }
        if watch && !agent.monitorScreenAllowed { throw Self.screenMonitoringOff(agent.displayName) }
        let principal = try context.requirePrincipal()
        try await audit(context, watch ? ScreenMonitoring.startAction : ScreenMonitoring.stopAction, target: "user", agent.id)
        try await screens.announce(to: agent.id, active: watch, by: principal.displayName)
        return JSONResponse(Watching(agentId: agent.id, watching: watch))
    }

    // MARK: conversations

    @Sendable func spy(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationController.ConversationDetail> {
        // The same read as the conversation API (scoped by `Inbox.canSee`): nothing is written but the audit row.
        let detail = try await conversations.show(request, context: context)
        let conversation = detail.value.conversation
        try await audit(context, "monitor.spy", target: "conversation", conversation.id,
                        details: "campaign \(conversation.campaignId)" + (conversation.agentId.map { ", agent \($0)" } ?? ""))
        return detail
    }

    @Sendable func takeOver(_ request: Request, context: AppRequestContext) async throws
        -> JSONResponse<ConversationController.ConversationEnvelope> {
        let viewer = try await ConversationController.viewer(context, storage: storage)
        let (principal, me) = try context.requireUser()
        let id = try ConversationController.id(context)
        let now = Date()
        _ = try await inbox.conversation(id, for: viewer, at: now)  // 404 outside the caller's campaigns
        let taken = try await supervision.takeOver(id, by: me.id, name: principal.displayName, at: now)
        try await audit(context, "monitor.takeover", target: "conversation", id,
                        details: "campaign \(taken.conversation.campaignID)" + (taken.previousAgentID.map { ", from agent \($0)" } ?? ""))
        return JSONResponse(ConversationController.ConversationEnvelope(conversation: try await conversations.view(id, at: now)))
    }

    // MARK: the agent's side of the chat

    @Sendable func agentChat(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ChatList> {
        let (_, me) = try context.requireUser()
        let messages = try await storage.supervision.chat(agentID: me.id, with: nil, limit: 200)
        return JSONResponse(ChatList(messages: messages.map(ChatMessageView.init)))
    }

    @Sendable func agentSend(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ChatEnvelope> {
        let (_, me) = try context.requireUser()
        let input = try await request.decodeJSON(ChatInput.self, context: context)
        let message = try await supervision.agentReply(from: me.id, to: input.toUserId, text: input.text ?? "")
        return JSONResponse(ChatEnvelope(message: ChatMessageView(message)), status: .created)
    }

    // MARK: the agent's side of monitor screen

    @Sendable func agentWatchers(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Watched> {
        let (_, me) = try context.requireUser()
        guard me.monitorScreenAllowed else { return JSONResponse(Watched(watchedBy: [])) }
        return JSONResponse(Watched(watchedBy: try await screens.watchers(of: me.id).map(\.name)))
    }

    @Sendable func agentScreen(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Relayed> {
        let (_, me) = try context.requireUser()
        guard me.monitorScreenAllowed else { throw Self.screenMonitoringOff("you", status: .conflict) }
        let input = try await request.decodeJSON(ScreenInput.self, context: context)
        let now = Date()
        if let id = input.conversationId {
            // Only a conversation the agent may see (404 otherwise): nobody can show a watcher someone else's screen.
            _ = try await inbox.conversation(id, for: try await ConversationController.viewer(context, storage: storage), at: now)
        }
        let sent = try await screens.relay(of: me.id, conversationID: input.conversationId, draft: input.draft ?? "", at: now)
        return JSONResponse(Relayed(relayed: sent > 0))
    }
}
