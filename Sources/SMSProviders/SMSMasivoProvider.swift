import Foundation
import NIOHTTP1
import SMSCore

/// SMS Masivos, Mexico (PROVIDERS.md §5), provider type `SMSMasivo`.
///
/// API v2 (the default): `POST {base}/sms/send` with header `apikey`, JSON
/// (or, with setting `body_format` = `form`, form-encoded) fields `message`,
/// `numbers` (national numbers, comma-separated) and `country_code`. The
/// answer's body decides, even on HTTP 200: `success: true` (code `sms_11`)
/// is accepted, with the message's `reference` as provider message id;
/// `success: false` carries a `code` (see `kind(ofCode:)`).
///
/// API v1 (setting `api_version` = `1`): form `POST {base}/sms/api.envio.new.php`
/// with `apikey`, `mensaje`, `numcelular` and `numregion`; accepted when
/// `estatus` is `ok`. v1 returns no message id.
///
/// SMS Masivos has no delivery-report or inbound webhooks: the webhook
/// functions find nothing and `verifyWebhook` refuses every call.
public struct SMSMasivoProvider: SMSProvider {
    public static let defaultBaseURL = "https://api.smsmasivos.com.mx"
    public static let defaultV1BaseURL = "https://www.smsmasivos.com.mx"

    public static let fields = ProviderFieldSchema(
        type: .smsMasivo,
        entries: [
            .init(.url, required: false, label: "API base URL",
                  help: "Default \(defaultBaseURL) for API v2, \(defaultV1BaseURL) for API v1"),
            .init(.secret, required: true, label: "API key", help: "Generated under Integraciones in the SMS Masivos panel"),
            .init(.sender, required: false, label: "Sender id",
                  help: "Up to 11 letters or digits, only if contracted with SMS Masivos"),
            .init(.numberPattern, required: false, label: "Number validation regular expression",
                  help: "Mexican mobile numbers are 10 national digits, e.g. ^(\\+52)?\\d{10}$"),
        ],
        settings: [
            .init("api_version", required: false, label: "API version",
                  help: "2 (default): POST /sms/send; 1: the legacy api.envio.new.php"),
            .init("body_format", required: false, label: "Body format (API v2)", help: "json (default) or form"),
            .init("country_code", required: false, label: "Default country code",
                  help: "Country calling code for numbers given without one; default 52 (Mexico)"),
            .init("sandbox", required: false, label: "Sandbox",
                  help: "1: test mode, nothing is delivered (at most 1,000 a day); 0: live; empty: not sent"),
            .init("name", required: false, label: "Campaign name (API v2)", help: "Shown in SMS Masivos reports"),
            .init("lang", required: false, label: "Answer language (API v2)", help: "es or en"),
        ])

    public enum APIVersion: String, Sendable { case v1 = "1", v2 = "2" }
    public enum BodyFormat: String, Sendable { case json, form }

    public let config: ProviderConfig
    public let http: ProviderHTTP
    public var type: ProviderType { .smsMasivo }
    public let apiVersion: APIVersion
    public let bodyFormat: BodyFormat

    private let apiKey: String
    private let baseURL: String
    private let defaultCountry: CountryCallingCode

    /// Throws a permanent `ProviderError` with code `config` naming the field
    /// when a required field is missing or a setting is invalid.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        func invalid(_ field: String, _ text: String) -> ProviderError {
            ProviderError(.permanent, code: "config", text: "\(field): \(text)")
        }
        if let problem = Self.fields.problems(in: config).first { throw invalid(problem.field, problem.message) }
        guard let version = APIVersion(rawValue: Self.setting("api_version", in: config) ?? "2") else {
            throw invalid("settings.api_version", "must be 1 or 2")
        }
        guard let format = BodyFormat(rawValue: (Self.setting("body_format", in: config) ?? "json").lowercased()) else {
            throw invalid("settings.body_format", "must be json or form")
        }
        let code = Self.setting("country_code", in: config) ?? "52"
        guard let value = Int(code.hasPrefix("+") ? String(code.dropFirst()) : code),
              let country = try? CountryCallingCode(value)
        else {
            throw invalid("settings.country_code", "\"\(code)\" is not a country calling code")
        }
        var base = (config.url ?? "").trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        self.config = config
        self.http = http
        self.apiVersion = version
        self.bodyFormat = format
        self.apiKey = config.secret ?? ""
        self.defaultCountry = country
        self.baseURL = base.isEmpty ? (version == .v2 ? Self.defaultBaseURL : Self.defaultV1BaseURL) : base
    }

    private static func setting(_ key: String, in config: ProviderConfig) -> String? {
        guard let value = config.settings[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    // MARK: Sending

    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        let recipients = try recipients(of: message.destination)
        switch apiVersion {
        case .v2: return try await sendV2(message, recipients: recipients)
        case .v1: return try await sendV1(message, recipients: recipients)
        }
    }

    private func sendV2(_ message: OutgoingSMS, recipients: Recipients) async throws -> SendReceipt {
        var fields = [("message", message.text), ("numbers", recipients.numbers), ("country_code", recipients.countryCode)]
        if let name = Self.setting("name", in: config) { fields.append(("name", name)) }
        if let sender = sender(message) { fields.append(("sender", sender)) }
        if let lang = Self.setting("lang", in: config) { fields.append(("lang", lang)) }
        if let sandbox = Self.setting("sandbox", in: config) { fields.append(("sandbox", sandbox)) }
        let response = try await http.send(
            method: .POST, url: baseURL + "/sms/send",
            headers: [
                ("apikey", apiKey),
                ("Content-Type", bodyFormat == .json ? "application/json" : "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            body: try body(fields), timeout: config.timeout)
        let json = try Self.answer(response, hiding: apiKey)
        let references = (json["references"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["reference"] as? String }
        return SendReceipt(providerMessageID: references.isEmpty ? nil : references.joined(separator: ","),
                           rawResponse: response.text)
    }

    private func sendV1(_ message: OutgoingSMS, recipients: Recipients) async throws -> SendReceipt {
        var fields = [("apikey", apiKey), ("mensaje", message.text), ("numcelular", recipients.numbers),
                      ("numregion", recipients.countryCode)]
        if let sender = sender(message) { fields.append(("remitente", sender)) }
        if let sandbox = Self.setting("sandbox", in: config) { fields.append(("sandbox", sandbox)) }
        let response = try await http.send(
            method: .POST, url: baseURL + "/sms/api.envio.new.php",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(Self.formEncode(fields).utf8), timeout: config.timeout)
        guard let json = response.jsonObject, let status = json["estatus"] as? String else {
            throw Self.unexpected(response, hiding: apiKey)
        }
        guard status.lowercased() == "ok" else {
            // v1's error texts are not documented: every refusal is taken as final.
            throw ProviderError(.permanent, code: status, text: (json["mensaje"] as? String) ?? status)
        }
        return SendReceipt(providerMessageID: nil, rawResponse: response.text)
    }

    /// A session token (`POST {base}/auth` with the API key, API v2): a check
    /// that the key works. Sending does not need it; the answer's shape beyond
    /// `success` and `token` is not documented.
    public func sessionToken() async throws -> String {
        let response = try await http.send(
            method: .POST, url: baseURL + "/auth",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(Self.formEncode([("apikey", apiKey)]).utf8), timeout: config.timeout)
        let json = try Self.answer(response, hiding: apiKey)
        guard let token = json["token"] as? String, !token.isEmpty else {
            throw ProviderError(.retryable, code: "unexpected_answer", text: "the /auth answer has no token")
        }
        return token
    }

    /// National numbers and the country code of a destination, split with
    /// `PhoneNumber` (a number without `+` is national in the default
    /// country). A comma-separated list shares one country code. A number
    /// SMSCore cannot read is passed on as written with the default country
    /// code, so that SMS Masivos' own verdict (`sms_04`) is what is reported.
    struct Recipients: Equatable {
        var numbers: String
        var countryCode: String
    }

    func recipients(of destination: String) throws -> Recipients {
        let parts = destination.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw ProviderError(.permanent, code: "invalid_number", text: "no destination number") }
        let numbers = parts.map { try? PhoneNumber($0, defaultCountry: defaultCountry) }
        guard numbers.allSatisfy({ $0 != nil }) else {
            return Recipients(numbers: parts.joined(separator: ","), countryCode: defaultCountry.digits)
        }
        let parsed = numbers.compactMap { $0 }
        let codes = Set(parsed.map(\.countryCallingCode))
        guard codes.count == 1, let code = codes.first else {
            throw ProviderError(.permanent, code: "invalid_number",
                                text: "numbers of different countries cannot be sent in one request")
        }
        return Recipients(numbers: parsed.map(\.nationalNumber).joined(separator: ","), countryCode: code.digits)
    }

    private func sender(_ message: OutgoingSMS) -> String? {
        let sender = (message.sender ?? config.sender ?? "").trimmingCharacters(in: .whitespaces)
        return sender.isEmpty ? nil : sender
    }

    private func body(_ fields: [(String, String)]) throws -> [UInt8] {
        switch bodyFormat {
        case .form:
            return Array(Self.formEncode(fields).utf8)
        case .json:
            var object: [String: String] = [:]
            for (name, value) in fields { object[name] = value }
            return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        }
    }

    // MARK: Answers

    /// The body of an accepted v2 answer (`success: true`), or the error it
    /// carries. The body decides whatever the HTTP status; without a body that
    /// says `success`, a 2xx is unexpected (retryable) and another status is
    /// classified by the status.
    static func answer(_ response: ProviderHTTPResponse, hiding secret: String) throws -> [String: Any] {
        guard let json = response.jsonObject, let success = json["success"] as? Bool else {
            throw unexpected(response, hiding: secret)
        }
        if success, (200..<300).contains(response.status) { return json }
        let code = (json["code"] as? String) ?? "\(response.status)"
        let kind = kind(ofCode: code) ?? ((200..<300).contains(response.status)
            ? .permanent : ProviderHTTP.kind(ofFailureStatus: response.status))
        throw ProviderError(kind, code: code, text: (json["message"] as? String) ?? code)
    }

    /// The class of a v2 error code: `sms_12`/`sms_13` (send error at SMS
    /// Masivos) retryable; bad key (`auth_*`), no credit (`sms_07`), bad or
    /// missing fields (`sms_01`–`sms_06`, `sms_15`, `sms_16`, `sms_18`) and the
    /// sandbox quota (`sms_17`) permanent; nil for a code not known here.
    public static func kind(ofCode code: String) -> ProviderError.Kind? {
        switch code {
        case "sms_12", "sms_13": .retryable
        case "sms_01", "sms_02", "sms_03", "sms_04", "sms_05", "sms_06", "sms_07", "sms_15", "sms_16", "sms_17", "sms_18":
            .permanent
        default: code.hasPrefix("auth_") ? .permanent : nil
        }
    }

    static func unexpected(_ response: ProviderHTTPResponse, hiding secret: String) -> ProviderError {
        var flat = response.text.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        if !secret.isEmpty { flat = flat.replacingOccurrences(of: secret, with: "***") }
        let snippet = flat.isEmpty ? "(empty body)" : (flat.count > 200 ? String(flat.prefix(200)) + "…" : flat)
        if (200..<300).contains(response.status) {
            return ProviderError(.retryable, code: "unexpected_answer", text: "HTTP \(response.status): \(snippet)")
        }
        return ProviderError(ProviderHTTP.kind(ofFailureStatus: response.status), code: "\(response.status)",
                             text: "HTTP \(response.status): \(snippet)")
    }

    /// `application/x-www-form-urlencoded` (space as `+`).
    static func formEncode(_ fields: [(String, String)]) -> String {
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~ ")
        func escape(_ text: String) -> String {
            (text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text).replacingOccurrences(of: " ", with: "+")
        }
        return fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    // MARK: Webhooks

    /// Always false: SMS Masivos calls no webhooks, so any call is not from it.
    public func verifyWebhook(_ request: WebhookRequest) -> Bool { false }

    /// Always empty: SMS Masivos pushes no inbound messages.
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] { [] }

    /// Always empty: SMS Masivos pushes no delivery reports.
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] { [] }
}
