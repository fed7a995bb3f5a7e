import Foundation
import SMSStore

/// Sign-in throttling: after `freeFailures` failures for a user name or a
/// client address, further attempts are refused (HTTP 429) until a delay has
/// passed since the last failure; the delay doubles with every further
/// failure, up to `maximumDelay`. Failures are forgotten `forgetAfter` after
/// the last one, and a successful sign-in clears the user name's count.
public struct LoginThrottle: Sendable, Equatable {
    public var freeFailures: Int
    public var baseDelay: TimeInterval
    public var maximumDelay: TimeInterval
    public var forgetAfter: TimeInterval

    public init(freeFailures: Int = 5, baseDelay: TimeInterval = 30, maximumDelay: TimeInterval = 900,
                forgetAfter: TimeInterval = 3600) {
        self.freeFailures = freeFailures
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.forgetAfter = forgetAfter
    }

    /// How long to wait after the last failure, once `failures` have happened (0: no wait).
    public func delay(afterFailures failures: Int) -> TimeInterval {
        guard failures >= freeFailures else { return 0 }
        let doublings = min(failures - freeFailures, 30)
        return min(baseDelay * pow(2, Double(doublings)), maximumDelay)
    }

    /// Seconds until another attempt is allowed for this record at `now`, or nil if allowed now.
    public func retryAfter(_ record: LoginFailures?, now: Date) -> Int? {
        guard let record else { return nil }
        if now.timeIntervalSince(record.lastFailureAt) >= forgetAfter { return nil }
        let wait = delay(afterFailures: record.count) - now.timeIntervalSince(record.lastFailureAt)
        return wait > 0 ? Int(wait.rounded(.up)) : nil
    }
}
