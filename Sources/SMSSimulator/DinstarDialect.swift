import Foundation
import Hummingbird
import NIOConcurrencyHelpers

/// Dinstar GSM gateway, "new version" HTTP API (PROVIDERS.md §4).
///
/// - Credentials: HTTP Digest (MD5, `qop=auth`, realm `Web Server`) as on real
///   devices, or HTTP Basic as some firmware takes; anything else → `401` with
///   the Digest challenge and no body.
/// - Every handled request answers HTTP `200`; the result is the body's `error_code`.
/// - `POST /api/send_sms` → `error_code` 202 with `task_id` and `sms_in_queue`;
///   `text_param[]` fills `#param#`. Fail suffix: `error_code` 400; retry suffix:
///   `error_code` 503 (port not registered).
/// - Polling: `POST /api/query_sms_result` (`SENT_OK`, then `DELIVERED` once the
///   report delay has passed), `POST /api/query_sms_deliver_status` (`status_code`
///   0, or 64 for undelivered), `GET|POST /api/query_incoming_sms` (auto-replies
///   and injected messages), `/api/query_sms_queue`, `GET /api/stop_sms`.
/// - Push webhooks: `sms_result` and `sms_deliver_status` for each message, `sms`
///   for inbound ones.
struct DinstarDialect: WireDialect {
    let type = SimulatorType.dinstar
    let gateway: DinstarGateway
    static let serial = "sim0-0000-0000-0001"
    static let imsi = "460004642148063"
    static let smsc = "+15550199999"
    static let challenge = DigestChallenge(realm: "Web Server", nonce: "0ef4291683b2e29974c078f47dc910f7",
                                           opaque: "5ccc069c403ebaf9f0171e9517f40e41")

    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation) {
        func route(_ path: String, _ handler: @escaping @Sendable (Request, ByteBuffer) async throws -> Response) {
            let guarded: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                await simulation.pause()
                guard authorized(request, simulation.options) else {
                    simulation.recorder.refuseCredentials()
                    return Reply.empty(401, headers: [.wwwAuthenticate: Self.challenge.header])
                }
                return try await handler(request, try await request.collectBody())
            }
            router.post(RouterPath(path), use: guarded)
            router.get(RouterPath(path), use: guarded)
        }
        route("/api/send_sms") { _, body in send(body, simulation: simulation) }
        route("/api/query_sms_result") { request, body in
            let query = Query(request: request, body: body)
            return answer { json in
                json.array("result") { json in
                    for message in gateway.sent(matching: query) {
                        json.object { json in
                            json.field("port", message.port)
                            if let userID = message.userID { Self.writeID(userID, "user_id", into: &json) }
                            json.field("number", message.number)
                            json.field("time", message.time)
                            let due = simulation.reportIsDue(acceptedAt: message.acceptedAt)
                            json.field("status", due && message.delivered ? "DELIVERED" : "SENT_OK")
                            json.field("count", message.parts)
                            json.field("succ_count", message.parts)
                            json.field("ref_id", message.refID)
                            json.field("imsi", Self.imsi)
                        }
                    }
                }
            }
        }
        route("/api/query_sms_deliver_status") { request, body in
            let query = Query(request: request, body: body)
            return answer { json in
                json.array("result") { json in
                    for message in gateway.sent(matching: query) where simulation.reportIsDue(acceptedAt: message.acceptedAt) {
                        json.object { json in
                            json.field("port", message.port)
                            json.field("number", message.number)
                            json.field("time", message.time)
                            json.field("ref_id", message.refID)
                            json.field("status_code", message.delivered ? 0 : 64)
                            json.field("imsi", Self.imsi)
                        }
                    }
                }
            }
        }
        route("/api/query_incoming_sms") { request, body in
            let query = Query(request: request, body: body)
            let (messages, read, unread) = gateway.incoming(flag: query.flag, after: query.incomingID)
            return answer { json in
                json.array("sms") { json in
                    for message in messages { Self.write(message, into: &json) }
                }
                json.field("read", read)
                json.field("unread", unread)
            }
        }
        route("/api/query_sms_queue") { _, _ in answer { json in json.field("in_queue", 0) } }
        route("/api/query_sms_in_queue") { _, _ in answer { json in json.field("in_queue", 0) } }
        route("/api/stop_sms") { request, _ in
            let task = FormFields(query: request.uri.query)["task_id"].flatMap(Int.init)
            return answer(code: task.map(gateway.hasTask) == true ? 200 : 404) { _ in }
        }
    }

    private func authorized(_ request: Request, _ options: SimulatorOptions) -> Bool {
        guard options.username != nil || options.secret != nil else { return true }
        guard let header = request.header("authorization") else { return false }
        if let basic = Credentials.basic(header) {
            return Credentials.matches(basic.user, options.username) && Credentials.matches(basic.password, options.secret)
        }
        return DigestChallenge.verify(header, method: request.method.rawValue, user: options.username, password: options.secret)
    }

    struct SendRequest: Decodable {
        struct Recipient: Decodable {
            var number: LooseString?
            var user_id: LooseString?
            var text_param: [String]?
        }
        var text: String?
        var param: [Recipient]?
        var port: [Int]?
        var encoding: String?
    }

    /// The data coding a send asked for: `unicode` is UCS-2, `gsm-7bit` GSM-7; nil when left to the gateway.
    static func encoding(_ declared: String?) -> String? {
        switch declared {
        case nil: nil
        case "unicode": "UCS-2"
        case "gsm-7bit": "GSM-7"
        case let other?: other
        }
    }

    private func send(_ body: ByteBuffer, simulation: Simulation) -> Response {
        guard let request = try? JSONDecoder().decode(SendRequest.self, from: body),
              let recipients = request.param, !recipients.isEmpty,
              recipients.allSatisfy({ !($0.number?.value ?? "").isEmpty }),
              let text = request.text, !text.isEmpty else {
            return answer(code: 400) { _ in }
        }
        let messages = recipients.map { recipient in
            ReceivedMessage(to: recipient.number?.value ?? "", from: nil, text: Self.fill(text, with: recipient.text_param ?? []),
                            reference: recipient.user_id?.value, encoding: Self.encoding(request.encoding))
        }
        let verdicts = messages.map { simulation.verdict(for: $0.to) }
        if verdicts.contains(.reject) {
            for message in messages { simulation.refuse(message, retryable: false) }
            return answer(code: 400) { _ in }
        }
        if verdicts.contains(.retry) {
            for message in messages { simulation.refuse(message, retryable: true) }
            return answer(code: 503) { _ in }
        }
        let task = simulation.recorder.nextSerial()
        let ports = request.port ?? []
        for (index, (message, verdict)) in zip(messages, verdicts).enumerated() {
            let port = ports.isEmpty ? 0 : ports[index % ports.count]
            let accepted = simulation.accept(message, delivered: verdict == .accept(delivered: true),
                                             details: MessageDetails(batchID: String(task), port: port)) { String($0) }
            gateway.keep(DinstarGateway.Sent(
                refID: accepted.serial, task: task, userID: message.reference, number: message.to, port: port,
                time: UTCTime(accepted.acceptedAt).dateTime, acceptedAt: accepted.acceptedAt, delivered: accepted.delivered,
                parts: accepted.parts))
        }
        return answer(code: 202) { json in
            json.field("sms_in_queue", messages.count)
            json.field("task_id", task)
        }
    }

    /// `text` with each `#param#` replaced by the next of `parameters`.
    static func fill(_ text: String, with parameters: [String]) -> String {
        guard !parameters.isEmpty, text.contains("#param#") else { return text }
        var pieces = text.components(separatedBy: "#param#")
        for index in 1..<pieces.count {
            let value = index - 1 < parameters.count ? parameters[index - 1] : ""
            pieces[index] = value + pieces[index]
        }
        return pieces.joined()
    }

    private func answer(code: Int = 200, _ body: (inout JSONWriter) -> Void) -> Response {
        Reply.json(200) { json in
            json.field("error_code", code)
            json.field("sn", Self.serial)
            body(&json)
        }
    }

    /// A user id as the sender wrote it: a number when it is one.
    static func writeID(_ id: String, _ name: String, into json: inout JSONWriter) {
        if let number = Int(id) { json.field(name, number) } else { json.field(name, id) }
    }

    static func write(_ message: DinstarGateway.Incoming, into json: inout JSONWriter) {
        json.object { json in
            json.field("incoming_sms_id", message.id)
            json.field("port", message.port)
            json.field("number", message.number)
            json.field("smsc", Self.smsc)
            json.field("timestamp", message.timestamp)
            json.field("text", message.text)
            json.field("imsi", Self.imsi)
        }
    }

    /// Filters of the query endpoints, from the JSON body or the query string.
    struct Query {
        var userIDs: Set<String> = []
        var numbers: Set<String> = []
        var ports: Set<Int> = []
        var after: String?
        var before: String?
        var flag: String?
        var incomingID: Int?

        private struct Body: Decodable {
            var user_id: [LooseString]?
            var number: [LooseString]?
            var port: [Int]?
            var time_after: String?
            var time_before: String?
            var flag: String?
            var incoming_sms_id: LooseString?
        }

        init(request: Request, body: ByteBuffer) {
            if body.readableBytes > 0, let parsed = try? JSONDecoder().decode(Body.self, from: body) {
                userIDs = Set(parsed.user_id?.map(\.value) ?? [])
                numbers = Set(parsed.number?.map(\.value) ?? [])
                ports = Set(parsed.port ?? [])
                after = parsed.time_after
                before = parsed.time_before
                flag = parsed.flag
                incomingID = parsed.incoming_sms_id.flatMap { Int($0.value) }
            }
            let query = FormFields(query: request.uri.query)
            flag = query["flag"] ?? flag
            incomingID = query["incoming_sms_id"].flatMap(Int.init) ?? incomingID
            func list(_ name: String) -> [String] {
                (query[name] ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            }
            userIDs.formUnion(list("user_id"))
            numbers.formUnion(list("number"))
            ports.formUnion(list("port").compactMap(Int.init))
            after = query["time_after"] ?? after
            before = query["time_before"] ?? before
        }
    }

    // MARK: Webhooks (push mode)

    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall] {
        let time = UTCTime(Date()).dateTime
        let port = message.details.port ?? 0
        let result = JSONWriter.document { json in
            json.object { json in
                json.field("sn", Self.serial)
                json.array("sms_result") { json in
                    json.object { json in
                        json.field("port", port)
                        if let userID = message.reference { Self.writeID(userID, "user_id", into: &json) }
                        json.field("number", message.to)
                        json.field("time", time)
                        json.field("status", message.delivered ? "DELIVERED" : "SENT_OK")
                        json.field("count", message.parts)
                        json.field("succ_count", message.parts)
                        json.field("ref_id", message.serial)
                        json.field("imsi", Self.imsi)
                    }
                }
            }
        }
        let status = JSONWriter.document { json in
            json.object { json in
                json.field("sn", Self.serial)
                json.array("sms_deliver_status") { json in
                    json.object { json in
                        json.field("port", port)
                        json.field("number", message.to)
                        json.field("time", time)
                        json.field("ref_id", message.serial)
                        json.field("status_code", message.delivered ? 0 : 64)
                        json.field("imsi", Self.imsi)
                    }
                }
            }
        }
        return [.json(target.url, result), .json(target.url, status)]
    }

    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall] {
        guard let incoming = gateway.incoming(serial: message.serial) else { return [] }
        let body = JSONWriter.document { json in
            json.object { json in
                json.field("sn", Self.serial)
                json.array("sms") { json in Self.write(incoming, into: &json) }
            }
        }
        return [.json(target.url, body)]
    }

    func keep(_ message: InboundMessage) {
        gateway.receive(message)
    }

    func reset() {
        gateway.reset()
    }
}

/// A JSON value the sender may write as a string or a number (`user_id`, `number`).
struct LooseString: Decodable, Sendable {
    var value: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let int = try? container.decode(Int.self) {
            value = String(int)
        } else if let double = try? container.decode(Double.self) {
            value = String(double)
        } else {
            value = try container.decode(String.self)
        }
    }
}

/// What a Dinstar gateway remembers: messages sent (for the result queries)
/// and messages received (for `query_incoming_sms`).
final class DinstarGateway: Sendable {
    struct Sent: Sendable {
        var refID: Int
        var task: Int
        var userID: String?
        var number: String
        var port: Int
        var time: String
        var acceptedAt: Date
        var delivered: Bool
        var parts: Int
    }

    struct Incoming: Sendable {
        var id: Int
        var serial: Int
        var port: Int
        var number: String
        var timestamp: String
        var text: String
        var arrivesAt: Date
        var read = false
    }

    private struct State {
        var sent: [Sent] = []
        var sentByUserID: [String: [Int]] = [:]
        var dropped = 0
        var incoming: [Incoming] = []
        var nextIncomingID = 1
    }

    private let state = NIOLockedValueBox(State())
    private let maxRecords: Int

    init(maxRecords: Int) {
        self.maxRecords = max(1, maxRecords)
    }

    func keep(_ message: Sent) {
        state.withLockedValue { state in
            if state.sent.count >= maxRecords {
                // Forget the older half; the index is rebuilt with positions shifted.
                let forget = state.sent.count / 2
                state.sent.removeFirst(forget)
                state.dropped += forget
                state.sentByUserID = [:]
                for (index, sent) in state.sent.enumerated() {
                    if let userID = sent.userID { state.sentByUserID[userID, default: []].append(index) }
                }
            }
            if let userID = message.userID { state.sentByUserID[userID, default: []].append(state.sent.count) }
            state.sent.append(message)
        }
    }

    func sent(matching query: DinstarDialect.Query) -> [Sent] {
        state.withLockedValue { state in
            let candidates: [Sent] = query.userIDs.isEmpty
                ? state.sent
                : query.userIDs.flatMap { state.sentByUserID[$0] ?? [] }.sorted().map { state.sent[$0] }
            return candidates.filter { sent in
                (query.numbers.isEmpty || query.numbers.contains(sent.number))
                    && (query.ports.isEmpty || query.ports.contains(sent.port))
                    && (query.after.map { sent.time >= $0 } ?? true)
                    && (query.before.map { sent.time <= $0 } ?? true)
            }
        }
    }

    func hasTask(_ task: Int) -> Bool {
        state.withLockedValue { $0.sent.contains { $0.task == task } }
    }

    func receive(_ message: InboundMessage) {
        state.withLockedValue { state in
            state.incoming.append(Incoming(
                id: state.nextIncomingID, serial: message.serial, port: message.port, number: message.from,
                timestamp: UTCTime(message.receivedAt).dateTime, text: message.text, arrivesAt: message.receivedAt))
            state.nextIncomingID += 1
        }
    }

    func incoming(serial: Int) -> Incoming? {
        state.withLockedValue { $0.incoming.last { $0.serial == serial } }
    }

    /// Arrived messages with an id above `after`, unread ones only unless `flag`
    /// is `read` or `all`; those returned are marked read. Also the read and unread
    /// counts before marking.
    func incoming(flag: String?, after: Int?, now: Date = Date()) -> (messages: [Incoming], read: Int, unread: Int) {
        state.withLockedValue { state in
            let arrived = state.incoming.indices.filter { state.incoming[$0].arrivesAt <= now }
            let read = arrived.filter { state.incoming[$0].read }.count
            let unread = arrived.count - read
            let chosen = arrived.filter { index in
                let message = state.incoming[index]
                guard message.id > (after ?? 0) else { return false }
                switch flag?.lowercased() {
                case "all": return true
                case "read": return message.read
                default: return !message.read
                }
            }
            for index in chosen { state.incoming[index].read = true }
            return (chosen.map { state.incoming[$0] }, read, unread)
        }
    }

    func reset() {
        state.withLockedValue { state in
            let next = state.nextIncomingID
            state = State()
            state.nextIncomingID = next
        }
    }
}
