import Foundation
import NIOHTTP1
import SMSCore

/// Dinstar GSM gateways through their "New Version" HTTP API (PROVIDERS.md §4),
/// provider type `DinstarWeb`.
///
/// Every call is JSON to `{gateway}/api/...`, authenticated with HTTP Digest
/// (or Basic, whichever the gateway's `WWW-Authenticate` asks for: see
/// `ChallengeAuthenticator`). The gateway answers HTTP 200 to whatever it
/// handled; the outcome is the body's `error_code` (202 for an accepted
/// send, 200 for queries).
///
/// **Message ids.** `send_sms` takes a numeric `user_id` per recipient and
/// reports it back in send results; `task_id` (the batch) appears nowhere
/// else. So the provider message id of a sent message is its `user_id` in
/// decimal (see `userID(forReference:)`: our reference itself when it is a
/// number, as spool ids are), and every delivery report, polled or pushed,
/// carries that same id. The `task_id` stays in the raw answer.
///
/// Inbound messages and delivery results are polled (`PollingSMSProvider`);
/// the gateway's push mode (`{"sms":[…]}`, `{"sms_result":[…]}`,
/// `{"sms_deliver_status":[…]}` posted to our webhook URL) is read too.
public struct DinstarProvider: PollingSMSProvider {
    public static let fields = ProviderFieldSchema(
        type: .dinstarWeb,
        entries: [
            .init(.url, required: true, label: "Gateway URL",
                  help: "The gateway's web address, e.g. http://192.168.1.10 or https://gw.example.com:8443; its \"New Version\" HTTP API must be enabled (firmware 1102 or later)"),
            .init(.username, required: true, label: "Gateway user", help: "The user of the gateway's web interface"),
            .init(.secret, required: true, label: "Gateway password"),
            .init(.ports, required: false, label: "Ports",
                  help: "GSM ports to send from when a dialer names none, as a dial string such as 0.3 or 0,2,5 (ports count from 0); empty lets the gateway choose"),
            .init(.numberPattern, required: false, label: "Number validation regular expression"),
            .init(.encoding, required: false, label: "SMS encoding",
                  help: "auto sends GSM-7 when the text allows and Unicode otherwise; GSM-7 refuses texts it cannot carry"),
        ],
        settings: [
            .init("request_status_report", required: false, label: "Ask for delivery reports",
                  help: "true (default) or false: whether the gateway asks the network for delivery reports"),
            .init("time_zone", required: false, label: "Gateway time zone",
                  help: "IANA name of the zone the gateway's clock is set to, e.g. America/Mexico_City; default: the server's zone"),
        ])

    public let config: ProviderConfig
    public let http: ProviderHTTP
    public var type: ProviderType { .dinstarWeb }

    private let baseURL: String
    private let defaultPorts: [Int]
    private let requestStatusReport: Bool
    private let timeZone: TimeZone
    private let authenticator: ChallengeAuthenticator

    /// Most numbers, ports or ids the gateway takes in one query.
    static let queryLimit = 32

    /// Throws a permanent `ProviderError` with code `config` naming the field
    /// when a required field is missing or a value is invalid.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        if let problem = Self.fields.problems(in: config).first {
            throw ProviderError(.permanent, code: "config", text: "\(problem.field): \(problem.message)")
        }
        var base = (config.url ?? "").trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let components = URLComponents(string: base), ["http", "https"].contains(components.scheme?.lowercased()),
              components.host?.isEmpty == false
        else {
            throw ProviderError(.permanent, code: "config", text: "url: the gateway URL must look like http://192.168.1.10[:port]")
        }
        var ports: [Int] = []
        if let dial = config.ports, !dial.allSatisfy(\.isWhitespace) {
            do {
                ports = try DialString(dial).ports
            } catch {
                throw ProviderError(.permanent, code: "config", text: "ports: \(error)")
            }
        }
        switch (config.settings["request_status_report"] ?? "true").lowercased() {
        case "true", "1", "yes", "": requestStatusReport = true
        case "false", "0", "no": requestStatusReport = false
        default:
            throw ProviderError(.permanent, code: "config", text: "settings.request_status_report: must be true or false")
        }
        if let name = config.settings["time_zone"], !name.isEmpty {
            guard let zone = TimeZone(identifier: name) else {
                throw ProviderError(.permanent, code: "config", text: "settings.time_zone: \"\(name)\" is not an IANA time zone")
            }
            timeZone = zone
        } else {
            timeZone = .current
        }
        self.config = config
        self.http = http
        self.baseURL = base
        self.defaultPorts = ports
        self.authenticator = ChallengeAuthenticator(username: config.username ?? "", password: config.secret ?? "")
    }

    // MARK: Sending

    /// Queues the message on the gateway (`POST /api/send_sms`). Accepted is
    /// `error_code` 202, which means queued, not yet sent; the receipt's id is
    /// the `user_id` sent (see the type's documentation).
    ///
    /// Other codes: 486 (port busy), 500 (gateway error), 503 (port not
    /// registered) and 550 (no port available) are retryable; 400 (bad
    /// request), 403 (API disabled), 404 and 413 (too many recipients or text
    /// too long) are permanent.
    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        let encoding: SMSEncoding
        do {
            encoding = try SMSText.encoding(for: message.text, setting: config.encoding)
        } catch {
            throw ProviderError(.permanent, code: "encoding", text: "\(error)")
        }
        let userID = Self.userID(forReference: message.reference)
        var body: [String: Any] = [
            "text": message.text,
            "param": [["number": message.destination, "user_id": userID]],
            "encoding": encoding == .gsm7 ? "gsm-7bit" : "unicode",
            "request_status_report": requestStatusReport,
        ]
        let ports = message.port.map { [$0] } ?? defaultPorts
        if !ports.isEmpty { body["port"] = ports }
        let response = try await call(.POST, "/api/send_sms", json: body)
        let (_, code) = try Self.answer(response)
        guard code == 202 else { throw Self.gatewayError(code) }
        return SendReceipt(providerMessageID: String(userID), rawResponse: response.text)
    }

    /// The gateway's `user_id` for one of our references: the reference itself
    /// when it is a decimal number up to 2³¹−1 (spool ids are), otherwise a
    /// stable 31-bit FNV-1a hash of it (which could, rarely, equal another
    /// message's id).
    public static func userID(forReference reference: String) -> Int {
        if !reference.isEmpty, reference.utf8.allSatisfy({ (48...57).contains($0) }), reference.utf8.count <= 10,
           let number = Int(reference), number <= Int(Int32.max)
        {
            return number
        }
        var hash: UInt32 = 2_166_136_261
        for byte in reference.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int(hash & 0x7fff_ffff)
    }

    /// Stops a queued task (`GET /api/stop_sms?task_id=N`, the `task_id` of a send's raw answer).
    /// A task the gateway does not know (404) is a permanent error.
    public func stopTask(_ taskID: Int) async throws {
        let response = try await call(.GET, "/api/stop_sms", query: "task_id=\(taskID)")
        let (_, code) = try Self.answer(response)
        guard code == 200 else {
            if code == 404 { throw ProviderError(.permanent, code: "404", text: "error_code 404: task \(taskID) not found") }
            throw Self.gatewayError(code)
        }
    }

    /// How many messages wait in the gateway's queue (`POST /api/query_sms_queue`).
    public func queueLength() async throws -> Int {
        let response = try await call(.POST, "/api/query_sms_queue", json: [:])
        let (json, code) = try Self.answer(response)
        guard code == 200 else { throw Self.gatewayError(code) }
        guard let count = DinstarJSON.int(json["in_queue"]) else {
            throw ProviderError(.retryable, code: "unexpected_answer", text: "query_sms_queue answer without in_queue")
        }
        return count
    }

    // MARK: Polling

    /// Received messages (`GET /api/query_incoming_sms`). The cursor is the
    /// last `incoming_sms_id` seen. Without one, only unread messages are
    /// fetched (`flag=unread&incoming_sms_id=0`), so the gateway's old history
    /// is not imported; with one, every message after it (`flag=all`), so a
    /// message someone opened in the gateway's web interface is not missed.
    public func pollInbound(after cursor: String?) async throws -> (messages: [InboundSMS], cursor: String?) {
        let last = cursor.flatMap { Int($0) }
        let response = try await call(
            .GET, "/api/query_incoming_sms", query: "flag=\(last == nil ? "unread" : "all")&incoming_sms_id=\(last ?? 0)")
        let (json, code) = try Self.answer(response)
        guard code == 200 else { throw Self.gatewayError(code) }
        var messages: [InboundSMS] = []
        var newest = last
        do {
            for (index, item) in try DinstarJSON.array(json["sms"], named: "sms").enumerated() {
                let (message, id) = try incoming(item, at: "sms[\(index)]")
                if let id, let last, id <= last { continue }  // the gateway ignored incoming_sms_id
                if let id { newest = max(newest ?? id, id) }
                messages.append(message)
            }
        } catch let error as MalformedWebhook {
            throw ProviderError(.retryable, code: "unexpected_answer", text: "query_incoming_sms: \(error.reason)")
        }
        return (messages, newest.map(String.init) ?? cursor)
    }

    /// Delivery results for sent messages, by the ids `send` returned.
    ///
    /// `POST /api/query_sms_result` with the `user_id`s gives each message's
    /// latest send result: `DELIVERED` is delivered, a status naming a failure
    /// is failed, anything else (`SENT_OK`: handed to the network) is pending.
    /// For `SENT_OK` messages the network's delivery reports are then read
    /// (`POST /api/query_sms_deliver_status` for their numbers and ports),
    /// matched by port, number and `ref_id`, and their TP-Status decides:
    /// 0–31 delivered, 32–63 pending (the network still tries), 64 and up failed.
    /// Ids that are not numbers, and messages the gateway has no result for, give no report.
    public func pollDeliveryReports(for providerMessageIDs: [String]) async throws -> [DeliveryReport] {
        let wanted = Array(Set(providerMessageIDs.compactMap { Int($0) })).sorted()
        var latest: [Int: SendResult] = [:]
        for chunk in Self.chunks(wanted) {
            let response = try await call(.POST, "/api/query_sms_result", json: ["user_id": chunk])
            let (json, code) = try Self.answer(response)
            guard code == 200 else { throw Self.gatewayError(code) }
            for result in try pollItems(json["result"], named: "result", parse: sendResult) {
                guard let userID = result.userID, chunk.contains(userID) else { continue }
                if let known = latest[userID], known.at > result.at { continue }
                latest[userID] = result
            }
        }
        var reports = latest.map { userID, result in result.report(id: String(userID)) }
        let awaiting = latest.filter { $0.value.status.uppercased() == "SENT_OK" && $0.value.refID != nil }
        if !awaiting.isEmpty {
            let statuses = try await deliverStatuses(for: Array(awaiting.values))
            reports = latest.map { userID, result in
                guard awaiting[userID] != nil, let match = statuses.last(where: { status in
                    status.refID == result.refID && status.port == result.port
                        && (status.number == nil || result.number == nil || status.number == result.number)
                }) else { return result.report(id: String(userID)) }
                return match.report(id: String(userID))
            }
        }
        return reports.sorted { $0.providerMessageID < $1.providerMessageID }
    }

    /// The network delivery reports of the gateway for these results' numbers and ports.
    private func deliverStatuses(for results: [SendResult]) async throws -> [DeliverStatus] {
        let numbers = Array(Set(results.compactMap(\.number))).sorted()
        let ports = Array(Set(results.compactMap(\.port))).sorted()
        let since = results.compactMap(\.time).min()
        var statuses: [DeliverStatus] = []
        for chunk in Self.chunks(numbers) {
            var body: [String: Any] = ["number": chunk]
            if !ports.isEmpty, ports.count <= Self.queryLimit { body["port"] = ports }
            if let since { body["time_after"] = since }
            let response = try await call(.POST, "/api/query_sms_deliver_status", json: body)
            let (json, code) = try Self.answer(response)
            guard code == 200 else { throw Self.gatewayError(code) }
            statuses += try pollItems(json["result"], named: "result", parse: deliverStatus)
        }
        return statuses.sorted { $0.at < $1.at }
    }

    // MARK: Webhooks (push mode)

    /// Dinstar gateways do not sign their pushes: the webhook URL's secret
    /// token (checked by the server before this is called) is what protects it.
    public func verifyWebhook(_ request: WebhookRequest) -> Bool { true }

    /// The messages of a `{"sn":…, "sms":[…]}` push; empty for other pushes.
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] {
        let json = try Self.pushBody(request)
        guard json["sms"] != nil else { return [] }
        return try DinstarJSON.array(json["sms"], named: "sms").enumerated().map { index, item in
            try incoming(item, at: "sms[\(index)]").message
        }
    }

    /// The reports of a `sms_result` or `sms_deliver_status` push; empty for other pushes.
    /// An item without `user_id` cannot be tied to a message we sent and gives no report.
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] {
        let json = try Self.pushBody(request)
        var reports: [DeliveryReport] = []
        if json["sms_result"] != nil {
            for (index, item) in try DinstarJSON.array(json["sms_result"], named: "sms_result").enumerated() {
                let result = try sendResult(item, at: "sms_result[\(index)]")
                if let userID = result.userID { reports.append(result.report(id: String(userID))) }
            }
        }
        if json["sms_deliver_status"] != nil {
            for (index, item) in try DinstarJSON.array(json["sms_deliver_status"], named: "sms_deliver_status").enumerated() {
                let status = try deliverStatus(item, at: "sms_deliver_status[\(index)]")
                if let userID = status.userID { reports.append(status.report(id: String(userID))) }
            }
        }
        return reports
    }

    static func pushBody(_ request: WebhookRequest) throws -> [String: Any] {
        guard let json = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            throw MalformedWebhook("the body is not a JSON object")
        }
        return json
    }

    // MARK: Items

    /// One received message (`incoming_sms_id`, `port`, `number`, `timestamp`, `text`) and its id.
    private func incoming(_ item: Any, at path: String) throws -> (message: InboundSMS, id: Int?) {
        guard let item = item as? [String: Any] else { throw MalformedWebhook("\(path) is not an object") }
        guard let number = DinstarJSON.string(item["number"]), !number.isEmpty else {
            throw MalformedWebhook("\(path).number is missing")
        }
        guard let text = item["text"] as? String else { throw MalformedWebhook("\(path).text is missing") }
        let id = DinstarJSON.int(item["incoming_sms_id"])
        let message = InboundSMS(
            providerMessageID: id.map(String.init), from: number,
            to: DinstarJSON.int(item["port"]).map(String.init) ?? "", text: text,
            receivedAt: gatewayTime(item["timestamp"]) ?? Date())
        return (message, id)
    }

    /// One `query_sms_result` / `sms_result` item.
    private func sendResult(_ item: Any, at path: String) throws -> SendResult {
        guard let item = item as? [String: Any] else { throw MalformedWebhook("\(path) is not an object") }
        guard let status = DinstarJSON.string(item["status"]), !status.isEmpty else {
            throw MalformedWebhook("\(path).status is missing")
        }
        let time = DinstarJSON.string(item["time"])
        return SendResult(
            userID: DinstarJSON.int(item["user_id"]), port: DinstarJSON.int(item["port"]),
            number: DinstarJSON.string(item["number"]), status: status, count: DinstarJSON.int(item["count"]),
            sentParts: DinstarJSON.int(item["succ_count"]), refID: DinstarJSON.int(item["ref_id"]), time: time,
            at: gatewayTime(time) ?? Date())
    }

    /// One `query_sms_deliver_status` / `sms_deliver_status` item.
    private func deliverStatus(_ item: Any, at path: String) throws -> DeliverStatus {
        guard let item = item as? [String: Any] else { throw MalformedWebhook("\(path) is not an object") }
        guard let statusCode = DinstarJSON.int(item["status_code"]) else {
            throw MalformedWebhook("\(path).status_code is missing")
        }
        return DeliverStatus(
            userID: DinstarJSON.int(item["user_id"]), port: DinstarJSON.int(item["port"]),
            number: DinstarJSON.string(item["number"]), refID: DinstarJSON.int(item["ref_id"]),
            statusCode: statusCode, at: gatewayTime(item["time"]) ?? Date())
    }

    private func pollItems<T>(_ value: Any?, named name: String, parse: (Any, String) throws -> T) throws -> [T] {
        do {
            return try DinstarJSON.array(value, named: name).enumerated().map { try parse($1, "\(name)[\($0)]") }
        } catch let error as MalformedWebhook {
            throw ProviderError(.retryable, code: "unexpected_answer", text: error.reason)
        }
    }

    /// A gateway clock time (`2016-07-12 15:46:18`, the gateway's local time).
    private func gatewayTime(_ value: Any?) -> Date? {
        guard let text = value as? String else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text)
    }

    // MARK: HTTP

    private func call(_ method: HTTPMethod, _ path: String, query: String? = nil, json: [String: Any]? = nil)
        async throws -> ProviderHTTPResponse
    {
        let body = try json.map {
            Array(try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]))
        }
        return try await authenticator.send(
            http, method: method, url: baseURL + path + (query.map { "?" + $0 } ?? ""),
            headers: [("Content-Type", "application/json")], body: body, timeout: config.timeout)
    }

    /// The body and its `error_code` of an answer the gateway handled; throws for any other answer.
    static func answer(_ response: ProviderHTTPResponse) throws -> (json: [String: Any], errorCode: Int) {
        if response.status == 401 {
            throw ProviderError(.permanent, code: "401", text: "the gateway refused the user name or password")
        }
        guard (200..<300).contains(response.status) else {
            throw ProviderError(ProviderHTTP.kind(ofFailureStatus: response.status), code: "\(response.status)",
                                text: "HTTP \(response.status): \(DinstarJSON.snippet(response.text))")
        }
        guard let json = response.jsonObject, let code = DinstarJSON.int(json["error_code"]) else {
            throw ProviderError(.retryable, code: "unexpected_answer",
                                text: "HTTP \(response.status) without an error_code: \(DinstarJSON.snippet(response.text))")
        }
        return (json, code)
    }

    /// What the gateway's `error_code` values mean (third-party contract code; the official list was not available).
    static let errorMeanings: [Int: String] = [
        400: "bad request", 403: "forbidden (wrong method, or the API is not enabled)", 404: "not found",
        413: "too many recipients or text too long", 486: "port busy", 500: "gateway internal error",
        503: "port not registered", 550: "no port available",
    ]

    /// Port trouble (486, 503, 550) and gateway errors (500 and up) are retryable; the rest permanent.
    static func gatewayError(_ code: Int) -> ProviderError {
        let kind: ProviderError.Kind = code == 486 || code == 429 || code >= 500 ? .retryable : .permanent
        return ProviderError(kind, code: String(code), text: "error_code \(code): \(errorMeanings[code] ?? "unknown error")")
    }

    static func chunks<T>(_ values: [T]) -> [[T]] {
        stride(from: 0, to: values.count, by: queryLimit).map { Array(values[$0..<min($0 + queryLimit, values.count)]) }
    }
}

/// A per-recipient send result of the gateway.
private struct SendResult {
    var userID: Int?
    var port: Int?
    var number: String?
    var status: String
    var count: Int?
    var sentParts: Int?
    var refID: Int?
    var time: String?
    var at: Date

    func report(id: String) -> DeliveryReport {
        let upper = status.uppercased()
        let outcome: DeliveryReport.Outcome =
            upper == "DELIVERED" ? .delivered : (upper.contains("FAIL") ? .failed : .pending)
        var details: [String] = []
        if let port { details.append("port \(port)") }
        if let count, let sentParts { details.append("\(sentParts) of \(count) parts sent") }
        return DeliveryReport(providerMessageID: id, outcome: outcome, code: status,
                              text: details.isEmpty ? nil : details.joined(separator: ", "), at: at)
    }
}

/// A network delivery report (3GPP TS 23.040 TP-Status) of the gateway.
private struct DeliverStatus {
    var userID: Int?
    var port: Int?
    var number: String?
    var refID: Int?
    var statusCode: Int
    var at: Date

    func report(id: String) -> DeliveryReport {
        let (outcome, text): (DeliveryReport.Outcome, String) = switch statusCode {
        case 0..<32: (.delivered, "delivered")
        case 32..<64: (.pending, "temporary error, the network keeps trying")
        default: (.failed, "permanent error")
        }
        return DeliveryReport(providerMessageID: id, outcome: outcome, code: String(statusCode), text: text, at: at)
    }
}

/// Reading the gateway's JSON, which writes numbers as numbers or strings depending on firmware.
private enum DinstarJSON {
    static func int(_ value: Any?) -> Int? {
        switch value {
        case let value as Int: value
        case let value as NSNumber: value.intValue
        case let value as String: Int(value.trimmingCharacters(in: .whitespaces))
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

    /// An array field; a missing field is an empty list.
    static func array(_ value: Any?, named name: String) throws -> [Any] {
        guard let value, !(value is NSNull) else { return [] }
        guard let array = value as? [Any] else { throw MalformedWebhook("\(name) is not an array") }
        return array
    }

    static func snippet(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        return flat.isEmpty ? "(empty body)" : (flat.count > 200 ? String(flat.prefix(200)) + "…" : flat)
    }
}
