import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

/// Provider errors (SPEC D4, D11, D12): retry with backoff, give up, fail at once, move to the fallback provider.
@Suite("Dispatcher: provider errors")
struct FailureTests {
    @Test("A retryable error queues the message again for later, with the provider's code and the attempt counted")
    func retryableErrorsAreRetriedLater() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("flaky", settings: ["retryable_ratio": "1"])
            let campaign = try await h.campaign("Avisos")
            let dialer = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let id = try await h.enqueue(campaign, [uy(1)])[0]

            // Backoff after the first failure: 600 s × jitter 0.5…1.5.
            try await h.whileDispatching(EngineHarness.policy(backoffBase: 600, backoffMax: 3600)) {
                try await eventually("the first attempt fails") {
                    let message = try await h.message(id)
                    return message.state == .toProcess && message.attempts == 1 ? message : nil
                }
                try await waitFor("the dialer saves its failure count") {
                    try await h.storage.dialers.dialer(id: dialer.id)?.consecutiveFailures == 1
                }
            }

            let message = try await h.message(id)
            let checked = Date()
            #expect(message.errorCode == "SIM_RETRY")
            #expect(message.errorText == "simulated temporary failure")
            let next = try #require(message.nextAttemptAt)
            #expect(next > checked.addingTimeInterval(200), "next attempt \(next) is not backed off")
            #expect(next <= checked.addingTimeInterval(900))
            #expect(message.providerID == nil && message.sentAt == nil)
            let history = try await h.storage.spool.history(id: id)
            #expect(path(history) == [.toProcess, .sending, .toProcess])
            #expect(history.last?.reason?.hasPrefix("retry at ") == true)
            #expect(history.last?.reason?.contains("SIM_RETRY simulated temporary failure") == true)
            expectConsistent(history, id)
            #expect(h.sends.of(id).count == 1)
        }
    }

    @Test("After maxAttempts retryable errors, spaced by the backoff, the message fails with \"retries exhausted\"")
    func retriesAreExhausted() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("flaky", settings: ["retryable_ratio": "1"])
            let campaign = try await h.campaign("Avisos")
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let ids = try await h.enqueue(campaign, [uy(1), uy(2)])
            let policy = EngineHarness.policy(maxAttempts: 3, backoffBase: 0.1, backoffMax: 1)

            try await h.whileDispatching(policy) {
                try await h.waitUntil(ids, are: [.failed])
            }

            for id in ids {
                let message = try await h.message(id)
                #expect(message.attempts == 3)
                #expect(message.errorCode == "SIM_RETRY")
                #expect(message.errorText == "retries exhausted after 3 attempts: simulated temporary failure")
                #expect(message.providerID == provider.id)
                #expect(message.nextAttemptAt == nil)
                #expect(h.sends.of(id).count == 3)
                let history = try await h.storage.spool.history(id: id)
                #expect(path(history) == [.toProcess, .sending, .toProcess, .sending, .toProcess, .sending, .failed])
                expectConsistent(history, id)
                // A claim comes no sooner than the backoff after the previous claim:
                // at least 0.5 × base × 2^(n-1) after the n-th attempt.
                let claimTimes = claims(history).map(\.at)
                for n in 1..<claimTimes.count {
                    let minimum = 0.5 * policy.backoffBase * pow(2, Double(n - 1))
                    let gap = claimTimes[n].timeIntervalSince(claimTimes[n - 1])
                    #expect(gap >= minimum - 0.002, "attempt \(n + 1) came \(gap) s after attempt \(n), backoff at least \(minimum) s")
                }
            }
        }
    }

    @Test("A permanent error fails the message at once with the provider's code, after one attempt")
    func permanentErrorsFailAtOnce() async throws {
        try await EngineHarness.with { h in
            // The failing suffix is kept among the provider's encrypted settings: the pool decrypts and merges them.
            let provider = try await h.simulator("strict", secretSettings: ["fail_suffix": "13"])
            let campaign = try await h.campaign("Avisos")
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let ids = try await h.enqueue(campaign, [uy(113), uy(100), uy(213), uy(101)])

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(ids, are: [.failed, .delivered])
            }

            let messages = try await h.messages(ids)
            #expect(messages.map(\.state) == [.failed, .delivered, .failed, .delivered])
            for message in [messages[0], messages[2]] {
                #expect(message.errorCode == "SIM_PERM")
                #expect(message.errorText == "simulated permanent failure: destination ends in 13")
                #expect(message.attempts == 1)
                #expect(message.providerID == provider.id)
                #expect(message.sentAt == nil)
                #expect(h.sends.of(message.id).count == 1)
                let history = try await h.storage.spool.history(id: message.id)
                #expect(path(history) == [.toProcess, .sending, .failed])
                #expect(history.last?.reason == "SIM_PERM simulated permanent failure: destination ends in 13")
                expectConsistent(history, message.id)
            }
        }
    }

    @Test("When the provider keeps failing, the dialer switches to its fallback provider and the messages go out there")
    func failsOverToTheFallbackProvider() async throws {
        try await EngineHarness.with { h in
            let primary = try await h.simulator("down", settings: ["retryable_ratio": "1"])
            let fallback = try await h.simulator("backup")
            let campaign = try await h.campaign("Avisos")
            let dialer = try await h.dialer("d", provider: primary, fallback: fallback, campaigns: [campaign])
            let ids = try await h.enqueue(campaign, (1...5).map(uy))

            try await h.whileDispatching(EngineHarness.policy(maxAttempts: 10, failoverAfter: 3)) {
                try await h.waitUntil(ids, are: [.delivered, .failed])
                try await waitFor("the failover is saved") {
                    try await h.storage.dialers.dialer(id: dialer.id)?.failoverActive == true
                }
            }

            let saved = try #require(try await h.storage.dialers.dialer(id: dialer.id))
            #expect(saved.failoverActive)
            #expect(saved.consecutiveFailures == 0)
            #expect(h.logs.contains("provider keeps failing: dialer switched to its fallback provider",
                                    metadata: ["dialer": "\(dialer.id)", "fallback": "\(fallback.id)"]))
            let primarySends = h.sends.all.filter { $0.providerID == primary.id }
            #expect(primarySends.count >= 3)
            for message in try await h.messages(ids) {
                #expect(message.state == .delivered)
                #expect(message.providerID == fallback.id)
                let sends = h.sends.of(message.id)
                #expect(sends.filter { $0.providerID == fallback.id }.count == 1)
                #expect(sends.last?.providerID == fallback.id)
                let history = try await h.storage.spool.history(id: message.id)
                expectConsistent(history, message.id)
                #expect(history.contains { $0.to == .sent && $0.reason?.hasPrefix("accepted by provider \(fallback.id) as SIM-") == true })
            }
        }
    }

    @Test("After its cool-down on the fallback, the dialer tries its primary provider again and stays there while it works")
    func switchesBackToThePrimaryProvider() async throws {
        try await EngineHarness.with { h in
            var primary = try await h.simulator("flaky", settings: ["retryable_ratio": "1"])
            let fallback = try await h.simulator("backup")
            let campaign = try await h.campaign("Avisos")
            let dialer = try await h.dialer("d", provider: primary, fallback: fallback, campaigns: [campaign])
            let first = try await h.enqueue(campaign, (1...5).map(uy))

            try await h.whileDispatching(EngineHarness.policy(maxAttempts: 10, failoverAfter: 3, failbackAfter: 0.5)) {
                try await h.waitUntil(first, are: [.delivered, .failed])
                for message in try await h.messages(first) { #expect(message.providerID == fallback.id) }
                // The primary recovers; messages queued after the cool-down go out through it again. (With nothing
                // left to send, the dialer may already have switched back before the recovery — on a slow machine —
                // and then it stays there: nothing fails on it any more.)
                primary.settings["retryable_ratio"] = "0"
                primary = try await h.storage.providers.update(primary, at: Date())
                try await waitFor("the dialer is back on its primary provider") {
                    try await h.storage.dialers.dialer(id: dialer.id)?.failoverActive == false
                }
                #expect(h.logs.contains("trying the primary provider again: dialer switched back from its fallback",
                                        metadata: ["dialer": "\(dialer.id)", "provider": "\(primary.id)"]))
                let second = try await h.enqueue(campaign, (6...10).map(uy))
                try await h.waitUntil(second, are: [.delivered, .failed])
                for message in try await h.messages(second) {
                    #expect(message.state == .delivered)
                    #expect(message.providerID == primary.id)
                }
                #expect(try await h.storage.dialers.dialer(id: dialer.id)?.failoverActive == false)
            }
        }
    }
}
