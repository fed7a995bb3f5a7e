import Foundation
import SMSCore

/// A provider as the admin configured it (SPEC P2), with its secret decrypted
/// for the adapter's use. Only the fields the type uses are read.
public struct ProviderConfig: Sendable, Equatable {
    public var type: ProviderType
    /// Endpoint URL or base URL (per type; see `ProviderFields`).
    public var url: String?
    /// User, account SID, API key id or the gateway user, per type.
    public var username: String?
    /// Password, auth token, API secret or API key, per type. Never logged.
    public var secret: String?
    /// "SMS From": the sender number or alphanumeric id.
    public var sender: String?
    /// Dinstar: default dial string of gateway ports when a dialer gives none.
    public var ports: String?
    /// The number-validation regular expression (SPEC P5), ICU syntax.
    public var numberPattern: String?
    public var encoding: SMSEncodingSetting
    /// Type-specific settings (generic templates, signature secret, Infobip API version…), string valued.
    public var settings: [String: String]
    /// Our public URL for this provider's webhook, given to providers that take a callback per message.
    public var webhookURL: String?
    /// Seconds to wait for the provider's answer.
    public var timeout: TimeInterval

    public init(type: ProviderType, url: String? = nil, username: String? = nil, secret: String? = nil,
                sender: String? = nil, ports: String? = nil, numberPattern: String? = nil,
                encoding: SMSEncodingSetting = .auto, settings: [String: String] = [:], webhookURL: String? = nil,
                timeout: TimeInterval = 15) {
        self.type = type
        self.url = url
        self.username = username
        self.secret = secret
        self.sender = sender
        self.ports = ports
        self.numberPattern = numberPattern
        self.encoding = encoding
        self.settings = settings
        self.webhookURL = webhookURL
        self.timeout = timeout
    }
}
