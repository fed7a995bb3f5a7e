import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

/// The engine's normal path (SPEC D3, D4, D12): claim by priority, send once, record, follow delivery reports; ports.
@Suite("Dispatcher: sending")
struct SendingTests {
    @Test("300 queued messages of two priorities are each claimed and sent once, higher priority first, then delivered")
    func sendsEveryMessageOnceHigherPriorityFirst() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let campaign = try await h.campaign("Cobranzas")
            let dialer = try await h.dialer("d1", provider: provider, campaigns: [campaign])
            // Interleaved, so the order of ids alone would not put the high priority first.
            let queued = (0..<300).map { i in
                NewSpoolMessage(campaignID: campaign.id, destination: uy(i), message: "Hola \(i)", priority: i % 2 == 0 ? 1 : 7,
                                source: .csv)
            }
            let ids = try await h.storage.spool.enqueue(queued, at: Date())
            let high = Set(zip(ids, queued).filter { $0.1.priority == 7 }.map(\.0))
            #expect(high.count == 150)

            try await h.whileDispatching(EngineHarness.policy(claimBatch: 50)) {
                try await h.waitUntil(ids, are: [.delivered], timeout: .seconds(60))
            }

            let counts = try await h.storage.spool.counts(campaignID: campaign.id)
            #expect(counts[.delivered] == 300)
            #expect(counts.possibleDuplicates == 0)
            #expect(h.sends.all.count == 300, "the adapter was asked for \(h.sends.all.count) sends")

            var claimedAt: [Int64: Date] = [:]
            var sentAt: [Int64: Date] = [:]
            for id in ids {
                let message = try await h.message(id)
                let history = try await h.storage.spool.history(id: id)
                #expect(path(history) == [.toProcess, .sending, .sent, .delivered], "message \(id): \(path(history))")
                expectConsistent(history, id)
                #expect(message.attempts == 1)
                #expect(h.sends.of(id).count == 1, "message \(id) sent \(h.sends.of(id).count) times")
                #expect(message.providerID == provider.id)
                #expect(message.dialerID == dialer.id)
                #expect(message.providerMessageID?.hasPrefix("SIM-") == true)
                #expect(message.possibleDuplicate == false)
                #expect(message.leaseOwner == nil && message.leaseExpiresAt == nil)
                // The simulator reports 20 ms after the send (dlr_delay_ms): the report is dated then, not at the send.
                let deliveredAt = try #require(message.deliveredAt)
                let sentToProvider = try #require(h.sends.of(id).first?.at)
                #expect(deliveredAt >= sentToProvider.addingTimeInterval(0.015),
                        "message \(id) delivered at \(deliveredAt), sent to the provider at \(sentToProvider)")
                #expect(claims(history).first?.node?.hasPrefix("test-node#") == true)
                claimedAt[id] = claims(history).first?.at
                sentAt[id] = message.sentAt
            }

            // Every high-priority message was claimed and sent before any low-priority one.
            let highIDs = ids.filter { high.contains($0) }
            let lowIDs = ids.filter { !high.contains($0) }
            let lastHighClaim = try #require(highIDs.compactMap { claimedAt[$0] }.max())
            let firstLowClaim = try #require(lowIDs.compactMap { claimedAt[$0] }.min())
            #expect(lastHighClaim <= firstLowClaim)
            let lastHighSent = try #require(highIDs.compactMap { sentAt[$0] }.max())
            let firstLowSent = try #require(lowIDs.compactMap { sentAt[$0] }.min())
            #expect(lastHighSent <= firstLowSent)
            // The first claimed batch is a full batch of the higher priority, oldest first.
            let firstClaim = try #require(claimedAt.values.min())
            let firstBatch = ids.filter { claimedAt[$0] == firstClaim }
            #expect(firstBatch.count == 50)
            #expect(firstBatch.allSatisfy { high.contains($0) })
            #expect(firstBatch == Array(highIDs.prefix(50)))
        }
    }

    @Test("A dialer with dial string 0.2 rotates ports 0,1,2,0,1,2,0 in claim order and saves its port cursor")
    func rotatesPortsAndSavesTheCursor() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("gateway")
            let campaign = try await h.campaign("Puertos")
            let dialer = try await h.dialer("ports", provider: provider, campaigns: [campaign], dialString: "0.2")
            let ids = try await h.enqueue(campaign, (1...7).map(uy))

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(ids, are: [.sent, .delivered])
                try await waitFor("the port cursor is saved") {
                    try await h.storage.dialers.dialer(id: dialer.id)?.portCursor == 7
                } lastSeen: {
                    "cursor \(String(describing: try await h.storage.dialers.dialer(id: dialer.id)?.portCursor))"
                }
            }

            // Claim order is priority then id; all have the same priority.
            let ports = try await h.messages(ids).map(\.port)
            #expect(ports == [0, 1, 2, 0, 1, 2, 0])
            // The adapter was handed the same port the spool records.
            for (id, port) in zip(ids, ports) {
                #expect(h.sends.of(id).map(\.message.port) == [port])
            }
        }
    }

    @Test("The port rotation continues from the saved cursor after the dialer's worker restarts")
    func portRotationResumesFromTheSavedCursor() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("gateway")
            let campaign = try await h.campaign("Puertos")
            let dialer = try await h.dialer("ports", provider: provider, campaigns: [campaign], dialString: "0.2")
            let first = try await h.enqueue(campaign, (1...2).map(uy))

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(first, are: [.sent, .delivered])
                try await waitFor("the port cursor is saved") {
                    try await h.storage.dialers.dialer(id: dialer.id)?.portCursor == 2
                }
            }
            let second = try await h.enqueue(campaign, (3...5).map(uy))
            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(second, are: [.sent, .delivered])
            }
            #expect(try await h.messages(first + second).map(\.port) == [0, 1, 2, 0, 1])
        }
    }
}
