import Foundation

/// The contact-center metrics of a set of conversations (usually one campaign's) over a window, as of `now`
/// (`docs/metrics.md`): what the threshold view and the campaign monitor show (SPEC S6), for a local day
/// (`LocalDate.interval(in:)`), "today so far", or one slice of a chart (`series`).
public struct ConversationMetrics: Sendable, Hashable {
    /// The window, start inclusive, end exclusive.
    public var window: DateInterval
    /// The moment the metrics describe; later timestamps are treated as not yet happened.
    public var now: Date
    /// Counts and durations of the conversations counted in the window (by `ConversationFacts.countedAt`).
    public var queue: QueueMetrics
    /// Conversations assigned at once, all agents together, over the window up to `now`.
    public var concurrency: Occupancy
    /// Conversations assigned at once to each agent, for every agent who holds a conversation in the facts
    /// (so the slices of a series have the same agents and add up).
    public var concurrencyByAgent: [Int64: Occupancy]
    /// Conversations in the campaign queue at once (queued or offered, not yet taken), over the window up to `now`.
    public var queueLength: Occupancy

    /// Computes every metric of `facts` for `window` as of `now`. The facts may include conversations
    /// outside the window (the day before, still open): each metric takes what concerns the window.
    public init(facts: [ConversationFacts], window: DateInterval, thresholds: MetricThresholds, now: Date) {
        self.window = window
        self.now = now
        queue = QueueMetrics(facts: facts, window: window, thresholds: thresholds, now: now)
        let assignments = facts.compactMap { $0.assignmentSpan(until: now) }
        concurrency = Occupancy(spans: assignments.map { ($0.start, $0.end) }, window: window, now: now)
        var byAgent: [Int64: [(start: Date, end: Date)]] = [:]
        for span in assignments { byAgent[span.agentID, default: []].append((span.start, span.end)) }
        concurrencyByAgent = byAgent.mapValues { Occupancy(spans: $0, window: window, now: now) }
        queueLength = Occupancy(spans: facts.compactMap { $0.queueSpan(until: now) }, window: window, now: now)
    }

    /// The metrics of each consecutive slice of `window`, `every` seconds long from its start (the last one
    /// may be shorter), for charts over the day: 900 for quarter hours, 3600 for hours. A local day on a
    /// daylight-saving change has 23 or 25 hourly slices. Slices after `now` are present and empty.
    /// Counts, totals and seconds of the slices add up to those of the whole window; peaks and longest
    /// values are the largest of the slices'. Empty when `every` is not positive.
    public static func series(facts: [ConversationFacts], window: DateInterval, every seconds: TimeInterval,
                              thresholds: MetricThresholds, now: Date) -> [ConversationMetrics] {
        guard seconds > 0 else { return [] }
        var slices: [ConversationMetrics] = []
        var start = window.start
        while start < window.end {
            let end = min(start.addingTimeInterval(seconds), window.end)
            slices.append(ConversationMetrics(facts: facts, window: DateInterval(start: start, end: end), thresholds: thresholds,
                                              now: now))
            start = end
        }
        return slices
    }
}

/// The queue and conversations as they stand at `now`, for the live threshold view (SPEC S2, S6): each value
/// is compared there against the campaign's ACD queue length, ACD wait and chat time thresholds.
public struct LiveQueue: Sendable, Hashable {
    /// The moment described.
    public var now: Date
    /// Conversations in the campaign queue: queued or offered, not yet taken by an agent, not closed.
    public var queueLength = 0
    /// How long the oldest of them has been in the queue.
    public var longestQueueWait: TimeInterval?
    /// Open queued conversations whose client still waits for a first agent reply (in the queue or already
    /// assigned), except those whose client opted out.
    public var awaitingReply = 0
    /// How long the longest-waiting of them has waited since it was queued.
    public var longestAwaitingReply: TimeInterval?
    /// Open conversations, queued or started by an agent.
    public var openConversations = 0
    /// The longest chat time of the open conversations so far.
    public var longestOpenChat: TimeInterval?
    /// Open conversations assigned to each agent who has one.
    public var assignedByAgent: [Int64: Int] = [:]

    public init(facts: some Sequence<ConversationFacts>, now: Date) {
        self.now = now
        for fact in facts where fact.isOpen(at: now) {
            openConversations += 1
            longestOpenChat = QueueMetrics.longer(longestOpenChat, now.timeIntervalSince(fact.openedAt))
            if let span = fact.assignmentSpan(until: now) {
                assignedByAgent[span.agentID, default: 0] += 1
            }
            guard let queuedAt = fact.queuedAt, queuedAt <= now else { continue }
            let waited = now.timeIntervalSince(queuedAt)
            if ConversationFacts.happened(fact.assignedAt, by: now) == nil {
                queueLength += 1
                longestQueueWait = QueueMetrics.longer(longestQueueWait, waited)
            }
            if ConversationFacts.happened(fact.firstResponseAt, by: now) == nil,
               ConversationFacts.happened(fact.optedOutAt, by: now) == nil {
                awaitingReply += 1
                longestAwaitingReply = QueueMetrics.longer(longestAwaitingReply, waited)
            }
        }
    }
}

extension LocalDate {
    /// The day in `timeZone`: from its first instant (local midnight, or the first existing time when a
    /// daylight-saving change skips midnight) to the next day's. 23 or 25 hours long on a change day.
    public func interval(in timeZone: TimeZone) -> DateInterval {
        DateInterval(start: Self.firstInstant(of: self, in: timeZone),
                     end: Self.firstInstant(of: LocalDate(daysSinceEpoch: daysSinceEpoch + 1), in: timeZone))
    }

    /// The day in `timeZone` that `date` falls on.
    public init(containing date: Date, in timeZone: TimeZone) {
        let parts = Self.calendar(timeZone).dateComponents([.year, .month, .day], from: date)
        // The components of a Gregorian calendar always have year, month and day; the fallback is the UTC day.
        guard let year = parts.year, let month = parts.month, let day = parts.day,
              let local = try? LocalDate(year: year, month: month, day: day) else {
            self.init(daysSinceEpoch: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
            return
        }
        self = local
    }

    private static func firstInstant(of day: LocalDate, in timeZone: TimeZone) -> Date {
        let calendar = calendar(timeZone)
        let components = DateComponents(year: day.year, month: day.month, day: day.day, hour: 12)
        // Noon, not midnight: daylight-saving changes happen at night. The fallback (noon UTC) is not expected to be used.
        let noon = calendar.date(from: components) ?? Date(timeIntervalSince1970: Double(day.daysSinceEpoch) * 86_400 + 43_200)
        return calendar.startOfDay(for: noon)
    }

    private static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }
}
