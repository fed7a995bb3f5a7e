import Foundation

/// Counts and duration totals of the conversations counted in one window (`docs/metrics.md`): those whose
/// `countedAt` falls in it and is not after `now`. Totals, not averages, are stored so that windows add up
/// (`+`): the intervals of a day sum to the day. Ratios and averages are nil when their denominator is zero.
public struct QueueMetrics: Sendable, Hashable {
    /// Conversations that entered the campaign queue.
    public var offered = 0
    /// Offered conversations with a first agent reply within the abandon threshold (and before any close or opt-out).
    public var answered = 0
    /// Answered conversations whose first agent reply came within the service-level threshold (inclusive).
    public var answeredWithinServiceLevel = 0
    /// Abandoned: no agent reply within the abandon threshold.
    public var abandonedUnanswered = 0
    /// Abandoned: closed before any agent reply, within the abandon threshold.
    public var abandonedClosed = 0
    /// Abandoned: the client opted out before any agent reply, within the abandon threshold.
    public var abandonedOptedOut = 0
    /// Abandoned conversations that got an agent reply after the threshold after all (SMS: the client is still reachable).
    public var repliedAfterAbandon = 0
    /// Σ wait of the offered conversations (queueing to reply, close or opt-out; so far for those still waiting).
    public var waitSeconds: TimeInterval = 0
    /// The longest such wait.
    public var longestWait: TimeInterval?
    /// Offered conversations with an agent first response (assignment and first reply).
    public var firstResponses = 0
    /// Σ agent first response time (assignment to first reply).
    public var firstResponseSeconds: TimeInterval = 0
    /// Closed conversations an agent held, whether queued or started by the agent.
    public var handled = 0
    /// Σ handle time (assignment to close) of the handled conversations.
    public var handleSeconds: TimeInterval = 0
    /// Closed conversations, queued or started by an agent.
    public var closed = 0
    /// Σ chat time (opening to close) of the closed conversations.
    public var chatSeconds: TimeInterval = 0
    /// The longest chat time, open conversations included with their time so far.
    public var longestChat: TimeInterval?

    public init() {}

    /// The metrics of `facts` counted in `window` (start inclusive, end exclusive), as of `now`.
    public init(facts: some Sequence<ConversationFacts>, window: DateInterval, thresholds: MetricThresholds, now: Date) {
        for fact in facts where fact.countedAt >= window.start && fact.countedAt < window.end && fact.countedAt <= now {
            add(fact, thresholds: thresholds, now: now)
        }
    }

    /// Abandoned conversations, for every reason.
    public var abandoned: Int { abandonedUnanswered + abandonedClosed + abandonedOptedOut }
    /// Offered conversations neither answered nor abandoned yet.
    public var waiting: Int { offered - answered - abandoned }

    /// Answered within the service level / answered (0...1).
    public var serviceLevel: Double? { Self.ratio(answeredWithinServiceLevel, answered) }
    /// Answered within the service level / (answered + abandoned) (0...1): abandons count against it.
    public var serviceLevelCountingAbandons: Double? { Self.ratio(answeredWithinServiceLevel, answered + abandoned) }
    /// Abandoned / offered (0...1).
    public var abandonRate: Double? { Self.ratio(abandoned, offered) }
    /// Mean wait of the offered conversations, in seconds.
    public var averageWait: TimeInterval? { Self.mean(waitSeconds, offered) }
    /// Mean agent first response time, in seconds.
    public var averageFirstResponseTime: TimeInterval? { Self.mean(firstResponseSeconds, firstResponses) }
    /// Mean handle time, in seconds.
    public var averageHandleTime: TimeInterval? { Self.mean(handleSeconds, handled) }
    /// Mean chat time of the closed conversations, in seconds.
    public var averageChatTime: TimeInterval? { Self.mean(chatSeconds, closed) }

    /// Counts one conversation (whatever its `countedAt`).
    public mutating func add(_ fact: ConversationFacts, thresholds: MetricThresholds, now: Date) {
        if let outcome = fact.queueOutcome(thresholds: thresholds, at: now) {
            offered += 1
            switch outcome {
            case .answered(_, let withinServiceLevel):
                answered += 1
                if withinServiceLevel { answeredWithinServiceLevel += 1 }
            case .abandoned(_, let reason, let repliedLate):
                switch reason {
                case .unanswered: abandonedUnanswered += 1
                case .closed: abandonedClosed += 1
                case .optedOut: abandonedOptedOut += 1
                }
                if repliedLate { repliedAfterAbandon += 1 }
            case .waiting:
                break
            }
            waitSeconds += outcome.wait
            longestWait = Self.longer(longestWait, outcome.wait)
        }
        if let time = fact.firstResponseTime(at: now) {
            firstResponses += 1
            firstResponseSeconds += time
        }
        if let time = fact.handleTime(at: now) {
            handled += 1
            handleSeconds += time
        }
        if let time = fact.chatTime(at: now) {
            if !fact.isOpen(at: now) {
                closed += 1
                chatSeconds += time
            }
            longestChat = Self.longer(longestChat, time)
        }
    }

    /// Both windows together (counts and totals add, longest values take the larger).
    public static func + (lhs: QueueMetrics, rhs: QueueMetrics) -> QueueMetrics {
        var sum = lhs
        sum.offered += rhs.offered
        sum.answered += rhs.answered
        sum.answeredWithinServiceLevel += rhs.answeredWithinServiceLevel
        sum.abandonedUnanswered += rhs.abandonedUnanswered
        sum.abandonedClosed += rhs.abandonedClosed
        sum.abandonedOptedOut += rhs.abandonedOptedOut
        sum.repliedAfterAbandon += rhs.repliedAfterAbandon
        sum.waitSeconds += rhs.waitSeconds
        sum.longestWait = rhs.longestWait.map { longer(sum.longestWait, $0) } ?? sum.longestWait
        sum.firstResponses += rhs.firstResponses
        sum.firstResponseSeconds += rhs.firstResponseSeconds
        sum.handled += rhs.handled
        sum.handleSeconds += rhs.handleSeconds
        sum.closed += rhs.closed
        sum.chatSeconds += rhs.chatSeconds
        sum.longestChat = rhs.longestChat.map { longer(sum.longestChat, $0) } ?? sum.longestChat
        return sum
    }

    static func ratio(_ part: Int, _ whole: Int) -> Double? {
        whole > 0 ? Double(part) / Double(whole) : nil
    }

    static func mean(_ total: TimeInterval, _ count: Int) -> TimeInterval? {
        count > 0 ? total / Double(count) : nil
    }

    static func longer(_ current: TimeInterval?, _ candidate: TimeInterval) -> TimeInterval {
        max(current ?? candidate, candidate)
    }
}
