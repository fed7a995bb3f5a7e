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

    func addRoutes(to routes: APIRoutes) {
        let webhooks = routes.group(.providerWebhook)
        for method in [HTTPRequest.Method.post, .get] {
            webhooks.on(method, "/webhooks/{id}/{token}", RouteDoc(
                "A provider's inbound messages and delivery reports (the URL shown on the provider's page)",
                tag: "webhooks"), use: receive)
        }
    }

    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id", as: Int64.self), let token = context.parameters.get("token"),
              let record = try await storage.providers.provider(id: id) else {
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
