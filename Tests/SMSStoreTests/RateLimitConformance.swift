import Foundation
import SMSStore
import Testing

/// The rate limit shared by every node (issue 7).
enum RateLimitCases {
    static let all: [ConformanceCase] = [
        .init(name: "rate limits: a first reservation gets the burst at once, then slots one interval apart", run: firstGrant),
        .init(name: "rate limits: two nodes drawing from one provider never exceed rate × time + burst together", run: twoNodes),
    ]

    static func firstGrant(_ storage: Storage) async throws {
        let started = ContinuousClock.now
        let first = try await storage.rateLimits.reserve("provider:1", count: 5, ratePerSecond: 10, burst: 3)
        #expect(first.count == 5)
        #expect(abs(first.interval - 0.1) < 1e-9)
        // Burst 3: slots 0...2 are due at once, slot 3 one interval later.
        #expect(first.wait(forSlot: 2) == 0)
        #expect(first.wait(forSlot: 3) > 0.05 && first.wait(forSlot: 3) <= 0.1 + 1e-6)
        // The next reservation starts where the first ended; another name is independent.
        // (Its first slot is 0.3 s after the first grant, less the time between the two grants.)
        let second = try await storage.rateLimits.reserve("provider:1", count: 1, ratePerSecond: 10, burst: 3)
        let elapsed = ContinuousClock.now - started
        let between = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(second.wait(forSlot: 0) >= 0.3 - between - 0.002 && second.wait(forSlot: 0) <= 0.3 + 1e-6)
        let other = try await storage.rateLimits.reserve("provider:2", count: 1, ratePerSecond: 10, burst: 3)
        #expect(other.wait(forSlot: 0) == 0)
    }

    /// Two "nodes" each reserve 12 blocks of 10 slots from one provider as fast as they can, each pacing its own
    /// blocks; together they use at most rate × elapsed + burst slots at every moment, whatever the machine's load.
    static func twoNodes(_ storage: Storage) async throws {
        let (rate, burst) = (200.0, 20.0)
        let start = ContinuousClock.now
        func node() async throws -> [Duration] {
            var used: [Duration] = []
            for _ in 0..<12 {
                let grant = try await storage.rateLimits.reserve("provider:7", count: 10, ratePerSecond: rate, burst: burst)
                let anchor = ContinuousClock.now
                for slot in 0..<grant.count {
                    let at = anchor + .microseconds(Int64(grant.wait(forSlot: slot) * 1_000_000))
                    if at > .now { try await Task.sleep(until: at, clock: .continuous) }
                    used.append(ContinuousClock.now - start)
                }
            }
            return used
        }
        async let a = node()
        async let b = node()
        let (first, second) = try await (a, b)
        #expect(!first.isEmpty && !second.isEmpty, "both nodes get slots")
        let all = (first + second).sorted()
        // The limit holds at every moment: by the time the k-th send goes, at most rate × t + burst went.
        // (Grants are anchored when the answer arrives, a little after the database's clock: 5 ms of slack.)
        for (index, at) in all.enumerated() {
            let seconds = Double(at.components.seconds) + Double(at.components.attoseconds) / 1e18
            #expect(Double(index + 1) <= rate * (seconds + 0.005) + burst, "send \(index + 1) at \(seconds) s")
        }
        // (How close to the rate they get depends on the machine's load, as each reservation is a write: not checked here;
        // the dispatcher's and the system test's two-node cases check the sending rate.)
    }
}
