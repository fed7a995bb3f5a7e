import Foundation
import Hummingbird

/// Infobip SMS (PROVIDERS.md §3).
///
/// - `POST /sms/2/text/advanced` (legacy) and `POST /sms/3/messages` (current), JSON,
///   `Authorization: App <apiKey>` (or HTTP Basic) → `200` with one `messages[]`
///   element per destination, status group `PENDING` (id 26).
/// - Fail suffix: `400` (legacy `requestError.serviceException` on /sms/2, `E400`
///   with `violations` on /sms/3); retry suffix: `429` `E429`; bad credentials:
///   `401` (`UNAUTHORIZED` on /sms/2, `E401` on /sms/3).
/// - Webhooks: delivery reports as `{"results":[…]}` (status `DELIVERED`, or
///   `UNDELIVERABLE` with `EC_ABSENT_SUBSCRIBER`) and inbound messages as
///   `{"results":[…],"messageCount":1,"pendingMessageCount":0}`.
struct InfobipDialect: WireDialect {
    let type = SimulatorType.infobip

    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation) {
        router.post("/sms/2/text/advanced") { request, _ in try await send(request, version: 2, simulation: simulation) }
        router.post("/sms/3/messages") { request, _ in try await send(request, version: 3, simulation: simulation) }
    }

    struct SendRequest: Decodable {
        struct Message: Decodable {
            var from: String?
            var sender: String?
            var destinations: [Destination]?
            var text: String?
            var content: Content?
            var callbackData: String?
            var webhooks: Webhooks?
        }
        struct Destination: Decodable {
            var to: String?
            var messageId: String?
        }
        struct Content: Decodable {
            var text: String?
        }
        struct Webhooks: Decodable {
            var callbackData: String?
        }
        var bulkId: String?
        var messages: [Message]?
    }

    private struct Destination {
        var index: (message: Int, destination: Int)
        var message: ReceivedMessage
        var callbackData: String?
    }

    func send(_ request: Request, version: Int, simulation: Simulation) async throws -> Response {
        await simulation.pause()
        let options = simulation.options
        if options.username != nil || options.secret != nil {
            guard authorized(request.header("authorization"), options) else {
                simulation.recorder.refuseCredentials()
                return version == 2
                    ? legacyError(401, id: "UNAUTHORIZED", text: "Invalid login details")
                    : error(401, code: "E401", description: "Invalid login details.",
                            action: "Check the API key or credentials in the Authorization header.", violations: [])
            }
        }
        let body = try await request.collectBody()
        guard let parsed = try? JSONDecoder().decode(SendRequest.self, from: body), let messages = parsed.messages,
              !messages.isEmpty else {
            return badRequest(version: version, property: "messages", problem: "must not be empty")
        }
        var destinations: [Destination] = []
        for (m, message) in messages.enumerated() {
            let text = version == 2 ? message.text : message.content?.text
            guard let text, !text.isEmpty else {
                return version == 2
                    ? badRequest(version: 2, property: "message", problem: "must not be empty")
                    : badRequest(version: 3, property: "messages[\(m)].content.text", problem: "Must not be null.")
            }
            guard let targets = message.destinations, !targets.isEmpty else {
                return badRequest(version: version, property: "messages[\(m)].destinations", problem: "must not be empty")
            }
            for (d, target) in targets.enumerated() {
                guard let to = target.to, !to.isEmpty else {
                    return badRequest(version: version, property: "messages[\(m)].destinations[\(d)].to", problem: "must not be null")
                }
                destinations.append(Destination(
                    index: (m, d),
                    message: ReceivedMessage(to: to, from: message.from ?? message.sender, text: text, reference: target.messageId),
                    callbackData: message.callbackData ?? message.webhooks?.callbackData))
            }
        }
        let verdicts = destinations.map { simulation.verdict(for: $0.message.to) }
        if let failed = verdicts.firstIndex(of: .reject) {
            for destination in destinations { simulation.refuse(destination.message, retryable: false) }
            let (m, d) = destinations[failed].index
            return badRequest(version: version, property: "messages[\(m)].destinations[\(d)].to", problem: "Invalid destination address.")
        }
        if verdicts.contains(.retry) {
            for destination in destinations { simulation.refuse(destination.message, retryable: true) }
            return error(429, code: "E429", description: "Too many requests sent.",
                         action: "Check request rate limit specified in the API endpoint documentation resource.",
                         violations: [],
                         resources: [("Throttling handling errors", "/docs/developer-resources/api-fundamentals/rate-limits-and-throttling")])
        }
        let bulkID = parsed.bulkId ?? simulation.numericID(simulation.recorder.nextSerial())
        let accepted = zip(destinations, verdicts).map { destination, verdict in
            let details = MessageDetails(batchID: bulkID, callbackData: destination.callbackData, apiVersion: version)
            return simulation.accept(destination.message, delivered: verdict == .accept(delivered: true), details: details) {
                destination.message.reference ?? simulation.uuidID($0)
            }
        }
        return Reply.json(200) { json in
            json.field("bulkId", bulkID)
            json.array("messages") { json in
                for message in accepted {
                    json.object { json in
                        if version == 2 {
                            json.field("to", message.to)
                            json.object("status", pending(name: "MESSAGE_ACCEPTED"))
                            json.field("messageId", message.providerID)
                        } else {
                            json.field("messageId", message.providerID)
                            json.object("status", pending(name: "PENDING_ACCEPTED"))
                            json.field("destination", message.to)
                            json.object("details") { json in json.field("messageCount", message.parts) }
                        }
                    }
                }
            }
        }
    }

    private func authorized(_ header: String?, _ options: SimulatorOptions) -> Bool {
        guard let header else { return false }
        if header.count > 4, header.prefix(4).lowercased() == "app " {
            // An API key proves the key only; a configured user needs Basic.
            guard let secret = options.secret, options.username == nil else { return false }
            return Credentials.constantTimeEqual(String(header.dropFirst(4)), secret)
        }
        guard let basic = Credentials.basic(header) else { return false }
        return Credentials.matches(basic.user, options.username) && Credentials.matches(basic.password, options.secret)
    }

    private func pending(name: String) -> (inout JSONWriter) -> Void {
        { json in
            json.field("groupId", 1)
            json.field("groupName", "PENDING")
            json.field("id", 26)
            json.field("name", name)
            json.field("description", "Message sent to next instance")
        }
    }

    private func badRequest(version: Int, property: String, problem: String) -> Response {
        if version == 2 {
            return Reply.json(400) { json in
                json.object("requestError") { json in
                    json.object("serviceException") { json in
                        json.field("messageId", "BAD_REQUEST")
                        json.field("text", "Bad request")
                        json.object("validationErrors") { json in
                            json.array(property) { json in json.value(problem) }
                        }
                    }
                }
            }
        }
        return error(400, code: "E400", description: "Request cannot be processed.",
                     action: "Check the syntax, violations and adjust the request.", violations: [(property, problem)],
                     resources: [("API endpoint documentation",
                                  "https://www.infobip.com/docs/api/channels/sms/sms-messaging/outbound-sms/send-sms-message")])
    }

    private func legacyError(_ status: Int, id: String, text: String) -> Response {
        Reply.json(status) { json in
            json.object("requestError") { json in
                json.object("serviceException") { json in
                    json.field("messageId", id)
                    json.field("text", text)
                }
            }
        }
    }

    private func error(_ status: Int, code: String, description: String, action: String,
                       violations: [(String, String)], resources: [(String, String)] = []) -> Response {
        Reply.json(status) { json in
            json.field("errorCode", code)
            json.field("description", description)
            json.field("action", action)
            json.array("violations") { json in
                for (property, violation) in violations {
                    json.object { json in
                        json.field("property", property)
                        json.field("violation", violation)
                    }
                }
            }
            json.array("resources") { json in
                for (name, url) in resources {
                    json.object { json in
                        json.field("name", name)
                        json.field("url", url)
                    }
                }
            }
        }
    }

    // MARK: Webhooks

    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall] {
        let sent = UTCTime(message.acceptedAt).infobip
        let done = UTCTime(Date()).infobip
        let body = JSONWriter.document { json in
            json.object { json in
                json.array("results") { json in
                    json.object { json in
                        json.field("bulkId", message.details.batchID)
                        json.field("messageId", message.providerID)
                        json.field("to", message.to)
                        json.field("sentAt", sent)
                        json.field("doneAt", done)
                        json.object("price") { json in
                            json.field("pricePerMessage", 0.01)
                            json.field("currency", "EUR")
                        }
                        json.object("status") { json in
                            if message.delivered {
                                json.field("groupId", 3)
                                json.field("groupName", "DELIVERED")
                                json.field("id", 5)
                                json.field("name", "DELIVERED_TO_HANDSET")
                                json.field("description", "Message delivered to handset")
                            } else {
                                json.field("groupId", 2)
                                json.field("groupName", "UNDELIVERABLE")
                                json.field("id", 9)
                                json.field("name", "UNDELIVERABLE_NOT_DELIVERED")
                                json.field("description", "Message sent not delivered")
                            }
                        }
                        json.object("error") { json in
                            if message.delivered {
                                json.field("groupId", 0)
                                json.field("groupName", "OK")
                                json.field("id", 0)
                                json.field("name", "NO_ERROR")
                                json.field("description", "No Error")
                            } else {
                                json.field("groupId", 1)
                                json.field("groupName", "HANDSET_ERRORS")
                                json.field("id", 27)
                                json.field("name", "EC_ABSENT_SUBSCRIBER")
                                json.field("description", "Absent Subscriber")
                            }
                            json.field("permanent", false)
                        }
                        // The /sms/2 generation counts parts in `smsCount`, /sms/3 in `messageCount`.
                        json.field(message.details.apiVersion == 3 ? "messageCount" : "smsCount", message.parts)
                        if let callbackData = message.details.callbackData { json.field("callbackData", callbackData) }
                    }
                }
            }
        }
        return [.json(target.url, body)]
    }

    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall] {
        let words = message.text.split(separator: " ", maxSplits: 1)
        let body = JSONWriter.document { json in
            json.object { json in
                json.array("results") { json in
                    json.object { json in
                        json.field("messageId", String(UInt64(message.key.suffix(15), radix: 16) ?? UInt64(message.serial)))
                        json.field("from", VonageDialect.withoutPlus(message.from))
                        json.field("to", VonageDialect.withoutPlus(message.to))
                        json.field("text", message.text)
                        json.field("cleanText", words.count > 1 ? String(words[1]) : "")
                        json.field("keyword", words.first.map { $0.uppercased() } ?? "")
                        json.field("receivedAt", UTCTime(message.receivedAt).infobip)
                        json.field("smsCount", Simulation.parts(of: message.text))
                        json.object("price") { json in
                            json.field("pricePerMessage", 0)
                            json.field("currency", "EUR")
                        }
                    }
                }
                json.field("messageCount", 1)
                json.field("pendingMessageCount", 0)
            }
        }
        return [.json(target.url, body)]
    }
}
