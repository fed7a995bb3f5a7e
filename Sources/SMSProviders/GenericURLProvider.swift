import Foundation
import NIOHTTP1
import SMSCore

/// The generic URL providers (SPEC P1, PROVIDERS.md section 7): `URLSMS`
/// (GET), `URLSMSAuth` (GET + Basic), `URLSMSPOST` (POST with a body
/// template), `URLPOSTSMSAuth` (POST + Basic), and the `Quality` and `GMG`
/// presets, for which no public contract exists and whose templates the admin
/// fills in from the vendor's document.
///
/// The request is built from `URLTemplate`s (`config.url` is the URL template,
/// `settings["body_template"]` the body) and the answer is classified by the
/// outcome rules of PROVIDERS.md section 7. Every setting is described in
/// `docs/generic-providers.md` and listed in `fields(for:)`.
public struct GenericURLProvider: SMSProvider {
    public let type: ProviderType

    /// The provider types this adapter serves.
    public static let supportedTypes: [ProviderType] = [.urlSMS, .urlSMSAuth, .urlSMSPost, .urlPostSMSAuth, .quality, .gmg]

    /// A configuration this adapter cannot work with, naming the field or setting.
    public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
        /// `url`, `username`, `secret`, `settings.<key>` or `type`.
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { "\(field): \(message)" }
    }

    struct HeaderTemplate: Sendable {
        var name: String
        var value: URLTemplate
    }

    private let config: ProviderConfig
    private let http: ProviderHTTP
    private let method: HTTPMethod
    private let urlTemplate: URLTemplate
    private let bodyTemplate: URLTemplate?
    private let contentType: String?
    private let headerTemplates: [HeaderTemplate]
    private let basicAuth: Bool
    private let encodingNames: (gsm7: String, ucs2: String)
    private let rules: OutcomeRules
    private let webhook: WebhookMapping
    public let webhookAnswer: WebhookAnswer

    /// Builds the adapter for one of `supportedTypes`, parsing every template
    /// and regular expression now so a bad configuration fails at once, with
    /// the field or setting named.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        guard let schema = Self.fields(for: config.type) else {
            throw ConfigurationError(field: "type", message: "\(config.type.rawValue) is not a generic URL provider type")
        }
        if let problem = schema.problems(in: config).first {
            throw ConfigurationError(field: problem.field, message: problem.message)
        }
        let settings = config.settings
        func setting(_ key: String) -> String? {
            guard let value = settings[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
            return value
        }
        type = config.type
        self.config = config
        self.http = http

        // Method and authentication per type.
        let methodName: String
        switch config.type {
        case .urlSMS, .urlSMSAuth: methodName = "GET"
        case .urlSMSPost, .urlPostSMSAuth: methodName = setting("method")?.uppercased() ?? "POST"
        default: methodName = setting("method")?.uppercased() ?? "GET"
        }
        guard ["GET", "POST", "PUT", "PATCH"].contains(methodName) else {
            throw ConfigurationError(field: "settings.method", message: "method must be GET, POST, PUT or PATCH, not '\(methodName)'")
        }
        method = HTTPMethod(rawValue: methodName)
        switch config.type {
        case .urlSMSAuth, .urlPostSMSAuth:
            basicAuth = true
        case .quality, .gmg:
            switch setting("auth")?.lowercased() {
            case nil: basicAuth = !(config.username ?? "").isEmpty
            case "basic": basicAuth = true
            case "none": basicAuth = false
            case let other?: throw ConfigurationError(field: "settings.auth", message: "auth must be none or basic, not '\(other)'")
            }
        default:
            basicAuth = false
        }
        if basicAuth, (config.username ?? "").isEmpty {
            throw ConfigurationError(field: "username", message: "a user is required for HTTP Basic authentication")
        }

        // Templates.
        let url = (config.url ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        urlTemplate = try Self.template(url, kind: .url, field: "url")
        guard url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://") else {
            throw ConfigurationError(field: "url", message: "the URL template must start with http:// or https://")
        }
        var headers: [HeaderTemplate] = []
        for line in (settings["headers"] ?? "").split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                throw ConfigurationError(field: "settings.headers", message: "each header line must be 'Name: value', got '\(text)'")
            }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces)
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "!#$%&'*+-.^_`|~".contains($0)) }) else {
                throw ConfigurationError(field: "settings.headers", message: "'\(name)' is not a valid header name")
            }
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append(HeaderTemplate(name: name, value: try Self.template(value, kind: .header, field: "settings.headers")))
        }
        headerTemplates = headers

        if method == .GET {
            if setting("body_template") != nil {
                throw ConfigurationError(field: "settings.body_template", message: "a body template needs method POST, PUT or PATCH")
            }
            bodyTemplate = nil
            contentType = nil
        } else {
            // The content type decides the body's escaping: the setting, else a Content-Type header, else a form.
            let headerType = headers.first { $0.name.lowercased() == "content-type" }?.value.source
            let type = setting("content_type") ?? headerType ?? "application/x-www-form-urlencoded"
            contentType = type
            bodyTemplate = try settings["body_template"].map {
                try Self.template($0, kind: .body(URLTemplate.BodyFormat(contentType: type)), field: "settings.body_template")
            }
        }

        // `encoding_values`: what {{encoding}} says for GSM-7 and UCS-2.
        if let names = setting("encoding_values") {
            let pair = names.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty else {
                throw ConfigurationError(field: "settings.encoding_values", message: "give two names, for GSM-7 and UCS-2, e.g. '0,8'")
            }
            encodingNames = (pair[0], pair[1])
        } else {
            encodingNames = ("gsm7", "ucs2")
        }

        rules = try OutcomeRules(settings: settings)
        webhook = WebhookMapping(settings: settings)
        let answerBody = settings["webhook_answer_body"] ?? ""
        var answerStatus = 200
        if let status = setting("webhook_answer_status") {
            guard let value = Int(status), (200...599).contains(value) else {
                throw ConfigurationError(field: "settings.webhook_answer_status", message: "must be an HTTP status, not '\(status)'")
            }
            answerStatus = value
        }
        webhookAnswer = WebhookAnswer(
            status: answerStatus,
            contentType: setting("webhook_answer_content_type") ?? (answerBody.isEmpty ? nil : "text/plain"),
            body: answerBody)
    }

    private static func template(_ text: String, kind: URLTemplate.Kind, field: String) throws -> URLTemplate {
        do throws(URLTemplate.ParseError) {
            return try URLTemplate(text, kind: kind)
        } catch {
            throw ConfigurationError(field: field, message: error.description)
        }
    }

    // MARK: - Sending

    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        let values = try self.values(for: message)
        let url: String
        var body: [UInt8]?
        var headers: [(String, String)] = []
        do throws(URLTemplate.RenderError) {
            url = try urlTemplate.render(values)
            if let bodyTemplate { body = Array(try bodyTemplate.render(values).utf8) }
            for header in headerTemplates { headers.append((header.name, try header.value.render(values))) }
        } catch {
            throw ProviderError(.permanent, code: "template", text: error.description)
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              parsed.host != nil
        else {
            throw ProviderError(.permanent, code: "template", text: "the URL template does not give a valid http(s) URL for this message")
        }
        if let contentType, body != nil, !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", contentType))
        }
        if method != .GET, body == nil { body = [] }
        if basicAuth {
            headers.append(("Authorization", ProviderHTTP.basicAuthorization(user: config.username ?? "", password: config.secret ?? "")))
        }
        let response = try await http.send(method: method, url: url, headers: headers, body: body, timeout: config.timeout)
        return try rules.outcome(status: response.status, body: response.text, secret: config.secret)
    }

    /// The template values for a message; throws a permanent error when the
    /// text cannot be sent in the configured encoding.
    func values(for message: OutgoingSMS) throws -> URLTemplate.Values {
        let analysis: SMSAnalysis
        do {
            analysis = try SMSText.analyze(message.text, setting: config.encoding)
        } catch {
            throw ProviderError(.permanent, code: "encoding", text: "\(error)")
        }
        return URLTemplate.Values(
            to: message.destination,
            from: message.sender ?? config.sender ?? "",
            text: message.text,
            id: message.reference,
            port: message.port.map(String.init) ?? "",
            encoding: analysis.encoding == .gsm7 ? encodingNames.gsm7 : encodingNames.ucs2,
            segments: String(analysis.segments),
            username: config.username ?? "",
            password: config.secret ?? "",
            callbackURL: config.webhookURL ?? "")
    }

    // MARK: - Webhooks

    /// Always true: generic providers do not sign their calls. The server gives
    /// each generic provider a webhook URL holding an unguessable token and
    /// checks that token before handing the request to this adapter.
    public func verifyWebhook(_ request: WebhookRequest) -> Bool { true }

    /// The inbound message in a webhook request: none when the request carries a
    /// delivery status parameter (it is a report); otherwise the sender and text
    /// parameters are required.
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] {
        let parameters = WebhookParameters(request)
        if parameters.first(of: webhook.dlrStatus) != nil { return [] }
        guard let from = parameters.first(of: webhook.inboundFrom) else {
            throw MalformedWebhook("no sender parameter (\(webhook.inboundFrom.joined(separator: " or ")))")
        }
        guard let text = parameters.first(of: webhook.inboundText, keepEmpty: true) else {
            throw MalformedWebhook("no text parameter (\(webhook.inboundText.joined(separator: " or ")))")
        }
        guard let to = parameters.first(of: webhook.inboundTo) ?? config.sender.flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw MalformedWebhook("no recipient parameter (\(webhook.inboundTo.joined(separator: " or "))) and no SMS From configured")
        }
        return [InboundSMS(
            providerMessageID: parameters.first(of: webhook.inboundID),
            from: WebhookParameters.number(from), to: WebhookParameters.number(to), text: text, receivedAt: Date())]
    }

    /// The delivery report in a webhook request: present when it carries a
    /// delivery status parameter, which then also needs the message id.
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] {
        let parameters = WebhookParameters(request)
        guard let status = parameters.first(of: webhook.dlrStatus) else { return [] }
        guard let id = parameters.first(of: webhook.dlrID) else {
            throw MalformedWebhook("delivery report without message id parameter (\(webhook.dlrID.joined(separator: " or ")))")
        }
        let outcome: DeliveryReport.Outcome =
            if webhook.delivered.contains(status.uppercased()) { .delivered }
            else if webhook.failed.contains(status.uppercased()) { .failed }
            else { .pending }
        return [DeliveryReport(providerMessageID: id, outcome: outcome, code: parameters.first(of: webhook.dlrError),
                               text: status, at: Date())]
    }
}

// MARK: - Outcome rules

extension GenericURLProvider {
    /// PROVIDERS.md section 7 "Outcome rules", from the `success_http`,
    /// `success_regex`, `permfail_regex`, `tempfail_regex`, `message_id_regex`
    /// and `message_id_json` settings.
    struct OutcomeRules: Sendable {
        var successHTTP: [ClosedRange<Int>]
        var success: NSRegularExpression?
        var permanentFailure: NSRegularExpression?
        var temporaryFailure: NSRegularExpression?
        var messageIDRegex: NSRegularExpression?
        var messageIDPointer: [String]?

        init(settings: [String: String]) throws {
            func setting(_ key: String) -> String? {
                guard let value = settings[key], !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
                return value
            }
            func regex(_ key: String) throws -> NSRegularExpression? {
                guard let pattern = setting(key) else { return nil }
                do {
                    return try NSRegularExpression(pattern: pattern)
                } catch {
                    throw ConfigurationError(field: "settings.\(key)", message: "'\(pattern)' is not a valid regular expression")
                }
            }
            successHTTP = try Self.statusRanges(setting("success_http") ?? "200-299")
            success = try regex("success_regex")
            permanentFailure = try regex("permfail_regex")
            temporaryFailure = try regex("tempfail_regex")
            messageIDRegex = try regex("message_id_regex")
            if let regex = messageIDRegex, regex.numberOfCaptureGroups < 1 {
                throw ConfigurationError(field: "settings.message_id_regex", message: "needs a capture group around the id, e.g. 'OK (\\S+)'")
            }
            if let pointer = setting("message_id_json") {
                guard let tokens = JSONPointer.tokens(pointer) else {
                    throw ConfigurationError(field: "settings.message_id_json", message: "'\(pointer)' is not a JSON Pointer (e.g. /id or /messages/0/id)")
                }
                messageIDPointer = tokens
            }
        }

        /// `200-299`, `200,202` or `200-299,302`.
        static func statusRanges(_ text: String) throws -> [ClosedRange<Int>] {
            var ranges: [ClosedRange<Int>] = []
            for item in text.split(separator: ",") {
                let bounds = item.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds[bounds.count - 1],
                      100 <= low, low <= high, high <= 599
                else {
                    throw ConfigurationError(field: "settings.success_http", message: "'\(text)' is not a list of statuses or ranges such as 200-299")
                }
                ranges.append(low...high)
            }
            if ranges.isEmpty {
                throw ConfigurationError(field: "settings.success_http", message: "give at least one status or range")
            }
            return ranges
        }

        func outcome(status: Int, body: String, secret: String?) throws -> SendReceipt {
            let shown = Self.shown(body, secret: secret)
            guard successHTTP.contains(where: { $0.contains(status) }) else {
                let retryable = ProviderHTTP.kind(ofFailureStatus: status) == .retryable || Self.matches(temporaryFailure, body)
                throw ProviderError(retryable ? .retryable : .permanent, code: String(status), text: shown)
            }
            if Self.matches(success, body) {
                return SendReceipt(providerMessageID: messageID(in: body), rawResponse: body)
            }
            if Self.matches(permanentFailure, body) {
                throw ProviderError(.permanent, code: String(status), text: shown)
            }
            if Self.matches(temporaryFailure, body) {
                throw ProviderError(.retryable, code: String(status), text: shown)
            }
            if success != nil {
                throw ProviderError(.permanent, code: String(status), text: "answer does not match success_regex: " + shown)
            }
            return SendReceipt(providerMessageID: messageID(in: body), rawResponse: body)
        }

        func messageID(in body: String) -> String? {
            if let regex = messageIDRegex {
                let range = NSRange(body.startIndex..., in: body)
                if let match = regex.firstMatch(in: body, range: range), let group = Range(match.range(at: 1), in: body) {
                    let id = String(body[group])
                    if !id.isEmpty { return id }
                }
            }
            if let pointer = messageIDPointer,
               let json = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]) {
                return JSONPointer.string(at: pointer, in: json)
            }
            return nil
        }

        static func matches(_ regex: NSRegularExpression?, _ text: String) -> Bool {
            guard let regex else { return false }
            return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }

        /// The answer as shown in an error: trimmed, at most 300 characters, the secret masked.
        static func shown(_ body: String, secret: String?) -> String {
            var text = body.trimmingCharacters(in: .whitespacesAndNewlines)
            if let secret, secret.count >= 3 { text = text.replacingOccurrences(of: secret, with: "***") }
            if text.count > 300 { text = String(text.prefix(300)) + "…" }
            return text.isEmpty ? "(empty answer)" : text
        }
    }

    /// RFC 6901 JSON Pointers (`/messages/0/id`).
    enum JSONPointer {
        static func tokens(_ pointer: String) -> [String]? {
            guard pointer.hasPrefix("/") else { return pointer.isEmpty ? [] : nil }
            return pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
                $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            }
        }

        static func value(at tokens: [String], in json: Any) -> Any? {
            var current: Any = json
            for token in tokens {
                if let object = current as? [String: Any], let next = object[token] {
                    current = next
                } else if let array = current as? [Any], let index = Int(token), array.indices.contains(index) {
                    current = array[index]
                } else {
                    return nil
                }
            }
            return current
        }

        /// The value as text: strings as they are, numbers and booleans printed; nil for null, objects and arrays.
        static func string(at tokens: [String], in json: Any) -> String? {
            switch value(at: tokens, in: json) {
            case let string as String: string
            case let integer as Int: String(integer)
            case let number as NSNumber: number.stringValue
            default: nil
            }
        }
    }
}

// MARK: - Webhook parameters

extension GenericURLProvider {
    /// Which request parameters hold what, from the `inbound_*_param` and
    /// `dlr_*` settings; each is a comma-separated list of candidate names (the
    /// first one present wins) and a name starting with `/` is a JSON Pointer
    /// into a JSON body.
    struct WebhookMapping: Sendable {
        var inboundFrom: [String]
        var inboundTo: [String]
        var inboundText: [String]
        var inboundID: [String]
        var dlrID: [String]
        var dlrStatus: [String]
        var dlrError: [String]
        /// Status values (upper-cased) meaning delivered / failed; any other status is pending.
        var delivered: Set<String>
        var failed: Set<String>

        static let defaults: [String: String] = [
            "inbound_from_param": "from",
            "inbound_to_param": "to",
            "inbound_text_param": "text,content,message",
            "inbound_id_param": "id",
            "dlr_id_param": "id",
            "dlr_status_param": "status,message_status",
            "dlr_error_param": "err,error,error_code",
            "dlr_delivered": "DELIVRD,DELIVERED",
            "dlr_failed": "UNDELIV,UNDELIVERED,REJECTD,REJECTED,EXPIRED,DELETED,FAILED,UNKNOWN",
        ]

        init(settings: [String: String]) {
            func list(_ key: String) -> [String] {
                let given = settings[key].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
                return (given ?? Self.defaults[key] ?? "").split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            inboundFrom = list("inbound_from_param")
            inboundTo = list("inbound_to_param")
            inboundText = list("inbound_text_param")
            inboundID = list("inbound_id_param")
            dlrID = list("dlr_id_param")
            dlrStatus = list("dlr_status_param")
            dlrError = list("dlr_error_param")
            delivered = Set(list("dlr_delivered").map { $0.uppercased() })
            failed = Set(list("dlr_failed").map { $0.uppercased() })
        }
    }

    /// The parameters of a webhook request: its query string, plus a form or JSON body.
    struct WebhookParameters {
        var body: [(String, String)] = []
        var query: [(String, String)] = []
        var json: Any?

        init(_ request: WebhookRequest) {
            if let query = URLComponents(string: request.url)?.percentEncodedQuery { self.query = Self.formDecoded(query) }
            let text = String(decoding: request.body, as: UTF8.self)
            let type = (request.header("Content-Type") ?? "").lowercased()
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if type.contains("json") || (type.isEmpty && (trimmed.hasPrefix("{") || trimmed.hasPrefix("["))) {
                json = try? JSONSerialization.jsonObject(with: Data(request.body), options: [.fragmentsAllowed])
                if let object = json as? [String: Any] {
                    body = object.compactMap { key, value -> (String, String)? in
                        switch value {
                        case let string as String: (key, string)
                        case let number as NSNumber: (key, number.stringValue)
                        default: nil
                        }
                    }
                }
            } else if type.contains("x-www-form-urlencoded") || (type.isEmpty && trimmed.contains("=")) {
                body = Self.formDecoded(trimmed)
            }
        }

        /// The first non-empty value among candidate names (body before query);
        /// with `keepEmpty`, a present but empty value counts (an empty text).
        func first(of names: [String], keepEmpty: Bool = false) -> String? {
            for name in names {
                let value: String?
                if name.hasPrefix("/") {
                    value = json.flatMap { json in JSONPointer.tokens(name).flatMap { JSONPointer.string(at: $0, in: json) } }
                } else {
                    value = body.first { $0.0 == name }?.1 ?? query.first { $0.0 == name }?.1
                }
                if let value, keepEmpty || !value.isEmpty { return value }
            }
            return nil
        }

        static func formDecoded(_ text: String) -> [(String, String)] {
            text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ part: Substring) -> String {
                    let spaced = part.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
            }
        }

        /// A number as sent: an unencoded leading `+` read as a form-encoded
        /// space is given back its `+`.
        static func number(_ value: String) -> String {
            if value.hasPrefix(" "), value.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }), value.count > 1 {
                return "+" + value.dropFirst()
            }
            return value.trimmingCharacters(in: .whitespaces)
        }
    }
}

// MARK: - Fields

extension GenericURLProvider {
    /// The field schema of a generic type, or nil for other types.
    public static func fields(for type: ProviderType) -> ProviderFieldSchema? {
        fieldSchemas.first { $0.type == type }
    }

    /// The schemas of all `supportedTypes`.
    public static let fieldSchemas: [ProviderFieldSchema] = supportedTypes.map(schema(for:))

    private static func schema(for type: ProviderType) -> ProviderFieldSchema {
        let basic = type == .urlSMSAuth || type == .urlPostSMSAuth
        let preset = type == .quality || type == .gmg
        let post = type == .urlSMSPost || type == .urlPostSMSAuth
        var entries: [ProviderFieldSchema.Entry] = [
            .init(.url, required: true, label: "URL template",
                  help: "e.g. https://sms.example.net/send?to={{to|noplus}}&text={{text}}; values are escaped for where they sit"),
            .init(.username, required: basic, label: basic ? "User (HTTP Basic)" : "User",
                  help: basic ? "sent as HTTP Basic authentication; also {{username}}" : "available to templates as {{username}}"),
            .init(.secret, required: basic, label: basic ? "Password (HTTP Basic)" : "Password",
                  help: basic ? "sent as HTTP Basic authentication; also {{password}}" : "available to templates as {{password}}"),
            .init(.sender, required: false, label: "SMS From", help: "{{from}} when the message has no sender of its own"),
            .init(.ports, required: false, label: "Ports", help: "dial string; the chosen port is {{port}}"),
            .init(.numberPattern, required: false, label: "Number validation (regular expression)"),
            .init(.encoding, required: false, label: "SMS encoding", help: "decides {{encoding}} and {{segments}}"),
        ]
        if preset {
            entries[1].help = "{{username}}; with it, HTTP Basic authentication is sent unless settings.auth is none"
        }
        var settings: [ProviderFieldSchema.Setting] = []
        if post || preset {
            if preset {
                settings.append(.init("method", required: false, label: "HTTP method", help: "GET (default), POST, PUT or PATCH"))
                settings.append(.init("auth", required: false, label: "Authentication",
                                      help: "none or basic; default basic when a user is given"))
            } else {
                settings.append(.init("method", required: false, label: "HTTP method", help: "POST (default), PUT or PATCH"))
            }
            settings.append(.init("body_template", required: post, label: "Body template",
                                  help: "e.g. to={{to}}&text={{text}} or {\"to\":\"{{to}}\",\"text\":\"{{text}}\"}"))
            settings.append(.init("content_type", required: false, label: "Content type",
                                  help: "default application/x-www-form-urlencoded; decides how body values are escaped"))
        }
        settings += [
            .init("headers", required: false, label: "Extra headers", help: "one 'Name: value' per line; values may use placeholders"),
            .init("encoding_values", required: false, label: "Encoding names",
                  help: "what {{encoding}} says for GSM-7 and UCS-2, e.g. 0,8 (Jasmin); default gsm7,ucs2"),
            .init("success_http", required: false, label: "Success HTTP statuses", help: "default 200-299; e.g. 200,202 or 100-599 to decide by regex only"),
            .init("success_regex", required: false, label: "Success regex", help: "when set, a success status whose answer does not match is a permanent failure"),
            .init("permfail_regex", required: false, label: "Permanent failure regex"),
            .init("tempfail_regex", required: false, label: "Temporary failure regex"),
            .init("message_id_regex", required: false, label: "Message id regex", help: "first capture group, e.g. ^OK (\\S+)"),
            .init("message_id_json", required: false, label: "Message id JSON Pointer", help: "e.g. /id or /messages/0/id"),
            .init("inbound_from_param", required: false, label: "Inbound sender parameter", help: "default from"),
            .init("inbound_to_param", required: false, label: "Inbound recipient parameter", help: "default to"),
            .init("inbound_text_param", required: false, label: "Inbound text parameter", help: "default text,content,message"),
            .init("inbound_id_param", required: false, label: "Inbound message id parameter", help: "default id"),
            .init("dlr_id_param", required: false, label: "Report message id parameter", help: "default id"),
            .init("dlr_status_param", required: false, label: "Report status parameter", help: "default status,message_status"),
            .init("dlr_error_param", required: false, label: "Report error code parameter", help: "default err,error,error_code"),
            .init("dlr_delivered", required: false, label: "Delivered statuses", help: "default DELIVRD,DELIVERED"),
            .init("dlr_failed", required: false, label: "Failed statuses",
                  help: "default UNDELIV,UNDELIVERED,REJECTD,REJECTED,EXPIRED,DELETED,FAILED,UNKNOWN; others are pending"),
            .init("webhook_answer_body", required: false, label: "Webhook answer body", help: "e.g. ACK/Jasmin"),
            .init("webhook_answer_content_type", required: false, label: "Webhook answer content type", help: "default text/plain when a body is set"),
            .init("webhook_answer_status", required: false, label: "Webhook answer status", help: "default 200"),
        ]
        let note: String? = switch type {
        case .quality:
            "No public specification of the Quality Telecom API exists: this type is a named preset of the generic URL "
                + "template engine. Fill in the URL (and body) template and the result rules from the vendor's document."
        case .gmg:
            "No public specification of the GMG (CMG) SMS API exists: this type is a named preset of the generic URL "
                + "template engine. Fill in the URL (and body) template and the result rules from the vendor's document."
        case .urlSMS: "HTTP GET to the URL template."
        case .urlSMSAuth: "HTTP GET to the URL template with HTTP Basic authentication."
        case .urlSMSPost: "HTTP POST of the body template to the URL template."
        default: "HTTP POST of the body template to the URL template with HTTP Basic authentication."
        }
        return ProviderFieldSchema(type: type, entries: entries, settings: settings, note: note)
    }
}
