import Foundation
import SMSCore

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

    public init(claimBatch: Int = 50, lease: TimeInterval = 60, maxAttempts: Int = 5, backoffBase: TimeInterval = 5,
                backoffMax: TimeInterval = 600, failoverAfter: Int = 5, failbackAfter: TimeInterval = 300,
                defaultConcurrency: Int = 32,
                quietHoursAllowed: (start: LocalTime, end: LocalTime)? = DispatchPolicy.defaultQuietHours,
                idlePause: Duration = .milliseconds(250), node: String = DispatchPolicy.defaultNodeName) {
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

/// A token bucket: `rate` tokens per second, up to `burst` saved.
actor TokenBucket {
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
