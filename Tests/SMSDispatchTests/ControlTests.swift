import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

/// Crashes, disabled campaigns and dialers started and stopped (SPEC D4, D7).
@Suite("Dispatcher: crashes and control")
struct ControlTests {
    @Test("Messages claimed by a node that died are resent after its lease expires, flagged possible duplicates")
    func expiredLeasesAreResentAsPossibleDuplicates() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let campaign = try await h.campaign("Avisos")
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let ids = try await h.enqueue(campaign, (1...10).map(uy))
            // A process claims four messages and dies before recording anything.
            let now = Date()
            let dead = try await h.storage.spool.claim(campaignIDs: [campaign.id], limit: 4, owner: "dead",
                                                       leaseUntil: now.addingTimeInterval(0.3), now: now)
            #expect(dead.map(\.id) == Array(ids.prefix(4)))

            // The live node's own lease is long: only the dead node's claims expire.
            try await h.whileDispatching(EngineHarness.policy(lease: 10)) {
                try await h.waitUntil(ids, are: [.delivered], timeout: .seconds(40))
            }

            for message in try await h.messages(ids) {
                let history = try await h.storage.spool.history(id: message.id)
                expectConsistent(history, message.id)
                #expect(h.sends.of(message.id).count == 1, "message \(message.id) sent \(h.sends.of(message.id).count) times")
                if dead.contains(where: { $0.id == message.id }) {
                    #expect(message.possibleDuplicate)
                    #expect(message.attempts == 2)
                    #expect(path(history) == [.toProcess, .sending, .toProcess, .sending, .sent, .delivered])
                    #expect(history[1].node == "dead")
                    #expect(history[2].reason == "lease expired while sending (node stopped): queued again, possible duplicate")
                    #expect(history[2].node == "test-node")
                    #expect(history[3].node?.hasPrefix("test-node#") == true)
                } else {
                    #expect(!message.possibleDuplicate)
                    #expect(message.attempts == 1)
                    #expect(path(history) == [.toProcess, .sending, .sent, .delivered])
                }
            }
            #expect(try await h.storage.spool.counts(campaignID: campaign.id).possibleDuplicates == 4)
        }
    }

    @Test("A batch the engine cannot process (a broken number pattern) is given back at once, not left claimed")
    func unprocessableBatchesAreGivenBack() async throws {
        try await EngineHarness.with { h in
            // The admin form rejects such a pattern; a record written around it must not strand the queue.
            let provider = try await h.simulator("broken", numberPattern: "(")
            let campaign = try await h.campaign("Avisos")
            let dialer = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let id = try await h.enqueue(campaign, [uy(1)])[0]

            try await h.whileDispatching(EngineHarness.policy(lease: 60), allowingErrors: true) {
                try await waitFor("the batch is given back") {
                    let message = try await h.message(id)
                    let history = try await h.storage.spool.history(id: id)
                    return message.state == .toProcess && history.count >= 3
                }
            }

            let message = try await h.message(id)
            #expect(message.attempts == 0)
            #expect(!message.possibleDuplicate)
            #expect(message.leaseOwner == nil)
            let history = try await h.storage.spool.history(id: id)
            #expect(Array(path(history).prefix(3)) == [.toProcess, .sending, .toProcess])
            #expect(history[2].reason?.contains("not sent: ") == true)
            expectConsistent(history, id)
            #expect(h.sends.all.isEmpty)
            #expect(h.logs.contains("dialer batch failed; retrying", metadata: ["dialer": "\(dialer.id)"]))
        }
    }

    @Test("Messages of a disabled campaign are not sent, while the dialer's other campaigns are")
    func disabledCampaignsAreNotSent() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let paused = try await h.campaign("Pausada", enabled: false)
            let live = try await h.campaign("Activa")
            _ = try await h.dialer("d", provider: provider, campaigns: [paused, live])
            // Higher priority than the live message: had the paused campaign been claimable, it would have gone first.
            let held = try await h.enqueue(paused, [uy(1), uy(2), uy(3)], priority: 9)
            let sentinel = try await h.enqueue(live, [uy(4)], priority: 0)

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(sentinel, are: [.delivered])
            }

            for message in try await h.messages(held) {
                #expect(message.state == .toProcess)
                #expect(message.attempts == 0)
                #expect(try await path(h.storage.spool.history(id: message.id)) == [.toProcess])
            }
            #expect(h.sends.all.map(\.message.destination) == [uy(4)])
        }
    }

    @Test("Disabling a dialer stops it: messages queued afterwards stay to_process until it is enabled again")
    func disablingTheDialerStopsSending() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let campaign = try await h.campaign("Avisos")
            let dialer = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let first = try await h.enqueue(campaign, [uy(1)])

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(first, are: [.delivered])
                try await h.storage.dialers.setEnabled(id: dialer.id, false, at: Date())
                try await waitFor("the dialer's worker stops") {
                    h.logs.contains("dialer stopped", metadata: ["dialer": "\(dialer.id)"])
                }
                let later = try await h.enqueue(campaign, [uy(2), uy(3), uy(4)])
                // A dialer created now is started by the supervisor on a later pass, which also sees the disabled one:
                // once its message is out, the supervisor has had its chance to (wrongly) restart the first dialer.
                let other = try await h.campaign("Otra")
                _ = try await h.dialer("witness", provider: provider, campaigns: [other])
                try await h.waitUntil(try await h.enqueue(other, [uy(9)]), are: [.delivered])

                for message in try await h.messages(later) {
                    #expect(message.state == .toProcess)
                    #expect(message.attempts == 0)
                    #expect(h.sends.of(message.id).isEmpty)
                }
                #expect(h.logs.count("dialer started", metadata: ["dialer": "\(dialer.id)"]) == 1)

                // Start again: the waiting messages go out.
                try await h.storage.dialers.setEnabled(id: dialer.id, true, at: Date())
                try await h.waitUntil(later, are: [.delivered])
                for id in later { #expect(h.sends.of(id).count == 1) }
            }
        }
    }

    /// Checks that nothing of a batch interrupted by a stop is left claimed: each message went out once, or is
    /// waiting untouched by the provider. Returns the messages given back.
    func expectNothingLeftClaimed(_ h: EngineHarness, _ ids: [Int64]) async throws -> [SpoolMessage] {
        var givenBack: [SpoolMessage] = []
        for message in try await h.messages(ids) {
            let sends = h.sends.of(message.id).count
            switch message.state {
            case .sent, .delivered:
                #expect(sends == 1, "message \(message.id) sent \(sends) times")
            case .toProcess:
                #expect(sends == 0, "message \(message.id) reached the provider but is queued again")
                #expect(message.attempts == 0)
                #expect(message.leaseOwner == nil)
                let history = try await h.storage.spool.history(id: message.id)
                #expect(path(history) == [.toProcess, .sending, .toProcess])
                #expect(history.last?.reason?.hasSuffix(": not sent: the dialer stopped") == true)
                givenBack.append(message)
            default:
                Issue.record("message \(message.id) is \(message.state) after the dialer stopped")
            }
            #expect(!message.possibleDuplicate)
        }
        return givenBack
    }

    /// Restarts a paced dialer without pacing, so the rest of the batch goes out quickly.
    func restartUnpaced(_ h: EngineHarness, _ dialer: DialerRecord) async throws {
        var unpaced = try #require(try await h.storage.dialers.dialer(id: dialer.id))
        unpaced.intervalMs = 0
        unpaced.enabled = true
        _ = try await h.storage.dialers.update(unpaced, at: Date())
    }

    func expectEachSentOnce(_ h: EngineHarness, _ ids: [Int64], dialer: DialerRecord) async throws {
        for message in try await h.messages(ids) {
            #expect(h.sends.of(message.id).count == 1, "message \(message.id) sent \(h.sends.of(message.id).count) times")
            #expect(!message.possibleDuplicate)
            expectConsistent(try await h.storage.spool.history(id: message.id), message.id)
        }
        // Stopping is not a provider failure.
        let saved = try #require(try await h.storage.dialers.dialer(id: dialer.id))
        #expect(saved.consecutiveFailures == 0 && !saved.failoverActive)
    }

    @Test("Disabling a dialer in the middle of a paced batch leaves no message claimed and sends none twice")
    func disablingMidBatchLosesNothing() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let campaign = try await h.campaign("Avisos")
            // One message a second: the batch of 15 takes about 14 s.
            let dialer = try await h.dialer("d", provider: provider, campaigns: [campaign], intervalMs: 1000)
            let ids = try await h.enqueue(campaign, (1...15).map(uy))

            try await h.whileDispatching(EngineHarness.policy(lease: 60)) {
                try await waitFor("sending has begun") { h.sends.all.count >= 2 }
                try await h.storage.dialers.setEnabled(id: dialer.id, false, at: Date())
                try await waitFor("the dialer's worker stops") {
                    h.logs.contains("dialer stopped", metadata: ["dialer": "\(dialer.id)"])
                }
                _ = try await expectNothingLeftClaimed(h, ids)

                try await restartUnpaced(h, dialer)
                try await h.waitUntil(ids, are: [.delivered])
            }
            try await expectEachSentOnce(h, ids, dialer: dialer)
        }
    }

    @Test("Stopping the engine in the middle of a paced batch gives the unsent messages back at once and sends none twice")
    func stoppingTheEngineMidBatchLosesNothing() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let campaign = try await h.campaign("Avisos")
            let dialer = try await h.dialer("d", provider: provider, campaigns: [campaign], intervalMs: 1000)
            let ids = try await h.enqueue(campaign, (1...15).map(uy))

            // Stopped (cancelled, as on shutdown) right after the second send, during the pause before the third.
            try await h.whileDispatching(EngineHarness.policy(lease: 60)) {
                try await waitFor("sending has begun") { h.sends.all.count >= 2 }
            }
            let givenBack = try await expectNothingLeftClaimed(h, ids)
            #expect(!givenBack.isEmpty, "the stop came after the whole batch was sent")

            try await restartUnpaced(h, dialer)
            try await h.whileDispatching(EngineHarness.policy(lease: 60)) {
                try await h.waitUntil(ids, are: [.delivered])
            }
            try await expectEachSentOnce(h, ids, dialer: dialer)
        }
    }
}
