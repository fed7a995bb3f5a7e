import Foundation
import SMSCore
import SMSStore

/// How the dialer engine behaves; one value per process, from the server's configuration.
public struct DispatchPolicy: Sendable {
    /// Messages claimed per batch (SPEC D4: 50).
    public var claimBatch: Int
    /// How long a claim is held. After a crash, messages still `sending` wait this long before they
    /// are queued again and resent (at-least-once), flagged `possible_duplicate`.
    public var lease: TimeInterval
    /// Attempts before a message with retryable errors is `failed`.
    public var maxAttempts: Int
    /// Backoff after the n-th retryable failure: base × 2^(n-1), at most `backoffMax`, times a jitter in 0.5…1.5.
    public var backoffBase: TimeInterval
    public var backoffMax: TimeInterval
    /// Consecutive retryable failures of a dialer's provider after which it switches to its fallback (SPEC D11).
    public var failoverAfter: Int
    /// How long a dialer stays on its fallback provider before it tries its primary again (a half-open circuit
    /// breaker): if the primary still fails, `failoverAfter` failures later it is back on the fallback.
    public var failbackAfter: TimeInterval
    /// Sends in flight per provider when the provider sets no limit.
    public var defaultConcurrency: Int
    /// Recipients' local hours when bulk messages may be sent (SPEC D10); transactional campaigns bypass.
    public var quietHoursAllowed: (start: LocalTime, end: LocalTime)?
    /// Pause between polls when there is nothing to send.
    public var idlePause: Duration
    /// This process's name in leases and histories.
    public var node: String
    /// Whether providers' rate limits and dialers' intervals are kept in the database, shared by every node
    /// (`RateLimitStore`), instead of in this process. nil: shared on PostgreSQL (several nodes), local on SQLite.
    public var sharedRateLimits: Bool?

    public init(claimBatch: Int = 50, lease: TimeInterval = 60, maxAttempts: Int = 5, backoffBase: TimeInterval = 5,
                backoffMax: TimeInterval = 600, failoverAfter: Int = 5, failbackAfter: TimeInterval = 300,
                defaultConcurrency: Int = 32,
                quietHoursAllowed: (start: LocalTime, end: LocalTime)? = DispatchPolicy.defaultQuietHours,
                idlePause: Duration = .milliseconds(250), node: String = DispatchPolicy.defaultNodeName,
                sharedRateLimits: Bool? = nil) {
        self.claimBatch = claimBatch
        self.lease = lease
        self.maxAttempts = maxAttempts
        self.backoffBase = backoffBase
        self.backoffMax = backoffMax
        self.failoverAfter = failoverAfter
        self.failbackAfter = failbackAfter
        self.defaultConcurrency = defaultConcurrency
        self.quietHoursAllowed = quietHoursAllowed
        self.idlePause = idlePause
        self.node = node
        self.sharedRateLimits = sharedRateLimits
    }

    /// Bulk messages go out between 08:00 and 21:00 in the recipient's time zone.
    public static var defaultQuietHours: (start: LocalTime, end: LocalTime)? {
        guard let start = try? LocalTime(hour: 8), let end = try? LocalTime(hour: 21) else { return nil }
        return (start, end)
    }

    /// Host name and process id, unique enough to tell nodes apart.
    public static var defaultNodeName: String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// When to try again after the n-th failed attempt (n ≥ 1), with jitter from `random` in 0..<1.
    public func backoff(afterAttempt n: Int, random: Double) -> TimeInterval {
        let exponential = backoffBase * pow(2, Double(max(0, min(n - 1, 30))))
        return min(exponential, backoffMax) * (0.5 + random)
    }
}

/// Gives the go-ahead for one send at a time, pacing them.
protocol Pacer: Sendable {
    /// Waits until the next send may go.
    func take() async throws
}

/// Paces sends under a rate limit shared by every node (`RateLimitStore`): reserves slots in blocks of
/// about half a second's worth (one database round trip per block, at most `planned` slots in all) and
/// waits for each slot on this process's monotonic clock. A slot later than `deadline` is not waited for:
/// `take` throws `PastDeadline` (the caller gives the rest of its batch back).
actor SharedRatePacer: Pacer {
    struct PastDeadline: Error {}
    private let deadline: ContinuousClock.Instant?
    private let store: any RateLimitStore
    private let name: String
    private let rate: Double
    private let burst: Double
    private var remaining: Int
    private var grant = RateGrant(count: 0, delay: 0, interval: 0)
    private var anchor = ContinuousClock.now
    private var used = 0

    init(store: any RateLimitStore, name: String, rate: Double, burst: Double, planned: Int,
         deadline: ContinuousClock.Instant? = nil) {
        self.deadline = deadline
        self.store = store
        self.name = name
        self.rate = rate
        self.burst = burst
        remaining = planned
    }

    func take() async throws {
        if used >= grant.count {
            let block = max(1, min(remaining, Int((rate / 2).rounded(.up))))
            let granted = try await store.reserve(name, count: block, ratePerSecond: rate, burst: burst)
            (grant, anchor, used) = (granted, .now, 0)
        }
        let wait = grant.wait(forSlot: used)
        used += 1
        remaining -= 1
        let slot = anchor + .microseconds(Int64(wait * 1_000_000))
        if let deadline, slot > deadline { throw PastDeadline() }
        if wait > 0 { try await Task.sleep(until: slot, clock: .continuous) }
    }
}

/// A token bucket: `rate` tokens per second, up to `burst` saved.
actor TokenBucket: Pacer {
    private let rate: Double
    private let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
        tokens = max(1, burst)
        last = .now
    }

    /// Waits until a token is available and takes it.
    func take() async throws {
        while true {
            let now = ContinuousClock.now
            tokens = min(burst, tokens + rate * Double((now - last).components.attoseconds) / 1e18 + rate * Double((now - last).components.seconds))
            last = now
            if tokens >= 1 {
                tokens -= 1
                return
            }
            let wait = (1 - tokens) / rate
            try await Task.sleep(for: .milliseconds(max(1, Int(wait * 1000))))
        }
    }
}
