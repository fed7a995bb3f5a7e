/// Which provider's wire protocol the simulator speaks.
public enum SimulatorType: String, Sendable, CaseIterable, CustomStringConvertible {
    case twilio, nexmo, infobip, dinstar, smsmasivo, generic

    /// Accepts the type names and the usual aliases (`vonage`, `smsmasivos`, `url`).
    public init?(name: String) {
        switch name.lowercased() {
        case "vonage": self = .nexmo
        case "smsmasivos": self = .smsmasivo
        case "url", "generic_url", "urlsms": self = .generic
        default: self.init(rawValue: name.lowercased())
        }
    }

    public var description: String { rawValue }
}

/// How webhooks that may go either way are sent (Vonage, generic).
public enum WebhookMethod: String, Sendable, CaseIterable {
    case post, get
}

/// Everything `smsdesk simulate` can be told; built once by the CLI or a test.
public struct SimulatorOptions: Sendable {
    public var type: SimulatorType
    /// Address to listen on; tests always use 127.0.0.1.
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported through `onReady`).
    public var port = 0

    /// Where delivery reports and inbound messages are posted (nil: nowhere).
    public var webhookURL: String?
    /// Where delivery reports go when they need another URL than inbound messages.
    public var deliveryReportURL: String?
    /// Vonage and generic webhooks: form/JSON POST or GET with a query string.
    public var webhookMethod: WebhookMethod = .post

    /// The provider account: Twilio AccountSid, Vonage api_key, Dinstar or
    /// generic user, Infobip Basic-auth user. Nil: not checked.
    public var username: String?
    /// The provider secret: Twilio AuthToken (also signs webhooks), Vonage
    /// api_secret, Infobip API key, Dinstar or generic password, SMS Masivos
    /// apikey. Nil: not checked.
    public var secret: String?
    /// Vonage signature secret: when set, webhooks carry `sig` (md5hash method).
    public var signatureSecret: String?

    /// A destination ending in this fails with the provider's permanent error ("" disables).
    public var failSuffix = "999"
    /// A destination ending in this gets the provider's retryable error ("" disables).
    public var retrySuffix = "998"
    /// A destination ending in this is accepted, then reported undelivered ("" disables).
    public var undeliveredSuffix = "997"

    /// Added before answering each provider request.
    public var latency: Duration = .zero
    /// Between accepting a message and posting its delivery report (and auto-reply).
    public var deliveryReportDelay: Duration = .milliseconds(500)
    /// When set, every accepted message is answered by the destination with this text.
    public var autoReply: String?
    /// The number inbound messages are addressed to when nothing else says.
    public var ownNumber = "+15550100000"

    /// Appends one JSON line per received message to this file.
    public var recordFile: String?
    /// Messages kept in memory for `/_sim/messages` (counts stay exact beyond it).
    public var maxRecords = 100_000

    /// Webhook calls waiting to be posted; beyond it they are dropped and counted.
    public var webhookQueueCapacity = 10_000
    /// Webhook posts in flight at once.
    public var webhookConcurrency = 8
    /// Further attempts after a failed webhook post.
    public var webhookRetries = 3
    /// First wait between webhook attempts; doubled each time.
    public var webhookRetryDelay: Duration = .milliseconds(200)

    public init(type: SimulatorType) {
        self.type = type
    }
}
