import Foundation
import Hummingbird

/// A generic HTTP SMS gateway, for the URL providers (`URLSMS`, `URLSMSAuth`,
/// `URLSMSPOST`, `URLPOSTSMSAuth`; PROVIDERS.md §7 and `generic_url.json`).
///
/// Parameters come from the query string, a form body or a JSON body:
/// destination `to` (or `phone`, `msisdn`, `number`, `numero`, `celular`),
/// text `text` (or `message`, `msg`, `content`, `mensaje`, `body`), sender
/// `from` (or `sender`, `source`, `remitente`), our reference `id` (or `ref`,
/// `reference`, `messageId`). Credentials, when configured: HTTP Basic, or
/// `username` and `password` parameters.
///
/// - `GET|POST /send`, `/api/send`: plain text. `200 OK <id>`; fail suffix
///   `200 ERROR invalid destination` (decided by the body, Kannel style);
///   retry suffix `503 Service Unavailable`.
/// - `POST /api/messages`: JSON `{"id":"<id>","status":"queued"}`, `201` for a
///   form body and `200` for a JSON body; fail suffix `400 {"error":…}`; retry
///   suffix `503 {"error":…}`.
/// - Bad credentials: `401` with `WWW-Authenticate: Basic realm="sms"`, body `Unauthorized`.
/// - Webhooks: a form POST (or query-string GET with `--webhook-method get`):
///   delivery reports `type=dlr&id=<id>&ref=<our id>&to=&from=&status=delivered|failed&err=0|1&time=`,
///   inbound messages `type=mo&id=&from=&to=&text=&time=`.
struct GenericDialect: WireDialect {
    let type = SimulatorType.generic

    static let toNames = ["to", "phone", "msisdn", "number", "numero", "celular", "destination"]
    static let textNames = ["text", "message", "msg", "content", "mensaje", "body"]
    static let fromNames = ["from", "sender", "source", "remitente"]
    static let referenceNames = ["id", "ref", "reference", "messageId"]

    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation) {
        for path in ["/send", "/api/send"] {
            router.get(RouterPath(path)) { request, _ in try await send(request, json: false, simulation: simulation) }
            router.post(RouterPath(path)) { request, _ in try await send(request, json: false, simulation: simulation) }
        }
        router.post("/api/messages") { request, _ in try await send(request, json: true, simulation: simulation) }
    }

    private func send(_ request: Request, json: Bool, simulation: Simulation) async throws -> Response {
        await simulation.pause()
        let options = simulation.options
        let fields = try await request.parameters()
        if options.username != nil || options.secret != nil {
            let basic = Credentials.basic(request.header("authorization"))
            let user = basic?.user ?? fields["username"]
            let password = basic?.password ?? fields["password"]
            guard Credentials.matches(user, options.username), Credentials.matches(password, options.secret) else {
                simulation.recorder.refuseCredentials()
                return Reply.text(401, "Unauthorized", headers: [.wwwAuthenticate: "Basic realm=\"sms\""])
            }
        }
        guard let to = fields.first(of: Self.toNames).map(Self.restoringPlus), !to.isEmpty else {
            return refusal(400, "missing destination", json: json)
        }
        guard let text = fields.first(of: Self.textNames) else {
            return refusal(400, "missing text", json: json)
        }
        let message = ReceivedMessage(to: to, from: fields.first(of: Self.fromNames), text: text,
                                      reference: fields.first(of: Self.referenceNames))
        switch simulation.verdict(for: to) {
        case .reject:
            simulation.refuse(message, retryable: false)
            return refusal(json ? 400 : 200, "invalid destination", json: json)
        case .retry:
            simulation.refuse(message, retryable: true)
            return json ? refusal(503, "Service Unavailable", json: true) : Reply.text(503, "Service Unavailable")
        case .accept(let delivered):
            let accepted = simulation.accept(message, delivered: delivered) { simulation.numericID($0) }
            guard json else { return Reply.text(200, "OK \(accepted.providerID)") }
            return Reply.json(request.isJSON ? 200 : 201) { json in
                json.field("id", accepted.providerID)
                json.field("status", "queued")
            }
        }
    }

    private func refusal(_ status: Int, _ reason: String, json: Bool) -> Response {
        guard json else { return Reply.text(status, "ERROR \(reason)") }
        return Reply.json(status) { json in
            json.field("error", reason)
            json.field("status", status >= 500 ? "retry" : "rejected")
        }
    }

    /// A query string written without escaping turns `+1555…` into ` 1555…`.
    static func restoringPlus(_ number: String) -> String {
        number.hasPrefix(" ") && number.dropFirst().allSatisfy(\.isNumber) ? "+" + number.dropFirst() : number
    }

    // MARK: Webhooks

    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall] {
        var fields = FormFields([("type", "dlr"), ("id", message.providerID)])
        if let reference = message.reference { fields.pairs.append(("ref", reference)) }
        fields.pairs.append(contentsOf: [
            ("to", message.to),
            ("from", message.from ?? ""),
            ("status", message.delivered ? "delivered" : "failed"),
            ("err", message.delivered ? "0" : "1"),
            ("time", UTCTime(Date()).iso8601),
        ])
        return [call(fields, target)]
    }

    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall] {
        let fields = FormFields([
            ("type", "mo"),
            ("id", String(UInt64(message.key.suffix(15), radix: 16) ?? UInt64(message.serial))),
            ("from", message.from),
            ("to", message.to),
            ("text", message.text),
            ("time", UTCTime(message.receivedAt).iso8601),
        ])
        return [call(fields, target)]
    }

    private func call(_ fields: FormFields, _ target: WebhookTarget) -> WebhookCall {
        target.method == .get ? .query(target.url, fields) : .form(target.url, fields)
    }
}
