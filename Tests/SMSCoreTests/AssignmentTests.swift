import Foundation
import Testing

@testable import SMSCore

/// The routing rules of SPEC C8; every expected pick below is worked out by hand from the rules
/// (the random ones from SplitMix64 draws computed independently of this code).
@Suite("Conversation assignment")
struct AssignmentTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    /// A member; `idle` is the seconds since their last completed conversation (`nil`: never used).
    static func member(
        _ userID: Int64,
        position: Int,
        penalty: Int = 0,
        status: AssignmentCandidate.Status = .available,
        open: Int = 0,
        idle: TimeInterval? = nil,
        completed: Int = 0
    ) -> AssignmentCandidate {
        AssignmentCandidate(
            userID: userID, position: position, penalty: penalty, status: status, openConversations: open,
            lastCompletedAt: idle.map { now.addingTimeInterval(-$0) }, completedCount: completed)
    }

    static func decide(
        _ strategy: RoutingStrategy,
        _ members: [AssignmentCandidate],
        cap: Int = 3,
        cursor: Int64? = nil,
        excluded: Set<Int64> = [],
        seed: UInt64 = 1
    ) -> AssignmentDecision {
        var rng = SeededRandom(seed: seed)
        return decide(strategy, members, cap: cap, cursor: cursor, excluded: excluded, rng: &rng)
    }

    static func decide(
        _ strategy: RoutingStrategy,
        _ members: [AssignmentCandidate],
        cap: Int = 3,
        cursor: Int64? = nil,
        excluded: Set<Int64> = [],
        rng: inout SeededRandom
    ) -> AssignmentDecision {
        let snapshot = AssignmentSnapshot(
            strategy: strategy, members: members, maxPerAgent: cap, rrCursor: cursor, now: now, excluded: excluded)
        return Assignment.decide(snapshot, using: &rng)
    }

    /// Runs `count` decisions in a row, feeding each returned cursor into the next one.
    static func roundRobin(
        _ strategy: RoutingStrategy, _ members: [AssignmentCandidate], from cursor: Int64? = nil, count: Int
    ) -> [Int64] {
        var cursor = cursor
        var picks: [Int64] = []
        for _ in 0..<count {
            let decision = decide(strategy, members, cursor: cursor)
            picks.append(contentsOf: decision.offeredUserIDs)
            cursor = decision.rrCursor ?? cursor
        }
        return picks
    }

    // MARK: - Strategy names and the generator

    @Test func strategiesAreExactlyTheNineOfTheSpecWithStableNames() throws {
        #expect(
            RoutingStrategy.allCases.map(\.rawValue) == [
                "ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom",
                "balanced",
            ])
        #expect(RoutingStrategy(rawValue: "rrordered") == .rrordered)
        #expect(RoutingStrategy(rawValue: "roundrobin") == nil)
        let decoded = try JSONDecoder().decode([RoutingStrategy].self, from: Data(#"["wrandom","balanced"]"#.utf8))
        #expect(decoded == [.wrandom, .balanced])
        #expect(RoutingStrategy.allCases.filter(\.usesCursor) == [.rrmemory, .rrordered])
    }

    @Test func seededRandomIsSplitMix64() {
        // The published SplitMix64 reference outputs for seeds 1234567 and 0.
        var generator = SeededRandom(seed: 1_234_567)
        #expect(
            (0..<5).map { _ in generator.next() } == [
                6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423,
                4_593_380_528_125_082_431, 16_408_922_859_458_223_821,
            ])
        var zero = SeededRandom(seed: 0)
        #expect(
            (0..<3).map { _ in zero.next() } == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    @Test func drawsStayBelowTheirBoundAndCoverIt() {
        var rng = SeededRandom(seed: 9)
        var seen = Set<UInt64>()
        for _ in 0..<1000 {
            let value = Assignment.draw(below: 7, using: &rng)
            #expect(value < 7)
            seen.insert(value)
        }
        #expect(seen == Set(0..<7))
        #expect(Assignment.draw(below: 1, using: &rng) == 0)
    }

    // MARK: - Eligibility, shared by every strategy

    @Test(arguments: RoutingStrategy.allCases)
    func onlyAvailableMembersBelowTheCapAndNotExcludedAreOffered(_ strategy: RoutingStrategy) {
        // Every ineligible member would be the first choice of some strategy if it counted.
        let members = [
            Self.member(1, position: 0, status: .paused),
            Self.member(2, position: 1, status: .offline),
            Self.member(3, position: 2, open: 3),  // at the cap of 3
            Self.member(4, position: 3),  // timed out on this conversation's offer
            Self.member(5, position: 4, penalty: 0, open: 2, idle: 10, completed: 9),
        ]
        let decision = Self.decide(strategy, members, cap: 3, cursor: 2, excluded: [4])
        #expect(decision.offeredUserIDs == [5])
        #expect(decision.rrCursor == (strategy.usesCursor ? 5 : nil))
    }

    @Test(arguments: RoutingStrategy.allCases)
    func nobodyEligibleKeepsTheConversationQueued(_ strategy: RoutingStrategy) {
        let cases: [(String, [AssignmentCandidate], Set<Int64>)] = [
            ("empty campaign", [], []),
            (
                "everyone paused or offline",
                [Self.member(1, position: 0, status: .paused), Self.member(2, position: 1, status: .offline)], []
            ),
            ("everyone at the cap", [Self.member(1, position: 0, open: 2), Self.member(2, position: 1, open: 5)], []),
            ("everyone excluded", [Self.member(1, position: 0), Self.member(2, position: 1)], [1, 2]),
        ]
        for (name, members, excluded) in cases {
            let decision = Self.decide(strategy, members, cap: 2, cursor: 1, excluded: excluded)
            #expect(decision == .queue, "\(name)")
            #expect(decision.offeredUserIDs.isEmpty && decision.rrCursor == nil, "\(name)")
        }
    }

    @Test func theCapCountsOpenAndOfferedConversations() {
        let snapshot = AssignmentSnapshot(
            strategy: .linear,
            members: [Self.member(1, position: 0, open: 2), Self.member(2, position: 1, open: 1)],
            maxPerAgent: 2, now: Self.now)
        #expect(snapshot.eligibleMembers.map(\.userID) == [2])
        var rng = SeededRandom(seed: 1)
        #expect(Assignment.decide(snapshot, using: &rng) == .offer(to: [2], rrCursor: nil))

        var noCapacity = snapshot
        noCapacity.maxPerAgent = 0
        #expect(Assignment.decide(noCapacity, using: &rng) == .queue)
        var roomy = snapshot
        roomy.maxPerAgent = 3
        #expect(Assignment.decide(roomy, using: &rng) == .offer(to: [1], rrCursor: nil))
    }

    @Test(arguments: RoutingStrategy.allCases.filter { $0 != .wrandom })
    func aLowerPenaltyTierWinsEvenWhenWorseOnEveryOtherMeasure(_ strategy: RoutingStrategy) {
        // 7 has penalty 0 but is busy, just finished, has completed the most and is last in the list;
        // 8 and 9 (penalty 1 and 2) beat it on every strategy metric. Cursor 7: round robin wraps to 7.
        let members = [
            Self.member(8, position: 0, penalty: 1),
            Self.member(9, position: 1, penalty: 2),
            Self.member(7, position: 2, penalty: 0, open: 2, idle: 0, completed: 40),
        ]
        for seed: UInt64 in 1...50 {
            let decision = Self.decide(strategy, members, cap: 3, cursor: 7, seed: seed)
            #expect(decision.offeredUserIDs == [7], "seed \(seed)")
        }
        // Once 7 is full, the next tier takes over.
        let full = members.map { $0.userID == 7 ? Self.member(7, position: 2, open: 3) : $0 }
        #expect(Self.decide(strategy, full, cap: 3).offeredUserIDs == [8])
    }

    @Test(arguments: RoutingStrategy.allCases)
    func theOrderOfTheMemberListDoesNotMatter(_ strategy: RoutingStrategy) {
        let members = [
            Self.member(1, position: 2, penalty: 1, open: 1, idle: 50, completed: 3),
            Self.member(2, position: 0, open: 2, idle: 500, completed: 5),
            Self.member(3, position: 3, open: 0, completed: 5),
            Self.member(4, position: 1, penalty: 3, open: 1, idle: 5, completed: 1),
            Self.member(5, position: 4, open: 1, idle: 20, completed: 2),
        ]
        let expected = Self.decide(strategy, members, cursor: 2, seed: 77)
        #expect(Self.decide(strategy, members.reversed(), cursor: 2, seed: 77) == expected)
        let shuffled = [members[3], members[0], members[4], members[2], members[1]]
        #expect(Self.decide(strategy, shuffled, cursor: 2, seed: 77) == expected)
    }

    // MARK: - ringall

    @Test func ringallOffersEveryEligibleMemberOfTheBestTierAtOnce() {
        let members = [
            Self.member(1, position: 0, open: 1),
            Self.member(2, position: 1, penalty: 1),  // worse tier: not rung
            Self.member(3, position: 2, open: 0),
            Self.member(4, position: 3, status: .paused),
            Self.member(5, position: 4, open: 1),
            Self.member(6, position: 5),  // excluded
        ]
        // Fewest open first (3), then member order (1 before 5).
        #expect(Self.decide(.ringall, members, excluded: [6]) == .offer(to: [3, 1, 5], rrCursor: nil))
        // With the whole best tier unavailable, the next tier rings.
        #expect(Self.decide(.ringall, members, excluded: [1, 3, 5, 6]) == .offer(to: [2], rrCursor: nil))
    }

    // MARK: - leastrecent

    @Test func leastrecentPrefersNeverUsedThenLongestIdle() {
        let members = [
            Self.member(1, position: 0, idle: 60),
            Self.member(2, position: 1, idle: 3600),
            Self.member(3, position: 2, idle: 600),
            Self.member(4, position: 3, open: 2),  // never used in this campaign
        ]
        #expect(Self.decide(.leastrecent, members) == .offer(to: [4], rrCursor: nil))
        #expect(Self.decide(.leastrecent, members, excluded: [4]).offeredUserIDs == [2])
        #expect(Self.decide(.leastrecent, members, excluded: [4, 2]).offeredUserIDs == [3])
        #expect(Self.decide(.leastrecent, members, excluded: [4, 2, 3]).offeredUserIDs == [1])
    }

    @Test func leastrecentTiesBreakByFewestOpenThenMemberOrder() {
        let members = [
            Self.member(1, position: 0, open: 2, idle: 300),
            Self.member(2, position: 1, open: 1, idle: 300),
            Self.member(3, position: 2, open: 1, idle: 300),
            Self.member(4, position: 3, open: 0, idle: -120),  // ended "in the future" (clock skew): as if just now
            Self.member(5, position: 4, open: 2, idle: 0),
        ]
        #expect(Self.decide(.leastrecent, members).offeredUserIDs == [2])
        #expect(Self.decide(.leastrecent, members, excluded: [2]).offeredUserIDs == [3])
        #expect(Self.decide(.leastrecent, members, excluded: [2, 3]).offeredUserIDs == [1])
        // 4 and 5 both count as idle 0 seconds; 4 has fewer open conversations.
        #expect(Self.decide(.leastrecent, members, excluded: [1, 2, 3]).offeredUserIDs == [4])
    }

    @Test func leastrecentKeepsPenaltyTiersEvenAfterWeeksIdle() {
        // Asterisk's 1,000,000 − idle metric would cross a tier after 11.6 days idle; tiers here are strict.
        let members = [
            Self.member(1, position: 0, penalty: 0, idle: 1),
            Self.member(2, position: 1, penalty: 1, idle: 30 * 86_400),
        ]
        #expect(Self.decide(.leastrecent, members).offeredUserIDs == [1])
    }

    // MARK: - fewestcalls

    @Test func fewestcallsPrefersFewestCompletedThenFewestOpen() {
        let members = [
            Self.member(1, position: 0, open: 0, completed: 4),
            Self.member(2, position: 1, open: 2, completed: 1),
            Self.member(3, position: 2, open: 1, completed: 1),
            Self.member(4, position: 3, open: 1, completed: 1),
        ]
        #expect(Self.decide(.fewestcalls, members) == .offer(to: [3], rrCursor: nil))
        #expect(Self.decide(.fewestcalls, members, excluded: [3]).offeredUserIDs == [4])
        #expect(Self.decide(.fewestcalls, members, excluded: [3, 4]).offeredUserIDs == [2])
        #expect(Self.decide(.fewestcalls, members, excluded: [2, 3, 4]).offeredUserIDs == [1])
    }

    // MARK: - random

    @Test func randomDrawsUniformlyWithinTheBestTierReproducibly() {
        // Best tier, in member order: 11, 13, 14 (12 has penalty 1, 15 is full). SplitMix64 seed 1
        // gives draws mod 3 of 2, 1, 0, 2, 0, 2.
        let members = [
            Self.member(11, position: 0),
            Self.member(12, position: 1, penalty: 1),
            Self.member(13, position: 2, open: 2),
            Self.member(14, position: 3),
            Self.member(15, position: 4, open: 3),
        ]
        var rng = SeededRandom(seed: 1)
        let picks = (0..<6).flatMap { _ in Self.decide(.random, members, rng: &rng).offeredUserIDs }
        #expect(picks == [14, 13, 11, 14, 11, 14])

        var again = SeededRandom(seed: 1)
        #expect((0..<6).flatMap { _ in Self.decide(.random, members, rng: &again).offeredUserIDs } == picks)
        #expect(Self.decide(.random, members, seed: 1).rrCursor == nil)
    }

    @Test func randomIsRoughlyUniformOverManyDraws() {
        let members = (1...4).map { Self.member(Int64($0), position: $0, open: $0 % 3) }
        var rng = SeededRandom(seed: 2024)
        var counts: [Int64: Int] = [:]
        for _ in 0..<40_000 {
            for id in Self.decide(.random, members, rng: &rng).offeredUserIDs { counts[id, default: 0] += 1 }
        }
        // 10,000 expected each; ±500 is more than five standard deviations (σ ≈ 87).
        #expect(counts.keys.sorted() == [1, 2, 3, 4])
        for (id, count) in counts {
            #expect(abs(count - 10_000) <= 500, "member \(id) drawn \(count) times")
        }
    }

    // MARK: - wrandom

    @Test func wrandomWeighsPenaltiesInsteadOfTieringThem() {
        // Draws in member order: 21 in 0..<1000, 22 in 0..<2000, 23 in 0..<4000; lowest wins.
        let members = [
            Self.member(21, position: 0, penalty: 0),
            Self.member(22, position: 1, penalty: 1),
            Self.member(23, position: 2, penalty: 3),
        ]
        var rng = SeededRandom(seed: 1)
        let picks = (0..<6).flatMap { _ in Self.decide(.wrandom, members, rng: &rng).offeredUserIDs }
        #expect(picks == [21, 21, 21, 22, 22, 23])
        #expect(Self.decide(.wrandom, members, seed: 1).rrCursor == nil)
    }

    @Test func wrandomFavoursTheLowerPenaltyStatistically() {
        // P(draw in 0..<1000 ≤ draw in 0..<2000) ≈ 0.75, so about 15,000 of 20,000 go to penalty 0.
        let members = [Self.member(1, position: 0, penalty: 0), Self.member(2, position: 1, penalty: 1)]
        var rng = SeededRandom(seed: 2024)
        var lowPenaltyWins = 0
        for _ in 0..<20_000 where Self.decide(.wrandom, members, rng: &rng).offeredUserIDs == [1] {
            lowPenaltyWins += 1
        }
        #expect((14_000...16_000).contains(lowPenaltyWins), "penalty 0 won \(lowPenaltyWins) times")
    }

    @Test func wrandomTreatsNegativePenaltiesAsZero() {
        let members = [Self.member(1, position: 0, penalty: -5), Self.member(2, position: 1, penalty: 0)]
        var rng = SeededRandom(seed: 5)
        var firstWins = 0
        for _ in 0..<10_000 where Self.decide(.wrandom, members, rng: &rng).offeredUserIDs == [1] {
            firstWins += 1
        }
        // Equal weights: about half each (the first also takes ties, 0.1 %).
        #expect((4_700...5_300).contains(firstWins), "first won \(firstWins) times")
    }

    // MARK: - rrmemory and rrordered

    /// Member order (position) differs from user-id order on purpose.
    static let roundRobinMembers = [
        member(30, position: 0),
        member(10, position: 1),
        member(20, position: 2, open: 2),
    ]

    @Test func rrmemoryCyclesInUserIDOrderAndWraps() {
        #expect(Self.roundRobin(.rrmemory, Self.roundRobinMembers, count: 7) == [10, 20, 30, 10, 20, 30, 10])
        #expect(Self.decide(.rrmemory, Self.roundRobinMembers, cursor: 30) == .offer(to: [10], rrCursor: 10))
        #expect(Self.decide(.rrmemory, Self.roundRobinMembers, cursor: 20) == .offer(to: [30], rrCursor: 30))
    }

    @Test func rrorderedCyclesInTheAdminsMemberOrderAndWraps() {
        #expect(Self.roundRobin(.rrordered, Self.roundRobinMembers, count: 7) == [30, 10, 20, 30, 10, 20, 30])
        #expect(Self.decide(.rrordered, Self.roundRobinMembers, cursor: 20) == .offer(to: [30], rrCursor: 30))
        #expect(Self.decide(.rrordered, Self.roundRobinMembers, cursor: 30) == .offer(to: [10], rrCursor: 10))
    }

    @Test(arguments: [RoutingStrategy.rrmemory, .rrordered])
    func roundRobinSkipsIneligibleMembersButKeepsTheirPlace(_ strategy: RoutingStrategy) {
        // Cycle order 1, 2, 3, 4 for both (ids and positions agree). Cursor 1; 2 is paused.
        let members = [
            Self.member(1, position: 0),
            Self.member(2, position: 1, status: .paused),
            Self.member(3, position: 2),
            Self.member(4, position: 3),
        ]
        #expect(Self.decide(strategy, members, cursor: 1).offeredUserIDs == [3])
        // The cursor on the paused member still continues after it.
        #expect(Self.decide(strategy, members, cursor: 2).offeredUserIDs == [3])
        // 3 excluded (offer timed out): on to 4; 4 full as well: wrap to 1.
        #expect(Self.decide(strategy, members, cursor: 2, excluded: [3]).offeredUserIDs == [4])
        let fourFull = members.map { $0.userID == 4 ? Self.member(4, position: 3, open: 3) : $0 }
        #expect(Self.decide(strategy, fourFull, cursor: 2, excluded: [3]) == .offer(to: [1], rrCursor: 1))
        // Only the cursor's own member left: it gets the conversation again.
        #expect(Self.decide(strategy, members, cursor: 1, excluded: [3, 4]).offeredUserIDs == [1])
    }

    @Test func aCursorOnARemovedMemberResumesByIDForRrmemoryAndAtTheTopForRrordered() {
        // 25 is no longer a member. rrmemory continues after id 25 (30); rrordered cannot place it: top.
        #expect(Self.decide(.rrmemory, Self.roundRobinMembers, cursor: 25).offeredUserIDs == [30])
        #expect(Self.decide(.rrordered, Self.roundRobinMembers, cursor: 25).offeredUserIDs == [30])
        #expect(Self.decide(.rrmemory, Self.roundRobinMembers, cursor: 15).offeredUserIDs == [20])
        #expect(Self.decide(.rrordered, Self.roundRobinMembers, cursor: 15).offeredUserIDs == [30])
        // The column's default of 0 behaves like no cursor.
        #expect(Self.decide(.rrmemory, Self.roundRobinMembers, cursor: 0).offeredUserIDs == [10])
        #expect(Self.decide(.rrordered, Self.roundRobinMembers, cursor: 0).offeredUserIDs == [30])
    }

    @Test(arguments: [RoutingStrategy.rrmemory, .rrordered])
    func roundRobinStaysInTheBestTierAndIgnoresLoad(_ strategy: RoutingStrategy) {
        let members = [
            Self.member(1, position: 0, open: 2),
            Self.member(2, position: 1, penalty: 1),
            Self.member(3, position: 2),
        ]
        // 2 (penalty 1) is never reached while 1 or 3 has room; 1's load does not move it out of turn.
        #expect(Self.roundRobin(strategy, members, count: 5) == [1, 3, 1, 3, 1])
        #expect(Self.roundRobin(strategy, members, from: 2, count: 2) == [3, 1])
    }

    // MARK: - linear

    @Test func linearAlwaysStartsFromTheTopOfTheMemberOrder() {
        let members = [
            Self.member(5, position: 2),
            Self.member(9, position: 0, open: 2),
            Self.member(7, position: 1),
        ]
        // Top is 9 however busy, as long as it has room; no memory between decisions.
        #expect(Self.decide(.linear, members) == .offer(to: [9], rrCursor: nil))
        #expect(Self.decide(.linear, members, cursor: 9).offeredUserIDs == [9])
        #expect(Self.decide(.linear, members, excluded: [9]).offeredUserIDs == [7])
        #expect(Self.decide(.linear, members, cap: 2).offeredUserIDs == [7])
        #expect(Self.decide(.linear, members, excluded: [9, 7]).offeredUserIDs == [5])
    }

    // MARK: - balanced

    @Test func balancedPrefersFewestOpenConversationsThenMemberOrder() {
        let members = [
            Self.member(1, position: 0, open: 2, completed: 0),
            Self.member(2, position: 1, open: 1, idle: 1, completed: 50),
            Self.member(3, position: 2, open: 1),
            Self.member(4, position: 3, status: .paused, open: 0),
        ]
        #expect(Self.decide(.balanced, members) == .offer(to: [2], rrCursor: nil))
        #expect(Self.decide(.balanced, members, excluded: [2]).offeredUserIDs == [3])
        #expect(Self.decide(.balanced, members, excluded: [2, 3]).offeredUserIDs == [1])
    }

    // MARK: - Ties

    @Test(arguments: RoutingStrategy.allCases.filter { $0 != .random && $0 != .wrandom })
    func completeTiesGoToTheTopOfTheMemberOrderThenTheLowestUserID(_ strategy: RoutingStrategy) {
        // Identical on every measure; 6 and 4 share position 0 (possible after a bad import).
        let members = [
            Self.member(8, position: 1, open: 1, idle: 60, completed: 2),
            Self.member(6, position: 0, open: 1, idle: 60, completed: 2),
            Self.member(4, position: 0, open: 1, idle: 60, completed: 2),
        ]
        let expected: [Int64] = strategy == .ringall ? [4, 6, 8] : [4]
        #expect(Self.decide(strategy, members).offeredUserIDs == expected)
    }

    @Test func tiesBreakByFewestOpenConversationsBeforeMemberOrder() {
        // SPEC C8: "Ties break by fewest open conversations."
        let members = [
            Self.member(1, position: 0, open: 2, idle: 60, completed: 3),
            Self.member(2, position: 1, open: 1, idle: 60, completed: 3),
        ]
        for strategy in [RoutingStrategy.leastrecent, .fewestcalls, .balanced] {
            #expect(Self.decide(strategy, members).offeredUserIDs == [2], "\(strategy)")
        }
    }
}
