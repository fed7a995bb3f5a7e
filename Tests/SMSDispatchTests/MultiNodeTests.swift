import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

@Suite("Dispatcher: several nodes")
struct MultiNodeTests {
    /// Two engines ("nodes") on one database, with the rate limits kept in the database as on PostgreSQL.
    func whileTwoNodesDispatch(_ h: EngineHarness, lease: TimeInterval = 30, _ body: () async throws -> Void) async throws {
        var tasks: [Task<Void, Never>] = []
        for node in ["node-a", "node-b"] {
            var policy = EngineHarness.policy(claimBatch: 10, lease: lease)
            policy.node = node
            policy.sharedRateLimits = true
            let dispatcher = Dispatcher(storage: h.storage, pool: h.pool, policy: policy, logger: h.logs.logger(label: node))
            tasks.append(Task { await dispatcher.supervise() })
        }
        defer { for task in tasks { task.cancel() } }
        try await body()
        for task in tasks {
            task.cancel()
            await task.value
        }
    }

    @Test("Two nodes sending through one provider keep its rate together (rate × time + burst), each message sent once")
    func providerRateHoldsAcrossNodes() async throws {
        try await EngineHarness.with { h in
            var provider = try await h.simulator("sim", settings: ["latency_ms": "1"])
            provider.ratePerSecond = 20
            provider = try await h.storage.providers.update(provider, at: Date())
            let campaign = try await h.campaign("Avisos", transactional: true)
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let ids = try await h.enqueue(campaign, (1...60).map(uy))

            try await whileTwoNodesDispatch(h) {
                try await h.waitUntil(ids, are: [.sent, .delivered])
            }
            let times = h.sends.all.map(\.at).sorted()
            #expect(times.count == 60)
            for message in try await h.messages(ids) {
                #expect(h.sends.of(message.id).count == 1, "message \(message.id) sent \(h.sends.of(message.id).count) times")
            }
            // Burst 20, then 20 a second: the 60th send goes about 2 s after the first, not 1 s as with a bucket per node.
            let first = try #require(times.first)
            for (index, at) in times.enumerated() {
                #expect(Double(index + 1) <= 20 * (at.timeIntervalSince(first) + 0.05) + 20, "send \(index + 1) too early")
            }
            let nodes = try await h.storage.database.query("SELECT DISTINCT node FROM spool_events WHERE to_state = 'sent'")
                .map { try $0.string("node").split(separator: "#").first.map(String.init) ?? "" }
            #expect(Set(nodes) == ["node-a", "node-b"], "both nodes sent")
        }
    }

    @Test("A batch the shared limit cannot send within half its lease gives the rest back instead of outliving the lease")
    func slowSharedLimitGivesTheRestBack() async throws {
        try await EngineHarness.with { h in
            var provider = try await h.simulator("sim", settings: ["latency_ms": "1"])
            provider.ratePerSecond = 1
            provider = try await h.storage.providers.update(provider, at: Date())
            let campaign = try await h.campaign("Avisos", transactional: true)
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let ids = try await h.enqueue(campaign, (1...7).map(uy))

            // Lease 8 s: a node waits at most 4 s for a slot; 7 messages at 1/s take 6 s, whoever claims them.
            try await whileTwoNodesDispatch(h, lease: 8) {
                try await h.waitUntil(ids, are: [.sent, .delivered], timeout: .seconds(60))
            }
            var givenBack = 0
            for message in try await h.messages(ids) {
                #expect(h.sends.of(message.id).count == 1, "message \(message.id) sent \(h.sends.of(message.id).count) times")
                #expect(!message.possibleDuplicate)
                givenBack += try await h.storage.spool.history(id: message.id).filter { $0.reason?.contains("shared rate limit") == true }.count
            }
            #expect(givenBack > 0, "some messages were given back to wait for a later slot")
        }
    }
}
