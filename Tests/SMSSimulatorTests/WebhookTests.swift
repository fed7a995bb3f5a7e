import Foundation
import Testing

@testable import SMSSimulator

/// Delivery reports and inbound messages reach our server's webhook in the
/// provider's own format, never holding up the answers to sends.
@Suite struct WebhookTests {
    struct Example: Sendable, CustomTestStringConvertible {
        let provider: Provider
        /// The send request (no credentials configured unless `withCredentials`).
        let send: String
        /// Webhook exchanges whose request bodies the simulator's calls must be shaped like, in order.
        let expected: [String]
        var withCredentials = false
        /// Members the fixture shows that the simulator does not send, or the reverse.
        var ignoring: Set<String> = []
        var testDescription: String { "\(provider.type) \(expected.joined(separator: "+"))" }
    }

    static let reports: [Example] = [
        Example(provider: .nexmo, send: "send.unicode.basic_auth", expected: ["webhook.dlr.delivered"]),
        Example(provider: .infobip, send: "send.v2.with_dlr_webhook", expected: ["webhook.dlr.v2"]),
        Example(provider: .infobip, send: "send.v3.simple", expected: ["webhook.dlr.v3"], ignoring: ["callbackData"]),
        Example(provider: .dinstar, send: "auth.digest_challenge",
                expected: ["push.sms_result", "push.sms_deliver_status"]),
    ]

    @Test(arguments: reports)
    func deliveryReportIsPostedInTheProvidersJSONFormat(_ example: Example) async throws {
        let fixture = try example.provider.load()
        let send = try fixture.exchange(example.send)
        let expected = try example.expected.map { try fixture.exchange($0) }
        try await WebhookReceiver.with { url, receiver in
            var options = example.provider.options()
            if !example.withCredentials {
                options.username = nil
                options.secret = nil
            }
            options.webhookURL = url + "/webhooks/\(example.provider.type)"
            options.deliveryReportDelay = .milliseconds(50)
            try await RunningSimulator.with(options) { simulator in
                let answer = try await simulator.send(send.request)
                #expect(answer.status == 200)
                let calls = try await receiver.wait(for: expected.count)
                try #require(calls.count == expected.count)
                for call in calls {
                    #expect(call.method == "POST")
                    #expect(call.path == "/webhooks/\(example.provider.type)")
                    #expect(call.header("Content-Type")?.hasPrefix("application/json") == true)
                }
                // Calls may arrive in any order; Infobip's v3 fixture reports two messages, one was sent here.
                let got = calls.compactMap { $0.json?.shape(ignoring: example.ignoring) }.sorted()
                let want = try expected.map { exchange in
                    let json = try #require(exchange.request.body.json)
                    return firstResultOnly(json).shape(ignoring: example.ignoring)
                }.sorted()
                #expect(got == want, "\(calls.map(\.text))")
                let id = simulator.server.recorder.messages.first?.providerID
                let reported = calls.compactMap(\.json).first { $0["sms_deliver_status"] == nil }
                switch example.provider.type {
                case .nexmo: #expect(reported?["messageId"]?.text == id && reported?["status"]?.text == "delivered")
                case .infobip: #expect(reported?["results.0.messageId"]?.text == id && reported?["results.0.status.groupName"]?.text == "DELIVERED")
                case .dinstar: #expect(reported?["sms_result.0.ref_id"]?.text == id && reported?["sms_result.0.status"]?.text == "DELIVERED")
                default: break
                }
            }
        }
    }

    private func firstResultOnly(_ value: JSONValue) -> JSONValue {
        guard case .array(let results) = value["results"], let first = results.first else { return value }
        var value = value
        value.set(["results"], to: .array([first]))
        return value
    }

    @Test func twilioStatusCallbackIsSignedWithTheAuthToken() async throws {
        let fixture = try Provider.twilio.load()
        let send = try fixture.exchange("send.success")
        let expected = try fixture.exchange("webhook.status.delivered")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.twilio.options()
            let webhook = url + "/webhooks/twilio/status?token=abc"
            options.webhookURL = webhook
            options.deliveryReportDelay = .milliseconds(50)
            try await RunningSimulator.with(options) { simulator in
                let sid = try #require(try await simulator.send(send.request).json?["sid"]?.text)
                let call = try #require(try await receiver.wait(for: 1).first)
                #expect(call.method == "POST")
                #expect(call.header("Content-Type") == "application/x-www-form-urlencoded")
                #expect(call.form.map(\.0) == expected.request.body.fields.map(\.0))
                #expect(call.field("MessageStatus") == "delivered")
                #expect(call.field("MessageSid") == sid)
                #expect(call.field("To") == "+15558675310")
                #expect(call.field("AccountSid") == "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
                let signature = WebhookSignature.twilio(url: webhook, parameters: call.form.map { ($0.0, $0.1) }, authToken: "12345")
                #expect(call.header("X-Twilio-Signature") == signature)
            }
        }
    }

    @Test func undeliveredSuffixIsReportedUndelivered() async throws {
        let fixture = try Provider.twilio.load()
        let send = try fixture.exchange("send.success")
        let expected = try fixture.exchange("webhook.status.undelivered")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.twilio.options()
            options.webhookURL = url + "/status"
            options.deliveryReportDelay = .milliseconds(50)
            try await RunningSimulator.with(options) { simulator in
                let request = Provider.twilio.destination.replacing(in: send.request, with: "+15551230997")
                #expect(try await simulator.send(request).status == 201)
                let call = try #require(try await receiver.wait(for: 1).first)
                #expect(call.form.map(\.0) == expected.request.body.fields.map(\.0))
                #expect(call.field("MessageStatus") == "undelivered")
                #expect(call.field("ErrorCode") == "30003")
            }
        }
    }

    @Test func genericReportIsAFormPost() async throws {
        let send = try Provider.generic.load().exchange("urlsms.get")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.generic.options()
            options.webhookURL = url + "/hook?secret=s"
            options.deliveryReportDelay = .milliseconds(50)
            try await RunningSimulator.with(options) { simulator in
                let answer = try await simulator.send(send.request)
                let call = try #require(try await receiver.wait(for: 1).first)
                #expect(call.query == "secret=s")
                #expect(call.field("type") == "dlr")
                #expect("OK " + (call.field("id") ?? "") == answer.text)
                #expect(call.field("ref") == "c0ffee00-0000-4000-8000-000000000001")
                #expect(call.field("status") == "delivered")
                #expect(call.field("to") == "5215512345678")
            }
        }
    }

    @Test func vonageReportCanBeAGetAndSigned() async throws {
        let fixture = try Provider.nexmo.load()
        let send = try fixture.exchange("send.success")
        let expected = try fixture.exchange("webhook.dlr.failed.get")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.nexmo.options()
            options.webhookURL = url + "/dlr"
            options.webhookMethod = .get
            options.signatureSecret = "secret"
            options.deliveryReportDelay = .milliseconds(50)
            try await RunningSimulator.with(options) { simulator in
                #expect(try await simulator.send(send.request).status == 200)
                let call = try #require(try await receiver.wait(for: 1).first)
                #expect(call.method == "GET")
                let names = Set(call.queryFields.map(\.0))
                #expect(names == Set(expected.request.query.map(\.0)).union(["timestamp", "nonce", "sig"]))
                #expect(call.field("client-ref") == "my-personal-reference")
                let sig = WebhookSignature.vonageMD5(parameters: call.queryFields.map { ($0.0, $0.1) }, secret: "secret")
                #expect(call.field("sig") == sig)
            }
        }
    }

    @Test func smsMasivoPostsNothing() async throws {
        let send = try Provider.smsmasivo.load().exchange("v2.send.success.json")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.smsmasivo.options()
            options.webhookURL = url
            options.deliveryReportDelay = .milliseconds(10)
            options.autoReply = "hola"
            try await RunningSimulator.with(options) { simulator in
                #expect(try await simulator.send(send.request).status == 200)
                try await Task.sleep(for: .milliseconds(300))
                #expect(receiver.requests.isEmpty)
            }
        }
    }

    // MARK: Inbound

    static let replies: [Example] = [
        Example(provider: .nexmo, send: "send.success", expected: ["webhook.inbound.post_json"], withCredentials: true),
        Example(provider: .infobip, send: "send.v3.simple", expected: ["webhook.inbound_mo"], ignoring: ["callbackData"]),
        Example(provider: .dinstar, send: "auth.digest_challenge", expected: ["push.sms"], ignoring: ["imsi"]),
    ]

    @Test(arguments: replies)
    func autoReplyArrivesAsAnInboundMessageInTheProvidersFormat(_ example: Example) async throws {
        let fixture = try example.provider.load()
        let send = try fixture.exchange(example.send)
        let expected = try #require(try fixture.exchange(example.expected[0]).request.body.json)
        try await WebhookReceiver.with { url, receiver in
            var options = example.provider.options()
            if !example.withCredentials {
                options.username = nil
                options.secret = nil
            }
            options.webhookURL = url
            options.deliveryReportURL = url + "/dlr"
            options.deliveryReportDelay = .milliseconds(50)
            options.autoReply = "Gracias, recibido"
            try await RunningSimulator.with(options) { simulator in
                #expect(try await simulator.send(send.request).status == 200)
                let calls = try await receiver.wait(for: example.provider.type == .dinstar ? 3 : 2)
                let inbound = try #require(calls.first { $0.path != "/dlr" })
                let got = try #require(inbound.json)
                #expect(got.shape(ignoring: example.ignoring) == expected.shape(ignoring: example.ignoring), "\(inbound.text)")
                #expect(inbound.text.contains("Gracias, recibido"))
            }
        }
    }

    @Test func twilioAutoReplyIsSignedAndComesFromTheDestination() async throws {
        let fixture = try Provider.twilio.load()
        let send = try fixture.exchange("send.success")
        let expected = try fixture.exchange("webhook.inbound_sms")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.twilio.options()
            options.webhookURL = url + "/inbound"
            options.deliveryReportURL = url + "/status"
            options.deliveryReportDelay = .milliseconds(50)
            options.autoReply = "STOP"
            try await RunningSimulator.with(options) { simulator in
                #expect(try await simulator.send(send.request).status == 201)
                let calls = try await receiver.wait(for: 2)
                let inbound = try #require(calls.first { $0.path == "/inbound" })
                #expect(Set(inbound.form.map(\.0)).isSubset(of: Set(expected.request.body.fields.map(\.0))))
                #expect(inbound.field("From") == "+15558675310")
                #expect(inbound.field("To") == "+15017122661")
                #expect(inbound.field("Body") == "STOP")
                #expect(inbound.field("SmsStatus") == "received")
                let signature = WebhookSignature.twilio(url: url + "/inbound", parameters: inbound.form.map { ($0.0, $0.1) },
                                                        authToken: "12345")
                #expect(inbound.header("X-Twilio-Signature") == signature)
                #expect(calls.contains { $0.path == "/status" })
            }
        }
    }

    @Test func injectedInboundMessageIsPostedAtOnce() async throws {
        try await WebhookReceiver.with { url, receiver in
            var options = SimulatorOptions(type: .generic)
            options.webhookURL = url + "/mo"
            options.ownNumber = "+15550001111"
            try await RunningSimulator.with(options) { simulator in
                let answer = try await simulator.post("/_sim/inbound", json: #"{"from":"+15551234567","text":"hola"}"#)
                #expect(answer.status == 202)
                let call = try #require(try await receiver.wait(for: 1, timeout: .seconds(2)).first)
                #expect(call.field("type") == "mo")
                #expect(call.field("from") == "+15551234567")
                #expect(call.field("to") == "+15550001111")
                #expect(call.field("text") == "hola")
            }
        }
    }

    @Test func injectedInboundWithoutWebhookIsRefused() async throws {
        try await RunningSimulator.with(SimulatorOptions(type: .twilio)) { simulator in
            let answer = try await simulator.post("/_sim/inbound", json: #"{"from":"+15551234567","text":"hola"}"#)
            #expect(answer.status == 409)
        }
    }

    // MARK: Queue

    @Test func fullQueueDropsAndCountsWithoutHoldingSends() async throws {
        let send = try Provider.generic.load().exchange("urlsms.get")
        try await WebhookReceiver.with { url, receiver in
            var options = Provider.generic.options()
            options.webhookURL = url
            options.webhookQueueCapacity = 2
            options.deliveryReportDelay = .seconds(30)
            try await RunningSimulator.with(options) { simulator in
                let start = ContinuousClock.now
                for _ in 0..<5 { #expect(try await simulator.send(send.request).status == 200) }
                // A send held by the full queue would wait for a report due in 30 s; unheld, the five take well under
                // that even on a loaded machine (seconds at worst).
                #expect(ContinuousClock.now - start < .seconds(30))
                let stats = try #require(try await simulator.get("/_sim/stats").json)
                // The worker may already hold the first job, so 2 or 3 fit.
                let dropped = Int(stats["webhooks.dropped"]?.text ?? "") ?? 0
                let enqueued = Int(stats["webhooks.enqueued"]?.text ?? "") ?? 0
                #expect(dropped >= 2 && dropped + enqueued == 5)
                #expect(receiver.requests.isEmpty)
            }
        }
    }

    @Test func failedPostIsRetried() async throws {
        let send = try Provider.generic.load().exchange("urlsms.get")
        try await WebhookReceiver.with(status: { $0 <= 2 ? 500 : 200 }) { url, receiver in
            var options = Provider.generic.options()
            options.webhookURL = url
            options.deliveryReportDelay = .zero
            options.webhookRetryDelay = .milliseconds(10)
            try await RunningSimulator.with(options) { simulator in
                #expect(try await simulator.send(send.request).status == 200)
                #expect(try await receiver.wait(for: 3).count == 3)
                var stats = simulator.server.webhookStats
                let deadline = ContinuousClock.now + .seconds(10)
                while stats.posted < 1, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    stats = simulator.server.webhookStats
                }
                #expect(stats.posted == 1 && stats.retried == 2 && stats.failed == 0)
            }
        }
    }
}
