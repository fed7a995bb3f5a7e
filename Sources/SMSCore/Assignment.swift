import Foundation

/// How a campaign chooses the member offered a new conversation (SPEC C8): Asterisk queue strategies
/// applied to SMS, plus `balanced`. Raw values are the stable storage and API strings.
public enum RoutingStrategy: String, CaseIterable, Codable, Sendable {
    /// Offer to every eligible member of the best penalty tier at once; the first to accept takes it.
    case ringall
    /// The member whose last conversation in the campaign ended longest ago; never-used members first.
    case leastrecent
    /// The member with the fewest conversations completed in the campaign (today).
    case fewestcalls
    /// A uniform draw among the eligible members of the best penalty tier.
    case random
    /// Round robin over the members in user-id order, continuing after the member served last.
    case rrmemory
    /// Round robin like `rrmemory`, but in the admin's member order.
    case rrordered
    /// Always from the top of the admin's member order.
    case linear
    /// A random draw weighted by penalty: each member draws in `0..<(1 + penalty) × 1000`, lowest wins.
    case wrandom
    /// The member with the fewest open conversations.
    case balanced

    /// Whether the campaign keeps a round-robin cursor for this strategy.
    public var usesCursor: Bool {
        self == .rrmemory || self == .rrordered
    }
}

/// One campaign member as the router sees it at the moment of a decision.
public struct AssignmentCandidate: Sendable, Hashable {
    /// The agent's presence (SPEC A5); raw values are the stored strings. Only `available` takes work.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case available
        case paused
        case offline
    }

    /// The agent.
    public var userID: Int64
    /// Place in the admin's member order, 0 at the top.
    public var position: Int
    /// Lower is preferred; except under `wrandom`, a strict tier exhausted before the next.
    public var penalty: Int
    /// Presence; paused and offline members are never offered anything.
    public var status: Status
    /// Conversations assigned to the agent plus those currently offered to them.
    public var openConversations: Int
    /// When the agent's last conversation in this campaign ended; `nil` if they never had one.
    public var lastCompletedAt: Date?
    /// Conversations the agent completed in this campaign in the counting period (today).
    public var completedCount: Int

    /// A member; by default available, penalty 0, idle and never used.
    public init(
        userID: Int64,
        position: Int,
        penalty: Int = 0,
        status: Status = .available,
        openConversations: Int = 0,
        lastCompletedAt: Date? = nil,
        completedCount: Int = 0
    ) {
        self.userID = userID
        self.position = position
        self.penalty = penalty
        self.status = status
        self.openConversations = openConversations
        self.lastCompletedAt = lastCompletedAt
        self.completedCount = completedCount
    }
}

/// Everything a routing decision for one conversation depends on, read by the caller in one go.
public struct AssignmentSnapshot: Sendable, Hashable {
    /// The campaign's routing strategy.
    public var strategy: RoutingStrategy
    /// The campaign's members, in any order.
    public var members: [AssignmentCandidate]
    /// The campaign's maximum of simultaneous conversations per agent (SPEC C3).
    public var maxPerAgent: Int
    /// The member served last under `rrmemory` / `rrordered`, as stored for the campaign; `nil` (or an
    /// id that is no longer a member) starts the round from the beginning.
    public var rrCursor: Int64?
    /// The time of the decision (used by `leastrecent`).
    public var now: Date
    /// Members who already let this conversation's offer time out (SPEC C9); they are skipped.
    public var excluded: Set<Int64>

    /// A snapshot of a campaign for one decision.
    public init(
        strategy: RoutingStrategy,
        members: [AssignmentCandidate],
        maxPerAgent: Int,
        rrCursor: Int64? = nil,
        now: Date,
        excluded: Set<Int64> = []
    ) {
        self.strategy = strategy
        self.members = members
        self.maxPerAgent = maxPerAgent
        self.rrCursor = rrCursor
        self.now = now
        self.excluded = excluded
    }

    /// Whether `member` may be offered a conversation now: available, below the cap and not excluded.
    public func isEligible(_ member: AssignmentCandidate) -> Bool {
        member.status == .available && member.openConversations < maxPerAgent
            && !excluded.contains(member.userID)
    }

    /// The eligible members in the admin's member order (position, then user id).
    public var eligibleMembers: [AssignmentCandidate] {
        members.filter(isEligible).sorted { ($0.position, $0.userID) < ($1.position, $1.userID) }
    }
}

/// Who gets a conversation: an offer, or a wait in the campaign queue.
public enum AssignmentDecision: Sendable, Hashable {
    /// Offer the conversation to these members: one member, or under `ringall` every eligible member
    /// of the best penalty tier at once (fewest open conversations first, then member order). Store
    /// `rrCursor` as the campaign's new cursor when it is not `nil`.
    case offer(to: [Int64], rrCursor: Int64?)
    /// Nobody is eligible: the conversation stays in the campaign's first-in-first-out queue (SPEC C3).
    case queue

    /// The members offered the conversation; empty when it is queued.
    public var offeredUserIDs: [Int64] {
        switch self {
        case .offer(let userIDs, _): userIDs
        case .queue: []
        }
    }

    /// The campaign's new round-robin cursor; `nil` when the stored one stays as it is.
    public var rrCursor: Int64? {
        switch self {
        case .offer(_, let cursor): cursor
        case .queue: nil
        }
    }
}

/// The routing rules of SPEC C8 as pure functions: no I/O, no clock, no hidden randomness.
///
/// Every eligible member gets a rank and the lowest is offered the conversation. The rank compares,
/// in order: the penalty tier (all equal under `wrandom`), the strategy's own metric, the number of
/// open conversations (SPEC: "ties break by fewest open conversations"), the member position and the
/// user id, so a decision never depends on the order of `members` or on chance beyond `rng`.
public enum Assignment {
    /// Under `wrandom`, penalties above this weigh as this (a draw range of about 10^12).
    static let maximumWeightedPenalty = 1_000_000_000

    /// Decides who is offered the conversation described by `snapshot`.
    ///
    /// Only `random` and `wrandom` draw from `rng` (`random` once, `wrandom` once per eligible member in
    /// member order); pass a `SeededRandom` for reproducible decisions.
    public static func decide(
        _ snapshot: AssignmentSnapshot,
        using rng: inout some RandomNumberGenerator
    ) -> AssignmentDecision {
        let eligible = snapshot.eligibleMembers
        guard let bestTier = eligible.map(\.penalty).min() else { return .queue }
        let strategy = snapshot.strategy

        switch strategy {
        case .ringall:
            let ringing = eligible.filter { $0.penalty == bestTier }
                .map { Rank($0, tier: $0.penalty, metric: 0) }
                .sorted()
            return .offer(to: ringing.map(\.userID), rrCursor: nil)

        case .random:
            let tier = eligible.filter { $0.penalty == bestTier }
            let chosen = tier[Int(draw(below: UInt64(tier.count), using: &rng))]
            return .offer(to: [chosen.userID], rrCursor: nil)

        case .wrandom:
            var ranks: [Rank] = []
            for member in eligible {
                let weight = UInt64(min(max(0, member.penalty), maximumWeightedPenalty))
                let value = draw(below: (1 + weight) * 1000, using: &rng)
                ranks.append(Rank(member, tier: 0, metric: Double(value)))
            }
            return offer(ranks, strategy: strategy)

        case .leastrecent:
            return offer(
                eligible.map { member in
                    guard let last = member.lastCompletedAt else {
                        return Rank(member, tier: member.penalty, metric: -.infinity)
                    }
                    // Longest idle first; an end time in the future (clock skew) counts as just now.
                    let idleSeconds = max(0, snapshot.now.timeIntervalSince(last))
                    return Rank(member, tier: member.penalty, metric: -idleSeconds)
                },
                strategy: strategy)

        case .fewestcalls:
            return offer(
                eligible.map { Rank($0, tier: $0.penalty, metric: Double($0.completedCount)) },
                strategy: strategy)

        case .balanced:
            return offer(
                eligible.map { Rank($0, tier: $0.penalty, metric: Double($0.openConversations)) },
                strategy: strategy)

        case .linear:
            return offer(
                eligible.map { Rank($0, tier: $0.penalty, metric: Double($0.position)) },
                strategy: strategy)

        case .rrmemory, .rrordered:
            return offer(roundRobinRanks(eligible, snapshot: snapshot), strategy: strategy)
        }
    }

    /// Round-robin ranks: members after the cursor in cycle order come first, in that order, then the
    /// wrap-around from the start of the cycle up to and including the cursor (Asterisk's
    /// `pos < rrpos ? 1000 + pos : pos`, without its limit of 1000 members).
    ///
    /// The cycle is user-id order for `rrmemory` and the admin's member order (position, then user id)
    /// for `rrordered`. The cursor is looked up among all members, so a paused or full member keeps its
    /// place; an `rrordered` cursor that is no longer a member starts again at the top.
    private static func roundRobinRanks(_ eligible: [AssignmentCandidate], snapshot: AssignmentSnapshot) -> [Rank] {
        let comesAfterCursor: (AssignmentCandidate) -> Bool
        let cycle: [AssignmentCandidate]
        if snapshot.strategy == .rrmemory {
            cycle = eligible.sorted { $0.userID < $1.userID }
            comesAfterCursor = { member in snapshot.rrCursor.map { member.userID > $0 } ?? true }
        } else {
            cycle = eligible  // already in member order
            let cursor = snapshot.rrCursor.flatMap { id in snapshot.members.first { $0.userID == id } }
            comesAfterCursor = { member in
                cursor.map { (member.position, member.userID) > ($0.position, $0.userID) } ?? true
            }
        }
        return cycle.enumerated().map { index, member in
            let lap = comesAfterCursor(member) ? 0 : cycle.count
            return Rank(member, tier: member.penalty, metric: Double(lap + index))
        }
    }

    /// An offer to the lowest-ranked member, carrying the new cursor for round-robin strategies.
    private static func offer(_ ranks: [Rank], strategy: RoutingStrategy) -> AssignmentDecision {
        guard let chosen = ranks.min() else { return .queue }
        return .offer(to: [chosen.userID], rrCursor: strategy.usesCursor ? chosen.userID : nil)
    }

    /// A uniform draw in `0..<bound`, by rejection sampling written out here so that a seeded
    /// sequence of decisions is fixed by this code alone, not by the standard library's algorithm.
    static func draw(below bound: UInt64, using rng: inout some RandomNumberGenerator) -> UInt64 {
        precondition(bound > 0, "a draw needs a positive bound")
        // Values below 2^64 mod bound would make the low residues likelier; those are drawn again.
        let rejectBelow = (0 &- bound) % bound
        while true {
            let value = rng.next()
            if value >= rejectBelow {
                return value % bound
            }
        }
    }

    /// A member's place in a decision; lower ranks are offered first.
    private struct Rank: Comparable {
        /// The penalty tier (0 for everyone under `wrandom`).
        var tier: Int
        /// The strategy's own measure; lower is better.
        var metric: Double
        var openConversations: Int
        var position: Int
        var userID: Int64

        init(_ member: AssignmentCandidate, tier: Int, metric: Double) {
            self.tier = tier
            self.metric = metric
            openConversations = member.openConversations
            position = member.position
            userID = member.userID
        }

        static func < (lhs: Rank, rhs: Rank) -> Bool {
            (lhs.tier, lhs.metric, lhs.openConversations, lhs.position, lhs.userID)
                < (rhs.tier, rhs.metric, rhs.openConversations, rhs.position, rhs.userID)
        }
    }
}
