import Foundation
import NIOHTTP1
import SMSCore

/// Infobip SMS (PROVIDERS.md §3).
///
/// Sends JSON with `Authorization: App <API key>` to the account's base URL:
/// `POST /sms/2/text/advanced` (API version 2, the default) or
/// `POST /sms/3/messages` (version 3, setting `api_version` = `3`). Accepted is
/// HTTP 200 with the message's status in group PENDING; its `messageId` is the
/// provider message id. Delivery reports are pushed to the `notifyUrl` /
/// `webhooks.delivery.url` we send (the provider's webhook URL) and inbound
/// messages to the URL configured on the Infobip number; both are
/// `{"results":[…]}` JSON posts answered with an empty 200.
public struct InfobipProvider: SMSProvider {
    public static let defaultBaseURL = "https://api.infobip.com"

    public static let fields = ProviderFieldSchema(
        type: .infobip,
        entries: [
            .init(.url, required: false, label: "API base URL",
                  help: "Your account's base URL, e.g. https://xxxxx.api.infobip.com (default \(defaultBaseURL))"),
            .init(.secret, required: true, label: "API key", help: "Sent as Authorization: App <API key>"),
            .init(.sender, required: false, label: "Sender",
                  help: "Alphanumeric sender id or number; empty uses the account's default sender"),
            .init(.numberPattern, required: false, label: "Number validation regular expression"),
        ],
        settings: [
            .init("api_version", required: false, label: "API version",
                  help: "2 (default): POST /sms/2/text/advanced; 3: POST /sms/3/messages"),
            .init("send_reference", required: false, label: "Send our reference as messageId",
                  help: "true: Infobip's messageId is our message reference (with the prefix below), so it must be unique in the account; default false: Infobip makes the id"),
            .init("message_id_prefix", required: false, label: "messageId prefix",
                  help: "Put before our reference when send_reference is true, e.g. to tell installations sharing an account apart"),
            .init("callback_data", required: false, label: "Callback data",
                  help: "Text Infobip echoes in delivery reports; {reference} is replaced by our message reference"),
            .init("validity_period", required: false, label: "Validity period",
                  help: "How long Infobip keeps trying to deliver, in the unit below"),
            .init("validity_time_unit", required: false, label: "Validity period unit", help: "MINUTES (default) or HOURS"),
            .init("intermediate_report", required: false, label: "Intermediate delivery reports",
                  help: "true: Infobip also reports intermediate states (pending); default false"),
            .init("transliteration", required: false, label: "Transliteration",
                  help: "Infobip transliteration, e.g. CENTRAL_EUROPEAN, TURKISH, NON_UNICODE"),
            .init("language_code", required: false, label: "Language code",
                  help: "National language single-shift code, e.g. TR, ES, PT or AUTODETECT"),
        ])

    public enum APIVersion: String, Sendable { case v2 = "2", v3 = "3" }

    public let config: ProviderConfig
    public let http: ProviderHTTP
    public var type: ProviderType { .infobip }
    public let apiVersion: APIVersion

    private let apiKey: String
    private let baseURL: String
    private let validity: (amount: Int, unit: String)?
    private let sendReference: Bool
    private let intermediateReport: Bool

    /// Throws a permanent `ProviderError` with code `config` naming the field
    /// when a required field is missing or a setting is invalid.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        func invalid(_ field: String, _ text: String) -> ProviderError {
            ProviderError(.permanent, code: "config", text: "\(field): \(text)")
        }
        if let problem = Self.fields.problems(in: config).first { throw invalid(problem.field, problem.message) }
        guard let version = APIVersion(rawValue: config.settings["api_version"] ?? "2") else {
            throw invalid("settings.api_version", "must be 2 or 3")
        }
        if let amount = config.settings["validity_period"], !amount.isEmpty {
            guard let value = Int(amount), value > 0 else {
                throw invalid("settings.validity_period", "must be a whole number above 0")
            }
            let unit = (config.settings["validity_time_unit"] ?? "MINUTES").uppercased()
            guard unit == "MINUTES" || unit == "HOURS" else {
                throw invalid("settings.validity_time_unit", "must be MINUTES or HOURS")
            }
            validity = (value, unit)
        } else {
            validity = nil
        }
        sendReference = try Self.flag(config.settings["send_reference"], name: "send_reference")
        intermediateReport = try Self.flag(config.settings["intermediate_report"], name: "intermediate_report")
        var base = (config.url ?? "").trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        self.config = config
        self.http = http
        self.apiVersion = version
        self.apiKey = config.secret ?? ""
        self.baseURL = base.isEmpty ? Self.defaultBaseURL : base
    }

    private static func flag(_ value: String?, name: String) throws -> Bool {
        switch (value ?? "").lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no", "": return false
        default: throw ProviderError(.permanent, code: "config", text: "settings.\(name): must be true or false")
        }
    }

    // MARK: Sending

    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        let path = apiVersion == .v2 ? "/sms/2/text/advanced" : "/sms/3/messages"
        let body = try JSONSerialization.data(
            withJSONObject: ["messages": [apiVersion == .v2 ? v2Message(message) : v3Message(message)]],
            options: [.sortedKeys, .withoutEscapingSlashes])
        let response = try await http.send(
            method: .POST, url: baseURL + path,
            headers: [
                ("Authorization", "App \(apiKey)"),
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body: Array(body), timeout: config.timeout)
        return try Self.receipt(from: response, hiding: apiKey)
    }

    /// One message of `/sms/2/text/advanced`: `from`, `destinations[{to, messageId}]`, `text`,
    /// `notifyUrl`/`notifyContentType`, `callbackData`, `validityPeriod` (minutes)…
    func v2Message(_ message: OutgoingSMS) -> [String: Any] {
        var result: [String: Any] = ["destinations": [destination(message)], "text": message.text]
        if let sender = sender(message) { result["from"] = sender }
        if let url = config.webhookURL, !url.isEmpty {
            result["notifyUrl"] = url
            result["notifyContentType"] = "application/json"
        }
        if let data = callbackData(message) { result["callbackData"] = data }
        if let validity { result["validityPeriod"] = validity.unit == "HOURS" ? validity.amount * 60 : validity.amount }
        if intermediateReport { result["intermediateReport"] = true }
        if let transliteration = setting("transliteration") { result["transliteration"] = transliteration }
        if let language = setting("language_code") { result["language"] = ["languageCode": language] }
        return result
    }

    /// One message of `/sms/3/messages`: `sender`, `destinations`, `content{text, transliteration, language}`,
    /// `options{validityPeriod{amount, timeUnit}}`, `webhooks{delivery{url, intermediateReport}, contentType, callbackData}`.
    func v3Message(_ message: OutgoingSMS) -> [String: Any] {
        var content: [String: Any] = ["text": message.text]
        if let transliteration = setting("transliteration") { content["transliteration"] = transliteration }
        if let language = setting("language_code") { content["language"] = ["languageCode": language] }
        var result: [String: Any] = ["destinations": [destination(message)], "content": content]
        if let sender = sender(message) { result["sender"] = sender }
        if let validity { result["options"] = ["validityPeriod": ["amount": validity.amount, "timeUnit": validity.unit]] }
        var webhooks: [String: Any] = [:]
        if let url = config.webhookURL, !url.isEmpty {
            var delivery: [String: Any] = ["url": url]
            if intermediateReport { delivery["intermediateReport"] = true }
            webhooks["delivery"] = delivery
            webhooks["contentType"] = "application/json"
        }
        if let data = callbackData(message) { webhooks["callbackData"] = data }
        if !webhooks.isEmpty { result["webhooks"] = webhooks }
        return result
    }

    private func destination(_ message: OutgoingSMS) -> [String: Any] {
        var destination: [String: Any] = ["to": message.destination]
        if sendReference { destination["messageId"] = (setting("message_id_prefix") ?? "") + message.reference }
        return destination
    }

    private func sender(_ message: OutgoingSMS) -> String? {
        let sender = (message.sender ?? config.sender ?? "").trimmingCharacters(in: .whitespaces)
        return sender.isEmpty ? nil : sender
    }

    private func callbackData(_ message: OutgoingSMS) -> String? {
        setting("callback_data").map { $0.replacingOccurrences(of: "{reference}", with: message.reference) }
    }

    private func setting(_ key: String) -> String? {
        guard let value = config.settings[key], !value.isEmpty else { return nil }
        return value
    }

    /// Reads Infobip's answer. HTTP 2xx: the first message's status group
    /// decides (REJECTED, UNDELIVERABLE and EXPIRED are permanent failures with
    /// the status name as code; anything else, normally PENDING, is accepted
    /// with its `messageId`). Other statuses carry an error envelope, legacy
    /// `requestError.serviceException{messageId, text}` or current
    /// `{errorCode, description, violations}`; 429 and 5xx are retryable.
    static func receipt(from response: ProviderHTTPResponse, hiding secret: String) throws -> SendReceipt {
        let json = response.jsonObject
        guard (200..<300).contains(response.status) else { throw error(from: response, json: json, hiding: secret) }
        guard let first = (json?["messages"] as? [Any])?.first as? [String: Any] else {
            throw ProviderError(.retryable, code: "unexpected_answer",
                                text: "HTTP \(response.status) without messages: \(snippet(response.text, hiding: secret))")
        }
        let status = first["status"] as? [String: Any] ?? [:]
        let group = groupName(of: status)
        if ["REJECTED", "UNDELIVERABLE", "EXPIRED"].contains(group) {
            throw ProviderError(.permanent, code: (status["name"] as? String) ?? group,
                                text: (status["description"] as? String) ?? group)
        }
        guard let messageID = InfobipJSON.string(first["messageId"]), !messageID.isEmpty else {
            throw ProviderError(.retryable, code: "unexpected_answer",
                                text: "HTTP \(response.status) without a messageId: \(snippet(response.text, hiding: secret))")
        }
        return SendReceipt(providerMessageID: messageID, rawResponse: response.text)
    }

    static func error(from response: ProviderHTTPResponse, json: [String: Any]?, hiding secret: String) -> ProviderError {
        let kind = ProviderHTTP.kind(ofFailureStatus: response.status)
        if let exception = (json?["requestError"] as? [String: Any])?["serviceException"] as? [String: Any] {
            var text = (exception["text"] as? String) ?? "HTTP \(response.status)"
            if let validation = exception["validationErrors"] as? [String: Any], !validation.isEmpty {
                let details = validation.keys.sorted().map { key in
                    let problems = (validation[key] as? [Any])?.compactMap { $0 as? String } ?? []
                    return "\(key): \(problems.joined(separator: ", "))"
                }
                text += " (\(details.joined(separator: "; ")))"
            }
            return ProviderError(kind, code: (exception["messageId"] as? String) ?? "\(response.status)", text: text)
        }
        if let json, let errorCode = json["errorCode"] as? String {
            var text = (json["description"] as? String) ?? "HTTP \(response.status)"
            let violations = (json["violations"] as? [Any] ?? []).compactMap { item -> String? in
                guard let item = item as? [String: Any] else { return nil }
                let property = item["property"] as? String ?? ""
                let violation = item["violation"] as? String ?? ""
                return property.isEmpty ? violation : "\(property): \(violation)"
            }
            if !violations.isEmpty { text += " (\(violations.joined(separator: "; ")))" }
            return ProviderError(kind, code: errorCode, text: text)
        }
        return ProviderError(kind, code: "\(response.status)",
                             text: "HTTP \(response.status): \(snippet(response.text, hiding: secret))")
    }

    /// The status group by name, or from its id when the name is missing.
    static func groupName(of status: [String: Any]) -> String {
        if let name = status["groupName"] as? String, !name.isEmpty { return name.uppercased() }
        switch InfobipJSON.int(status["groupId"]) {
        case 0: return "ACCEPTED"
        case 1: return "PENDING"
        case 2: return "UNDELIVERABLE"
        case 3: return "DELIVERED"
        case 4: return "EXPIRED"
        case 5: return "REJECTED"
        default: return ""
        }
    }

    // MARK: Webhooks

    /// Always true: Infobip does not sign its webhook calls. The webhook URL
    /// carries an unguessable token that the server checks before calling
    /// this, which is what keeps others from posting to it.
    public func verifyWebhook(_ request: WebhookRequest) -> Bool { true }

    /// The messages of an inbound (MO) push: `results[]` items with `from`,
    /// `to`, `text` and `receivedAt` (items with a `status` are delivery
    /// reports and are skipped).
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] {
        try Self.results(in: request).enumerated().compactMap { index, item in
            guard item["status"] == nil else { return nil }
            let path = "results[\(index)]"
            return InboundSMS(
                providerMessageID: InfobipJSON.string(item["messageId"]),
                from: try Self.require("from", in: item, at: path),
                to: try Self.require("to", in: item, at: path),
                text: try Self.require("text", in: item, at: path, allowEmpty: true),
                receivedAt: Self.date(item["receivedAt"]) ?? Date())
        }
    }

    /// The reports of a delivery-report push (`results[]` items with
    /// `messageId` and `status`, v2 and v3 alike). Status group DELIVERED is
    /// delivered; UNDELIVERABLE, EXPIRED and REJECTED are failed, with the
    /// error's name as code (the status name when the error is NO_ERROR);
    /// PENDING and anything else are pending.
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] {
        try Self.results(in: request).enumerated().compactMap { index, item in
            guard item["status"] != nil else { return nil }
            let path = "results[\(index)]"
            guard let status = item["status"] as? [String: Any] else {
                throw MalformedWebhook("\(path).status is not an object")
            }
            let id = try Self.require("messageId", in: item, at: path)
            let group = Self.groupName(of: status)
            let outcome: DeliveryReport.Outcome = switch group {
            case "DELIVERED": .delivered
            case "UNDELIVERABLE", "EXPIRED", "REJECTED": .failed
            default: .pending
            }
            let error = item["error"] as? [String: Any]
            let hasError = error.map { (InfobipJSON.int($0["id"]) ?? 0) != 0 } ?? false
            let code = hasError ? (error?["name"] as? String) : (status["name"] as? String)
            let text = hasError ? (error?["description"] as? String) : (status["description"] as? String)
            return DeliveryReport(
                providerMessageID: id, outcome: outcome, code: code ?? (group.isEmpty ? nil : group), text: text,
                at: Self.date(item["doneAt"]) ?? Self.date(item["sentAt"]) ?? Date())
        }
    }

    static func results(in request: WebhookRequest) throws -> [[String: Any]] {
        guard let json = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            throw MalformedWebhook("the body is not a JSON object")
        }
        guard let results = json["results"] as? [Any] else { throw MalformedWebhook("results is missing") }
        return try results.enumerated().map { index, item in
            guard let item = item as? [String: Any] else { throw MalformedWebhook("results[\(index)] is not an object") }
            return item
        }
    }

    static func require(_ key: String, in item: [String: Any], at path: String, allowEmpty: Bool = false) throws -> String {
        guard let value = InfobipJSON.string(item[key]), allowEmpty || !value.isEmpty else {
            throw MalformedWebhook("\(path).\(key) is missing")
        }
        return value
    }

    /// Infobip's timestamps: `2019-11-09T16:00:00.000+0000` (or ISO 8601 with a `+00:00` / `Z` zone).
    static func date(_ value: Any?) -> Date? {
        guard let text = value as? String, !text.isEmpty else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        for format in ["yyyy-MM-dd'T'HH:mm:ss.SSSZ", "yyyy-MM-dd'T'HH:mm:ssZ", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX",
                       "yyyy-MM-dd'T'HH:mm:ssXXXXX"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    static func snippet(_ text: String, hiding secret: String) -> String {
        var flat = text.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        if !secret.isEmpty { flat = flat.replacingOccurrences(of: secret, with: "***") }
        return flat.isEmpty ? "(empty body)" : (flat.count > 200 ? String(flat.prefix(200)) + "…" : flat)
    }
}

/// Reading Infobip's JSON values.
private enum InfobipJSON {
    static func int(_ value: Any?) -> Int? {
        switch value {
        case let value as Int: value
        case let value as NSNumber: value.intValue
        case let value as String: Int(value)
        default: nil
        }
    }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let value as String: value
        case let value as Int: String(value)
        case let value as NSNumber: value.stringValue
        default: nil
        }
    }
}
