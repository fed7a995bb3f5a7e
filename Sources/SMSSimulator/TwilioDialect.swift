import Foundation
import Hummingbird

/// Twilio Programmable Messaging (PROVIDERS.md §1).
///
/// - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form body, HTTP Basic
///   `AccountSid:AuthToken` → `201` Message JSON, `status` `queued` (`accepted`
///   with a `MessagingServiceSid` and no `From`).
/// - Errors in Twilio's legacy shape `{code,message,more_info,status}`:
///   fail suffix `400`/21211, retry suffix `429`/20429, bad credentials `401`/20003.
/// - Webhooks: form status callback (`MessageStatus=delivered`, or `undelivered`
///   with `ErrorCode=30003`) and inbound SMS, both signed with `X-Twilio-Signature`
///   (HMAC-SHA1 of the webhook URL and sorted parameters, key AuthToken).
struct TwilioDialect: WireDialect {
    let type = SimulatorType.twilio
    static let apiVersion = "2010-04-01"

    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation) {
        router.post("/2010-04-01/Accounts/:sid/Messages.json") { request, context in
            try await send(request, account: context.parameters.get("sid") ?? "", simulation: simulation)
        }
    }

    func send(_ request: Request, account: String, simulation: Simulation) async throws -> Response {
        await simulation.pause()
        let options = simulation.options
        if options.username != nil || options.secret != nil {
            let basic = Credentials.basic(request.header("authorization"))
            guard let basic, Credentials.matches(basic.user, options.username), Credentials.matches(account, options.username),
                  Credentials.matches(basic.password, options.secret) else {
                simulation.recorder.refuseCredentials()
                return error(401, code: 20003, message: "Authenticate")
            }
        }
        let form = FormFields(body: try await request.collectBody())
        guard let to = form["To"], !to.isEmpty else {
            return error(400, code: 21604, message: "A 'To' phone number is required.")
        }
        let from = form["From"].flatMap { $0.isEmpty ? nil : $0 }
        let service = form["MessagingServiceSid"].flatMap { $0.isEmpty ? nil : $0 }
        guard from != nil || service != nil else {
            return error(400, code: 21603, message: "A 'From' phone number is required.")
        }
        let body = form["Body"] ?? ""
        guard !body.isEmpty || form["MediaUrl"] != nil || form["ContentSid"] != nil else {
            return error(400, code: 21602, message: "Message body is required.")
        }
        let message = ReceivedMessage(to: to, from: from, text: body, reference: nil)
        switch simulation.verdict(for: to) {
        case .reject:
            simulation.refuse(message, retryable: false)
            return error(400, code: 21211, message: "The 'To' number \(to) is not a valid phone number.")
        case .retry:
            simulation.refuse(message, retryable: true)
            return error(429, code: 20429, message: "Too Many Requests")
        case .accept(let delivered):
            let accepted = simulation.accept(message, delivered: delivered, details: MessageDetails(account: account)) {
                "SM" + simulation.hexID($0)
            }
            return created(accepted, account: account, service: service)
        }
    }

    private func created(_ message: AcceptedMessage, account: String, service: String?) -> Response {
        let date = UTCTime(message.acceptedAt).rfc2822
        let pooled = message.from == nil
        let uri = "/2010-04-01/Accounts/\(account)/Messages/\(message.providerID)"
        return Reply.json(201) { json in
            json.field("account_sid", account)
            json.field("api_version", Self.apiVersion)
            json.field("body", message.text)
            json.field("date_created", date)
            json.field("date_sent", nil)
            json.field("date_updated", date)
            json.field("direction", "outbound-api")
            json.field("error_code", nil)
            json.field("error_message", nil)
            json.field("from", message.from)
            json.field("messaging_service_sid", service)
            json.field("num_media", "0")
            // With a Messaging Service, Twilio counts segments once it has picked a sender.
            json.field("num_segments", pooled ? "0" : String(message.parts))
            json.field("price", nil)
            json.field("price_unit", "USD")
            json.field("sid", message.providerID)
            json.field("status", pooled ? "accepted" : "queued")
            json.object("subresource_uris") { json in
                json.field("media", uri + "/Media.json")
            }
            json.field("to", message.to)
            json.field("uri", uri + ".json")
        }
    }

    private func error(_ status: Int, code: Int, message: String) -> Response {
        Reply.json(status) { json in
            json.field("code", code)
            json.field("message", message)
            json.field("more_info", "https://www.twilio.com/docs/errors/\(code)")
            json.field("status", status)
        }
    }

    // MARK: Webhooks

    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall] {
        let status = message.delivered ? "delivered" : "undelivered"
        var fields = FormFields([
            ("SmsSid", message.providerID),
            ("SmsStatus", status),
            ("MessageStatus", status),
            ("To", message.to),
            ("MessageSid", message.providerID),
            ("AccountSid", message.details.account ?? target.username ?? ""),
            ("From", message.from ?? ""),
            ("ApiVersion", Self.apiVersion),
        ])
        if !message.delivered { fields.pairs.append(("ErrorCode", "30003")) }
        fields.pairs.append(("RawDlrDoneDate", UTCTime(Date()).compact))
        return [signed(fields, target)]
    }

    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall] {
        let sid = "SM" + message.key
        let fields = FormFields([
            ("SmsMessageSid", sid),
            ("NumMedia", "0"),
            ("SmsSid", sid),
            ("SmsStatus", "received"),
            ("Body", message.text),
            ("To", message.to),
            ("NumSegments", String(Simulation.parts(of: message.text))),
            ("ReferralNumMedia", "0"),
            ("MessageSid", sid),
            ("AccountSid", message.account ?? target.username ?? ""),
            ("From", message.from),
            ("ApiVersion", Self.apiVersion),
        ])
        return [signed(fields, target)]
    }

    private func signed(_ fields: FormFields, _ target: WebhookTarget) -> WebhookCall {
        let signature = WebhookSignature.twilio(url: target.url, parameters: fields.pairs, authToken: target.secret ?? "")
        return .form(target.url, fields, headers: [("X-Twilio-Signature", signature)])
    }
}
