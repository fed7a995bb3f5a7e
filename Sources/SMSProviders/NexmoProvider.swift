import Foundation
import NIOHTTP1
import SMSCore

/// Nexmo / Vonage SMS API (PROVIDERS.md §2).
///
/// Sends with `POST {base}/sms/json` (form body). The answer is HTTP 200
/// whether or not the message was taken: success is every `messages[i].status`
/// being `"0"`. Inbound messages and delivery receipts arrive as a GET query,
/// a form POST or a JSON POST (a dashboard choice), optionally signed.
///
/// Settings:
/// - `auth`: `body` (default; `api_key`/`api_secret` form fields, as the API
///   specification shows) or `basic` (HTTP Basic `api_key:api_secret`, as the
///   current official SDK sends).
/// - `signature_secret`: the account's signature secret. When set, every
///   webhook call must carry a valid `sig`. When not set, unsigned calls are
///   accepted (Vonage signing is opt-in and off by default) but a call that
///   carries a `sig` is refused, since it cannot be checked.
/// - `signature_method`: `md5hash` (default, Vonage's dashboard default),
///   `md5`, `sha1`, `sha256` or `sha512` (HMAC); `hmac-sha256`, `SHA-256 HMAC`
///   and the like are accepted too.
///
/// Concatenated inbound SMS: Vonage calls once per part (`concat-ref`,
/// `concat-part`, `concat-total`). Each part is returned as its own
/// `InboundSMS` with that part's text, so nothing is lost even if a part never
/// arrives; `concatenation(in:)` exposes the part numbering for a caller that
/// wants to join the parts.
public struct NexmoProvider: SMSProvider {
    public static let defaultBaseURL = "https://rest.nexmo.com"

    /// How Vonage signs webhook parameters (the account's "signature method").
    public enum SignatureMethod: String, Sendable, CaseIterable {
        /// `md5(signing string + secret)`.
        case md5hash
        /// HMAC over the signing string with the given hash.
        case md5, sha1, sha256, sha512

        /// Reads the setting: `md5hash`, or an HMAC hash named as `sha256`,
        /// `hmac-sha256`, `SHA-256 HMAC`…
        public init?(setting: String) {
            var name = setting.lowercased().filter { $0.isLetter || $0.isNumber }
            if name == "md5hash" {
                self = .md5hash
                return
            }
            name = name.replacingOccurrences(of: "hmac", with: "")
            self.init(rawValue: name)
        }
    }

    /// Where the API key and secret travel on a send.
    public enum CredentialPlacement: String, Sendable, CaseIterable {
        case body, basic
    }

    /// The part numbering of one part of a concatenated inbound SMS.
    public struct Concatenation: Sendable, Equatable {
        /// Vonage's reference shared by all parts of one message.
        public var reference: String
        /// 1-based.
        public var part: Int
        public var total: Int

        public init(reference: String, part: Int, total: Int) {
            self.reference = reference
            self.part = part
            self.total = total
        }
    }

    public static let fields = ProviderFieldSchema(
        type: .nexmo,
        entries: [
            .init(.url, required: false, label: "API base URL", help: "Default \(defaultBaseURL)"),
            .init(.username, required: true, label: "API key"),
            .init(.secret, required: true, label: "API secret"),
            .init(.sender, required: true, label: "From (number or sender name)",
                  help: "A virtual number without + or an alphanumeric sender id of up to 11 characters"),
            .init(.numberPattern, required: false, label: "Number validation regular expression"),
            .init(.encoding, required: false, label: "SMS encoding",
                  help: "auto sends type=unicode only when the text needs UCS-2"),
        ],
        settings: [
            .init("auth", required: false, label: "Credentials in",
                  help: "body (api_key/api_secret form fields, default) or basic (HTTP Basic header)"),
            .init("signature_secret", required: false, label: "Signature secret",
                  help: "Set when Vonage signs your webhooks; unsigned webhook calls are then refused", secret: true),
            .init("signature_method", required: false, label: "Signature method",
                  help: "md5hash (default), md5, sha1, sha256 or sha512 (HMAC)"),
        ])

    public var type: ProviderType { .nexmo }

    private let config: ProviderConfig
    private let http: ProviderHTTP
    private let apiKey: String
    private let apiSecret: String
    private let smsURL: String
    private let credentials: CredentialPlacement
    private let signatureSecret: String?
    private let signatureMethod: SignatureMethod

    /// Throws a permanent `ProviderError` with code `config` naming the field
    /// or setting that is missing or not understood.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        if let problem = Self.fields.problems(in: config).first {
            throw ProviderError(.permanent, code: "config", text: "\(problem.field): \(problem.message)")
        }
        let placement = Self.setting("auth", in: config) ?? CredentialPlacement.body.rawValue
        guard let credentials = CredentialPlacement(rawValue: placement.lowercased()) else {
            throw ProviderError(.permanent, code: "config", text: "settings.auth: must be body or basic")
        }
        let method = Self.setting("signature_method", in: config) ?? SignatureMethod.md5hash.rawValue
        guard let signatureMethod = SignatureMethod(setting: method) else {
            throw ProviderError(.permanent, code: "config",
                                text: "settings.signature_method: must be md5hash, md5, sha1, sha256 or sha512")
        }
        let base = (config.url ?? "").trimmingCharacters(in: .whitespaces)
        self.config = config
        self.http = http
        self.apiKey = (config.username ?? "").trimmingCharacters(in: .whitespaces)
        self.apiSecret = config.secret ?? ""
        self.smsURL = TwilioProvider.trimmingSlashes(base.isEmpty ? Self.defaultBaseURL : base) + "/sms/json"
        self.credentials = credentials
        self.signatureSecret = config.settings["signature_secret"].flatMap { $0.isEmpty ? nil : $0 }
        self.signatureMethod = signatureMethod
    }

    // MARK: Sending

    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        var headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")]
        if credentials == .basic {
            headers.append(("Authorization", ProviderHTTP.basicAuthorization(user: apiKey, password: apiSecret)))
        }
        let response = try await http.send(
            method: .POST, url: smsURL, headers: headers,
            body: Array(URLEncodedForm.encode(try formFields(for: message)).utf8), timeout: config.timeout)
        return try Self.receipt(from: response, hiding: apiSecret)
    }

    /// The send form fields. `to` is E.164 without `+`; `type=unicode` when
    /// the text goes as UCS-2; `callback` is our webhook URL when set;
    /// `client-ref` is our reference (at most the 40 characters Vonage keeps).
    /// Empty values are left out.
    func formFields(for message: OutgoingSMS) throws -> [(name: String, value: String)] {
        let encoding: SMSEncoding
        do {
            encoding = try SMSText.encoding(for: message.text, setting: config.encoding)
        } catch {
            throw ProviderError(.permanent, code: "encoding",
                                text: "the provider is set to GSM-7 and the text has \(SMSText.nonGSMCharacters(in: message.text).joined(separator: " "))")
        }
        var fields: [(name: String, value: String)] = []
        if credentials == .body {
            fields += [("api_key", apiKey), ("api_secret", apiSecret)]
        }
        let sender = (message.sender ?? config.sender ?? "").trimmingCharacters(in: .whitespaces)
        let destination = message.destination.trimmingCharacters(in: .whitespaces)
        fields += [
            ("from", sender.hasPrefix("+") ? String(sender.dropFirst()) : sender),
            ("to", destination.hasPrefix("+") ? String(destination.dropFirst()) : destination),
            ("text", message.text),
        ]
        if encoding == .ucs2 { fields.append(("type", "unicode")) }
        if let callback = config.webhookURL { fields.append(("callback", callback)) }
        fields.append(("client-ref", String(message.reference.prefix(40))))
        return fields.filter { !$0.value.isEmpty }
    }

    /// Reads Vonage's answer. Any part whose `status` is not `"0"` fails the
    /// send, even when earlier parts were accepted (a partial failure): the
    /// error is that part's status, classified by it, so a throttled second
    /// part is retryable and the retry sends the whole text again.
    /// Statuses 1 (throttled) and 5 (internal error) are retryable; all others
    /// permanent.
    static func receipt(from response: ProviderHTTPResponse, hiding secret: String) throws -> SendReceipt {
        guard (200..<300).contains(response.status) else {
            throw ProviderError(ProviderHTTP.kind(ofFailureStatus: response.status), code: "\(response.status)",
                                text: "HTTP \(response.status): \(TwilioProvider.snippet(response.text, hiding: secret))")
        }
        guard let parts = response.jsonObject?["messages"] as? [[String: Any]], !parts.isEmpty else {
            // Vonage always lists the parts; this answer came from something
            // else, so the message most likely was not taken.
            throw ProviderError(.retryable, code: "unexpected_answer",
                                text: "HTTP \(response.status) without messages: \(TwilioProvider.snippet(response.text, hiding: secret))")
        }
        for (index, part) in parts.enumerated() {
            let status = TwilioProvider.string(part["status"]) ?? ""
            guard status != "0" else { continue }
            var text = part["error-text"] as? String ?? "status \(status.isEmpty ? "missing" : status)"
            if parts.count > 1 {
                let accepted = parts[..<index].compactMap { $0["message-id"] as? String }
                text += " (part \(index + 1) of \(parts.count)"
                    + (accepted.isEmpty ? "" : "; earlier parts accepted as \(accepted.joined(separator: ", "))") + ")"
            }
            let kind: ProviderError.Kind = (status == "1" || status == "5") ? .retryable : .permanent
            throw ProviderError(kind, code: status.isEmpty ? "unexpected_answer" : status, text: text)
        }
        return SendReceipt(providerMessageID: parts[0]["message-id"] as? String, rawResponse: response.text)
    }

    // MARK: Webhooks

    /// With a signature secret: the call must carry a `sig` computed with the
    /// configured method over all its other parameters. Without one: only
    /// unsigned calls pass (a `sig` we cannot check is refused).
    public func verifyWebhook(_ request: WebhookRequest) -> Bool {
        guard let parameters = try? Self.parameters(of: request) else { return false }
        guard let signatureSecret else {
            return !parameters.contains { $0.name == "sig" }
        }
        return WebhookSignatures.isValidVonageSignature(parameters, method: signatureMethod, secret: signatureSecret)
    }

    /// The message of an inbound-SMS call (one part of a concatenated SMS is
    /// returned as is); empty for a delivery receipt or a binary message,
    /// which has no text to show.
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] {
        let parameters = Self.dictionary(try Self.parameters(of: request))
        guard try Self.kind(of: parameters) == .inbound else { return [] }
        if parameters["type"]?.lowercased() == "binary" { return [] }
        guard let text = parameters["text"] else { throw MalformedWebhook("text is missing") }
        return [InboundSMS(
            providerMessageID: try Self.require("messageId", in: parameters),
            from: try Self.require("msisdn", in: parameters),
            to: try Self.require("to", in: parameters),
            text: text,
            receivedAt: Self.date(in: parameters))]
    }

    /// The receipt of a delivery-receipt call; empty for an inbound message.
    ///
    /// `delivered` is delivered; `expired`, `failed` and `rejected` are
    /// failed; `accepted`, `buffered` and `unknown` are pending. The code is
    /// `err-code`, the text the status and that code's meaning.
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] {
        let parameters = Self.dictionary(try Self.parameters(of: request))
        guard try Self.kind(of: parameters) == .receipt else { return [] }
        let status = (parameters["status"] ?? "").lowercased()
        let outcome: DeliveryReport.Outcome = switch status {
        case "delivered": .delivered
        case "expired", "failed", "rejected": .failed
        default: .pending
        }
        let errorCode = parameters["err-code"].flatMap { $0.isEmpty ? nil : $0 }
        var text = status
        if let errorCode, let meaning = Self.deliveryErrors[errorCode] { text += ": \(meaning)" }
        return [DeliveryReport(providerMessageID: try Self.require("messageId", in: parameters), outcome: outcome,
                               code: errorCode, text: text, at: Self.date(in: parameters))]
    }

    public var webhookAnswer: WebhookAnswer { WebhookAnswer(status: 200) }

    /// The part numbering when the call is one part of a concatenated SMS.
    public func concatenation(in request: WebhookRequest) throws -> Concatenation? {
        let parameters = Self.dictionary(try Self.parameters(of: request))
        guard let reference = parameters["concat-ref"], !reference.isEmpty else { return nil }
        guard let part = parameters["concat-part"].flatMap({ Int($0) }),
              let total = parameters["concat-total"].flatMap({ Int($0) }),
              part >= 1, part <= total
        else { throw MalformedWebhook("concat-part and concat-total must be numbers, 1 ≤ part ≤ total") }
        return Concatenation(reference: reference, part: part, total: total)
    }

    enum WebhookKind { case inbound, receipt }

    /// A delivery receipt has `status` (with `err-code` or `scts`); an inbound
    /// message has `msisdn` and `text` or `type`.
    static func kind(of parameters: [String: String]) throws -> WebhookKind {
        if parameters["status"] != nil, parameters["err-code"] != nil || parameters["scts"] != nil {
            return .receipt
        }
        if parameters["msisdn"] != nil, parameters["text"] != nil || parameters["type"] != nil {
            return .inbound
        }
        throw MalformedWebhook("a Vonage webhook needs status and err-code (delivery receipt) or msisdn and text (inbound message)")
    }

    /// The call's parameters: the query of a GET, the fields of a form POST or
    /// the members of a JSON POST (numbers and booleans as their text).
    static func parameters(of request: WebhookRequest) throws -> [(name: String, value: String)] {
        let contentType = (request.header("Content-Type") ?? "").lowercased()
        let firstByte = request.body.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if contentType.contains("json") || (contentType.isEmpty && firstByte == UInt8(ascii: "{")) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
                throw MalformedWebhook("the body is not a JSON object")
            }
            return object.compactMap { name, value in jsonText(value).map { (name, $0) } }
        }
        if request.method.uppercased() != "GET", !request.body.isEmpty {
            return URLEncodedForm.decode(String(decoding: request.body, as: UTF8.self))
        }
        guard let questionMark = request.url.firstIndex(of: "?") else { return [] }
        let query = request.url[request.url.index(after: questionMark)...]
        return URLEncodedForm.decode(String(query.split(separator: "#", maxSplits: 1).first ?? ""))
    }

    static func jsonText(_ value: Any) -> String? {
        switch value {
        case let value as String: value
        // JSON booleans come as NSNumber too; their type encoding is `c` (char).
        case let value as NSNumber where String(cString: value.objCType) == "c": value.boolValue ? "true" : "false"
        case let value as NSNumber: value.stringValue
        default: nil
        }
    }

    static func dictionary(_ parameters: [(name: String, value: String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in parameters where result[name] == nil { result[name] = value }
        return result
    }

    static func require(_ name: String, in parameters: [String: String]) throws -> String {
        guard let value = parameters[name], !value.isEmpty else { throw MalformedWebhook("\(name) is missing") }
        return value
    }

    /// `message-timestamp` (`YYYY-MM-DD HH:MM:SS`, UTC), else the unix
    /// `timestamp`, else now.
    static func date(in parameters: [String: String]) -> Date {
        if let text = parameters["message-timestamp"], let date = utcDate(text) { return date }
        if let seconds = parameters["timestamp"].flatMap({ TimeInterval($0) }) { return Date(timeIntervalSince1970: seconds) }
        return Date()
    }

    /// `YYYY-MM-DD HH:MM:SS` read as UTC.
    static func utcDate(_ text: String) -> Date? {
        let numbers = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).compactMap { Int($0) }
        guard numbers.count == 6, let utc = TimeZone(identifier: "UTC") else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = utc
        let components = DateComponents(year: numbers[0], month: numbers[1], day: numbers[2],
                                        hour: numbers[3], minute: numbers[4], second: numbers[5])
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }

    /// Meanings of a delivery receipt's `err-code` (Vonage delivery-receipts guide).
    static let deliveryErrors: [String: String] = [
        "0": "Delivered", "1": "Unknown", "2": "Absent Subscriber - Temporary", "3": "Absent Subscriber - Permanent",
        "4": "Call barred by user", "5": "Portability Error", "6": "Anti-Spam Rejection", "7": "Handset Busy",
        "8": "Network Error", "9": "Illegal Number", "10": "Illegal Message", "11": "Unroutable",
        "12": "Destination unreachable", "13": "Subscriber Age Restriction", "14": "Number Blocked by Carrier",
        "15": "Prepaid Insufficient funds", "50": "Entity Filter", "51": "Header Filter", "52": "Content Filter",
        "53": "Consent Filter", "54": "Regulation Error", "99": "General Error",
    ]

    static func setting(_ key: String, in config: ProviderConfig) -> String? {
        config.settings[key].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}
