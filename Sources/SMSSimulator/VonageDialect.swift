import Foundation
import Hummingbird
import SMSCore

/// Nexmo / Vonage SMS API (PROVIDERS.md §2).
///
/// - `POST /sms/json` (GET also taken), parameters as a form, a query string or
///   JSON; credentials `api_key`/`api_secret` in the parameters or HTTP Basic.
/// - Always HTTP `200`; one `messages[]` element per SMS part, `status` "0" when
///   accepted. Fail suffix: status "6" (Invalid Message); retry suffix: status "1"
///   (Throttled); bad credentials: status "4" (Bad Credentials).
/// - Webhooks: delivery receipt per part and inbound SMS, as JSON POST (or
///   query-string GET with `--webhook-method get`); signed with `sig`
///   (md5hash method) when a signature secret is configured.
struct VonageDialect: WireDialect {
    let type = SimulatorType.nexmo

    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation) {
        router.post("/sms/json") { request, _ in try await send(request, simulation: simulation) }
        router.get("/sms/json") { request, _ in try await send(request, simulation: simulation) }
    }

    func send(_ request: Request, simulation: Simulation) async throws -> Response {
        await simulation.pause()
        let options = simulation.options
        let parameters = try await request.parameters()
        if options.username != nil || options.secret != nil {
            let basic = Credentials.basic(request.header("authorization"))
            let key = parameters["api_key"] ?? basic?.user
            let secret = parameters["api_secret"] ?? basic?.password
            guard Credentials.matches(key, options.username), Credentials.matches(secret, options.secret) else {
                simulation.recorder.refuseCredentials()
                return failure(status: "4", text: "Bad Credentials")
            }
        }
        for name in ["from", "to", "text"] where (parameters[name] ?? "").isEmpty {
            if name == "text", parameters["type"] == "binary" { continue }
            return failure(status: "2", text: "Missing \(name) param")
        }
        let to = parameters["to"] ?? ""
        let message = ReceivedMessage(to: to, from: parameters["from"], text: parameters["text"] ?? "",
                                      reference: parameters["client-ref"], encoding: Self.encoding(type: parameters["type"]))
        switch simulation.verdict(for: to) {
        case .reject:
            simulation.refuse(message, retryable: false)
            return failure(status: "6", text: "Invalid Message")
        case .retry:
            simulation.refuse(message, retryable: true)
            return failure(status: "1", text: "Throttled")
        case .accept(let delivered):
            let accepted = simulation.accept(message, delivered: delivered) { serial in
                Self.messageID(salt: simulation.salt, serial: serial)
            }
            return Reply.json(200) { json in
                json.field("message-count", String(accepted.parts))
                json.array("messages") { json in
                    for part in 0..<accepted.parts {
                        json.object { json in
                            json.field("to", accepted.to)
                            json.field("message-id", Self.partID(accepted.providerID, part: part))
                            json.field("status", "0")
                            json.field("remaining-balance", "100.00000000")
                            json.field("message-price", "0.03330000")
                            json.field("network", "12345")
                            if let reference = accepted.reference { json.field("client-ref", reference) }
                        }
                    }
                }
            }
        }
    }

    /// The data coding a send asked for: `type=unicode` is UCS-2, `text` (the default) GSM-7.
    static func encoding(type: String?) -> String {
        switch type ?? "text" {
        case "unicode": "UCS-2"
        case "text": "GSM-7"
        case let other: other
        }
    }

    /// 16 upper-case hex digits, like `0C000000217B7F02`, ending in `00` for the first part.
    static func messageID(salt: UInt64, serial: Int) -> String {
        Hex.string(salt, width: 4, uppercase: true) + Hex.string(UInt64(serial) << 8, width: 12, uppercase: true)
    }

    /// The id of another part of the same message: the last two digits count the parts.
    static func partID(_ first: String, part: Int) -> String {
        String(first.dropLast(2)) + Hex.string(UInt64(part & 0xFF), width: 2, uppercase: true)
    }

    private func failure(status: String, text: String) -> Response {
        Reply.json(200) { json in
            json.field("message-count", "1")
            json.array("messages") { json in
                json.object { json in
                    json.field("status", status)
                    json.field("error-text", text)
                }
            }
        }
    }

    // MARK: Webhooks

    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall] {
        let now = UTCTime(Date())
        return (0..<message.parts).map { part in
            var fields = FormFields([
                ("err-code", message.delivered ? "0" : "2"),
                ("message-timestamp", now.dateTime),
                ("messageId", Self.partID(message.providerID, part: part)),
                ("msisdn", message.to),
                ("network-code", "12345"),
                ("price", "0.03330000"),
                ("scts", now.compact),
                ("status", message.delivered ? "delivered" : "failed"),
                ("to", message.from ?? ""),
            ])
            if let key = target.username { fields.pairs.append(("api-key", key)) }
            if let reference = message.reference { fields.pairs.append(("client-ref", reference)) }
            return call(fields, target)
        }
    }

    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall] {
        let now = UTCTime(message.receivedAt)
        let keyword = message.text.split(separator: " ").first.map { $0.uppercased() } ?? ""
        var fields = FormFields([
            ("msisdn", Self.withoutPlus(message.from)),
            ("to", Self.withoutPlus(message.to)),
            ("messageId", String(message.key.suffix(16)).uppercased()),
            ("text", message.text),
            ("type", GSM7.canEncode(message.text) ? "text" : "unicode"),
            ("keyword", keyword),
        ])
        if let key = target.username { fields.pairs.append(("api-key", key)) }
        fields.pairs.append(("message-timestamp", now.dateTime))
        fields.pairs.append(("timestamp", String(Int(message.receivedAt.timeIntervalSince1970))))
        return [call(fields, target)]
    }

    /// A JSON POST, or a GET with the fields in the query string; signed
    /// (with `timestamp`, `nonce` and `sig`) when a signature secret is set.
    private func call(_ fields: FormFields, _ target: WebhookTarget) -> WebhookCall {
        var fields = fields
        if let secret = target.signatureSecret {
            if fields["timestamp"] == nil {
                fields.pairs.append(("timestamp", String(Int(Date().timeIntervalSince1970))))
            }
            fields.pairs.append(("nonce", UUID().uuidString.lowercased()))
            fields.pairs.append(("sig", WebhookSignature.vonageMD5(parameters: fields.pairs, secret: secret)))
        }
        switch target.method {
        case .get:
            return .query(target.url, fields)
        case .post:
            return .json(target.url, JSONWriter.document { json in
                json.object { json in
                    for (name, value) in fields.pairs { json.field(name, value) }
                }
            })
        }
    }

    static func withoutPlus(_ number: String) -> String {
        number.hasPrefix("+") ? String(number.dropFirst()) : number
    }
}
