import Foundation
import HTTPTypes
import Hummingbird
import SMSCore
import SMSDispatch
import SMSStore

/// Sending through the API (SPEC D6): `POST /api/v1/messages` with an
/// optional `Idempotency-Key`, `GET /api/v1/messages/{id}`, and the legacy
/// Integra forms kept for existing integrations.
struct MessageController {
    let storage: Storage
    let intake: SpoolIntake
    /// Concurrent sends share transactions (group commit); each is answered once its own is on disk.
    let commits: SpoolGroupCommit
    /// Campaigns by name or id, kept two seconds (a disabled campaign refuses sends within that time).
    let campaigns: CampaignLookup

    /// Open dialer monitors hear of API sends (coalesced: at most two events a second per campaign).
    let progress: DialerProgress

    init(storage: Storage, intake: SpoolIntake, progress: DialerProgress = .disabled) {
        self.storage = storage
        self.intake = intake
        self.progress = progress
        commits = SpoolGroupCommit(spool: storage.spool)
        campaigns = CampaignLookup(storage: storage)
    }

    /// A short-lived cache of campaign lookups: a busy API otherwise reads the same row for every message.
    actor CampaignLookup {
        let storage: Storage
        private var entries: [String: (campaign: CampaignRecord, until: ContinuousClock.Instant)] = [:]

        init(storage: Storage) { self.storage = storage }

        func campaign(_ reference: String) async throws -> CampaignRecord? {
            if let entry = entries[reference], entry.until > .now { return entry.campaign }
            var found: CampaignRecord?
            if let id = Int64(reference) { found = try await storage.campaigns.campaign(id: id) }
            if found == nil { found = try await storage.campaigns.campaign(named: reference) }
            if let found {
                if entries.count > 1000 { entries.removeAll() }
                entries[reference] = (found, .now + .seconds(2))
            }
            return found
        }
    }

    struct SendRequest: Decodable {
        /// Campaign name or id.
        var campaign: String
        var to: String
        var text: String
        var priority: Int?
        /// Send no earlier than this time (ISO 8601).
        var notBefore: Date?
    }

    struct MessageDTO: Encodable, Sendable {
        struct Event: Encodable, Sendable {
            var at: Date
            var from: String?
            var to: String
            var reason: String?
        }
        var id: Int64
        var campaignId: Int64
        var to: String
        var text: String
        var priority: Int
        var state: String
        var attempts: Int
        var encoding: String?
        var segments: Int?
        var providerId: Int64?
        var providerMessageId: String?
        var errorCode: String?
        var error: String?
        var blockReason: String?
        var possibleDuplicate: Bool
        var createdAt: Date
        var sentAt: Date?
        var deliveredAt: Date?
        var history: [Event]?
    }

    struct MessageEnvelope: Encodable, Sendable {
        var message: MessageDTO
        var duplicate: Bool?
    }

    static let messageSchema = JSONSchema.object([
        ("id", .integer), ("campaignId", .integer), ("to", .string()), ("text", .string()), ("priority", .integer),
        ("state", .enumeration(SpoolState.allCases.map(\.rawValue))), ("attempts", .integer),
        ("encoding", .nullable(.string())), ("segments", .nullable(.integer)), ("providerId", .nullable(.integer)),
        ("providerMessageId", .nullable(.string())), ("errorCode", .nullable(.string())), ("error", .nullable(.string())),
        ("blockReason", .nullable(.string())), ("possibleDuplicate", .boolean), ("createdAt", .string(format: "date-time")),
        ("sentAt", .nullable(.string(format: "date-time"))), ("deliveredAt", .nullable(.string(format: "date-time"))),
        ("history", .array(.object([("at", .string(format: "date-time")), ("from", .nullable(.string())),
                                     ("to", .string()), ("reason", .nullable(.string()))], required: ["at", "to"]))),
    ], required: ["id", "campaignId", "to", "text", "state", "attempts", "possibleDuplicate", "createdAt"])

    static let senders = Access.roles([.admin, .supervisor, .integration])

    func addRoutes(to routes: APIRoutes) {
        let group = routes.group(Self.senders)
        group.on(.post, "/api/v1/messages", RouteDoc(
            "Queue one SMS. With an Idempotency-Key header, the same key again returns the first message and queues nothing.",
            tag: "messages",
            request: .object([("campaign", .string(description: "campaign name or id")), ("to", .string()), ("text", .string()),
                              ("priority", .integer), ("notBefore", .string(format: "date-time"))], required: ["campaign", "to", "text"]),
            status: 202, response: .object([("message", Self.messageSchema)], required: ["message"])), use: send)
        group.on(.get, "/api/v1/messages/{id}", RouteDoc("A message's state, history, segments, provider id and error",
            tag: "messages", response: .object([("message", Self.messageSchema)], required: ["message"])), use: show)
        group.on(.post, "/Integra/resources/SMS/SendSMS", RouteDoc(
            "Legacy send (form fields destination, message, campaign, agent); API key as Bearer token", tag: "legacy",
            status: 200), use: legacyPost)
        group.on(.get, "/integra/resources/sms/sendsms/{params}", RouteDoc(
            "Legacy send: destination=…&message=…&campaign=<name> (or device=<campaign name>) in the last path segment; API key as Bearer token or key=<API key>",
            tag: "legacy",
            status: 200), use: legacyGet)
    }

    static func dto(_ m: SpoolMessage, history: [SpoolEvent]?) -> MessageDTO {
        MessageDTO(
            id: m.id, campaignId: m.campaignID, to: m.destination, text: m.message, priority: m.priority, state: m.state.rawValue,
            attempts: m.attempts, encoding: m.encoding, segments: m.segments, providerId: m.providerID,
            providerMessageId: m.providerMessageID, errorCode: m.errorCode, error: m.errorText, blockReason: m.blockReason,
            possibleDuplicate: m.possibleDuplicate, createdAt: m.createdAt, sentAt: m.sentAt, deliveredAt: m.deliveredAt,
            history: history?.map { .init(at: $0.at, from: $0.from?.rawValue, to: $0.to.rawValue, reason: $0.reason) })
    }

    func campaign(_ reference: String, field: String) async throws -> CampaignRecord {
        let trimmed = reference.trimmingCharacters(in: .whitespaces)
        guard let found = try await campaigns.campaign(trimmed) else {
            throw APIError.validation(field: field, "no campaign named \"\(trimmed)\"")
        }
        return found
    }

    /// Validates and queues one message.
    func queue(campaign reference: String, campaignField: String, to: String, text: String, priority: Int,
               notBefore: Date?, idempotencyKey: String?, source: SpoolSource,
               context: AppRequestContext) async throws -> (SpoolMessage, Bool) {
        let campaign = try await campaign(reference, field: campaignField)
        guard campaign.enabled else { throw APIError.validation(field: campaignField, "campaign \"\(campaign.name)\" is disabled") }
        let destination = to.trimmingCharacters(in: .whitespaces)
        guard !destination.isEmpty else { throw APIError.validation(field: "to", "the destination number is required") }
        guard !text.isEmpty else { throw APIError.validation(field: "text", "the text is required") }
        for (field, value) in [("to", destination), ("text", text)] where value.unicodeScalars.contains("\u{0}") {
            throw APIError.validation(field: field, "the \(field == "to" ? "destination number" : "text") contains a NUL character (U+0000), which cannot be stored")
        }
        guard text.count <= 1600 else { throw APIError.validation(field: "text", "the text is longer than 1600 characters") }
        guard SpoolCSV.priorityRange.contains(priority) else {
            throw APIError.validation(field: "priority", "priority must be a whole number from \(Int32.min) to \(Int32.max)")
        }
        if let key = idempotencyKey, !(1...200).contains(key.count) {
            throw APIError.validation(field: "Idempotency-Key", "the idempotency key must have 1 to 200 characters")
        }
        let principal = try context.requirePrincipal()
        let message = SpoolIntake.message(
            campaignID: campaign.id, destination: destination, text: text, priority: priority, source: source,
            pattern: try await intake.numberPattern(for: campaign), createdBy: principal.userID, idempotencyKey: idempotencyKey,
            notBefore: notBefore)
        let queued: (SpoolMessage, Bool)
        if idempotencyKey != nil {
            queued = try await storage.spool.enqueueOnce(message, at: Date())
        } else {
            queued = (try await commits.enqueue(message), true)
        }
        if queued.1 { await progress.changed(campaignID: campaign.id, reason: "queued") }
        return queued
    }

    @Sendable func send(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<MessageEnvelope> {
        let body = try await request.decodeJSON(SendRequest.self, context: context)
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        let (message, created) = try await queue(
            campaign: body.campaign, campaignField: "campaign", to: body.to, text: body.text, priority: body.priority ?? 0,
            notBefore: body.notBefore, idempotencyKey: key, source: .api, context: context)
        return JSONResponse(MessageEnvelope(message: Self.dto(message, history: nil), duplicate: created ? nil : true),
                            status: created ? .accepted : .ok)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<MessageEnvelope> {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.validation(field: "id", "message id must be a number")
        }
        guard let message = try await storage.spool.message(id: id) else { throw APIError.notFound("message \(id) does not exist") }
        return JSONResponse(MessageEnvelope(message: Self.dto(message, history: try await storage.spool.history(id: id))))
    }

    /// Legacy answers are plain text, as the original integrations expect: `OK <id>` or `ERROR <reason>`.
    static func legacyAnswer(_ work: () async throws -> SpoolMessage) async -> Response {
        do {
            let message = try await work()
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "OK \(message.id)\n")))
        } catch let error as APIError {
            return Response(status: error.status, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "ERROR \(error.field.map { "\($0): " } ?? "")\(error.message)\n")))
        } catch {
            return Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "ERROR internal error\n")))
        }
    }

    @Sendable func legacyPost(_ request: Request, context: AppRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let fields = FormFields(String(buffer: buffer))
        return await Self.legacyAnswer {
            try await queue(campaign: fields["campaign"] ?? "", campaignField: "campaign", to: fields["destination"] ?? "",
                            text: fields["message"] ?? "", priority: 0, notBefore: nil, idempotencyKey: nil,
                            source: .legacyAPI, context: context).0
        }
    }

    @Sendable func legacyGet(_ request: Request, context: AppRequestContext) async throws -> Response {
        let fields = FormFields(context.parameters.get("params") ?? "")
        return await Self.legacyAnswer {
            try await queue(campaign: fields["campaign"] ?? fields["device"] ?? "", campaignField: "campaign",
                            to: fields["destination"] ?? "", text: fields["message"] ?? "", priority: 0, notBefore: nil,
                            idempotencyKey: nil, source: .legacyAPI, context: context).0
        }
    }
}

/// `a=1&b=2` form fields (also used for the legacy path segment).
struct FormFields {
    private var values: [String: String] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            let name = decode(parts[0])
            if values[name] == nil { values[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
    }

    subscript(_ name: String) -> String? { values[name] }
}
