import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import SMSProviders
import SMSServer
import SMSStore
import Testing

/// Outgoing webhooks (SPEC X3) end to end: a real receiver on 127.0.0.1 gets signed deliveries of
/// what happens in the server, in order, retried, failed after 24 h (on a clock the test moves), replayed.
@Suite("Outgoing webhooks")
struct OutgoingWebhookTests {
    /// A clock that runs with the system's but can be moved forward.
    final class MovableClock: Sendable {
        private let offset = NIOLockedValueBox<TimeInterval>(0)
        var clock: WebhookClock { WebhookClock { [offset] in Date().addingTimeInterval(offset.withLockedValue { $0 }) } }
        func advance(_ seconds: TimeInterval) { offset.withLockedValue { $0 += seconds } }
    }

    /// A receiver of webhooks: records each request and answers with `status` after `delay`.
    final class Receiver: Sendable {
        struct Request: Sendable {
            var headers: HTTPFields
            var body: String
            var answered: Int
            var delivery: Int64 { Int64(headers[HTTPField.Name("SMSDesk-Delivery")!] ?? "") ?? 0 }
            var event: String? { headers[HTTPField.Name("SMSDesk-Event")!] }
            var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        }

        let requests = NIOLockedValueBox<[Request]>([])
        let status = NIOLockedValueBox<Int>(200)
        let delay = NIOLockedValueBox<Duration>(.zero)
        /// Requests that arrived, answered or not yet.
        let arrivals = NIOLockedValueBox<Int>(0)
        var all: [Request] { requests.withLockedValue { $0 } }
        var delivered: [Request] { all.filter { (200..<300).contains($0.answered) } }

        static func with(_ body: @Sendable (String, Receiver) async throws -> Void) async throws {
            let receiver = Receiver()
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
                // Held while `delay` (read again every 20 ms, so shortening it releases held requests) has not passed.
                let arrived = ContinuousClock.now
                receiver.arrivals.withLockedValue { $0 += 1 }
                while ContinuousClock.now - arrived < receiver.delay.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                let status = receiver.status.withLockedValue { $0 }
                receiver.requests.withLockedValue { $0.append(Request(headers: request.headers, body: text, answered: status)) }
                return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: "answer \(status)")))
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                try await body("http://127.0.0.1:\(port)/hook", receiver)
            }
        }
    }

    /// `TestApp.with` whose webhook worker polls every 50 ms on `clock`.
    static func withApp(clock: MovableClock, requestTimeout: TimeInterval = 10,
                        _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-app-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = AppConfig(dataDirectory: dir.path, host: "127.0.0.1", port: 0, bcryptCost: 4, publicURL: "https://cc.example.com",
                               dispatch: nil)
        let logs = LogCapture()
        let storage = try await Storage.open(config: config, logger: logs.logger())
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let settings = WebhookDeliverySettings(clock: clock.clock, pollInterval: .milliseconds(50), requestTimeout: requestTimeout,
                                               node: "test-node")
        let app = try await SMSDeskApp.build(config: config, storage: storage,
                                             dependencies: AppDependencies(secrets: secrets, httpClient: .shared, webhookDelivery: settings),
                                             logger: logs.logger())
        let testApp = TestApp(app: app, storage: storage, config: config, logs: logs, secrets: secrets)
        do {
            try await app.application.test(.router) { client in try await body(testApp, client) }
        } catch {
            try? await storage.database.close()
            throw error
        }
        try await storage.database.close()
    }

    /// Creates a webhook through the API; returns its id and the secret from the answer.
    static func createWebhook(_ client: any TestClientProtocol, url: String, events: [String], as admin: TestCredential)
        async throws -> (Int64, String) {
        let created = try await client.executeJSON("/api/v1/webhooks", method: .post, json: ["url": url, "events": events], as: admin)
        #expect(created.status == .created, "\(created.text)")
        let webhook = try #require(created.json["webhook"] as? [String: Any])
        let secret = try #require(created.json["secret"] as? String)
        return (Int64(try #require(webhook["id"] as? Int)), secret)
    }

    /// Posts a signed Twilio inbound SMS to the provider's webhook, as Twilio would.
    static func inboundSMS(_ client: any TestClientProtocol, path: String, sid: String, text: String) async throws {
        var fields = WebhookTests.inbound
        for i in fields.indices {
            if fields[i].name == "MessageSid" || fields[i].name == "SmsMessageSid" { fields[i].value = sid }
            if fields[i].name == "Body" { fields[i].value = text }
        }
        let signature = WebhookSignatures.twilioSignature(url: "https://cc.example.com" + path, parameters: fields,
                                                          authToken: WebhookTests.token)
        let (status, _) = try await WebhookTests().post(client, path, fields: fields, signature: signature)
        #expect(status == .ok)
    }

    static func sid(_ n: Int) -> String { "SM" + String(format: "%032d", n) }

    static func eventually(_ what: String, within seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    static func deliveries(_ client: any TestClientProtocol, _ webhook: Int64, state: String? = nil, as admin: TestCredential)
        async throws -> [[String: Any]] {
        let answer = try await client.executeJSON("/api/v1/webhooks/\(webhook)/deliveries" + (state.map { "?state=\($0)" } ?? ""),
                                                  method: .get, as: admin)
        #expect(answer.status == .ok, "\(answer.text)")
        return answer.json["deliveries"] as? [[String: Any]] ?? []
    }

    @Test("an inbound SMS reaches the receiver as a message.inbound POST signed with the secret shown at creation")
    func signedInbound() async throws {
        let clock = MovableClock()
        try await Self.withApp(clock: clock) { app, client in
            try await Receiver.with { url, receiver in
                let (path, providerID) = try await WebhookTests.twilioProvider(app, client)
                let (_, admin) = try await app.signIn(client, username: "hooks", role: .admin)
                let (webhook, secret) = try await Self.createWebhook(client, url: url, events: ["message.inbound"], as: admin)
                #expect(secret.count == 64 && secret.allSatisfy(\.isHexDigit), "32 random bytes, hex")
                try await Self.inboundSMS(client, path: path, sid: Self.sid(1), text: "Necesito ayuda")
                try await Self.eventually("the delivery") {
                    try await Self.deliveries(client, webhook, state: "delivered", as: admin).count == 1
                }
                #expect(receiver.delivered.count == 1)
                let request = try #require(receiver.delivered.first)
                #expect(request.event == "message.inbound")
                #expect(request.headers[.contentType] == "application/json")
                // The signature, checked as a receiver would: HMAC-SHA256(secret, "<t>.<raw body>"), hex.
                let signature = try #require(request.headers[HTTPField.Name("SMSDesk-Signature")!])
                let parts = Dictionary(uniqueKeysWithValues: signature.split(separator: ",").map {
                    let pair = $0.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), String(pair.count > 1 ? pair[1] : ""))
                })
                let t = try #require(parts["t"])
                #expect(request.headers[HTTPField.Name("SMSDesk-Timestamp")!] == t)
                #expect(abs((Double(t) ?? 0) - Date().timeIntervalSince1970) < 60)
                let expected = HMAC<SHA256>.authenticationCode(for: Data("\(t).\(request.body)".utf8),
                                                               using: SymmetricKey(data: Data(secret.utf8)))
                    .map { String(format: "%02x", $0) }.joined()
                #expect(parts["v1"] == expected)
                let wrongSecret = HMAC<SHA256>.authenticationCode(for: Data("\(t).\(request.body)".utf8),
                                                                  using: SymmetricKey(data: Data("other".utf8)))
                    .map { String(format: "%02x", $0) }.joined()
                #expect(parts["v1"] != wrongSecret)
                // The payload.
                #expect(request.json["event"] as? String == "message.inbound")
                let data = try #require(request.json["data"] as? [String: Any])
                #expect(data["from"] as? String == "+15558675310")
                #expect(data["to"] as? String == "+15017122661")
                #expect(data["text"] as? String == "Necesito ayuda")
                #expect((data["providerId"] as? Int).map(Int64.init) == providerID)
                #expect(data["providerMessageId"] as? String == Self.sid(1))
                #expect(data["campaignId"] is NSNull, "no campaign receives on the number: unrouted, still sent")
                #expect(data["receivedAt"] as? String != nil)
                // The log shows the delivery with the receiver's answer; the secret is never shown again nor logged.
                let log = try await Self.deliveries(client, webhook, as: admin)
                #expect(log.count == 1)
                #expect(log.first?["state"] as? String == "delivered")
                #expect(log.first?["lastStatus"] as? Int == 200 && log.first?["lastResponse"] as? String == "answer 200")
                #expect(Int64(request.delivery) == (log.first?["id"] as? Int).map(Int64.init))
                let listed = try await client.executeJSON("/api/v1/webhooks", method: .get, as: admin)
                let got = try await client.executeJSON("/api/v1/webhooks/\(webhook)", method: .get, as: admin)
                #expect(!listed.text.contains(secret) && !got.text.contains(secret))
                #expect(!app.logs.all.contains(secret))
                let stored = try #require(try await app.storage.webhooks.webhook(id: webhook))
                #expect(try app.secrets.open(stored.secretCiphertext) == secret, "stored encrypted with the SecretBox")
                #expect(!String(decoding: stored.secretCiphertext, as: UTF8.self).contains(secret))
            }
        }
    }

    @Test("a receiver that answers 503 gets the queued events once it recovers, in order, each once")
    func retriedInOrder() async throws {
        let clock = MovableClock()
        try await Self.withApp(clock: clock) { app, client in
            try await Receiver.with { url, receiver in
                let (path, _) = try await WebhookTests.twilioProvider(app, client)
                let (_, admin) = try await app.signIn(client, username: "hooks", role: .admin)
                let (webhook, _) = try await Self.createWebhook(client, url: url, events: ["message.inbound"], as: admin)
                receiver.status.withLockedValue { $0 = 503 }
                for n in 1...4 { try await Self.inboundSMS(client, path: path, sid: Self.sid(n), text: "mensaje \(n)") }
                try await Self.eventually("a first failed attempt") { !receiver.all.isEmpty }
                // Backing off (5 s ± 20 %): meanwhile only the first event was tried; the others wait behind it.
                try await Task.sleep(for: .milliseconds(500))
                #expect(Set(receiver.all.map { ($0.json["data"] as? [String: Any])?["text"] as? String }) == ["mensaje 1"])
                let waiting = try await Self.deliveries(client, webhook, state: "pending", as: admin)
                #expect(waiting.count == 4)
                let head = try #require(waiting.last)
                #expect(head["lastStatus"] as? Int == 503 && head["lastResponse"] as? String == "answer 503")
                #expect(head["nextAttemptAt"] as? String != nil)
                // The receiver recovers; the retry comes when due (the test moves the clock past the backoff).
                receiver.status.withLockedValue { $0 = 200 }
                clock.advance(60)
                try await Self.eventually("all four delivered") { receiver.delivered.count == 4 }
                try await Task.sleep(for: .milliseconds(300))
                let texts = receiver.delivered.map { ($0.json["data"] as? [String: Any])?["text"] as? String ?? "" }
                #expect(texts == ["mensaje 1", "mensaje 2", "mensaje 3", "mensaje 4"], "in order, each once")
                #expect(receiver.delivered.map(\.delivery) == receiver.delivered.map(\.delivery).sorted())
                // Each answer is recorded after the receiver has the delivery: wait until all four are.
                try await Self.eventually("all four recorded as delivered") {
                    try await Self.deliveries(client, webhook, as: admin).allSatisfy { $0["state"] as? String == "delivered" }
                }
                let log = try await Self.deliveries(client, webhook, as: admin)
                #expect(log.count == 4)
                let first = try #require(log.last)
                let attempts = try #require(first["attemptLog"] as? [[String: Any]])
                #expect(attempts.count >= 2)
                #expect(attempts.first?["status"] as? Int == 503 && attempts.last?["status"] as? Int == 200)
                #expect(attempts.allSatisfy { $0["durationMs"] as? Int != nil })
            }
        }
    }

    @Test("a receiver that refuses connections for 24 hours gets the delivery marked failed, then replay delivers it")
    func exhaustionAndReplay() async throws {
        let clock = MovableClock()
        try await Self.withApp(clock: clock, requestTimeout: 2) { app, client in
            try await Receiver.with { url, receiver in
                let (_, admin) = try await app.signIn(client, username: "hooks", role: .admin)
                // Port 9 on loopback: nothing listens (connection refused).
                let (webhook, _) = try await Self.createWebhook(client, url: "http://127.0.0.1:9/hook", events: ["optout"], as: admin)
                let ping = try await client.executeJSON("/api/v1/webhooks/\(webhook)/ping", method: .post, as: admin)
                #expect(ping.status == .accepted, "\(ping.text)")
                let id = try #require((ping.json["delivery"] as? [String: Any])?["id"] as? Int)
                try await Self.eventually("a refused attempt") {
                    (try await Self.deliveries(client, webhook, as: admin).first?["attempts"] as? Int ?? 0) >= 1
                }
                var log = try await Self.deliveries(client, webhook, as: admin)
                #expect(log.first?["state"] as? String == "pending", "retried, not failed, within 24 h")
                // (AsyncHTTPClient retries a refused connection until the request's deadline, then reports it.)
                let error = log.first?["lastError"] as? String ?? ""
                #expect(error.contains("cannot reach") || error.contains("no answer"), "\(log)")
                #expect(log.first?["lastStatus"] == nil)
                // 12 hours later: still retried.
                clock.advance(12 * 3600)
                try await Self.eventually("a second attempt") {
                    (try await Self.deliveries(client, webhook, as: admin).first?["attempts"] as? Int ?? 0) >= 2
                }
                #expect(try await Self.deliveries(client, webhook, as: admin).first?["state"] as? String == "pending")
                // 24 hours after the event: the next failure is final.
                clock.advance(12 * 3600 + 60)
                try await Self.eventually("failed") {
                    try await Self.deliveries(client, webhook, state: "failed", as: admin).count == 1
                }
                log = try await Self.deliveries(client, webhook, as: admin)
                let attempts = log.first?["attempts"] as? Int ?? 0
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await Self.deliveries(client, webhook, as: admin).first?["attempts"] as? Int == attempts,
                        "a failed delivery is not tried again")
                // The receiver is fixed; replay sends the same delivery again.
                let moved = try await client.executeJSON("/api/v1/webhooks/\(webhook)", method: .patch, json: ["url": url], as: admin)
                #expect(moved.status == .ok)
                let replay = try await client.executeJSON("/api/v1/webhooks/\(webhook)/deliveries/\(id)/replay", method: .post, as: admin)
                #expect(replay.status == .ok, "\(replay.text)")
                try await Self.eventually("the replayed delivery") { receiver.delivered.count == 1 }
                #expect(receiver.delivered.first?.delivery == Int64(id))
                #expect(receiver.delivered.first?.event == "ping")
                // The worker records the answer after the receiver has it: wait for that, not just the arrival.
                try await Self.eventually("the replay recorded as delivered") {
                    try await Self.deliveries(client, webhook, as: admin).first?["state"] as? String == "delivered"
                }
                // Replaying a delivered one sends it once more.
                _ = try await client.executeJSON("/api/v1/webhooks/\(webhook)/deliveries/\(id)/replay", method: .post, as: admin)
                try await Self.eventually("the second replay") { receiver.delivered.count == 2 }
                #expect(receiver.delivered.map(\.delivery) == [Int64(id), Int64(id)])
                let missing = try await client.executeJSON("/api/v1/webhooks/\(webhook)/deliveries/999999/replay", method: .post, as: admin)
                #expect(missing.status == .notFound)
            }
        }
    }

    @Test("a slow receiver does not slow inbound handling; a receiver slower than the timeout is retried")
    func slowReceiver() async throws {
        let clock = MovableClock()
        try await Self.withApp(clock: clock, requestTimeout: 1) { app, client in
            try await Receiver.with { url, receiver in
                let (path, _) = try await WebhookTests.twilioProvider(app, client)
                let (_, admin) = try await app.signIn(client, username: "hooks", role: .admin)
                let (webhook, _) = try await Self.createWebhook(client, url: url, events: ["message.inbound"], as: admin)
                // The receiver holds every request (a minute): inbound handling must not wait for it.
                receiver.delay.withLockedValue { $0 = .seconds(60) }
                for n in 1...5 { try await Self.inboundSMS(client, path: path, sid: Self.sid(n), text: "lento \(n)") }
                #expect(try await app.storage.inbound.recent(limit: 10).count == 5)
                #expect(receiver.all.isEmpty, "the receiver answered before the inbound messages were handled")
                try await Self.eventually("the first delivery reaches the receiver, and is held") {
                    receiver.arrivals.withLockedValue { $0 } >= 1
                }
                // The first attempt times out after 1 s (the receiver takes 3): retried, not delivered.
                try await Self.eventually("a timed-out attempt") {
                    (try await Self.deliveries(client, webhook, as: admin).last?["attempts"] as? Int ?? 0) >= 1
                }
                let head = try #require(try await Self.deliveries(client, webhook, as: admin).last)
                #expect(head["state"] as? String == "pending")
                #expect((head["lastError"] as? String)?.contains("within") == true, "\(head)")
                // A receiver within the timeout gets everything.
                receiver.delay.withLockedValue { $0 = .milliseconds(100) }
                clock.advance(3600)
                try await Self.eventually("all five delivered", within: 20) {
                    try await Self.deliveries(client, webhook, state: "delivered", as: admin).count == 5
                }
            }
        }
    }

    @Test("message.status, conversation.closed and optout reach the webhooks subscribed to them, and only those")
    func statusCloseAndOptOut() async throws {
        let clock = MovableClock()
        try await Self.withApp(clock: clock) { app, client in
            try await Receiver.with { url, receiver in
                let f = try await InboxFixture.make(app, client, agents: ["ana"])
                let (_, admin) = try await app.signIn(client, username: "hooks", role: .admin)
                _ = try await Self.createWebhook(client, url: url, events: ["conversation.closed", "optout"], as: admin)
                _ = try await Self.createWebhook(client, url: url, events: ["message.status"], as: admin)
                try await f.inbound(from: "+15558675310", "hola")
                let conversation = try await f.conversationID(of: "+15558675310")
                let closed = try await f.call("/api/v1/conversations/\(conversation)/close", .post, ["wrapUp": "resuelto"], as: admin)
                #expect(closed.status == .ok, "\(closed.text)")
                try await f.inbound(from: "+15558675311", "STOP")
                // The opt-out confirmation is queued; cancelling it is a state change of an outgoing message.
                let cancel = try await f.call("/api/v1/campaigns/\(f.campaign.id)/spool/cancel", .post, as: admin)
                #expect(cancel.status == .ok, "\(cancel.text)")
                try await Self.eventually("three events") { receiver.delivered.count == 3 }
                try await Task.sleep(for: .milliseconds(300))
                let byEvent = Dictionary(receiver.delivered.map { ($0.event ?? "", $0.json["data"] as? [String: Any] ?? [:]) },
                                         uniquingKeysWith: { first, _ in first })
                #expect(Set(receiver.delivered.compactMap(\.event)) == ["conversation.closed", "optout", "message.status"],
                        "no message.inbound: nobody subscribed to it")
                #expect(receiver.delivered.count == 3)
                let close = try #require(byEvent["conversation.closed"])
                #expect((close["id"] as? Int).map(Int64.init) == conversation)
                #expect(close["clientNumber"] as? String == "+15558675310" && close["wrapUp"] as? String == "resuelto")
                #expect((close["campaignId"] as? Int).map(Int64.init) == f.campaign.id)
                let optOut = try #require(byEvent["optout"])
                #expect(optOut["number"] as? String == "+15558675311" && optOut["kind"] as? String == "optout")
                #expect(optOut["keyword"] as? String == "STOP" && optOut["campaign"] as? String == "Ventas")
                let status = try #require(byEvent["message.status"])
                #expect(status["state"] as? String == "cancelled" && status["to"] as? String == "+15558675311")
                #expect(status["source"] as? String == "opt_out_confirmation" && status["campaign"] as? String == "Ventas")
            }
        }
    }

    @Test("bad input names the field; only admins manage webhooks; delete removes the log")
    func validation() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "hooks", role: .admin)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            for (body, field) in [(["url": "ftp://example.com/x", "events": ["message.inbound"]], "url"),
                                  (["url": "/relative", "events": ["message.inbound"]], "url"),
                                  (["url": "https://example.com/x", "events": ["message.sent"]], "events"),
                                  (["url": "https://example.com/x", "events": [String]()], "events"),
                                  (["url": "https://example.com/x"], "events")] as [([String: Any], String)] {
                let answer = try await client.executeJSON("/api/v1/webhooks", method: .post, json: body, as: admin)
                #expect(answer.status == .badRequest && answer.errorField == field, "\(body): \(answer.text)")
            }
            #expect(try await client.executeJSON("/api/v1/webhooks", method: .get, as: supervisor).status == .forbidden)
            let (id, secret) = try await Self.createWebhook(client, url: "https://example.com/x", events: ["optout", "message.status"],
                                                            as: admin)
            let rotated = try await client.executeJSON("/api/v1/webhooks/\(id)/secret", method: .post, as: admin)
            let newSecret = try #require(rotated.json["secret"] as? String)
            #expect(newSecret != secret && newSecret.count == 64)
            let stored = try #require(try await app.storage.webhooks.webhook(id: id))
            #expect(try app.secrets.open(stored.secretCiphertext) == newSecret)
            let patched = try await client.executeJSON("/api/v1/webhooks/\(id)", method: .patch,
                                                       json: ["events": ["conversation.closed"], "enabled": false], as: admin)
            #expect((patched.json["webhook"] as? [String: Any])?["events"] as? [String] == ["conversation.closed"])
            #expect((patched.json["webhook"] as? [String: Any])?["enabled"] as? Bool == false)
            let badState = try await client.executeJSON("/api/v1/webhooks/\(id)/deliveries?state=done", method: .get, as: admin)
            #expect(badState.status == .badRequest && badState.errorField == "state")
            #expect(try await client.executeJSON("/api/v1/webhooks/\(id)", method: .delete, as: admin).status == .noContent)
            #expect(try await client.executeJSON("/api/v1/webhooks/\(id)", method: .get, as: admin).status == .notFound)
            #expect(!app.logs.all.contains(secret) && !app.logs.all.contains(newSecret))
        }
    }
}
