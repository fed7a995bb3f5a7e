import Foundation
import Testing

@testable import SMSSimulator

/// What the simulator received can be checked afterwards: every message once,
/// counted per destination, also in a JSON-lines file.
@Suite struct RecordingTests {
    private func send(_ simulator: RunningSimulator, to: String, text: String = "hola") async throws -> HTTPAnswer {
        let query = FormEncoding.encode([("to", to), ("from", "CONTACTO"), ("text", text), ("id", "ref-\(to)")])
        return try await simulator.get("/send?" + query)
    }

    @Test func messagesAreCountedPerDestinationAndByOutcome() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sim-record-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        var options = SimulatorOptions(type: .generic)
        options.recordFile = file.path
        try await RunningSimulator.with(options) { simulator in
            for _ in 0..<3 { #expect(try await send(simulator, to: "+5215500000001").status == 200) }
            #expect(try await send(simulator, to: "+5215500000002", text: "línea\n\"dos\"").status == 200)
            #expect(try await send(simulator, to: "+5215500000999").text == "ERROR invalid destination")
            #expect(try await send(simulator, to: "+5215500000998").status == 503)

            let listing = try #require(try await simulator.get("/_sim/messages").json)
            #expect(listing["count"]?.text == "6")
            #expect(listing["received"]?.text == "6")
            #expect(listing["perDestination"] == .object(["+5215500000001": .number(3), "+5215500000002": .number(1)]))
            #expect(listing["messages.3.text"]?.text == "línea\n\"dos\"")
            #expect(listing["messages.3.reference"]?.text == "ref-+5215500000002")
            #expect(listing["messages.4.outcome"]?.text == "rejected")
            #expect(listing["messages.4.id"] == .null)
            #expect(listing["messages.5.outcome"]?.text == "retryable")
            let ids = (0..<4).compactMap { listing["messages.\($0).id"]?.text }
            #expect(Set(ids).count == 4)

            let one = try #require(try await simulator.get("/_sim/messages?to=%2B5215500000001").json)
            #expect(one["count"]?.text == "3")

            let stats = try #require(try await simulator.get("/_sim/stats").json)
            #expect(stats["accepted"]?.text == "4")
            #expect(stats["rejected"]?.text == "1")
            #expect(stats["retryable"]?.text == "1")
            #expect(stats["destinations"]?.text == "2")

            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 6)
            let first = try #require(JSONValue.parse(Array(lines[0].utf8)))
            #expect(first["to"]?.text == "+5215500000001")
            #expect(first["outcome"]?.text == "accepted")
            #expect(JSONValue.parse(Array(lines[3].utf8))?["text"]?.text == "línea\n\"dos\"")

            #expect(try await simulator.post("/_sim/reset").status == 200)
            let empty = try #require(try await simulator.get("/_sim/messages").json)
            #expect(empty["count"]?.text == "0")
            #expect(empty["perDestination"] == .object([:]))

            // Ids stay unique across a reset.
            let again = try await send(simulator, to: "+5215500000001")
            #expect(!ids.contains(String(again.text.dropFirst(3))))
            #expect(simulator.server.recorder.messages.first?.sequence == 1)
        }
    }

    /// The data coding a send declared is kept, so a test can tell a UCS-2 send from a GSM-7 one.
    @Test func declaredEncodingIsRecordedPerMessage() async throws {
        let vonage = try Provider.nexmo.load()
        try await RunningSimulator.with(Provider.nexmo.options()) { simulator in
            _ = try await simulator.send(vonage.exchange("send.success").request)
            _ = try await simulator.send(vonage.exchange("send.unicode.basic_auth").request)
            let listing = try #require(try await simulator.get("/_sim/messages").json)
            #expect(listing["messages.0.encoding"]?.text == "GSM-7")
            #expect(listing["messages.1.encoding"]?.text == "UCS-2")
        }
        let dinstar = try Provider.dinstar.load()
        try await RunningSimulator.with(Provider.dinstar.options()) { simulator in
            _ = try await simulator.send(dinstar.exchange("send_sms.accepted").request)  // declares "unicode"
            #expect(simulator.server.recorder.messages.first?.encoding == "UCS-2")
        }
        try await RunningSimulator.with(SimulatorOptions(type: .generic)) { simulator in
            _ = try await send(simulator, to: "+5215500000001")
            let listing = try #require(try await simulator.get("/_sim/messages").json)
            #expect(listing["messages.0.encoding"] == .null)
        }
    }

    @Test func concurrentSendsAreEachRecordedOnce() async throws {
        try await RunningSimulator.with(SimulatorOptions(type: .generic)) { simulator in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask { try await send(simulator, to: "+52155" + String(format: "%08d", index)).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            let perDestination = simulator.server.recorder.acceptedPerDestination
            #expect(perDestination.count == 200)
            #expect(perDestination.values.allSatisfy { $0 == 1 })
            #expect(Set(simulator.server.recorder.messages.compactMap(\.providerID)).count == 200)
        }
    }
}
