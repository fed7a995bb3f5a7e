import AsyncHTTPClient
import Foundation
import SMSProviders
import Testing

/// Records what the simulator delivers.
private actor CollectingSink: SimulatorSink {
    private(set) var reports: [DeliveryReport] = []
    private(set) var replies: [InboundSMS] = []

    func simulatorDelivered(_ report: DeliveryReport) async { reports.append(report) }
    func simulatorReceived(_ message: InboundSMS) async { replies.append(message) }

    /// Waits (up to `timeout`) until at least `count` reports and `replyCount` replies arrived.
    func waitFor(reports count: Int, replies replyCount: Int = 0, timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now + timeout
        while reports.count < count || replies.count < replyCount, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

@Suite("Simulator provider")
struct SimulatorProviderTests {
    static func simulator(_ settings: [String: String], sender: String? = "+5215500000000",
                          sink: (any SimulatorSink)? = nil) throws -> SimulatorProvider {
        try SimulatorProvider(config: ProviderConfig(type: .simulator, sender: sender, settings: settings),
                              http: ProviderHTTP(client: .shared), sink: sink)
    }

    static func message(_ n: Int, to destination: String = "+5215512345678") -> OutgoingSMS {
        OutgoingSMS(reference: "m-\(n)", destination: destination, text: "hola \(n)")
    }

    /// Each send's outcome as a comparable string: the message id or the error code.
    static func outcomes(_ simulator: SimulatorProvider, count: Int) async -> [String] {
        var outcomes: [String] = []
        for n in 0..<count {
            do {
                outcomes.append(try await simulator.send(message(n)).providerMessageID ?? "nil")
            } catch let error as ProviderError {
                outcomes.append(error.code)
            } catch {
                outcomes.append("unexpected \(error)")
            }
        }
        return outcomes
    }

    @Test("with a seed, failure ratios hold over many sends and the same seed repeats the same outcomes and ids")
    func ratiosAndDeterminism() async throws {
        let settings = ["latency_ms": "0", "retryable_ratio": "0.2", "permanent_ratio": "0.1", "seed": "42"]
        let first = await Self.outcomes(try Self.simulator(settings), count: 2000)
        let retries = first.filter { $0 == "SIM_RETRY" }.count
        let permanents = first.filter { $0 == "SIM_PERM" }.count
        let sent = first.filter { $0.hasPrefix("SIM-") }
        #expect((320...480).contains(retries), "retryable: \(retries) of 2000")
        #expect((130...270).contains(permanents), "permanent: \(permanents) of 2000")
        #expect(sent.count == 2000 - retries - permanents)
        #expect(Set(sent).count == sent.count, "message ids are unique")

        let again = await Self.outcomes(try Self.simulator(settings), count: 2000)
        #expect(again == first)
        var otherSeed = settings
        otherSeed["seed"] = "43"
        #expect(await Self.outcomes(try Self.simulator(otherSeed), count: 50) != Array(first.prefix(50)))
    }

    @Test("ratios of 0 accept everything; a permanent ratio of 1 refuses everything")
    func extremeRatios() async throws {
        #expect(await Self.outcomes(try Self.simulator(["latency_ms": "0"]), count: 100).allSatisfy { $0.hasPrefix("SIM-") })
        #expect(await Self.outcomes(try Self.simulator(["latency_ms": "0", "permanent_ratio": "1"]), count: 100).allSatisfy { $0 == "SIM_PERM" })
    }

    @Test("a send takes at least the configured latency")
    func latency() async throws {
        let simulator = try Self.simulator(["latency_ms": "200"])
        let clock = ContinuousClock()
        let start = clock.now
        let receipt = try await simulator.send(Self.message(1))
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(190))
        #expect(elapsed < .seconds(10))
        #expect(receipt.providerMessageID?.hasPrefix("SIM-") == true)
        #expect(receipt.rawResponse.contains(receipt.providerMessageID ?? "missing"))
    }

    @Test("a delivery report for the sent message reaches the sink after the delay, not before")
    func deliveryReport() async throws {
        let sink = CollectingSink()
        let simulator = try Self.simulator(["latency_ms": "0", "dlr_delay_ms": "300"], sink: sink)
        let receipt = try await simulator.send(Self.message(1))
        #expect(await sink.reports.isEmpty)
        #expect(await simulator.pendingDeliveries() == 1)
        await sink.waitFor(reports: 1)
        let reports = await sink.reports
        #expect(reports.count == 1)
        #expect(reports.first?.providerMessageID == receipt.providerMessageID)
        #expect(reports.first?.outcome == .delivered)
        #expect(await sink.replies.isEmpty)
        await simulator.shutdown()
    }

    @Test("with an undelivered ratio of 1 every report says failed with SIM_UNDELIV")
    func undeliveredReports() async throws {
        let sink = CollectingSink()
        let simulator = try Self.simulator(["latency_ms": "0", "dlr_delay_ms": "10", "undelivered_ratio": "1"], sink: sink)
        _ = await Self.outcomes(simulator, count: 3)
        await sink.waitFor(reports: 3)
        let reports = await sink.reports
        #expect(reports.count == 3)
        #expect(reports.allSatisfy { $0.outcome == .failed && $0.code == "SIM_UNDELIV" })
        await simulator.shutdown()
    }

    @Test("an automatic reply comes from the destination to the sender, with the configured text")
    func autoReply() async throws {
        let sink = CollectingSink()
        let simulator = try Self.simulator(["latency_ms": "0", "dlr_delay_ms": "10", "auto_reply": "Gracias, recibido",
                                            "reply_delay_ms": "50"], sink: sink)
        _ = try await simulator.send(OutgoingSMS(reference: "1", destination: "+5215512345678", text: "hola"))
        _ = try await simulator.send(OutgoingSMS(reference: "2", destination: "+5215587654321", text: "hola", sender: "+5215511111111"))
        await sink.waitFor(reports: 2, replies: 2)
        let replies = await sink.replies.sorted { $0.from < $1.from }
        #expect(replies.map(\.from) == ["+5215512345678", "+5215587654321"])
        #expect(replies.map(\.to) == ["+5215500000000", "+5215511111111"])
        #expect(replies.allSatisfy { $0.text == "Gracias, recibido" })
        await simulator.shutdown()
    }

    @Test("destinations ending in the failure suffix fail permanently; others are sent")
    func failSuffix() async throws {
        let simulator = try Self.simulator(["latency_ms": "0", "fail_suffix": "666"])
        await #expect(throws: ProviderError(.permanent, code: "SIM_PERM", text: "simulated permanent failure: destination ends in 666")) {
            _ = try await simulator.send(Self.message(1, to: "+5215512340666"))
        }
        #expect(try await simulator.send(Self.message(2, to: "+5215512340667")).providerMessageID != nil)
    }

    @Test("shutdown cancels pending reports and replies, waits for them, and later sends are retryable failures")
    func shutdown() async throws {
        let sink = CollectingSink()
        let simulator = try Self.simulator(["latency_ms": "0", "dlr_delay_ms": "60000", "auto_reply": "hi", "reply_delay_ms": "60000"],
                                           sink: sink)
        _ = await Self.outcomes(simulator, count: 3)
        #expect(await simulator.pendingDeliveries() == 6)
        let clock = ContinuousClock()
        let start = clock.now
        await simulator.shutdown()
        #expect(clock.now - start < .seconds(10))
        #expect(await simulator.pendingDeliveries() == 0)
        #expect(await sink.reports.isEmpty)
        #expect(await sink.replies.isEmpty)
        await #expect(throws: ProviderError(.retryable, code: "SIM_SHUTDOWN", text: "the simulator is shut down")) {
            _ = try await simulator.send(Self.message(9))
        }
    }

    @Test("without a sink the simulator sends but schedules nothing")
    func noSink() async throws {
        let simulator = try SimulatorProvider(config: ProviderConfig(type: .simulator, settings: ["latency_ms": "0", "auto_reply": "x"]),
                                              http: ProviderHTTP(client: .shared))
        _ = try await simulator.send(Self.message(1))
        #expect(await simulator.pendingDeliveries() == 0)
    }

    @Test("invalid settings are refused, naming the setting")
    func invalidSettings() {
        func field(_ settings: [String: String]) -> String? {
            do {
                _ = try Self.simulator(settings)
                return nil
            } catch let error as SimulatorProvider.ConfigurationError {
                return error.field
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(field(["retryable_ratio": "1.5"]) == "settings.retryable_ratio")
        #expect(field(["permanent_ratio": "abc"]) == "settings.permanent_ratio")
        #expect(field(["retryable_ratio": "0.6", "permanent_ratio": "0.6"]) == "settings.permanent_ratio")
        #expect(field(["latency_ms": "-1"]) == "settings.latency_ms")
        #expect(field(["dlr_delay_ms": "soon"]) == "settings.dlr_delay_ms")
        #expect(field(["seed": "-3"]) == "settings.seed")
        #expect(field(["latency_ms": "5", "seed": "7", "fail_suffix": "0"]) == nil)
    }

    @Test("the simulator takes no webhooks and its schema needs no field")
    func webhooksAndFields() throws {
        let simulator = try Self.simulator([:])
        let request = WebhookRequest(method: "POST", url: "https://cc/h", headers: [], body: Array("from=1&text=x".utf8))
        #expect(simulator.verifyWebhook(request) == false)
        #expect(try simulator.inboundMessages(in: request).isEmpty)
        #expect(try simulator.deliveryReports(in: request).isEmpty)
        #expect(simulator.type == .simulator)
        #expect(SimulatorProvider.fields.type == .simulator)
        #expect(SimulatorProvider.fields.problems(in: ProviderConfig(type: .simulator)).isEmpty)
        #expect(["latency_ms", "retryable_ratio", "permanent_ratio", "dlr_delay_ms", "auto_reply", "seed", "fail_suffix"]
            .allSatisfy { key in SimulatorProvider.fields.settings.contains { $0.key == key } })
    }
}
