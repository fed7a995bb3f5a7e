import Foundation
import Hummingbird

/// One provider's wire protocol: the endpoints it answers and the webhooks it
/// posts. Each dialect lives in its own file; the shared decisions (credentials
/// configured, error suffixes, recording, scheduling webhooks) are in `Simulation`.
protocol WireDialect: Sendable {
    var type: SimulatorType { get }

    /// Adds the provider's own endpoints.
    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation)

    /// The calls that report the fate of an accepted message (none when the
    /// provider has no delivery webhooks).
    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall]

    /// The calls that carry an inbound message (none when the provider has no inbound webhooks).
    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall]

    /// Whether the provider can tell our server about inbound messages at all
    /// (by webhook, or for a gateway by being polled).
    var carriesInbound: Bool { get }

    /// Keeps an inbound message for polling (gateways); most providers only push.
    func keep(_ message: InboundMessage)

    /// Forgets per-provider state on `/_sim/reset`.
    func reset()
}

extension WireDialect {
    var carriesInbound: Bool { true }
    func keep(_ message: InboundMessage) {}
    func reset() {}
}

extension SimulatorType {
    func makeDialect(options: SimulatorOptions) -> any WireDialect {
        switch self {
        case .twilio: TwilioDialect()
        case .nexmo: VonageDialect()
        case .infobip: InfobipDialect()
        case .dinstar: DinstarDialect(gateway: DinstarGateway(maxRecords: options.maxRecords))
        case .smsmasivo: SMSMasivoDialect()
        case .generic: GenericDialect()
        }
    }
}

/// A message as a provider endpoint parsed it.
struct ReceivedMessage: Sendable {
    var to: String
    var from: String?
    var text: String
    /// The sender's own reference, when the protocol carries one.
    var reference: String?
    /// The data coding the request declared (`GSM-7`, `UCS-2`), when the protocol carries one
    /// (Vonage `type`, Dinstar `encoding`): what a test checks to see which encoding was asked for.
    var encoding: String? = nil
}

/// Provider-specific facts about an accepted message that its webhooks repeat.
struct MessageDetails: Sendable {
    /// Twilio AccountSid from the request path.
    var account: String?
    /// Infobip bulkId, Dinstar task id.
    var batchID: String?
    /// Infobip `callbackData`.
    var callbackData: String?
    /// Dinstar port.
    var port: Int?
    /// Infobip API generation (2: `/sms/2`, 3: `/sms/3`).
    var apiVersion = 0

    init(account: String? = nil, batchID: String? = nil, callbackData: String? = nil, port: Int? = nil, apiVersion: Int = 0) {
        self.account = account
        self.batchID = batchID
        self.callbackData = callbackData
        self.port = port
        self.apiVersion = apiVersion
    }
}

/// A message the simulator took, with the provider id it was given.
struct AcceptedMessage: Sendable {
    /// Unique for the life of the process.
    var serial: Int
    var providerID: String
    var to: String
    var from: String?
    var text: String
    var reference: String?
    var acceptedAt: Date
    /// False when the destination ends in the undelivered suffix.
    var delivered: Bool
    /// SMS segments of the text (at least 1).
    var parts: Int
    var details: MessageDetails
}

/// A message from a handset to us, made by the simulator.
struct InboundMessage: Sendable {
    var serial: Int
    /// 32 hex digits unique to this message, for provider-shaped ids.
    var key: String
    var from: String
    var to: String
    var text: String
    var receivedAt: Date
    /// Gateway port it arrived on (Dinstar).
    var port: Int
    /// Twilio AccountSid it belongs to.
    var account: String?
}

/// Where and how webhooks are posted, with what they are signed with.
struct WebhookTarget: Sendable {
    var url: String
    var method: WebhookMethod
    /// Twilio AuthToken.
    var secret: String?
    /// Vonage signature secret.
    var signatureSecret: String?
    /// Vonage api_key.
    var username: String?
}

/// One HTTP request the simulator makes to our server.
struct WebhookCall: Sendable {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    static func form(_ url: String, _ fields: FormFields, headers: [(name: String, value: String)] = []) -> WebhookCall {
        WebhookCall(method: "POST", url: url,
                    headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                    body: Array(fields.encoded.utf8))
    }

    static func json(_ url: String, _ body: ByteBuffer) -> WebhookCall {
        WebhookCall(method: "POST", url: url, headers: [("Content-Type", "application/json")],
                    body: Array(body.readableBytesView))
    }

    static func query(_ url: String, _ fields: FormFields) -> WebhookCall {
        let separator = url.contains("?") ? "&" : "?"
        return WebhookCall(method: "GET", url: url + separator + fields.encoded, headers: [], body: [])
    }
}

/// Answers in the shapes providers use.
enum Reply {
    static func json(_ status: Int, _ body: ByteBuffer, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: body))
    }

    static func json(_ status: Int, _ body: (inout JSONWriter) -> Void) -> Response {
        json(status, JSONWriter.document { json in json.object(body) })
    }

    static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8",
                     headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        headers.append(contentsOf: extra)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func empty(_ status: Int, headers: HTTPFields = [:]) -> Response {
        Response(status: .init(code: status), headers: headers)
    }
}

/// The request parts every dialect reads.
extension Request {
    /// The body, up to 1 MiB.
    func collectBody() async throws -> ByteBuffer {
        try await body.collect(upTo: 1 << 20)
    }

    /// A header by its name in lower case (HTTP names are case-insensitive).
    func header(_ lowercasedName: String) -> String? {
        headers.first { $0.name.canonicalName == lowercasedName }?.value
    }

    /// Parameters from the query string, then from the form or JSON body
    /// (JSON members written as text).
    func parameters() async throws -> FormFields {
        var fields = FormFields(query: uri.query)
        let body = try await collectBody()
        if isJSON {
            let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            for (name, value) in object { fields.pairs.append((name, "\(value)")) }
        } else {
            fields.pairs.append(contentsOf: FormFields(body: body).pairs)
        }
        return fields
    }

    var isJSON: Bool {
        header("content-type")?.lowercased().hasPrefix("application/json") ?? false
    }
}
