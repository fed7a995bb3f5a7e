import Foundation
import Hummingbird
import SMSStore

/// Outgoing webhooks (SPEC X3), admin only: subscriptions, their secret (shown once, at creation
/// and rotation), the delivery log, replay and a test event. Provider webhooks (incoming) are
/// `WebhookController`'s.
struct OutgoingWebhookController {
    let storage: Storage
    let secrets: SecretBox
    let clock: WebhookClock

    struct WebhookInput: Decodable {
        var url: String?
        var events: [String]?
        var enabled: Bool?
    }

    struct WebhookDTO: Encodable, Sendable {
        var id: Int64
        var url: String
        var events: [String]
        var enabled: Bool
        var createdAt: Date
        var updatedAt: Date
    }

    struct AttemptDTO: Encodable, Sendable {
        var at: Date
        var status: Int?
        var response: String?
        var error: String?
        var durationMs: Int
    }

    struct DeliveryDTO: Encodable, Sendable {
        var id: Int64
        var webhookId: Int64
        var event: String
        var state: String
        var attempts: Int
        var createdAt: Date
        var nextAttemptAt: Date?
        var lastAttemptAt: Date?
        var deliveredAt: Date?
        var expiresAt: Date
        var lastStatus: Int?
        var lastResponse: String?
        var lastError: String?
        var payload: String
        var attemptLog: [AttemptDTO]
    }

    struct WebhookList: Encodable, Sendable {
        var webhooks: [WebhookDTO]
        var events: [String]
    }
    struct WebhookEnvelope: Encodable, Sendable { var webhook: WebhookDTO }
    struct WebhookWithSecret: Encodable, Sendable {
        var webhook: WebhookDTO
        var secret: String
    }
    struct DeliveryList: Encodable, Sendable {
        var deliveries: [DeliveryDTO]
        var nextBeforeId: Int64?
    }
    struct DeliveryEnvelope: Encodable, Sendable { var delivery: DeliveryDTO }

    static let webhookSchema = JSONSchema.object([
        ("id", .integer), ("url", .string(format: "uri")), ("events", .array(.enumeration(WebhookEventName.subscribable.map(\.rawValue)))),
        ("enabled", .boolean), ("createdAt", .string(format: "date-time")), ("updatedAt", .string(format: "date-time")),
    ], required: ["id", "url", "events", "enabled", "createdAt", "updatedAt"])
    static let deliverySchema = JSONSchema.object([
        ("id", .integer), ("webhookId", .integer), ("event", .string()), ("state", .enumeration(WebhookDeliveryState.allCases.map(\.rawValue))),
        ("attempts", .integer), ("createdAt", .string(format: "date-time")), ("nextAttemptAt", .nullable(.string(format: "date-time"))),
        ("lastAttemptAt", .nullable(.string(format: "date-time"))), ("deliveredAt", .nullable(.string(format: "date-time"))),
        ("expiresAt", .string(format: "date-time")), ("lastStatus", .nullable(.integer)), ("lastResponse", .nullable(.string())),
        ("lastError", .nullable(.string())), ("payload", .string(description: "the JSON body sent")),
        ("attemptLog", .array(.object([("at", .string(format: "date-time")), ("status", .nullable(.integer)),
                                       ("response", .nullable(.string())), ("error", .nullable(.string())), ("durationMs", .integer)],
                                      required: ["at", "durationMs"]))),
    ], required: ["id", "webhookId", "event", "state", "attempts", "createdAt", "expiresAt", "payload", "attemptLog"])
    static let input = JSONSchema.object([
        ("url", .string(format: "uri")), ("events", .array(.enumeration(WebhookEventName.subscribable.map(\.rawValue)))), ("enabled", .boolean),
    ], required: [])
    static let withSecret = JSONSchema.object([("webhook", webhookSchema), ("secret", .string(description: "shown once"))],
                                              required: ["webhook", "secret"])

    func addRoutes(to routes: APIRoutes) {
        let admin = routes.group(.admin)
        admin.on(.get, "/api/v1/webhooks", RouteDoc("List outgoing webhooks and the events they may subscribe to", tag: "webhooks",
            response: .object([("webhooks", .array(Self.webhookSchema)), ("events", .array(.string()))], required: ["webhooks", "events"])),
            use: list)
        admin.on(.post, "/api/v1/webhooks", RouteDoc("Register an outgoing webhook; its signing secret is in the answer, once",
            tag: "webhooks", request: Self.input, status: 201, response: Self.withSecret), use: create)
        admin.on(.get, "/api/v1/webhooks/{id}", RouteDoc("An outgoing webhook", tag: "webhooks",
            response: .object([("webhook", Self.webhookSchema)], required: ["webhook"])), use: get)
        admin.on(.patch, "/api/v1/webhooks/{id}", RouteDoc("Change an outgoing webhook's URL, events or enabled", tag: "webhooks",
            request: Self.input, response: .object([("webhook", Self.webhookSchema)], required: ["webhook"])), use: update)
        admin.on(.delete, "/api/v1/webhooks/{id}", RouteDoc("Delete an outgoing webhook and its delivery log", tag: "webhooks",
            status: 204), use: delete)
        admin.on(.post, "/api/v1/webhooks/{id}/secret", RouteDoc("Rotate the signing secret; the new one is in the answer, once",
            tag: "webhooks", response: Self.withSecret), use: rotateSecret)
        admin.on(.post, "/api/v1/webhooks/{id}/ping", RouteDoc("Queue a `ping` test event for this webhook", tag: "webhooks",
            status: 202, response: .object([("delivery", Self.deliverySchema)], required: ["delivery"])), use: ping)
        admin.on(.get, "/api/v1/webhooks/{id}/deliveries", RouteDoc(
            "A webhook's delivery log, newest first (?state=pending|delivered|failed, ?limit up to 200, ?beforeId=nextBeforeId)",
            tag: "webhooks", response: .object([("deliveries", .array(Self.deliverySchema)), ("nextBeforeId", .nullable(.integer))],
                                               required: ["deliveries"])), use: deliveries)
        admin.on(.post, "/api/v1/webhooks/{id}/deliveries/{deliveryId}/replay", RouteDoc(
            "Queue a delivery again, due now (retried for another 24 h)", tag: "webhooks",
            response: .object([("delivery", Self.deliverySchema)], required: ["delivery"])), use: replay)
    }

    // MARK: Handlers

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<WebhookList> {
        JSONResponse(WebhookList(webhooks: try await storage.webhooks.list().map(Self.dto),
                                 events: WebhookEventName.subscribable.map(\.rawValue)))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<WebhookWithSecret> {
        let input = try await request.decodeJSON(WebhookInput.self, context: context)
        guard let url = input.url else { throw APIError.validation(field: "url", "url is required") }
        guard let events = input.events else { throw APIError.validation(field: "events", "events is required: choose at least one") }
        let secret = WebhookSignature.newSecret()
        let created = try await storage.webhooks.create(
            url: try Self.validURL(url), events: try Self.validEvents(events), enabled: input.enabled ?? true,
            secretCiphertext: try secrets.seal(secret), at: clock.now())
        try await audit(context, "webhook.create", created.id, details: "url=\(created.url)")
        return JSONResponse(WebhookWithSecret(webhook: Self.dto(created), secret: secret), status: .created)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<WebhookEnvelope> {
        JSONResponse(WebhookEnvelope(webhook: Self.dto(try await webhook(context))))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<WebhookEnvelope> {
        let current = try await webhook(context)
        let input = try await request.decodeJSON(WebhookInput.self, context: context)
        let updated = try await storage.webhooks.update(
            id: current.id, url: try input.url.map(Self.validURL) ?? current.url,
            events: try input.events.map(Self.validEvents) ?? current.events, enabled: input.enabled ?? current.enabled,
            at: clock.now())
        try await audit(context, "webhook.update", updated.id,
                        details: "url=\(updated.url) events=\(updated.events.map(\.rawValue).joined(separator: ",")) enabled=\(updated.enabled)")
        return JSONResponse(WebhookEnvelope(webhook: Self.dto(updated)))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        let current = try await webhook(context)
        try await storage.webhooks.delete(id: current.id)
        try await audit(context, "webhook.delete", current.id, details: "url=\(current.url)")
        return NoContent()
    }

    @Sendable func rotateSecret(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<WebhookWithSecret> {
        let current = try await webhook(context)
        let secret = WebhookSignature.newSecret()
        try await storage.webhooks.rotateSecret(id: current.id, secretCiphertext: try secrets.seal(secret), at: clock.now())
        try await audit(context, "webhook.rotate_secret", current.id)
        guard let rotated = try await storage.webhooks.webhook(id: current.id) else { throw APIError.notFound("webhook \(current.id) does not exist") }
        return JSONResponse(WebhookWithSecret(webhook: Self.dto(rotated), secret: secret))
    }

    @Sendable func ping(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DeliveryEnvelope> {
        let current = try await webhook(context)
        let now = clock.now()
        let delivery = try await storage.webhooks.enqueue(.ping(webhookID: current.id, at: now), webhookID: current.id, at: now)
        return JSONResponse(DeliveryEnvelope(delivery: Self.dto(delivery, attempts: [])), status: .accepted)
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DeliveryList> {
        let current = try await webhook(context)
        let q = request.uri.queryParameters
        var state: WebhookDeliveryState?
        if let text = q["state"].map(String.init), !text.isEmpty {
            guard let parsed = WebhookDeliveryState(rawValue: text) else {
                throw APIError.validation(field: "state", "state must be one of pending, delivered, failed")
            }
            state = parsed
        }
        var limit = 50
        if let text = q["limit"].map(String.init) {
            guard let value = Int(text), (1...200).contains(value) else { throw APIError.validation(field: "limit", "limit must be 1 to 200") }
            limit = value
        }
        var beforeID: Int64?
        if let text = q["beforeId"].map(String.init) {
            guard let value = Int64(text) else { throw APIError.validation(field: "beforeId", "beforeId must be a delivery id") }
            beforeID = value
        }
        let page = try await storage.webhooks.deliveries(webhookID: current.id, state: state, limit: limit, beforeID: beforeID)
        let attempts = Dictionary(grouping: try await storage.webhooks.attempts(deliveryIDs: page.map(\.id)), by: \.deliveryID)
        return JSONResponse(DeliveryList(deliveries: page.map { Self.dto($0, attempts: attempts[$0.id] ?? []) },
                                         nextBeforeId: page.count == limit ? page.last?.id : nil))
    }

    @Sendable func replay(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DeliveryEnvelope> {
        let current = try await webhook(context)
        guard let deliveryID = context.parameters.get("deliveryId", as: Int64.self) else {
            throw APIError.validation(field: "deliveryId", "delivery id must be a number")
        }
        let replayed: WebhookDelivery
        do {
            replayed = try await storage.webhooks.replay(deliveryID: deliveryID, webhookID: current.id, at: clock.now())
        } catch StoreError.notFound {
            throw APIError.notFound("webhook \(current.id) has no delivery \(deliveryID)")
        }
        try await audit(context, "webhook.replay", current.id, details: "delivery=\(deliveryID)")
        let attempts = try await storage.webhooks.attempts(deliveryIDs: [deliveryID])
        return JSONResponse(DeliveryEnvelope(delivery: Self.dto(replayed, attempts: attempts)))
    }

    // MARK: Helpers

    func webhook(_ context: AppRequestContext) async throws -> WebhookRecord {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError.validation(field: "id", "webhook id must be a number") }
        guard let webhook = try await storage.webhooks.webhook(id: id) else { throw APIError.notFound("webhook \(id) does not exist") }
        return webhook
    }

    /// An absolute http or https URL with a host.
    static func validURL(_ text: String) throws -> String {
        let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw APIError.validation(field: "url", "url must be an absolute http:// or https:// address, e.g. https://example.com/smsdesk")
        }
        guard url.count <= 2000 else { throw APIError.validation(field: "url", "url is at most 2000 characters") }
        return url
    }

    static func validEvents(_ names: [String]) throws -> [WebhookEventName] {
        var events: [WebhookEventName] = []
        for name in names {
            guard let event = WebhookEventName(rawValue: name), WebhookEventName.subscribable.contains(event) else {
                throw APIError.validation(field: "events", "unknown event \(name); events are "
                    + WebhookEventName.subscribable.map(\.rawValue).joined(separator: ", "))
            }
            if !events.contains(event) { events.append(event) }
        }
        guard !events.isEmpty else { throw APIError.validation(field: "events", "choose at least one event") }
        return events
    }

    static func dto(_ webhook: WebhookRecord) -> WebhookDTO {
        WebhookDTO(id: webhook.id, url: webhook.url, events: webhook.events.map(\.rawValue), enabled: webhook.enabled,
                   createdAt: webhook.createdAt, updatedAt: webhook.updatedAt)
    }

    static func dto(_ delivery: WebhookDelivery, attempts: [WebhookAttempt]) -> DeliveryDTO {
        DeliveryDTO(
            id: delivery.id, webhookId: delivery.webhookID, event: delivery.event, state: delivery.state.rawValue,
            attempts: delivery.attempts, createdAt: delivery.createdAt, nextAttemptAt: delivery.state == .pending ? delivery.nextAttemptAt : nil,
            lastAttemptAt: delivery.lastAttemptAt, deliveredAt: delivery.deliveredAt, expiresAt: delivery.expiresAt,
            lastStatus: delivery.lastStatus, lastResponse: delivery.lastResponse, lastError: delivery.lastError, payload: delivery.payload,
            attemptLog: attempts.map {
                AttemptDTO(at: $0.at, status: $0.status, response: $0.response, error: $0.error, durationMs: $0.durationMilliseconds)
            })
    }

    func audit(_ context: AppRequestContext, _ action: String, _ id: Int64, details: String? = nil) async throws {
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: action, targetType: "webhook",
            targetID: String(id), details: details, clientAddress: context.clientAddress))
    }
}
