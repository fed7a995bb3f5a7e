import Foundation
import Hummingbird
import SMSConversations
import SMSCore
import SMSStore

/// The agent inbox API (SPEC A1-A7, C8-C10): conversations, their messages and history, replies
/// (scheduled or not), offers, wrap-up, and new interactions.
///
/// Agent scope: an agent sees and acts on only their own conversations (assigned to them, now or
/// before) and those offered to them; any other answers 404, as if it did not exist. Admins read every
/// conversation, supervisors those of the campaigns assigned to them (`Inbox.canSee`; others answer
/// 404, and naming another campaign in a list's filter 403); both close any open one they see, but
/// only a conversation's own agent writes in it.
struct ConversationController {
    let storage: Storage
    let inbox: Inbox

    // MARK: request bodies

    struct ReplyInput: Decodable {
        var text: String?
        /// ISO 8601; in the future: send later (SPEC A7).
        var sendAt: Date?
    }

    struct StartInput: Decodable {
        var campaignId: Int64?
        var number: String?
        var text: String?
        var sendAt: Date?
    }

    struct CloseInput: Decodable {
        var wrapUp: String?
    }

    // MARK: response bodies

    struct ConversationList: Encodable, Sendable { var conversations: [ConversationView] }
    struct ConversationEnvelope: Encodable, Sendable { var conversation: ConversationView }
    struct MessageList: Encodable, Sendable { var messages: [MessageView] }

    struct CannedResponseView: Encodable, Sendable {
        var id: Int64
        var title: String
        var body: String
    }

    struct ConversationDetail: Encodable, Sendable {
        var conversation: ConversationView
        /// Oldest first.
        var messages: [MessageView]
        /// The client's other conversations in this campaign, newest first (their messages: `/history`).
        var earlierConversations: [ConversationView]
        /// The campaign's canned responses, for the composer (SPEC A3, C5).
        var cannedResponses: [CannedResponseView]
    }

    struct SentMessage: Encodable, Sendable {
        var conversation: ConversationView
        var message: MessageView
    }

    // MARK: OpenAPI

    static let offerSchema = JSONSchema.object([
        ("userId", .integer), ("offeredAt", .string(format: "date-time")), ("expiresAt", .string(format: "date-time")),
    ], required: ["userId", "offeredAt", "expiresAt"])
    static let messageSchema = JSONSchema.object([
        ("id", .integer), ("conversationId", .nullable(.integer)), ("campaignId", .nullable(.integer)),
        ("direction", .enumeration(["in", "out"])), ("clientNumber", .string()), ("text", .string()),
        ("at", .string(format: "date-time")), ("agentId", .nullable(.integer)), ("automatic", .boolean),
        ("state", .enumeration(["received", "scheduled", "queued", "held", "sending", "sent", "delivered", "failed", "blocked",
                                "invalid", "cancelled", "expired"])),
        ("reason", .nullable(.string())), ("scheduledFor", .nullable(.string(format: "date-time"))),
        ("sentAt", .nullable(.string(format: "date-time"))), ("deliveredAt", .nullable(.string(format: "date-time"))),
        ("cancellable", .boolean),
    ], required: ["id", "conversationId", "campaignId", "direction", "clientNumber", "text", "at", "agentId", "automatic", "state",
                  "reason", "scheduledFor", "sentAt", "deliveredAt", "cancellable"])
    static let conversationSchema = JSONSchema.object([
        ("id", .integer), ("campaignId", .integer), ("campaignName", .string()), ("clientNumber", .string()),
        ("did", .nullable(.string())), ("state", .enumeration(ConversationState.allCases.map(\.rawValue))),
        ("agentId", .nullable(.integer)), ("agentName", .nullable(.string())), ("unreadCount", .integer),
        ("openedAt", .string(format: "date-time")), ("queuedAt", .nullable(.string(format: "date-time"))),
        ("assignedAt", .nullable(.string(format: "date-time"))), ("firstResponseAt", .nullable(.string(format: "date-time"))),
        ("lastActivityAt", .string(format: "date-time")), ("closedAt", .nullable(.string(format: "date-time"))),
        ("wrapUp", .nullable(.string())), ("waitingSince", .nullable(.string(format: "date-time"))),
        ("lastMessage", .nullable(messageSchema)), ("offers", .array(offerSchema)), ("previousConversationId", .nullable(.integer)),
    ], required: ["id", "campaignId", "campaignName", "clientNumber", "did", "state", "agentId", "agentName", "unreadCount",
                  "openedAt", "queuedAt", "assignedAt", "firstResponseAt", "lastActivityAt", "closedAt", "wrapUp", "waitingSince",
                  "lastMessage", "offers", "previousConversationId"])
    static let cannedSchema = JSONSchema.object([("id", .integer), ("title", .string()), ("body", .string())],
                                                required: ["id", "title", "body"])
    static let listSchema = JSONSchema.object([("conversations", .array(conversationSchema))], required: ["conversations"])
    static let envelopeSchema = JSONSchema.object([("conversation", conversationSchema)], required: ["conversation"])
    static let messagesSchema = JSONSchema.object([("messages", .array(messageSchema))], required: ["messages"])
    static let sentSchema = JSONSchema.object([("conversation", conversationSchema), ("message", messageSchema)],
                                              required: ["conversation", "message"])
    static let detailSchema = JSONSchema.object([
        ("conversation", conversationSchema), ("messages", .array(messageSchema)),
        ("earlierConversations", .array(conversationSchema)), ("cannedResponses", .array(cannedSchema)),
    ], required: ["conversation", "messages", "earlierConversations", "cannedResponses"])
    static let sendAtSchema = JSONSchema.string(format: "date-time", description: "send later at this time (must be ahead)")

    func addRoutes(to routes: APIRoutes) {
        let people = routes.group(.people)
        let staff = routes.group(.staff)
        people.on(.get, "/api/v1/inbox", RouteDoc(
            "The agent's conversations: assigned to them and offered to them, newest activity first (staff: ?agentId= to see an agent's)",
            tag: "inbox", response: Self.listSchema), use: inboxList)
        staff.on(.get, "/api/v1/conversations", RouteDoc(
            "Conversations, newest first (?state=open|queued|offered|assigned|closed, campaignId, agentId, number, limit, beforeId)",
            tag: "inbox", response: Self.listSchema), use: list)
        people.on(.post, "/api/v1/conversations", RouteDoc(
            "Start an SMS interaction (SPEC A1): writes to the number in the campaign; the conversation is the caller's",
            tag: "inbox",
            request: .object([("campaignId", .integer), ("number", .string()), ("text", .string()), ("sendAt", Self.sendAtSchema)],
                             required: ["campaignId", "number", "text"]),
            status: 201, response: Self.sentSchema), use: start)
        people.on(.get, "/api/v1/conversations/{id}", RouteDoc(
            "A conversation with its messages, the client's earlier conversations and the campaign's canned responses",
            tag: "inbox", response: Self.detailSchema), use: show)
        people.on(.get, "/api/v1/conversations/{id}/history", RouteDoc(
            "Every message with this client in this campaign, newest first (?beforeId=, limit up to 200)", tag: "inbox",
            response: Self.messagesSchema), use: history)
        people.on(.post, "/api/v1/conversations/{id}/messages", RouteDoc(
            "Reply (through the spool: DNCR, opt-outs and quiet hours apply); replying to an offer accepts it",
            tag: "inbox", request: .object([("text", .string()), ("sendAt", Self.sendAtSchema)], required: ["text"]),
            status: 201, response: Self.sentSchema), use: reply)
        people.on(.post, "/api/v1/conversations/{id}/accept", RouteDoc(
            "Accept a conversation offered to you (409 taken or offer_expired)", tag: "inbox",
            response: Self.envelopeSchema), use: accept)
        people.on(.post, "/api/v1/conversations/{id}/close", RouteDoc(
            "Close (wrap up) a conversation; the body is optional", tag: "inbox",
            request: .object([("wrapUp", .string())], required: []), response: Self.envelopeSchema), use: close)
        people.on(.post, "/api/v1/conversations/{id}/read", RouteDoc("Mark the client's messages read", tag: "inbox",
            response: Self.envelopeSchema), use: markRead)
    }

    // MARK: handlers

    @Sendable func inboxList(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationList> {
        let viewer = try await Self.viewer(context, storage: storage)
        let now = Date()
        var agentID = viewer.userID ?? 0
        if case .staff = viewer, let text = request.uri.queryParameters["agentId"] {
            guard let id = Int64(String(text)) else { throw APIError.validation(field: "agentId", "agentId must be a number") }
            agentID = id
        }
        let items = try await inbox.inbox(of: agentID, at: now).filter { inbox.canSee($0, viewer) }
        return JSONResponse(ConversationList(conversations: items.map { ConversationView($0, now: now) }))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationList> {
        let q = request.uri.queryParameters
        let scope = try await Self.viewer(context, storage: storage).campaignScope ?? .only([])
        var filter = ConversationFilter(scope: scope)
        if let state = q["state"].map(String.init), !state.isEmpty {
            if state == "open" {
                filter.states = ConversationState.open
            } else if let one = ConversationState(rawValue: state) {
                filter.states = [one]
            } else {
                throw APIError.validation(field: "state", "state must be open, queued, offered, assigned or closed")
            }
        }
        filter.campaignID = try Self.campaign(q["campaignId"], in: scope)
        filter.agentID = try Self.number(q["agentId"], field: "agentId")
        filter.number = q["number"].map(String.init)
        let limit = min(500, max(1, Int(try Self.number(q["limit"], field: "limit") ?? 100)))
        let now = Date()
        let items = try await storage.conversations.list(filter, limit: limit, beforeID: try Self.number(q["beforeId"], field: "beforeId"),
                                                         at: now)
        return JSONResponse(ConversationList(conversations: items.map { ConversationView($0, now: now) }))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationDetail> {
        let viewer = try await Self.viewer(context, storage: storage)
        let now = Date()
        let item = try await inbox.conversation(try Self.id(context), for: viewer, at: now)
        let messages = try await storage.conversations.messages(conversationID: item.conversation.id)
        let earlier = try await storage.conversations.otherConversations(of: item.conversation, limit: 20, at: now)
        let canned = try await storage.campaigns.details(id: item.conversation.campaignID)?.cannedResponses ?? []
        return JSONResponse(ConversationDetail(
            conversation: ConversationView(item, now: now), messages: messages.map { MessageView($0, now: now) },
            earlierConversations: earlier.map { ConversationView($0, now: now) },
            cannedResponses: canned.map { CannedResponseView(id: $0.id, title: $0.title, body: $0.body) }))
    }

    @Sendable func history(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<MessageList> {
        let viewer = try await Self.viewer(context, storage: storage)
        let now = Date()
        let item = try await inbox.conversation(try Self.id(context), for: viewer, at: now)
        let q = request.uri.queryParameters
        let limit = min(200, max(1, Int(try Self.number(q["limit"], field: "limit") ?? 50)))
        let messages = try await storage.conversations.history(
            campaignID: item.conversation.campaignID, clientNumber: item.conversation.clientNumber,
            beforeID: try Self.number(q["beforeId"], field: "beforeId"), limit: limit)
        return JSONResponse(MessageList(messages: messages.map { MessageView($0, now: now) }))
    }

    @Sendable func reply(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<SentMessage> {
        let viewer = try await Self.viewer(context, storage: storage)
        let id = try Self.id(context)
        let input = try await request.decodeJSON(ReplyInput.self, context: context)
        let now = Date()
        let sent = try await inbox.reply(to: id, text: input.text ?? "", sendAt: input.sendAt, by: viewer, at: now)
        return JSONResponse(try await sentMessage(sent, at: now), status: .created)
    }

    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<SentMessage> {
        let viewer = try await Self.viewer(context, storage: storage)
        let input = try await request.decodeJSON(StartInput.self, context: context)
        guard let campaignID = input.campaignId else { throw APIError.validation(field: "campaignId", "campaignId is required") }
        guard let number = input.number else { throw APIError.validation(field: "number", "number is required") }
        let now = Date()
        let sent = try await inbox.start(campaignID: campaignID, number: number, text: input.text ?? "", sendAt: input.sendAt,
                                         by: viewer, at: now)
        return JSONResponse(try await sentMessage(sent, at: now), status: .created)
    }

    @Sendable func accept(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationEnvelope> {
        let viewer = try await Self.viewer(context, storage: storage)
        let id = try Self.id(context)
        guard let userID = viewer.userID else { throw APIError.notFound("conversation \(id) not found") }
        let now = Date()
        let taken = try await inbox.accept(id, by: userID, at: now)
        return JSONResponse(ConversationEnvelope(conversation: try await view(taken.conversation.id, at: now)))
    }

    @Sendable func close(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationEnvelope> {
        let viewer = try await Self.viewer(context, storage: storage)
        let id = try Self.id(context)
        let input = try await Self.optionalBody(CloseInput.self, request, context) ?? CloseInput()
        let now = Date()
        let closed = try await inbox.close(id, wrapUp: input.wrapUp, by: viewer, at: now)
        return JSONResponse(ConversationEnvelope(conversation: try await view(closed.id, at: now)))
    }

    @Sendable func markRead(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ConversationEnvelope> {
        let viewer = try await Self.viewer(context, storage: storage)
        let now = Date()
        let read = try await inbox.markRead(try Self.id(context), by: viewer, at: now)
        return JSONResponse(ConversationEnvelope(conversation: try await view(read.id, at: now)))
    }

    // MARK: helpers

    func sentMessage(_ sent: SentReply, at now: Date) async throws -> SentMessage {
        SentMessage(conversation: try await view(sent.conversation.id, at: now), message: MessageView(sent.message, now: now))
    }

    func view(_ id: Int64, at now: Date) async throws -> ConversationView {
        guard let item = try await storage.conversations.item(id: id, at: now) else { throw APIError.notFound("conversation \(id) not found") }
        return ConversationView(item, now: now)
    }

    /// The caller as the inbox sees them: an agent, an admin (every campaign) or a supervisor (the campaigns
    /// an admin assigned them to, and nothing else).
    static func viewer(_ context: AppRequestContext, storage: Storage) async throws -> ConversationViewer {
        let (principal, user) = try context.requireUser()
        switch principal.role {
        case .agent: return .agent(user.id)
        case .admin: return .staff(user.id)
        case .supervisor: return .staff(user.id, scope: .only(Set(try await storage.campaigns.supervisedCampaignIDs(userID: user.id))))
        case .integration: throw APIError.forbidden
        }
    }

    static func id(_ context: AppRequestContext) throws -> Int64 {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError.validation(field: "id", "id must be a number") }
        return id
    }

    /// The `campaignId` filter of a staff list; 403 for a campaign outside the caller's scope (a supervisor
    /// asking for a campaign not assigned to them).
    static func campaign(_ text: Substring?, in scope: CampaignScope) throws -> Int64? {
        guard let id = try number(text, field: "campaignId") else { return nil }
        guard scope.allows(id) else {
            throw APIError(status: .forbidden, code: "forbidden", message: "campaign \(id) is not one of your campaigns", field: "campaignId")
        }
        return id
    }

    static func number(_ text: Substring?, field: String) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int64(String(text)) else { throw APIError.validation(field: field, "\(field) must be a number") }
        return value
    }

    /// A JSON body that may be left out entirely.
    static func optionalBody<T: Decodable>(_ type: T.Type, _ request: Request, _ context: AppRequestContext) async throws -> T? {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw ErrorMiddleware.invalidBody(error)
        }
    }
}

extension ConversationError {
    /// How the API answers a refused conversation action.
    var apiError: APIError {
        switch self {
        case .notFound: APIError.notFound(description)
        case .closed: APIError(status: .conflict, code: "closed", message: description)
        case .offerExpired: APIError(status: .conflict, code: "offer_expired", message: description)
        case .taken: APIError(status: .conflict, code: "taken", message: description)
        case .atCapacity: APIError(status: .conflict, code: "at_capacity", message: description)
        case .notMember: APIError(status: .forbidden, code: "not_member", message: description, field: "campaignId")
        case .campaignDisabled: APIError(status: .conflict, code: "campaign_disabled", message: description, field: "campaignId")
        case .otherAgent: APIError(status: .conflict, code: "other_agent", message: description, field: "number")
        case .notAssignedToYou: APIError(status: .forbidden, code: "not_assigned", message: description)
        case .notCancellable: APIError(status: .conflict, code: "not_cancellable", message: description)
        case .invalid(let field, let message): APIError.validation(field: field, message)
        }
    }
}
