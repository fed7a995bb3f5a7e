import Foundation

/// The provider types of SPEC P1.
public enum ProviderType: String, Sendable, Codable, CaseIterable {
    case dinstarWeb = "DinstarWeb"
    case quality = "Quality"
    case gmg = "GMG"
    case twilio = "Twilio"
    case nexmo = "Nexmo"
    case infobip = "InfoBip"
    case smsMasivo = "SMSMasivo"
    case urlSMS = "URLSMS"
    case urlSMSAuth = "URLSMSAuth"
    case urlSMSPost = "URLSMSPOST"
    case urlPostSMSAuth = "URLPOSTSMSAuth"
    case simulator = "Simulator"
}

/// One message handed to a provider.
public struct OutgoingSMS: Sendable, Equatable {
    /// Our spool id, for providers that echo a reference back.
    public var reference: String
    /// Destination in E.164 (or the provider's national form, as validated).
    public var destination: String
    public var text: String
    public var sender: String?
    /// Gateway port chosen from the dialer's dial string (Dinstar).
    public var port: Int?

    public init(reference: String, destination: String, text: String, sender: String? = nil, port: Int? = nil) {
        self.reference = reference
        self.destination = destination
        self.text = text
        self.sender = sender
        self.port = port
    }
}

/// Why a provider did not take a message, classified for the dialer (SPEC P8):
/// retryable errors are tried again with backoff; permanent ones fail the message.
public struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case retryable, permanent }
    public var kind: Kind
    /// The provider's own code (HTTP status, error code or status name).
    public var code: String
    /// The provider's own text.
    public var text: String

    public init(_ kind: Kind, code: String, text: String) {
        self.kind = kind
        self.code = code
        self.text = text
    }

    public var description: String { "\(kind.rawValue) provider error \(code): \(text)" }
}

/// What a provider answered when it accepted a message.
public struct SendReceipt: Sendable, Equatable {
    public var providerMessageID: String?
    /// The raw answer, for the provider "Test" action (SPEC P6).
    public var rawResponse: String

    public init(providerMessageID: String?, rawResponse: String) {
        self.providerMessageID = providerMessageID
        self.rawResponse = rawResponse
    }
}

/// An inbound (MO) message as a provider reported it.
public struct InboundSMS: Sendable, Equatable {
    public var providerMessageID: String?
    public var from: String
    /// The number or port it was sent to (the campaign's DID).
    public var to: String
    public var text: String
    public var receivedAt: Date

    public init(providerMessageID: String?, from: String, to: String, text: String, receivedAt: Date) {
        self.providerMessageID = providerMessageID
        self.from = from
        self.to = to
        self.text = text
        self.receivedAt = receivedAt
    }
}

/// A delivery report for a message we sent.
public struct DeliveryReport: Sendable, Equatable {
    public enum Outcome: String, Sendable { case delivered, failed, pending }
    public var providerMessageID: String
    public var outcome: Outcome
    public var code: String?
    public var text: String?
    public var at: Date

    public init(providerMessageID: String, outcome: Outcome, code: String? = nil, text: String? = nil, at: Date) {
        self.providerMessageID = providerMessageID
        self.outcome = outcome
        self.code = code
        self.text = text
        self.at = at
    }
}

/// A webhook request as the HTTP layer hands it to an adapter.
public struct WebhookRequest: Sendable {
    public var method: String
    /// The full URL the provider called, as it signed it.
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// One adapter per provider type, each speaking that provider's wire format.
public protocol SMSProvider: Sendable {
    var type: ProviderType { get }
    /// Sends one message; throws `ProviderError` classified as retryable or permanent.
    func send(_ message: OutgoingSMS) async throws -> SendReceipt
    /// Whether a webhook request really comes from the provider.
    func verifyWebhook(_ request: WebhookRequest) -> Bool
    /// Inbound messages in a webhook request (empty when it carries none).
    func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS]
    /// Delivery reports in a webhook request (empty when it carries none).
    func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport]
    /// What to answer the provider's webhook call with.
    var webhookAnswer: WebhookAnswer { get }
}

/// What our server answers to a provider's webhook call (Twilio wants TwiML,
/// Jasmin-style gateways want an exact acknowledgement text).
public struct WebhookAnswer: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: String

    public init(status: Int = 200, contentType: String? = nil, body: String = "") {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

extension SMSProvider {
    /// Default: 200 with an empty body.
    public var webhookAnswer: WebhookAnswer { WebhookAnswer() }
}

/// A provider whose inbound messages and delivery results are fetched by
/// polling instead of pushed (Dinstar gateways).
public protocol PollingSMSProvider: SMSProvider {
    /// Messages received after `cursor` (nil: from the start), and the cursor to pass next time.
    func pollInbound(after cursor: String?) async throws -> (messages: [InboundSMS], cursor: String?)
    /// Delivery results for messages we sent, by provider message id.
    func pollDeliveryReports(for providerMessageIDs: [String]) async throws -> [DeliveryReport]
}

/// A webhook body that does not have the fields its provider always sends;
/// answered with 400 and the reason.
public struct MalformedWebhook: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "malformed webhook: \(reason)" }
}
