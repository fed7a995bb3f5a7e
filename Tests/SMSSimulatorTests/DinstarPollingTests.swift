import Foundation
import Testing

@testable import SMSSimulator

/// A Dinstar gateway is polled: results, delivery status and incoming
/// messages are there to query, as on a real device.
@Suite struct DinstarPollingTests {
    @Test func resultsDeliveryStatusAndRepliesCanBePolled() async throws {
        let fixture = try Provider.dinstar.load()
        let send = try fixture.exchange("send_sms.accepted")
        var options = Provider.dinstar.options()
        // Long enough that the "before" queries below run before it even on a loaded machine;
        // the "after" part polls with a deadline instead of sleeping a fixed time.
        let delay = Duration.seconds(3)
        options.deliveryReportDelay = delay
        options.autoReply = "gracias"
        try await RunningSimulator.with(options) { simulator in
            let sentAt = ContinuousClock.now
            let accepted = try #require(try await simulator.send(send.request).json)
            #expect(accepted["error_code"]?.text == "202")
            let credentials = ["Authorization": "Basic " + Data("admin:admin".utf8).base64EncodedString()]

            func query(_ path: String, _ body: String, method: String = "POST") async throws -> JSONValue {
                let answer = try await HTTPAnswer.fetch(simulator.baseURL + path, method: method, headers: credentials,
                                                        body: Array(body.utf8), contentType: "application/json")
                #expect(answer.status == 200)
                return try #require(answer.json)
            }

            let early = try await query("/api/query_sms_result", #"{"user_id":[1001]}"#)
            // Before the report's delay the send is SENT_OK; a machine so loaded that the answer came after it may
            // already say DELIVERED.
            if ContinuousClock.now - sentAt < delay {
                #expect(early["result.0.status"]?.text == "SENT_OK")
            } else {
                #expect(["SENT_OK", "DELIVERED"].contains(early["result.0.status"]?.text ?? ""))
            }
            #expect(early["result.0.number"]?.text == "5215512345678")
            // "Nothing yet" holds only for answers that came back before the delay ran out; on a machine so
            // loaded that they did not, those checks say nothing and are skipped.
            let noStatus = try await query("/api/query_sms_deliver_status", #"{"number":["5215512345678"]}"#)
            if ContinuousClock.now - sentAt < delay { #expect(noStatus["result"] == .array([])) }
            let noReply = try await query("/api/query_incoming_sms?flag=unread", "", method: "GET")
            let replyWasEarly = ContinuousClock.now - sentAt < delay
            if replyWasEarly { #expect(noReply["sms"] == .array([])) }

            var late = early
            let deadline = ContinuousClock.now + .seconds(20)
            while late["result.0.status"]?.text != "DELIVERED", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                late = try await query("/api/query_sms_result", #"{"user_id":[1001]}"#)
            }
            #expect(late["result.0.status"]?.text == "DELIVERED")
            let resultShape = try fixture.exchange("query_sms_result").responseBody.json?.shape()
            #expect(late.shape() == resultShape)
            let delivered = try await query("/api/query_sms_deliver_status", #"{"number":["5215512345678"]}"#)
            #expect(delivered["result.0.status_code"]?.text == "0")
            #expect(delivered["result.0.ref_id"]?.text == late["result.0.ref_id"]?.text)

            // A late "nothing yet" query may already have read the reply (and marked it read): then it is the answer.
            var incoming = noReply["sms"] != .array([]) ? noReply
                : try await query("/api/query_incoming_sms?flag=unread&incoming_sms_id=0", "", method: "GET")
            while incoming["sms"] == .array([]), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                incoming = try await query("/api/query_incoming_sms?flag=unread&incoming_sms_id=0", "", method: "GET")
            }
            let incomingShape = try fixture.exchange("query_incoming_sms").responseBody.json?.shape()
            #expect(incoming.shape() == incomingShape)
            #expect(incoming["sms.0.text"]?.text == "gracias")
            #expect(incoming["sms.0.number"]?.text == "5215512345678")
            #expect(incoming["unread"]?.text == "1")
            let again = try await query("/api/query_incoming_sms?flag=unread", "", method: "GET")
            #expect(again["sms"] == .array([]))
            #expect(again["read"]?.text == "1")

            let task = try #require(accepted["task_id"]?.text)
            let stopped = try await query("/api/stop_sms?task_id=\(task)", "", method: "GET")
            #expect(stopped["error_code"]?.text == "200")
            let unknown = try await query("/api/stop_sms?task_id=999999", "", method: "GET")
            #expect(unknown["error_code"]?.text == "404")
        }
    }

    @Test func templateParametersFillEachRecipientsText() async throws {
        let send = try Provider.dinstar.load().exchange("send_sms.template_batch")
        try await RunningSimulator.with(Provider.dinstar.options()) { simulator in
            let answer = try await simulator.send(send.request)
            #expect(answer.json?["sms_in_queue"]?.text == "2")
            let messages = simulator.server.recorder.messages
            #expect(messages.map(\.text) == ["bj", "ye"])
            #expect(messages.map(\.reference) == ["1", "2"])
        }
    }

    @Test func injectedInboundIsPolledWithoutWebhook() async throws {
        var options = Provider.dinstar.options()
        options.username = nil
        options.secret = nil
        try await RunningSimulator.with(options) { simulator in
            let answer = try await simulator.post("/_sim/inbound", json: #"{"from":"6717","text":"test"}"#)
            #expect(answer.status == 202)
            let incoming = try #require(try await simulator.get("/api/query_incoming_sms").json)
            #expect(incoming["sms.0.number"]?.text == "6717")
            #expect(incoming["sms.0.incoming_sms_id"]?.text == "1")
        }
    }
}
