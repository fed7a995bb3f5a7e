import Foundation

/// How many things were going on at once over a window: conversations assigned (concurrency, overall or of
/// one agent) or conversations in the queue (queue length). Spans are half-open (`[start, end)`): one that
/// ends at the instant another starts does not overlap it, and an empty span counts for nothing.
/// The window is measured up to `now` only; totals add up over adjacent windows (`+`).
public struct Occupancy: Sendable, Hashable {
    /// Seconds of the window up to `now` (0 when the window starts after `now`).
    public var elapsedSeconds: TimeInterval = 0
    /// Σ seconds each span lies in the window (conversation-seconds).
    public var totalSeconds: TimeInterval = 0
    /// Seconds of the window during which at least one span was running.
    public var busySeconds: TimeInterval = 0
    /// The most spans running at one instant of the window.
    public var peak = 0

    public init() {}

    /// The occupancy of `spans` within `window`, up to `now`.
    public init(spans: some Sequence<(start: Date, end: Date)>, window: DateInterval, now: Date) {
        let start = window.start
        let end = min(window.end, now)
        elapsedSeconds = max(0, end.timeIntervalSince(start))
        // +1 at a span's start, -1 at its end; at the same instant ends come first (half-open spans).
        var steps: [(at: Date, delta: Int)] = []
        for span in spans {
            let from = max(span.start, start)
            let to = min(span.end, end)
            guard from < to else { continue }
            totalSeconds += to.timeIntervalSince(from)
            steps.append((from, 1))
            steps.append((to, -1))
        }
        steps.sort { $0.at != $1.at ? $0.at < $1.at : $0.delta < $1.delta }
        var running = 0
        var previous = start
        for step in steps {
            if running > 0 { busySeconds += step.at.timeIntervalSince(previous) }
            running += step.delta
            peak = max(peak, running)
            previous = step.at
        }
    }

    /// Mean number running over the window: total / elapsed.
    public var average: Double? { elapsedSeconds > 0 ? totalSeconds / elapsedSeconds : nil }
    /// Mean number running while at least one was: total / busy.
    public var averageWhileBusy: Double? { busySeconds > 0 ? totalSeconds / busySeconds : nil }

    /// Two adjacent windows as one (seconds add, the peak is the larger).
    public static func + (lhs: Occupancy, rhs: Occupancy) -> Occupancy {
        var sum = lhs
        sum.elapsedSeconds += rhs.elapsedSeconds
        sum.totalSeconds += rhs.totalSeconds
        sum.busySeconds += rhs.busySeconds
        sum.peak = max(lhs.peak, rhs.peak)
        return sum
    }
}
