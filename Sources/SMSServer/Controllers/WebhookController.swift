import Foundation
import Hummingbird
import SMSConversations
import SMSDispatch
import SMSProviders
import SMSStore

/// Provider webhooks (SPEC P7): `GET|POST /webhooks/{id}/{token}` carries
/// inbound messages and delivery reports. The unguessable token in the URL
/// is checked for every provider, and the provider's own signature where it
/// signs (Twilio, Vonage). A bad token or signature answers 403 and stores
/// nothing; a body without the fields its provider always sends answers 400.
struct WebhookController {
    let storage: Storage
    let pool: ProviderPool
    let inbound: InboundPipeline
    let reports: DeliveryReportIntake
    /// The public base URL (`https://host`), or nil to rebuild it from the request's Host header.
    let publicURL: String?
    /// Providers by id, read for every webhook: kept a second (a changed token or secret applies within it).
    let providers = ExpiringCache<Int64, ProviderRecord?>(lifetime: .seconds(1))

    struct InboundDTO: Encodable, Sendable {
        var id: Int64
        var providerId: Int64
        var providerMessageId: String?
        var from: String
        var to: String
        var text: String
        var campaignId: Int64?
        var conversationId: Int64?
        var receivedAt: Date
    }

    struct InboundList: Encodable, Sendable { var messages: [InboundDTO] }

    func addRoutes(to routes: APIRoutes) {
        routes.group(.staff).on(.get, "/api/v1/inbound", RouteDoc(
            "Received messages, newest first (?unrouted=true: those no campaign claimed yet; ?limit=, at most 500)", tag: "inbound",
            response: .object([("messages", .array(.object([
                ("id", .integer), ("providerId", .integer), ("providerMessageId", .nullable(.string())), ("from", .string()),
                ("to", .string()), ("text", .string()), ("campaignId", .nullable(.integer)),
                ("conversationId", .nullable(.integer)), ("receivedAt", .string(format: "date-time")),
            ], required: ["id", "providerId", "from", "to", "text", "receivedAt"])))], required: ["messages"])), use: list)
        let webhooks = routes.group(.providerWebhook)
        for method in [HTTPRequest.Method.post, .get] {
            webhooks.on(method, "/webhooks/{id}/{token}", RouteDoc(
                "A provider's inbound messages and delivery reports (the URL shown on the provider's page)",
                tag: "webhooks"), use: receive)
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<InboundList> {
        let limit = min(500, max(1, request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100))
        let unrouted = request.uri.queryParameters["unrouted"].map(String.init) == "true"
        let messages = unrouted ? try await storage.inbound.unrouted(limit: limit) : try await storage.inbound.recent(limit: limit)
        return JSONResponse(InboundList(messages: messages.map {
            InboundDTO(id: $0.id, providerId: $0.providerID, providerMessageId: $0.providerMessageID, from: $0.from, to: $0.to,
                       text: $0.body, campaignId: $0.campaignID, conversationId: $0.conversationID, receivedAt: $0.receivedAt)
        }))
    }

    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), let token = context.parameters.get("token"),
              let record = try await providers.value(id, load: { try await storage.providers.provider(id: id) }) else {
            throw APIError.notFound("no such webhook")
        }
        guard Secrets.constantTimeEquals(token, record.webhookToken) else {
            context.logger.notice("webhook with a wrong token", metadata: ["provider": "\(id)"])
            throw APIError(status: .forbidden, code: "bad_token", message: "webhook token does not match")
        }
        let body = try await request.body.collect(upTo: 1 << 20)
        let webhook = WebhookRequest(
            method: request.method.rawValue, url: fullURL(request),
            headers: request.headers.map { ($0.name.rawName, $0.value) }, body: Array(body.readableBytesView))
        let adapter = try await pool.adapter(for: record)
        guard adapter.verifyWebhook(webhook) else {
            context.logger.notice("webhook with a bad signature", metadata: ["provider": "\(id)"])
            throw APIError(status: .forbidden, code: "bad_signature", message: "webhook signature does not verify")
        }
        let messages: [InboundSMS]
        let deliveryReports: [DeliveryReport]
        do {
            messages = try adapter.inboundMessages(in: webhook)
            deliveryReports = try adapter.deliveryReports(in: webhook)
        } catch let error as MalformedWebhook {
            throw APIError.badRequest(error.reason)
        }
        for message in messages {
            _ = try await inbound.receive(message, providerID: id)
        }
        for report in deliveryReports {
            try await reports.receive(report, providerID: id)
        }
        let answer = adapter.webhookAnswer
        var headers = HTTPFields()
        if let contentType = answer.contentType { headers[.contentType] = contentType }
        return Response(status: .init(code: answer.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    /// The URL as the provider called it, which is what signatures cover.
    func fullURL(_ request: Request) -> String {
        let base: String
        if let publicURL {
            base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        } else {
            base = "http://" + (request.head.authority ?? "localhost")
        }
        return base + request.uri.description
    }
}
