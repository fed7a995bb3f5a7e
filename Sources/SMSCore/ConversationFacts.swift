import Foundation

/// The timestamps of one conversation that contact-center metrics are computed from (`docs/metrics.md`).
/// A store query fills one per conversation; SMSCore knows nothing of the store.
///
/// Every metric is computed *as of* a moment `now`: a timestamp after `now` is treated as not yet
/// happened, so the same facts replay any earlier moment of the day.
public struct ConversationFacts: Sendable, Hashable {
    /// The conversation, for the caller's own use (drill-down); no metric depends on it.
    public var id: Int64
    /// The agent who took it; nil while it was never assigned.
    public var agentID: Int64?
    /// When it began: the client's first message, or the agent's first message for one an agent started (SPEC A1).
    public var openedAt: Date
    /// When it entered the campaign queue; nil for one an agent started, which was never offered.
    public var queuedAt: Date?
    /// When an agent took it (accepted an offer, or replied to take it).
    public var assignedAt: Date?
    /// The first agent reply that went out at once (the store's `first_response_at`).
    public var firstResponseAt: Date?
    /// When it was closed, by the agent's wrap-up or by a supervisor.
    public var closedAt: Date?
    /// When the client sent an opt-out keyword (SPEC D8) for this campaign while the conversation was open.
    /// The keyword message is not part of the conversation and does not close it, so the store derives this
    /// from the opt-out events of the client's number and campaign (or all campaigns) between `openedAt`
    /// and `closedAt`.
    public var optedOutAt: Date?

    public init(id: Int64, agentID: Int64? = nil, openedAt: Date, queuedAt: Date? = nil, assignedAt: Date? = nil,
                firstResponseAt: Date? = nil, closedAt: Date? = nil, optedOutAt: Date? = nil) {
        self.id = id
        self.agentID = agentID
        self.openedAt = openedAt
        self.queuedAt = queuedAt
        self.assignedAt = assignedAt
        self.firstResponseAt = firstResponseAt
        self.closedAt = closedAt
        self.optedOutAt = optedOutAt
    }

    /// The moment that decides which window (day, interval) the conversation counts in: when it was queued,
    /// or when it opened if it never was. Its durations are counted whole in that window, even past midnight.
    public var countedAt: Date { queuedAt ?? openedAt }
}

/// The campaign thresholds the queue outcome depends on (SPEC C4), in seconds.
public struct MetricThresholds: Sendable, Hashable {
    /// A first agent reply within this many seconds of queueing (inclusive) is within the service level.
    public var serviceLevelSeconds: Int
    /// A queued conversation with no agent reply after this many seconds counts as abandoned.
    public var abandonSeconds: Int

    public init(serviceLevelSeconds: Int, abandonSeconds: Int) {
        self.serviceLevelSeconds = serviceLevelSeconds
        self.abandonSeconds = abandonSeconds
    }
}

/// Why an offered conversation counts as abandoned.
public enum AbandonReason: String, Sendable, Hashable, CaseIterable {
    /// No agent reply within the abandon threshold (the SMS client rarely "hangs up"; silence is the abandon).
    case unanswered
    /// Closed (by an agent or a supervisor) before any agent reply, within the abandon threshold.
    case closed
    /// The client opted out before any agent reply, within the abandon threshold.
    case optedOut
}

/// Where an offered conversation stands at a moment, with how long its client waited for a reply.
public enum QueueOutcome: Sendable, Hashable {
    /// The first agent reply came at most the abandon threshold after queueing, and before any close or opt-out.
    case answered(wait: TimeInterval, withinServiceLevel: Bool)
    /// Closed or opted out before a reply, or no reply within the abandon threshold; `repliedLate` when a reply
    /// came after the threshold after all.
    case abandoned(wait: TimeInterval, reason: AbandonReason, repliedLate: Bool)
    /// Neither yet: no reply, no close or opt-out, and the abandon threshold has not passed.
    case waiting(wait: TimeInterval)

    /// Seconds from queueing to the first of: the agent reply, the close, the opt-out; or to `now` while none happened.
    public var wait: TimeInterval {
        switch self {
        case .answered(let wait, _), .abandoned(let wait, _, _), .waiting(let wait): wait
        }
    }
}

extension ConversationFacts {
    /// The queue outcome at `now`; nil when the conversation was never queued or is queued after `now`.
    /// Ties: a reply at the same instant as a close or opt-out counts as answered; a reply exactly at the
    /// abandon threshold counts as answered, and exactly at the service-level threshold as within it.
    public func queueOutcome(thresholds: MetricThresholds, at now: Date) -> QueueOutcome? {
        guard let queuedAt, queuedAt <= now else { return nil }
        let deadline = queuedAt.addingTimeInterval(TimeInterval(thresholds.abandonSeconds))
        let reply = Self.happened(firstResponseAt, by: now)
        let closed = Self.happened(closedAt, by: now)
        let optedOut = Self.happened(optedOutAt, by: now)
        let ended: (at: Date, reason: AbandonReason)? = switch (closed, optedOut) {
        case (let c?, let o?): o < c ? (o, .optedOut) : (c, .closed)
        case (let c?, nil): (c, .closed)
        case (nil, let o?): (o, .optedOut)
        case (nil, nil): nil
        }
        func seconds(to end: Date) -> TimeInterval { max(0, end.timeIntervalSince(queuedAt)) }

        if let reply, reply <= deadline, ended.map({ reply <= $0.at }) ?? true {
            let wait = seconds(to: reply)
            return .answered(wait: wait, withinServiceLevel: wait <= TimeInterval(thresholds.serviceLevelSeconds))
        }
        if let ended, ended.at <= deadline {
            // A reply before `ended` would have been within the deadline, hence answered above.
            return .abandoned(wait: seconds(to: ended.at), reason: ended.reason, repliedLate: false)
        }
        if now > deadline {
            let end = [reply, ended?.at].compactMap { $0 }.min() ?? now
            return .abandoned(wait: seconds(to: end), reason: .unanswered, repliedLate: reply != nil)
        }
        return .waiting(wait: seconds(to: now))
    }

    /// Agent first response time: seconds from assignment to the first agent reply, for a queued conversation
    /// with both by `now`; nil otherwise.
    public func firstResponseTime(at now: Date) -> TimeInterval? {
        guard let queuedAt, queuedAt <= now, let assigned = Self.happened(assignedAt, by: now),
              let reply = Self.happened(firstResponseAt, by: now) else { return nil }
        return max(0, reply.timeIntervalSince(assigned))
    }

    /// Handle time: seconds from assignment to close, for a conversation closed by `now` that an agent held; nil otherwise.
    public func handleTime(at now: Date) -> TimeInterval? {
        guard agentID != nil, let assigned = Self.happened(assignedAt, by: now), let closed = Self.happened(closedAt, by: now) else {
            return nil
        }
        return max(0, closed.timeIntervalSince(assigned))
    }

    /// Chat time: seconds from opening to close, or to `now` while open; nil when it opens after `now`.
    public func chatTime(at now: Date) -> TimeInterval? {
        guard openedAt <= now else { return nil }
        return max(0, (Self.happened(closedAt, by: now) ?? now).timeIntervalSince(openedAt))
    }

    /// Whether it is open at `now`: opened, and not closed yet.
    func isOpen(at now: Date) -> Bool {
        openedAt <= now && Self.happened(closedAt, by: now) == nil
    }

    /// The span during which it sat in the campaign queue (queued or offered, not yet taken), up to `now`.
    func queueSpan(until now: Date) -> (start: Date, end: Date)? {
        guard let queuedAt, queuedAt <= now else { return nil }
        let left = [Self.happened(assignedAt, by: now), Self.happened(closedAt, by: now)].compactMap { $0 }.min()
        return (queuedAt, left ?? now)
    }

    /// The span during which an agent held it (assigned, not closed), up to `now`.
    func assignmentSpan(until now: Date) -> (agentID: Int64, start: Date, end: Date)? {
        guard let agentID, let assigned = Self.happened(assignedAt, by: now) else { return nil }
        return (agentID, assigned, Self.happened(closedAt, by: now) ?? now)
    }

    /// The timestamp if it is not after `now`.
    static func happened(_ date: Date?, by now: Date) -> Date? {
        guard let date, date <= now else { return nil }
        return date
    }
}
