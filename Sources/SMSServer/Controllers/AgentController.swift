import Foundation
import Hummingbird
import SMSConversations
import SMSCore
import SMSStore

/// The signed-in agent's own things (SPEC A1, A5, A7): presence, the campaigns they may start
/// interactions in, and their scheduled replies.
struct AgentController {
    let storage: Storage
    let inbox: Inbox

    struct StatusInput: Decodable {
        var status: String?
        var reason: String?
    }

    struct StatusEnvelope: Encodable, Sendable { var status: AgentStatusView }

    struct CampaignView: Encodable, Sendable {
        var id: Int64
        var name: String
        var enabled: Bool
        var maxInteractionsPerAgent: Int
        var cannedResponses: [ConversationController.CannedResponseView]
    }

    struct CampaignList: Encodable, Sendable { var campaigns: [CampaignView] }
    struct MessageEnvelope: Encodable, Sendable { var message: MessageView }

    static let statusSchema = JSONSchema.object([
        ("userId", .integer), ("status", .enumeration(AssignmentCandidate.Status.allCases.map(\.rawValue))),
        ("reason", .nullable(.string())), ("since", .nullable(.string(format: "date-time"))),
    ], required: ["userId", "status", "reason", "since"])
    static let statusEnvelope = JSONSchema.object([("status", statusSchema)], required: ["status"])

    func addRoutes(to routes: APIRoutes) {
        let people = routes.group(.people)
        people.on(.get, "/api/v1/agent/status", RouteDoc("Your presence: available, paused (with a reason) or offline",
            tag: "inbox", response: Self.statusEnvelope), use: status)
        people.on(.put, "/api/v1/agent/status", RouteDoc(
            "Set your presence; only available agents are offered conversations, pausing withdraws your pending offers",
            tag: "inbox",
            request: .object([("status", .enumeration(AssignmentCandidate.Status.allCases.map(\.rawValue))), ("reason", .string())],
                             required: ["status"]),
            response: Self.statusEnvelope), use: setStatus)
        people.on(.get, "/api/v1/agent/campaigns", RouteDoc(
            "The campaigns you may start interactions in (agents: those you are a member of), with their canned responses",
            tag: "inbox", response: .object([("campaigns", .array(.object([
                ("id", .integer), ("name", .string()), ("enabled", .boolean), ("maxInteractionsPerAgent", .integer),
                ("cannedResponses", .array(ConversationController.cannedSchema)),
            ], required: ["id", "name", "enabled", "maxInteractionsPerAgent", "cannedResponses"])))], required: ["campaigns"])),
            use: campaigns)
        people.on(.get, "/api/v1/scheduled-messages", RouteDoc(
            "Replies scheduled for later and not sent yet, soonest first (agents: their own)", tag: "inbox",
            response: ConversationController.messagesSchema), use: scheduled)
        people.on(.delete, "/api/v1/scheduled-messages/{id}", RouteDoc(
            "Cancel an outgoing message not sent yet (agents: one they wrote); 409 not_cancellable once it is sending or sent",
            tag: "inbox", response: .object([("message", ConversationController.messageSchema)], required: ["message"])),
            use: cancel)
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<StatusEnvelope> {
        let (_, user) = try context.requireUser()
        return JSONResponse(StatusEnvelope(status: AgentStatusView(try await storage.conversations.status(userID: user.id))))
    }

    @Sendable func setStatus(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<StatusEnvelope> {
        let (_, user) = try context.requireUser()
        let input = try await request.decodeJSON(StatusInput.self, context: context)
        guard let text = input.status else { throw APIError.validation(field: "status", "status is required") }
        guard let status = AssignmentCandidate.Status(rawValue: text) else {
            throw APIError.validation(field: "status", "status must be available, paused or offline")
        }
        let stored = try await inbox.setStatus(of: user.id, to: status, reason: input.reason)
        return JSONResponse(StatusEnvelope(status: AgentStatusView(stored)))
    }

    @Sendable func campaigns(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignList> {
        let (principal, user) = try context.requireUser()
        var details = try await storage.campaigns.listDetails()
        if principal.role == .agent {
            let mine = Set(try await storage.conversations.memberCampaignIDs(userID: user.id))
            details = details.filter { mine.contains($0.campaign.id) }
        }
        return JSONResponse(CampaignList(campaigns: details.map { d in
            CampaignView(id: d.campaign.id, name: d.campaign.name, enabled: d.campaign.enabled,
                         maxInteractionsPerAgent: d.campaign.maxInteractionsPerAgent,
                         cannedResponses: d.cannedResponses.map { .init(id: $0.id, title: $0.title, body: $0.body) })
        }))
    }

    @Sendable func scheduled(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationController.MessageList> {
        let viewer = try await ConversationController.viewer(context, storage: storage)
        let now = Date()
        let messages = try await inbox.scheduled(for: viewer, at: now)
        return JSONResponse(ConversationController.MessageList(messages: messages.map { MessageView($0, now: now) }))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<MessageEnvelope> {
        let viewer = try await ConversationController.viewer(context, storage: storage)
        let (principal, _) = try context.requireUser()
        let now = Date()
        let message = try await inbox.cancel(messageID: try ConversationController.id(context), by: viewer,
                                             actorName: principal.displayName, at: now)
        return JSONResponse(MessageEnvelope(message: MessageView(message, now: now)))
    }
}
