import Foundation
import Hummingbird
import SMSConversations
import SMSStore

/// Conversation search, the "recordings" of SPEC S4: by date range, part of the client number, campaign
/// and agent, newest first, paged by id; a result opens read-only through `GET /api/v1/conversations/{id}`;
/// the whole result set exports as CSV, one row per message.
///
/// Scope: admins search every campaign; a supervisor only the campaigns an admin assigned them to
/// (`PUT /api/v1/campaigns/{id}/supervisors`). Naming another campaign answers 403; leaving the campaign
/// out searches theirs. Agents have no access.
struct SearchController {
    let storage: Storage

    /// Conversations of the export read per query.
    static let exportPage = 200
    static let maximumNumberLength = 32

    struct SearchPage: Encodable, Sendable {
        var conversations: [ConversationView]
        /// Pass as `beforeId` for the next (older) page; null on the last page.
        var nextBeforeId: Int64?

        enum CodingKeys: String, CodingKey { case conversations, nextBeforeId }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(conversations, forKey: .conversations)
            try c.encode(nextBeforeId, forKey: .nextBeforeId)
        }
    }

    static let filters = "from, to (ISO 8601 date-times; a conversation matches when one of its messages is in [from, to)), "
        + "number (part of the client number), campaignId, agentId"
    static let pageSchema = JSONSchema.object([
        ("conversations", .array(ConversationController.conversationSchema)), ("nextBeforeId", .nullable(.integer)),
    ], required: ["conversations", "nextBeforeId"])

    /// The CSV's columns, one row per message: conversations newest first, each one's messages oldest first.
    static let csvHeader = ["conversation_id", "message_id", "date", "campaign", "client_number", "agent", "direction", "text",
                            "state", "reason"]

    func addRoutes(to routes: APIRoutes) {
        let staff = routes.group(.staff)
        staff.on(.get, "/api/v1/search/conversations", RouteDoc(
            "Search conversations (SPEC S4), newest first: \(Self.filters); limit (1-200, default 50), beforeId pages. "
                + "A supervisor sees only the campaigns assigned to them (another campaignId: 403)",
            tag: "search", response: Self.pageSchema), use: search)
        staff.on(.get, "/api/v1/search/conversations.csv", RouteDoc(
            "Every conversation the same search matches, as text/csv streamed, one row per message (`;`-separated: "
                + Self.csvHeader.joined(separator: ", ") + "); cells that would start a spreadsheet formula begin with '",
            tag: "search"), use: export)
    }

    // MARK: handlers

    @Sendable func search(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<SearchPage> {
        let query = try await searchQuery(request, context)
        let q = request.uri.queryParameters
        let limit = Int(try ConversationController.number(q["limit"], field: "limit") ?? 50)
        guard (1...200).contains(limit) else { throw APIError.validation(field: "limit", "limit must be from 1 to 200") }
        let beforeID = try ConversationController.number(q["beforeId"], field: "beforeId")
        let now = Date()
        // One more than asked tells whether an older page exists.
        let items = try await storage.conversations.search(query, limit: limit + 1, beforeID: beforeID, at: now)
        let page = items.prefix(limit)
        return JSONResponse(SearchPage(conversations: page.map { ConversationView($0, now: now) },
                                       nextBeforeId: items.count > limit ? page.last?.conversation.id : nil))
    }

    @Sendable func export(_ request: Request, context: AppRequestContext) async throws -> Response {
        let query = try await searchQuery(request, context)
        let principal = try context.requirePrincipal()
        // The first page is read before answering, so a failing database is a 500, not a cut-off file.
        let first = try await storage.conversations.transcripts(query, limit: Self.exportPage, beforeID: nil)
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: "search.export",
            targetType: "conversations", details: Self.describe(query), clientAddress: context.clientAddress))
        let conversations = storage.conversations
        let body = ResponseBody { writer in
            let now = Date()
            let iso = ISO8601DateFormatter()
            var buffer = ByteBuffer(string: SpreadsheetCSV.row(Self.csvHeader) + "\r\n")
            var page = first
            while true {
                for transcript in page { Self.write(transcript, now: now, iso: iso, to: &buffer) }
                try await writer.write(buffer)
                buffer.clear()
                guard page.count == Self.exportPage, let last = page.last else { break }
                page = try await conversations.transcripts(query, limit: Self.exportPage, beforeID: last.conversation.id)
            }
            try await writer.finish(nil)
        }
        var response = Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: body)
        response.headers[.contentDisposition] = "attachment; filename=\"conversations.csv\""
        return response
    }

    // MARK: helpers

    /// The search the request asks for, within the caller's campaigns.
    func searchQuery(_ request: Request, _ context: AppRequestContext) async throws -> ConversationSearch {
        let q = request.uri.queryParameters
        let scope = try await ConversationController.viewer(context, storage: storage).campaignScope ?? .only([])
        var query = ConversationSearch(scope: scope)
        query.campaignID = try ConversationController.campaign(q["campaignId"], in: scope)
        query.agentID = try ConversationController.number(q["agentId"], field: "agentId")
        query.from = try Self.date(q["from"], field: "from")
        query.to = try Self.date(q["to"], field: "to")
        if let from = query.from, let to = query.to, to <= from {
            throw APIError.validation(field: "to", "to must be after from")
        }
        if let number = q["number"].map(String.init), !number.trimmingCharacters(in: .whitespaces).isEmpty {
            guard number.count <= Self.maximumNumberLength else {
                throw APIError.validation(field: "number", "number is at most \(Self.maximumNumberLength) characters")
            }
            guard ConversationSearch.numberTerm(number) != nil else {
                throw APIError.validation(field: "number", "number must contain digits (or the letters of a sender name)")
            }
            query.number = number
        }
        return query
    }

    /// An ISO 8601 date-time (`2026-03-02T00:00:00Z`, an offset or fractional seconds allowed).
    static func date(_ text: Substring?, field: String) throws -> Date? {
        guard let text, !text.isEmpty else { return nil }
        let value = String(text)
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: value) ?? fractional.date(from: value) else {
            throw APIError.validation(field: field, "\(field) must be an ISO 8601 date and time such as 2026-03-02T00:00:00Z")
        }
        return date
    }

    /// One CSV row per message of the conversation.
    static func write(_ transcript: ConversationTranscript, now: Date, iso: ISO8601DateFormatter, to buffer: inout ByteBuffer) {
        let c = transcript.conversation
        for message in transcript.messages {
            let view = MessageView(message, now: now)
            let row = SpreadsheetCSV.row([
                String(c.id), String(message.id), iso.string(from: message.createdAt), transcript.campaignName, c.clientNumber,
                transcript.agentName ?? "", view.direction, view.text, view.state, view.reason ?? "",
            ])
            buffer.writeString(row)
            buffer.writeString("\r\n")
        }
    }

    /// The filters of a search, for the audit log.
    static func describe(_ query: ConversationSearch) -> String {
        let iso = ISO8601DateFormatter()
        var parts: [String] = []
        if let id = query.campaignID { parts.append("campaign=\(id)") }
        if let id = query.agentID { parts.append("agent=\(id)") }
        if let number = query.number { parts.append("number=\(number)") }
        if let from = query.from { parts.append("from=\(iso.string(from: from))") }
        if let to = query.to { parts.append("to=\(iso.string(from: to))") }
        return parts.isEmpty ? "all" : parts.joined(separator: " ")
    }
}
