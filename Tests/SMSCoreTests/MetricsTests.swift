import Foundation
import SMSCore
import Testing

/// The contact-center metrics of `docs/metrics.md` over a scripted day whose every expected value is
/// worked out by hand in the comments (times are local, America/Mexico_City, UTC-6 all year).
@Suite("Contact-center metrics")
struct MetricsTests {
    // MARK: the scripted day

    static let mexico = TimeZone(identifier: "America/Mexico_City")!
    static let rome = TimeZone(identifier: "Europe/Rome")!
    /// 2025-06-10 in Mexico City: 2025-06-10T06:00Z to 2025-06-11T06:00Z.
    static let day = LocalDate(containing: dayStart, in: mexico)
    static let dayStart = Date(timeIntervalSince1970: 1_749_535_200)
    static let window = DateInterval(start: dayStart, duration: 86_400)
    /// Service level 60 s, abandon 600 s (the campaign defaults).
    static let thresholds = MetricThresholds(serviceLevelSeconds: 60, abandonSeconds: 600)

    /// Local time on the scripted day; hours past 24 are the next day, negative ones the day before.
    static func at(_ hour: Int, _ minute: Int, _ second: Int = 0) -> Date {
        dayStart.addingTimeInterval(TimeInterval(hour * 3600 + minute * 60 + second))
    }

    /// The end-of-day report is read at 01:00 the next morning.
    static let endOfDay = at(25, 0)

    /// An inbound conversation: opened when queued unless said otherwise.
    static func conversation(
        _ id: Int64, agent: Int64? = nil, queued: Date?, opened: Date? = nil, assigned: Date? = nil, replied: Date? = nil,
        closed: Date? = nil, optedOut: Date? = nil
    ) -> ConversationFacts {
        ConversationFacts(
            id: id, agentID: agent, openedAt: opened ?? queued ?? dayStart, queuedAt: queued, assignedAt: assigned,
            firstResponseAt: replied, closedAt: closed, optedOutAt: optedOut)
    }

    /// Agents 1, 2 and 3. Per conversation: wait (queue → reply, close, opt-out or now), outcome, agent first
    /// response (assigned → reply), handle (assigned → closed), chat (opened → closed or now), all at 01:00 next day.
    static let facts: [ConversationFacts] = [
        // c1  wait 40 answered within SL | FRT 30 | handle 08:00:10→08:10 = 590 | chat 600
        conversation(1, agent: 1, queued: at(8, 0), assigned: at(8, 0, 10), replied: at(8, 0, 40), closed: at(8, 10)),
        // c2  wait 60: exactly the SL threshold, within | FRT 55 | handle 08:05:05→08:20 = 895 | chat 900
        conversation(2, agent: 2, queued: at(8, 5), assigned: at(8, 5, 5), replied: at(8, 6), closed: at(8, 20)),
        // c3  wait 121 answered, not within | FRT 61 | handle 08:31→08:45 = 840 | chat 900
        conversation(3, agent: 1, queued: at(8, 30), assigned: at(8, 31), replied: at(8, 32, 1), closed: at(8, 45)),
        // c4  closed by a supervisor while queued, no reply: abandoned (closed), wait 180 | chat 180
        conversation(4, queued: at(9, 0), closed: at(9, 3)),
        // c5  opted out at 09:12 before any reply: abandoned (opted out), wait 120 | handle 09:10:30→09:15 = 270 | chat 300
        conversation(5, agent: 3, queued: at(9, 10), assigned: at(9, 10, 30), closed: at(9, 15), optedOut: at(9, 12)),
        // c6  wait 600: exactly the abandon threshold, answered (not within SL) | FRT 60 | handle 10:09→10:30 = 1260 | chat 1800
        conversation(6, agent: 2, queued: at(10, 0), assigned: at(10, 9), replied: at(10, 10), closed: at(10, 30)),
        // c7  wait 601: abandoned (unanswered), replied late | FRT 301 | handle 10:25→10:40 = 900 | chat 1200
        conversation(7, agent: 3, queued: at(10, 20), assigned: at(10, 25), replied: at(10, 30, 1), closed: at(10, 40)),
        // c8  closed at 12:00, after the 11:10 deadline: abandoned (unanswered), wait 3600 | chat 3600
        conversation(8, queued: at(11, 0), closed: at(12, 0)),
        // c9  assigned the instant it was queued; wait 20 within | FRT 20 | handle 11:30→12:30 = 3600 | chat 3600
        conversation(9, agent: 1, queued: at(11, 30), assigned: at(11, 30), replied: at(11, 30, 20), closed: at(12, 30)),
        // c10 wait 90 not within | FRT 30 | handle 11:46→12:00 = 840 | chat 900
        conversation(10, agent: 1, queued: at(11, 45), assigned: at(11, 46), replied: at(11, 46, 30), closed: at(12, 0)),
        // c11 wait 45 within | FRT 15 | handle 11:50:30→12:10 = 1170 | chat 1200
        conversation(11, agent: 2, queued: at(11, 50), assigned: at(11, 50, 30), replied: at(11, 50, 45), closed: at(12, 10)),
        // c12 started by agent 3 (SPEC A1): never queued, not offered | handle 13:00→13:30 = 1800 | chat 1800
        conversation(12, agent: 3, queued: nil, opened: at(13, 0), assigned: at(13, 0), replied: at(13, 0), closed: at(13, 30)),
        // c13 wait 60 within | FRT 10 | handle 14:00:50→14:40 = 2350 | chat 2400
        conversation(13, agent: 1, queued: at(14, 0), assigned: at(14, 0, 50), replied: at(14, 1), closed: at(14, 40)),
        // c14 wait 240 not within | FRT 120 | handle 15:02→15:10 = 480 | chat 600
        conversation(14, agent: 3, queued: at(15, 0), assigned: at(15, 2), replied: at(15, 4), closed: at(15, 10)),
        // c15 STOP at 16:01 while queued (stays queued until a supervisor closes it at 16:30):
        //     abandoned (opted out), wait 60 | chat 1800
        conversation(15, queued: at(16, 0), closed: at(16, 30), optedOut: at(16, 1)),
        // c16 wait 35 within | FRT 30 | handle 17:00:05→17:05 = 295 | chat 300
        conversation(16, agent: 2, queued: at(17, 0), assigned: at(17, 0, 5), replied: at(17, 0, 35), closed: at(17, 5)),
        // c17 spans midnight: queued 23:55, reply 00:03 → wait 480 answered, not within | FRT 23:56→00:03 = 420 |
        //     handle 23:56→00:20 = 1440 | chat 1500; all whole, all on the 10th
        conversation(17, agent: 1, queued: at(23, 55), assigned: at(23, 56), replied: at(24, 3), closed: at(24, 20)),
        // c18 from the day before (queued 23:50 on the 9th, wait 570): not counted on the 10th except its
        //     assignment 00:00→00:10 (600 s) in agent 2's concurrency
        conversation(18, agent: 2, queued: at(-1, 50), assigned: at(-1, 59), replied: at(-1, 59, 30), closed: at(0, 10)),
        // c19 still open at 01:00: wait 40 within | FRT 30 | no handle time | chat so far 18:00→01:00 = 25200
        conversation(19, agent: 3, queued: at(18, 0), assigned: at(18, 0, 10), replied: at(18, 0, 40)),
        // c20 still queued at 01:00, never answered: abandoned (unanswered), wait so far 18:30→01:00 = 23400 | chat 23400
        conversation(20, queued: at(18, 30)),
    ]

    // MARK: one conversation

    @Test(arguments: [(59, true), (60, true), (61, false)])
    func aReplyExactlyAtTheServiceLevelThresholdIsWithinIt(_ wait: Int, _ within: Bool) {
        let fact = Self.conversation(1, agent: 1, queued: Self.at(9, 0), assigned: Self.at(9, 0), replied: Self.at(9, 0, wait))
        #expect(fact.queueOutcome(thresholds: Self.thresholds, at: Self.endOfDay)
            == .answered(wait: TimeInterval(wait), withinServiceLevel: within))
    }

    @Test func aReplyExactlyAtTheAbandonThresholdIsAnsweredAndOneSecondLaterIsAbandoned() {
        let onTime = Self.conversation(1, queued: Self.at(9, 0), replied: Self.at(9, 10))
        let late = Self.conversation(2, queued: Self.at(9, 0), replied: Self.at(9, 10, 1))
        #expect(onTime.queueOutcome(thresholds: Self.thresholds, at: Self.endOfDay) == .answered(wait: 600, withinServiceLevel: false))
        #expect(late.queueOutcome(thresholds: Self.thresholds, at: Self.endOfDay)
            == .abandoned(wait: 601, reason: .unanswered, repliedLate: true))
    }

    @Test func anUnansweredConversationIsWaitingUpToTheAbandonThresholdAndAbandonedAfterIt() {
        // c7: queued 10:20, reply at 10:30:01; the deadline is 10:30:00.
        let c7 = Self.facts[6]
        #expect(c7.queueOutcome(thresholds: Self.thresholds, at: Self.at(10, 27)) == .waiting(wait: 420))
        #expect(c7.queueOutcome(thresholds: Self.thresholds, at: Self.at(10, 30)) == .waiting(wait: 600))
        #expect(c7.queueOutcome(thresholds: Self.thresholds, at: Self.at(10, 30).addingTimeInterval(0.5))
            == .abandoned(wait: 600.5, reason: .unanswered, repliedLate: false))
        #expect(c7.queueOutcome(thresholds: Self.thresholds, at: Self.at(10, 30, 1))
            == .abandoned(wait: 601, reason: .unanswered, repliedLate: true))
        #expect(c7.queueOutcome(thresholds: Self.thresholds, at: Self.at(10, 19)) == nil)
    }

    @Test func anOptOutBeforeTheReplyAbandonsAndAReplyAtTheInstantOfTheCloseAnswers() {
        let optedOut = Self.conversation(1, agent: 1, queued: Self.at(9, 0), assigned: Self.at(9, 0), replied: Self.at(9, 0, 40),
                                         optedOut: Self.at(9, 0, 30))
        let repliedAndClosed = Self.conversation(2, agent: 1, queued: Self.at(9, 0), assigned: Self.at(9, 0),
                                                 replied: Self.at(9, 2), closed: Self.at(9, 2))
        #expect(optedOut.queueOutcome(thresholds: Self.thresholds, at: Self.endOfDay)
            == .abandoned(wait: 30, reason: .optedOut, repliedLate: false))
        #expect(repliedAndClosed.queueOutcome(thresholds: Self.thresholds, at: Self.endOfDay)
            == .answered(wait: 120, withinServiceLevel: false))
    }

    @Test func aConversationAnAgentStartedIsNotOfferedButIsHandled() {
        let c12 = Self.facts[11]
        #expect(c12.queueOutcome(thresholds: Self.thresholds, at: Self.endOfDay) == nil)
        #expect(c12.firstResponseTime(at: Self.endOfDay) == nil)
        #expect(c12.handleTime(at: Self.endOfDay) == 1800)
        #expect(c12.countedAt == Self.at(13, 0))
    }

    // MARK: the whole day

    @Test func theScriptedDayMatchesTheHandComputedQueueMetrics() {
        let metrics = ConversationMetrics(facts: Self.facts, window: Self.window, thresholds: Self.thresholds, now: Self.endOfDay)
        let q = metrics.queue
        // Offered: every queued conversation counted on the 10th: c1-c11, c13-c17, c19, c20 = 18 (not c12, not c18).
        #expect(q.offered == 18)
        // Answered: c1 c2 c3 c6 c9 c10 c11 c13 c14 c16 c17 c19 = 12; within 60 s: c1 c2 c9 c11 c13 c16 c19 = 7.
        #expect(q.answered == 12)
        #expect(q.answeredWithinServiceLevel == 7)
        // Abandoned: unanswered c7 c8 c20, closed c4, opted out c5 c15 = 6; c7 got its reply late.
        #expect(q.abandonedUnanswered == 3)
        #expect(q.abandonedClosed == 1)
        #expect(q.abandonedOptedOut == 2)
        #expect(q.abandoned == 6)
        #expect(q.repliedAfterAbandon == 1)
        #expect(q.waiting == 0)
        // 7/12, 7/(12 + 6), 6/18.
        #expect(q.serviceLevel == 7.0 / 12.0)
        #expect(q.serviceLevelCountingAbandons == 7.0 / 18.0)
        #expect(q.abandonRate == 6.0 / 18.0)
        // Waits: 40+60+121+180+120+600+601+3600+20+90+45+60+240+60+35+480+40+23400 = 29792 over 18; longest c20.
        #expect(q.waitSeconds == 29_792)
        #expect(q.averageWait == 29_792.0 / 18.0)
        #expect(q.longestWait == 23_400)
        // Agent first response: 30+55+61+60+301+20+30+15+10+120+30+420+30 = 1182 over 13 (c5 and c20 have none).
        #expect(q.firstResponses == 13)
        #expect(q.averageFirstResponseTime == 1182.0 / 13.0)
        // Handle: 590+895+840+270+1260+900+3600+840+1170+1800+2350+480+295+1440 = 16730 over 14 (c19 is open).
        #expect(q.handled == 14)
        #expect(q.averageHandleTime == 16_730.0 / 14.0)
        // Chat: closed c1-c17 = 600+900+900+180+300+1800+1200+3600+3600+900+1200+1800+2400+600+1800+300+1500 = 23580
        // over 17; the longest counts open c19 (25200).
        #expect(q.closed == 17)
        #expect(q.averageChatTime == 23_580.0 / 17.0)
        #expect(q.longestChat == 25_200)
    }

    @Test func theScriptedDayMatchesTheHandComputedConcurrency() {
        let metrics = ConversationMetrics(facts: Self.facts, window: Self.window, thresholds: Self.thresholds, now: Self.endOfDay)
        // Agent 1: c1 590, c3 840, c9 3600, c10 840 (inside c9: peak 2), c13 2350, c17 23:56→24:00 240 = 8460;
        //          busy 590+840+3600+2350+240 = 7620.
        #expect(metrics.concurrencyByAgent[1] == occupancy(elapsed: 86_400, total: 8460, busy: 7620, peak: 2))
        // Agent 2: c18 00:00→00:10 600, c2 895, c6 1260, c11 1170, c16 295 = 4220, never two at once.
        #expect(metrics.concurrencyByAgent[2] == occupancy(elapsed: 86_400, total: 4220, busy: 4220, peak: 1))
        // Agent 3: c5 270, c7 900, c12 1800, c14 480, c19 18:00:10→24:00 21590 = 25040.
        #expect(metrics.concurrencyByAgent[3] == occupancy(elapsed: 86_400, total: 25_040, busy: 25_040, peak: 1))
        #expect(metrics.concurrencyByAgent.count == 3)
        // All: 8460+4220+25040 = 37720. Overlaps: c1/c2 295, c6/c7 300, c9/c10/c11 2010 (three at once
        // 11:50:30-12:00), c17/c19 240 → busy 37720-2845 = 34875.
        #expect(metrics.concurrency == occupancy(elapsed: 86_400, total: 37_720, busy: 34_875, peak: 3))
        #expect(metrics.concurrency.average == 37_720.0 / 86_400.0)
        #expect(metrics.concurrency.averageWhileBusy == 37_720.0 / 34_875.0)
        // Queue: c1 10, c2 5, c3 60, c4 180, c5 30, c6 540, c7 300, c8 3600, c9 0, c10 60, c11 30, c13 50,
        // c14 120, c15 1800 (an opt-out does not leave the queue), c16 5, c17 60, c19 10, c20 18:30→24:00 19800
        // = 26660; c8 overlaps c10 (60) and c11 (30), c20 overlaps c17 (60): busy 26510, peak 2. c9's empty
        // span counts for nothing.
        #expect(metrics.queueLength == occupancy(elapsed: 86_400, total: 26_660, busy: 26_510, peak: 2))
    }

    @Test(arguments: [900.0, 3600.0])
    func theSlicesOfTheDayAddUpToTheDay(_ every: TimeInterval) {
        let day = ConversationMetrics(facts: Self.facts, window: Self.window, thresholds: Self.thresholds, now: Self.endOfDay)
        let slices = ConversationMetrics.series(facts: Self.facts, window: Self.window, every: every, thresholds: Self.thresholds,
                                                now: Self.endOfDay)
        #expect(slices.count == Int(86_400 / every))
        #expect(slices.first?.window.start == Self.window.start)
        #expect(slices.last?.window.end == Self.window.end)
        #expect(sum(slices) == day)
    }

    @Test func theHourlySeriesPlacesEachConversationInTheHourItWasQueued() {
        let hours = ConversationMetrics.series(facts: Self.facts, window: Self.window, every: 3600, thresholds: Self.thresholds,
                                               now: Self.endOfDay)
        // 08:00: c1 c2 c3 offered and answered, c1 c2 within; c1/c2 overlap.
        #expect(hours[8].queue.offered == 3)
        #expect(hours[8].queue.answeredWithinServiceLevel == 2)
        #expect(hours[8].queue.serviceLevel == 2.0 / 3.0)
        #expect(hours[8].concurrency.peak == 2)
        // 11:00: c8 (abandoned), c9 c11 within, c10 not; three at once; c8 with c10 or c11 in the queue.
        #expect(hours[11].queue.offered == 4)
        #expect(hours[11].queue.answered == 3)
        #expect(hours[11].queue.abandoned == 1)
        #expect(hours[11].concurrency.peak == 3)
        #expect(hours[11].queueLength.peak == 2)
        // 23:00: c17 only, its wait and handle time whole although they end after midnight.
        #expect(hours[23].queue.offered == 1)
        #expect(hours[23].queue.waitSeconds == 480)
        #expect(hours[23].queue.handleSeconds == 1440)
        // 00:00-07:00: only c18's assignment from the day before.
        #expect(hours[0].queue == QueueMetrics())
        #expect(hours[0].concurrency.totalSeconds == 600)
    }

    @Test func aConversationSpanningMidnightCountsWholeOnTheDayItWasQueued() {
        let next = DateInterval(start: Self.window.end, duration: 86_400)
        let previous = DateInterval(start: Self.window.start.addingTimeInterval(-86_400), duration: 86_400)
        let nextDay = ConversationMetrics(facts: Self.facts, window: next, thresholds: Self.thresholds, now: Self.endOfDay)
        let dayBefore = ConversationMetrics(facts: Self.facts, window: previous, thresholds: Self.thresholds, now: Self.endOfDay)
        // c17 belongs to the 10th (checked above): nothing is counted on the 11th, where only its assignment
        // 00:00-00:20 (1200) and c19's 00:00-01:00 (3600) run, in the first hour, the 11th so far.
        #expect(nextDay.queue == QueueMetrics())
        #expect(nextDay.concurrency == occupancy(elapsed: 3600, total: 4800, busy: 3600, peak: 2))
        #expect(nextDay.concurrencyByAgent[1]?.totalSeconds == 1200)
        // c18 belongs to the 9th: wait 570 answered; handle 23:59→00:10 = 660 whole; 60 s of it that day.
        #expect(dayBefore.queue.offered == 1)
        #expect(dayBefore.queue.answered == 1)
        #expect(dayBefore.queue.waitSeconds == 570)
        #expect(dayBefore.queue.averageHandleTime == 660)
        #expect(dayBefore.concurrency.totalSeconds == 60)
    }

    // MARK: today so far and live values

    @Test func todaySoFarCountsOnlyWhatHappenedByNow() {
        let now = Self.at(10, 27)
        let metrics = ConversationMetrics(facts: Self.facts, window: Self.window, thresholds: Self.thresholds, now: now)
        let q = metrics.queue
        // c1-c7 queued; c7 still waiting (420 < 600); c6's close at 10:30 has not happened.
        #expect(q.offered == 7)
        #expect(q.answered == 4)  // c1 c2 c3 c6
        #expect(q.answeredWithinServiceLevel == 2)  // c1 c2
        #expect(q.abandoned == 2)  // c4 closed, c5 opted out
        #expect(q.waiting == 1)
        #expect(q.serviceLevel == 0.5)
        #expect(q.serviceLevelCountingAbandons == 2.0 / 6.0)
        #expect(q.abandonRate == 2.0 / 7.0)
        // 40+60+121+180+120+600+420 (c7 so far) = 1541.
        #expect(q.waitSeconds == 1541)
        #expect(q.longestWait == 600)
        #expect(q.averageFirstResponseTime == 206.0 / 4.0)  // 30+55+61+60
        #expect(q.averageHandleTime == 2595.0 / 4.0)  // c1 590, c2 895, c3 840, c5 270
        #expect(q.averageChatTime == 2880.0 / 5.0)  // 600+900+900+180+300
        #expect(q.longestChat == 1620)  // c6 open since 10:00
        // Elapsed 10:27 = 37620; c18 600, c1 590, c2 895, c3 840, c5 270, c6 10:09→10:27 1080, c7 10:25→10:27 120.
        #expect(metrics.concurrency.elapsedSeconds == 37_620)
        #expect(metrics.concurrency.totalSeconds == 4395)
        #expect(metrics.concurrency.peak == 2)
        // The rest of the day is present in the series, empty, and the series adds up to the day so far.
        let hours = ConversationMetrics.series(facts: Self.facts, window: Self.window, every: 3600, thresholds: Self.thresholds,
                                               now: now)
        #expect(hours.count == 24)
        #expect(hours[10].concurrency.elapsedSeconds == 1620)
        #expect(hours[11].queue == QueueMetrics())
        #expect(hours[11].concurrency.elapsedSeconds == 0)
        #expect(hours[11].concurrency.average == nil)
        #expect(sum(hours) == metrics)
    }

    @Test func liveValuesSeparateTheQueueFromClientsStillAwaitingAReply() {
        // 10:27: c6 (open since 10:00, replied) and c7 (assigned 10:25, no reply yet) are open; the queue is empty.
        let morning = LiveQueue(facts: Self.facts, now: Self.at(10, 27))
        #expect(morning.queueLength == 0)
        #expect(morning.longestQueueWait == nil)
        #expect(morning.awaitingReply == 1)
        #expect(morning.longestAwaitingReply == 420)
        #expect(morning.openConversations == 2)
        #expect(morning.longestOpenChat == 1620)
        #expect(morning.assignedByAgent == [2: 1, 3: 1])
        // 16:05: c15 opted out at 16:01 but is still in the queue; nobody awaits a reply.
        let afternoon = LiveQueue(facts: Self.facts, now: Self.at(16, 5))
        #expect(afternoon.queueLength == 1)
        #expect(afternoon.longestQueueWait == 300)
        #expect(afternoon.awaitingReply == 0)
        // 01:00 next day: c20 queued since 18:30 (23400), c19 open since 18:00 (25200).
        let night = LiveQueue(facts: Self.facts, now: Self.endOfDay)
        #expect(night.queueLength == 1)
        #expect(night.longestQueueWait == 23_400)
        #expect(night.awaitingReply == 1)
        #expect(night.longestAwaitingReply == 23_400)
        #expect(night.openConversations == 2)
        #expect(night.longestOpenChat == 25_200)
        #expect(night.assignedByAgent == [3: 1])
    }

    // MARK: edge cases

    @Test func noConversationsGiveZeroCountsAndNoRatios() {
        let metrics = ConversationMetrics(facts: [], window: Self.window, thresholds: Self.thresholds, now: Self.endOfDay)
        let q = metrics.queue
        #expect(q == QueueMetrics())
        let counts = [q.offered, q.answered, q.answeredWithinServiceLevel, q.abandoned, q.waiting, q.firstResponses, q.handled, q.closed]
        #expect(counts == [Int](repeating: 0, count: 8))
        #expect(q.serviceLevel == nil)
        #expect(q.serviceLevelCountingAbandons == nil)
        #expect(q.abandonRate == nil)
        #expect(q.averageWait == nil)
        #expect(q.longestWait == nil)
        #expect(q.averageFirstResponseTime == nil)
        #expect(q.averageHandleTime == nil)
        #expect(q.averageChatTime == nil)
        #expect(q.longestChat == nil)
        // Nobody was busy all day: concurrency 0 (a measured zero), and no "while busy" average.
        #expect(metrics.concurrency == occupancy(elapsed: 86_400, total: 0, busy: 0, peak: 0))
        #expect(metrics.concurrency.average == 0)
        #expect(metrics.concurrency.averageWhileBusy == nil)
        #expect(metrics.concurrencyByAgent.isEmpty)
        let live = LiveQueue(facts: [], now: Self.endOfDay)
        #expect(live.queueLength == 0 && live.awaitingReply == 0 && live.openConversations == 0)
        #expect(live.longestQueueWait == nil && live.longestAwaitingReply == nil && live.longestOpenChat == nil)
        // A window that has not begun yet has no elapsed time, so no average at all.
        let tomorrow = ConversationMetrics(facts: [], window: Self.window, thresholds: Self.thresholds, now: Self.at(-1, 0))
        #expect(tomorrow.concurrency.average == nil)
    }

    @Test func allAbandonedGivesNoServiceLevelButAZeroServiceLevelCountingAbandons() {
        let facts = [
            Self.conversation(1, queued: Self.at(9, 0), closed: Self.at(9, 2)),  // closed: wait 120
            Self.conversation(2, queued: Self.at(9, 5), optedOut: Self.at(9, 6)),  // opted out: wait 60
            Self.conversation(3, queued: Self.at(9, 10)),  // unanswered, still queued at 10:10: wait 3600
        ]
        let q = ConversationMetrics(facts: facts, window: Self.window, thresholds: Self.thresholds, now: Self.at(10, 10)).queue
        #expect(q.offered == 3)
        #expect(q.answered == 0)
        #expect(q.abandoned == 3)
        #expect(q.abandonedClosed == 1 && q.abandonedOptedOut == 1 && q.abandonedUnanswered == 1)
        #expect(q.serviceLevel == nil)
        #expect(q.serviceLevelCountingAbandons == 0)
        #expect(q.abandonRate == 1)
        #expect(q.averageWait == 1260)  // (120 + 60 + 3600) / 3
        #expect(q.longestWait == 3600)
        #expect(q.averageFirstResponseTime == nil)
        #expect(q.averageHandleTime == nil)
        #expect(q.averageChatTime == 120)  // only conversation 1 is closed
    }

    @Test(arguments: [false, true])
    func aConversationClosedAtTheInstantTheNextIsAssignedDoesNotOverlapIt(_ reversed: Bool) {
        // An agent closes one at 09:10 and takes the next at 09:10; an empty span at 09:05 counts for nothing.
        var spans = [(start: Self.at(9, 0), end: Self.at(9, 10)), (start: Self.at(9, 10), end: Self.at(9, 20)),
                     (start: Self.at(9, 5), end: Self.at(9, 5))]
        if reversed { spans.reverse() }
        let o = Occupancy(spans: spans, window: DateInterval(start: Self.at(9, 0), end: Self.at(10, 0)), now: Self.endOfDay)
        #expect(o == occupancy(elapsed: 3600, total: 1200, busy: 1200, peak: 1))
        #expect(o.averageWhileBusy == 1)
    }

    // MARK: local days

    @Test func aLocalDayInMexicoCityIsTwentyFourHoursFromLocalMidnight() throws {
        #expect(Self.day.interval(in: Self.mexico) == Self.window)
        #expect(LocalDate(containing: Self.at(23, 59, 59), in: Self.mexico) == Self.day)
        #expect(LocalDate(containing: Self.at(24, 0), in: Self.mexico) == (try LocalDate("2025-06-11")))
    }

    @Test func theSpringForwardDayInRomeHasTwentyThreeHours() throws {
        let day = try LocalDate("2025-03-30")
        let window = day.interval(in: Self.rome)
        // 00:00 CET = 2025-03-29T23:00Z; the next midnight is 00:00 CEST = 2025-03-30T22:00Z.
        #expect(window.start == (try utcDate("2025-03-29T23:00:00Z")))
        #expect(window.end == (try utcDate("2025-03-30T22:00:00Z")))
        #expect(window.duration == 82_800)
        #expect(LocalDate(containing: try utcDate("2025-03-29T23:30:00Z"), in: Self.rome) == day)

        let facts = [
            // 00:30 local on the 30th although the 29th in UTC: counted on the 30th.
            Self.conversation(1, queued: try utcDate("2025-03-29T23:30:00Z")),
            // 01:59 CET and, one minute later, 03:00 CEST: consecutive hourly slices.
            Self.conversation(2, queued: try utcDate("2025-03-30T00:59:00Z")),
            Self.conversation(3, queued: try utcDate("2025-03-30T01:00:00Z")),
            // 00:30 on the 31st: not counted.
            Self.conversation(4, queued: try utcDate("2025-03-30T22:30:00Z")),
            // Held by agent 7 through the whole day.
            Self.conversation(5, agent: 7, queued: try utcDate("2025-03-29T21:00:00Z"), assigned: try utcDate("2025-03-29T22:00:00Z"),
                              replied: try utcDate("2025-03-29T22:00:00Z"), closed: try utcDate("2025-03-31T00:00:00Z")),
        ]
        let now = try utcDate("2025-04-01T00:00:00Z")
        let metrics = ConversationMetrics(facts: facts, window: window, thresholds: Self.thresholds, now: now)
        #expect(metrics.queue.offered == 3)
        // One conversation all day long: 82800 of 82800 seconds, an average of exactly 1.
        #expect(metrics.concurrency.totalSeconds == 82_800)
        #expect(metrics.concurrency.average == 1)
        let hours = ConversationMetrics.series(facts: facts, window: window, every: 3600, thresholds: Self.thresholds, now: now)
        #expect(hours.count == 23)
        #expect(hours.map(\.queue.offered).prefix(4) == [1, 1, 1, 0])
        #expect(sum(hours) == metrics)
    }

    @Test func theFallBackDayInRomeHasTwentyFiveHours() throws {
        let day = try LocalDate("2025-10-26")
        let window = day.interval(in: Self.rome)
        // 00:00 CEST = 2025-10-25T22:00Z to 00:00 CET = 2025-10-26T23:00Z.
        #expect(window.start == (try utcDate("2025-10-25T22:00:00Z")))
        #expect(window.duration == 90_000)
        #expect(LocalDate(containing: try utcDate("2025-10-26T22:59:59Z"), in: Self.rome) == day)
        #expect(LocalDate(containing: try utcDate("2025-10-26T23:00:00Z"), in: Self.rome) == (try LocalDate("2025-10-27")))
        let hours = ConversationMetrics.series(facts: [], window: window, every: 3600, thresholds: Self.thresholds, now: window.end)
        #expect(hours.count == 25)
    }

    // MARK: helpers

    func occupancy(elapsed: TimeInterval, total: TimeInterval, busy: TimeInterval, peak: Int) -> Occupancy {
        var o = Occupancy()
        o.elapsedSeconds = elapsed
        o.totalSeconds = total
        o.busySeconds = busy
        o.peak = peak
        return o
    }

    func utcDate(_ text: String) throws -> Date {
        try Date(text, strategy: .iso8601)
    }

    /// The slices of a series as one window: everything adds up, peaks and longest values take the largest.
    func sum(_ slices: [ConversationMetrics]) -> ConversationMetrics? {
        guard var total = slices.first else { return nil }
        for slice in slices.dropFirst() {
            total.queue = total.queue + slice.queue
            total.concurrency = total.concurrency + slice.concurrency
            total.queueLength = total.queueLength + slice.queueLength
            total.concurrencyByAgent.merge(slice.concurrencyByAgent, uniquingKeysWith: +)
        }
        total.window = DateInterval(start: slices[0].window.start, end: slices[slices.count - 1].window.end)
        return total
    }
}
