import Foundation
import NIOHTTP1
import SMSCore

/// Twilio Programmable Messaging (PROVIDERS.md §1).
///
/// Sends with `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`
/// (form body, HTTP Basic `AccountSid:AuthToken`); success is HTTP 201 with
/// the Message's `sid`. Inbound messages and status callbacks arrive as form
/// posts signed with `X-Twilio-Signature`; they are answered with empty TwiML.
public struct TwilioProvider: SMSProvider {
    public static let defaultBaseURL = "https://api.twilio.com"

    public static let fields = ProviderFieldSchema(
        type: .twilio,
        entries: [
            .init(.url, required: false, label: "API base URL", help: "Default \(defaultBaseURL)"),
            .init(.username, required: true, label: "Account SID", help: "AC followed by 32 hexadecimal digits"),
            .init(.secret, required: true, label: "Auth token",
                  help: "Also the key Twilio signs its webhook calls with"),
            .init(.sender, required: true, label: "From number or Messaging Service SID",
                  help: "An E.164 number, short code or alphanumeric sender id; a Messaging Service SID (MG followed by 32 hexadecimal digits) lets Twilio pick the sender"),
            .init(.numberPattern, required: false, label: "Number validation regular expression"),
            .init(.encoding, required: false, label: "SMS encoding",
                  help: "Twilio chooses GSM-7 or UCS-2 itself; GSM-7 here refuses texts it cannot carry instead of sending them as UCS-2"),
        ])

    /// The empty TwiML document: "received, no reply".
    public static let emptyTwiML = #"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#

    private let config: ProviderConfig
    private let http: ProviderHTTP
    public var type: ProviderType { .twilio }

    private let accountSID: String
    private let authToken: String
    private let messagesURL: String

    /// Throws a permanent `ProviderError` with code `config` naming the field
    /// when a required field is missing or the Account SID is malformed.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        if let problem = Self.fields.problems(in: config).first {
            throw ProviderError(.permanent, code: "config", text: "\(problem.field): \(problem.message)")
        }
        let accountSID = (config.username ?? "").trimmingCharacters(in: .whitespaces)
        guard Self.isSID(accountSID, prefix: "AC") else {
            throw ProviderError(.permanent, code: "config",
                                text: "username: the Account SID must be AC followed by 32 hexadecimal digits")
        }
        let base = (config.url ?? "").trimmingCharacters(in: .whitespaces)
        self.config = config
        self.http = http
        self.accountSID = accountSID
        self.authToken = config.secret ?? ""
        self.messagesURL = Self.trimmingSlashes(base.isEmpty ? Self.defaultBaseURL : base)
            + "/2010-04-01/Accounts/\(accountSID)/Messages.json"
    }

    // MARK: Sending

    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        if config.encoding == .gsm7 {
            let unencodable = SMSText.nonGSMCharacters(in: message.text)
            if !unencodable.isEmpty {
                throw ProviderError(.permanent, code: "encoding",
                                    text: "the provider is set to GSM-7 and the text has \(unencodable.joined(separator: " "))")
            }
        }
        let response = try await http.send(
            method: .POST, url: messagesURL,
            headers: [
                ("Authorization", ProviderHTTP.basicAuthorization(user: accountSID, password: authToken)),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            body: Array(URLEncodedForm.encode(formFields(for: message)).utf8),
            timeout: config.timeout)
        return try Self.receipt(from: response, hiding: authToken)
    }

    /// The Create Message form fields, in the order Twilio's SDKs send them.
    func formFields(for message: OutgoingSMS) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [("To", message.destination)]
        let sender = (message.sender ?? config.sender ?? "").trimmingCharacters(in: .whitespaces)
        if Self.isSID(sender, prefix: "MG") {
            fields.append(("MessagingServiceSid", sender))
        } else {
            fields.append(("From", sender))
        }
        fields.append(("Body", message.text))
        if let callback = config.webhookURL, !callback.isEmpty {
            fields.append(("StatusCallback", callback))
        }
        return fields
    }

    /// Reads Twilio's answer: 2xx with a Message `sid` is success; an error
    /// answer carries `{code, message, more_info, status}` (or RFC 9457
    /// `{code, title, detail, status}`).
    static func receipt(from response: ProviderHTTPResponse, hiding secret: String) throws -> SendReceipt {
        let json = response.jsonObject
        if (200..<300).contains(response.status) {
            if let sid = json?["sid"] as? String, !sid.isEmpty {
                return SendReceipt(providerMessageID: sid, rawResponse: response.text)
            }
            // A real acceptance always names the Message; this answer came
            // from something else (a proxy, a wrong base URL), so Twilio most
            // likely never saw the message.
            throw ProviderError(.retryable, code: "unexpected_answer",
                                text: "HTTP \(response.status) without a message sid: \(Self.snippet(response.text, hiding: secret))")
        }
        let twilioCode = json.flatMap { Self.string($0["code"]) }
        let text = json.flatMap { ($0["message"] as? String) ?? ($0["detail"] as? String) ?? ($0["title"] as? String) }
            ?? "HTTP \(response.status): \(Self.snippet(response.text, hiding: secret))"
        let kind: ProviderError.Kind = twilioCode == "20429" ? .retryable : ProviderHTTP.kind(ofFailureStatus: response.status)
        throw ProviderError(kind, code: twilioCode ?? "\(response.status)", text: text)
    }

    // MARK: Webhooks

    /// True when `X-Twilio-Signature` is the HMAC-SHA1 of the URL and the
    /// posted form parameters under the auth token (see `WebhookSignatures`).
    /// GET requests are signed over the URL alone (their parameters are in it).
    public func verifyWebhook(_ request: WebhookRequest) -> Bool {
        guard let signature = request.header("X-Twilio-Signature"), !signature.isEmpty else { return false }
        return WebhookSignatures.isValidTwilioSignature(
            signature, url: request.url, parameters: Self.formParameters(of: request), body: request.body,
            authToken: authToken)
    }

    /// The message of an inbound-SMS webhook; empty for a status callback.
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] {
        let parameters = Self.parameters(of: request)
        guard try Self.kind(of: parameters) == .inbound else { return [] }
        return [InboundSMS(
            providerMessageID: try Self.messageSID(in: parameters),
            from: try Self.require("From", in: parameters),
            to: try Self.require("To", in: parameters),
            text: parameters["Body"] ?? "",
            // Twilio's inbound webhook carries no timestamp: it is sent as the message arrives.
            receivedAt: Date())]
    }

    /// The status of a status callback; empty for an inbound message.
    ///
    /// `delivered` (and `read`) are delivered; `undelivered`, `failed` and
    /// `canceled` are failed, with `ErrorCode` as the code; every other status
    /// (`queued`, `sending`, `sent`, `accepted`, `scheduled`…) is pending. The
    /// report is dated when it arrives: `RawDlrDoneDate` has no time zone.
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] {
        let parameters = Self.parameters(of: request)
        guard try Self.kind(of: parameters) == .status else { return [] }
        let status = (parameters["MessageStatus"] ?? "").lowercased()
        let outcome: DeliveryReport.Outcome = switch status {
        case "delivered", "read": .delivered
        case "undelivered", "failed", "canceled": .failed
        default: .pending
        }
        let errorCode = parameters["ErrorCode"].flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
        return [DeliveryReport(providerMessageID: try Self.messageSID(in: parameters), outcome: outcome,
                               code: errorCode, text: status, at: Date())]
    }

    public var webhookAnswer: WebhookAnswer {
        WebhookAnswer(status: 200, contentType: "text/xml", body: Self.emptyTwiML)
    }

    enum WebhookKind { case inbound, status }

    /// A status callback has `MessageStatus` (other than `received`); an
    /// inbound message has `Body` or `SmsStatus=received`.
    static func kind(of parameters: [String: String]) throws -> WebhookKind {
        if let status = parameters["MessageStatus"], !["received", "receiving"].contains(status.lowercased()) {
            return .status
        }
        if parameters["Body"] != nil || parameters["SmsStatus"]?.lowercased() == "received"
            || parameters["MessageStatus"] != nil
        {
            return .inbound
        }
        throw MalformedWebhook("a Twilio webhook needs MessageStatus (status callback) or Body (inbound message)")
    }

    static func messageSID(in parameters: [String: String]) throws -> String {
        for name in ["MessageSid", "SmsSid", "SmsMessageSid"] {
            if let sid = parameters[name], !sid.isEmpty { return sid }
        }
        throw MalformedWebhook("MessageSid is missing")
    }

    static func require(_ name: String, in parameters: [String: String]) throws -> String {
        guard let value = parameters[name], !value.isEmpty else { throw MalformedWebhook("\(name) is missing") }
        return value
    }

    /// The posted form parameters, as Twilio signs them (none for GET or a JSON body).
    static func formParameters(of request: WebhookRequest) -> [(name: String, value: String)] {
        guard request.method.uppercased() != "GET", !request.body.isEmpty else { return [] }
        let contentType = (request.header("Content-Type") ?? "").lowercased()
        guard contentType.isEmpty || contentType.hasPrefix("application/x-www-form-urlencoded") else { return [] }
        return URLEncodedForm.decode(String(decoding: request.body, as: UTF8.self))
    }

    /// Form parameters, then the URL's query parameters; the first value of a name wins.
    static func parameters(of request: WebhookRequest) -> [String: String] {
        var result: [String: String] = [:]
        let query = request.url.firstIndex(of: "?").map { String(request.url[request.url.index(after: $0)...]) } ?? ""
        let fragmentless = query.split(separator: "#", maxSplits: 1).first.map(String.init) ?? ""
        for (name, value) in formParameters(of: request) + URLEncodedForm.decode(fragmentless) where result[name] == nil {
            result[name] = value
        }
        return result
    }

    // MARK: Helpers

    /// `prefix` followed by 32 hexadecimal digits: Twilio's SID format.
    static func isSID(_ value: String, prefix: String) -> Bool {
        guard value.hasPrefix(prefix), value.count == prefix.count + 32 else { return false }
        return value.dropFirst(prefix.count).allSatisfy(\.isHexDigit)
    }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let value as String: value
        case let value as Int: String(value)
        case let value as NSNumber: value.stringValue
        default: nil
        }
    }

    /// The start of an unexpected answer for an error text, with the secret
    /// blanked should the answer echo the request.
    static func snippet(_ text: String, hiding secret: String) -> String {
        var flat = text.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        if !secret.isEmpty { flat = flat.replacingOccurrences(of: secret, with: "***") }
        return flat.count > 200 ? String(flat.prefix(200)) + "…" : (flat.isEmpty ? "(empty body)" : flat)
    }

    static func trimmingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
