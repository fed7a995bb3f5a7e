import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

/// What the engine checks before handing a message to a provider (SPEC D4, D8, D10, P5).
@Suite("Dispatcher: screening")
struct ScreeningTests {
    /// The DNCR of the tests: `uy(1)` for campaign `a`, `uy(2)` opted out of all campaigns, `uy(3)` for campaign `b`.
    func fillDNCR(_ h: EngineHarness, a: CampaignRecord, b: CampaignRecord) async throws {
        try await h.storage.dncr.add([
            DNCREntry(number: uy(1), campaignID: a.id, source: "manual", reason: "asked by phone", createdAt: Date()),
            DNCREntry(number: uy(2), campaignID: nil, source: "opt_out", reason: "STOPALL", createdAt: Date()),
            DNCREntry(number: uy(3), campaignID: b.id, source: "manual", reason: "other campaign", createdAt: Date()),
        ])
    }

    @Test("Numbers on the DNCR of the campaign or of all campaigns are blocked with the reason; another campaign's entry does not block")
    func blocksNumbersOnTheDNCR() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let a = try await h.campaign("A")
            let b = try await h.campaign("B")
            try await fillDNCR(h, a: a, b: b)
            _ = try await h.dialer("d", provider: provider, campaigns: [a], dncrCheck: true)
            let ids = try await h.enqueue(a, [uy(1), uy(2), uy(3), uy(4)])

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(ids, are: [.blocked, .delivered, .failed, .invalid])
            }

            let messages = try await h.messages(ids)
            #expect(messages.map(\.state) == [.blocked, .blocked, .delivered, .delivered])
            #expect(messages[0].blockReason == "on the DNCR (this campaign): asked by phone")
            #expect(messages[1].blockReason == "opted out (all campaigns): STOPALL")
            #expect(messages[2].blockReason == nil)
            for blocked in messages.prefix(2) {
                let history = try await h.storage.spool.history(id: blocked.id)
                #expect(path(history) == [.toProcess, .sending, .blocked])
                #expect(history.last?.reason == blocked.blockReason)
                expectConsistent(history, blocked.id)
                #expect(h.sends.to(blocked.destination).isEmpty, "a blocked number reached the provider")
                #expect(blocked.providerID == nil)
            }
            #expect(h.sends.to(uy(3)).count == 1)
            let counts = try await h.storage.spool.counts(campaignID: a.id)
            #expect(counts[.blocked] == 2 && counts[.delivered] == 2)
        }
    }

    @Test("A dialer whose DNCR check is off blocks nothing")
    func sendsEverythingWhenTheDNCRCheckIsOff() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let a = try await h.campaign("A")
            let b = try await h.campaign("B")
            try await fillDNCR(h, a: a, b: b)
            _ = try await h.dialer("d", provider: provider, campaigns: [a], dncrCheck: false)
            let ids = try await h.enqueue(a, [uy(1), uy(2), uy(3), uy(4)])

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(ids, are: [.blocked, .delivered, .failed, .invalid])
            }

            let messages = try await h.messages(ids)
            #expect(messages.map(\.state) == [.delivered, .delivered, .delivered, .delivered])
            #expect(messages.allSatisfy { $0.blockReason == nil })
            #expect(h.sends.all.count == 4)
        }
    }

    @Test("Numbers that do not match the provider's number pattern become invalid and never reach the provider")
    func numbersFailingThePatternAreInvalid() async throws {
        try await EngineHarness.with { h in
            // Had the non-matching numbers (all ending in 77) reached the simulator, they would have failed with SIM_PERM.
            let provider = try await h.simulator("uy-only", settings: ["fail_suffix": "77"], numberPattern: #"\+598\d{8}"#)
            let campaign = try await h.campaign("Ventas")
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign])
            let good = [uy(10), uy(11), uy(12)]
            let bad = [ar(77), "+5989912377", "099123477"]  // another country, one digit too many, national form
            let ids = try await h.enqueue(campaign, good + bad)

            try await h.whileDispatching(EngineHarness.policy()) {
                try await h.waitUntil(ids, are: [.blocked, .delivered, .failed, .invalid])
            }

            let messages = try await h.messages(ids)
            #expect(messages.map(\.state) == [.delivered, .delivered, .delivered, .invalid, .invalid, .invalid])
            for message in messages.suffix(3) {
                #expect(message.errorText == #"does not match the provider's number pattern \+598\d{8}"#)
                #expect(message.errorCode == nil)
                #expect(message.providerID == nil)
                #expect(h.sends.to(message.destination).isEmpty, "\(message.destination) reached the provider")
                let history = try await h.storage.spool.history(id: message.id)
                #expect(path(history) == [.toProcess, .sending, .invalid])
                expectConsistent(history, message.id)
            }
            #expect(h.sends.all.map(\.message.destination).sorted() == good.sorted())
        }
    }

    @Test("In quiet hours a bulk message waits, uncounted, until the recipient's next local opening; a transactional campaign bypasses them")
    func quietHoursDeferBulkButNotTransactional() async throws {
        // The allowed window starts two hours after the current hour in Montevideo (the zone of +598 numbers),
        // so "now" there is always outside it and at least an hour from its opening.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "America/Montevideo"))
        let now = Date()
        let startHour = (calendar.component(.hour, from: now) + 2) % 24
        let window = (start: try LocalTime(hour: startHour), end: try LocalTime(hour: startHour + 1))
        let opening = try #require(calendar.nextDate(after: now, matching: DateComponents(hour: startHour, minute: 0, second: 0),
                                                     matchingPolicy: .nextTime))

        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            // The campaigns' own zone is UTC: the number's country decides.
            let bulk = try await h.campaign("Promociones", timeZone: "UTC")
            let urgent = try await h.campaign("Alertas", transactional: true, timeZone: "UTC")
            _ = try await h.dialer("d", provider: provider, campaigns: [bulk, urgent])
            let waiting = try await h.enqueue(bulk, [uy(1)])[0]
            let transactional = try await h.enqueue(urgent, [uy(2)])[0]

            try await h.whileDispatching(EngineHarness.policy(quietHours: window)) {
                try await h.waitUntil([transactional], are: [.delivered])
                try await eventually("the bulk message is deferred") {
                    let history = try await h.storage.spool.history(id: waiting)
                    return path(history) == [.toProcess, .sending, .toProcess] ? history : nil
                } lastSeen: {
                    "\(path(try await h.storage.spool.history(id: waiting)))"
                }
            }

            let deferred = try await h.message(waiting)
            #expect(deferred.state == .toProcess)
            #expect(deferred.attempts == 0, "a deferral is not an attempt")
            let next = try #require(deferred.nextAttemptAt)
            #expect(abs(next.timeIntervalSince(opening)) < 1, "next attempt \(next), expected the opening at \(opening)")
            #expect(deferred.errorText == "quiet hours in the recipient's time zone")
            #expect(deferred.errorCode == nil)
            #expect(h.sends.to(uy(1)).isEmpty, "a message in quiet hours reached the provider")
            let history = try await h.storage.spool.history(id: waiting)
            #expect(history.last?.reason?.hasPrefix("deferred at ") == true)
            expectConsistent(history, waiting)

            #expect(h.sends.to(uy(2)).count == 1)
            #expect(try await h.message(transactional).attempts == 1)
        }
    }
    @Test("An opt-out confirmation goes although its number just went on the DNCR; automatic answers skip quiet hours, agent replies do not")
    func automaticAnswersToTheClient() async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "America/Montevideo"))
        let startHour = (calendar.component(.hour, from: Date()) + 2) % 24
        let window = (start: try LocalTime(hour: startHour), end: try LocalTime(hour: startHour + 1))

        try await EngineHarness.with { h in
            let provider = try await h.simulator("sim")
            let campaign = try await h.campaign("Ventas", timeZone: "UTC")
            _ = try await h.dialer("d", provider: provider, campaigns: [campaign], dncrCheck: true)
            try await h.storage.dncr.add([DNCREntry(number: uy(1), campaignID: campaign.id, source: "opt_out", reason: "keyword STOP",
                                                    createdAt: Date())])
            func message(_ to: String, _ source: SpoolSource) -> NewSpoolMessage {
                NewSpoolMessage(campaignID: campaign.id, destination: to, message: "\(source.rawValue) to \(to)", priority: 100, source: source)
            }
            let ids = try await h.storage.spool.enqueue([
                message(uy(1), .optOutConfirmation), message(uy(1), .agent), message(uy(1), .autoReply),
                message(uy(2), .autoReply), message(uy(3), .agent),
            ], at: Date())

            try await h.whileDispatching(EngineHarness.policy(quietHours: window)) {
                try await h.waitUntil(Array(ids.prefix(4)), are: [.blocked, .delivered])
                try await eventually("the agent reply waits for the quiet hours to end") {
                    try await h.message(ids[4]).nextAttemptAt
                } lastSeen: {
                    "\(try await h.message(ids[4]).state)"
                }
            }

            let states = try await h.messages(ids).map(\.state)
            #expect(states == [.delivered, .blocked, .blocked, .delivered, .toProcess])
            #expect(try await h.message(ids[4]).errorText == "quiet hours in the recipient's time zone")
            #expect(h.sends.to(uy(1)).count == 1, "only the confirmation reached the opted-out number")
        }
    }
}
