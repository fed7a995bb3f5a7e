import Foundation
import SMSCore
import Testing

/// `2025-03-30T01:00:00Z` → Date.
func utc(_ text: String) throws -> Date {
    try Date(text, strategy: .iso8601)
}

/// Builds a weekly schedule from `(day, "HH:mm", "HH:mm")` triples.
func schedule(
    _ zone: String, _ ranges: [(Weekday, String, String)], exceptions: [ScheduleException] = []
) throws -> Schedule {
    try Schedule(timeZone: zone, weekly: ranges.map { try WeeklyRange($0.0, $0.1, $0.2) }, exceptions: exceptions)
}

let weekdays: [Weekday] = [.monday, .tuesday, .wednesday, .thursday, .friday]

@Suite("Local times and dates")
struct LocalTimeTests {
    @Test(arguments: [("09:30", 570), ("9:30", 570), ("00:00", 0), ("23:59", 1439), ("24:00", 1440)])
    func validTimesParse(_ text: String, _ minutes: Int) throws {
        #expect(try LocalTime(text).minutesSinceMidnight == minutes)
    }

    @Test(arguments: [
        ("25:00", "hour 25 is out of range 0-24"),
        ("12:60", "minute 60 is out of range 0-59"),
        ("24:01", "only 24:00 is allowed after 23:59"),
        ("noon", "expected HH:mm, such as 09:30"),
        ("12:5", "expected HH:mm, such as 09:30"),
        ("-1:00", "expected HH:mm, such as 09:30"),
        ("", "expected HH:mm, such as 09:30"),
        ("12:00:00", "expected HH:mm, such as 09:30"),
    ])
    func invalidTimesAreRejectedWithTheTextAsWritten(_ text: String, _ reason: String) {
        #expect(throws: SMSCoreError.invalidSchedule(.invalidTime(text, reason: reason))) { try LocalTime(text) }
    }

    @Test func invalidTimeMessageNamesTheTime() {
        #expect(
            SMSCoreError.invalidSchedule(.invalidTime("25:00", reason: "hour 25 is out of range 0-24")).description
                == #"time "25:00": hour 25 is out of range 0-24"#)
    }

    @Test(arguments: ["2025-02-29", "2025-13-01", "2025-1-01", "2025-04-31", "0000-01-01", "25-01-01", "2025/01/01"])
    func invalidDatesAreRejected(_ text: String) {
        #expect(throws: SMSCoreError.self) { try LocalDate(text) }
    }

    @Test func leapDaysExistOnlyInLeapYears() throws {
        #expect(throws: Never.self) { try LocalDate("2024-02-29") }
        #expect(throws: Never.self) { try LocalDate("2000-02-29") }
        #expect(throws: SMSCoreError.self) { try LocalDate("1900-02-29") }
    }

    @Test func weekdayAgreesWithFoundationsCalendarOverManyYears() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let names: [Int: Weekday] = [
            1: .sunday, 2: .monday, 3: .tuesday, 4: .wednesday, 5: .thursday, 6: .friday, 7: .saturday,
        ]
        var day = try utc("1965-01-01T12:00:00Z")
        for _ in 0..<(366 * 80) {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            let date = try LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)
            #expect(date.weekday == names[parts.weekday!])
            day += 86_400
        }
    }
}

@Suite("Schedule validation and coding")
struct ScheduleValidationTests {
    @Test func rangeEndingBeforeItStartsIsRejectedWithMidnightAdvice() throws {
        let start = try LocalTime("18:00")
        let end = try LocalTime("09:00")
        #expect(throws: SMSCoreError.invalidSchedule(.rangeNotIncreasing(start: start, end: end))) {
            try TimeRange("18:00", "09:00")
        }
        #expect(
            SMSCoreError.invalidSchedule(.rangeNotIncreasing(start: start, end: end)).description
                == "time range 18:00-09:00: end 09:00 is not after start 18:00 (a range crossing midnight must be split into ...-24:00 and 00:00-...)"
        )
    }

    @Test func emptyRangeAndRangeStartingAt2400AreRejected() throws {
        #expect(throws: SMSCoreError.self) { try TimeRange("09:00", "09:00") }
        #expect(throws: SMSCoreError.invalidSchedule(.rangeStartsAtMidnightEnd(end: .endOfDay))) {
            try TimeRange("24:00", "24:00")
        }
        #expect(try TimeRange("22:00", "24:00").end == .endOfDay)
    }

    @Test func unknownTimeZoneIsRejectedByName() {
        #expect(throws: SMSCoreError.invalidSchedule(.unknownTimeZone("Mars/Olympus_Mons"))) {
            try Schedule(timeZone: "Mars/Olympus_Mons", weekly: [])
        }
        #expect(
            SMSCoreError.invalidSchedule(.unknownTimeZone("Mars/Olympus_Mons")).description
                == #"time zone "Mars/Olympus_Mons" is not a known IANA time zone"#)
    }

    @Test func twoExceptionsForOneDateAreRejected() throws {
        let christmas = try LocalDate("2025-12-25")
        #expect(throws: SMSCoreError.invalidSchedule(.duplicateException(christmas))) {
            try Schedule(timeZone: "Europe/Rome", weekly: [], exceptions: [.closed(christmas), .closed(christmas)])
        }
    }

    @Test func jsonRoundTripsAndReadsTheDocumentedShape() throws {
        let json = """
            {"timeZone":"America/Montevideo",
             "weekly":[{"day":"monday","start":"09:00","end":"18:00"},{"day":"saturday","start":"22:00","end":"24:00"}],
             "exceptions":[{"date":"2025-12-25","ranges":[]},{"date":"2025-12-24","ranges":[{"start":"09:00","end":"13:00"}]}]}
            """
        let decoded = try JSONDecoder().decode(Schedule.self, from: Data(json.utf8))
        let expected = try schedule(
            "America/Montevideo", [(.monday, "09:00", "18:00"), (.saturday, "22:00", "24:00")],
            exceptions: [
                .closed(LocalDate("2025-12-25")),
                ScheduleException(date: LocalDate("2025-12-24"), ranges: [TimeRange("09:00", "13:00")]),
            ]
        )
        #expect(decoded == expected)
        #expect(try JSONDecoder().decode(Schedule.self, from: JSONEncoder().encode(decoded)) == decoded)
        let withoutExceptions = #"{"timeZone":"UTC","weekly":[]}"#
        #expect(try JSONDecoder().decode(Schedule.self, from: Data(withoutExceptions.utf8)).exceptions.isEmpty)
    }

    @Test(arguments: [
        (
            #"{"timeZone":"UTC","weekly":[{"day":"monday","start":"25:00","end":"26:00"}]}"#,
            SMSCoreError.invalidSchedule(.invalidTime("25:00", reason: "hour 25 is out of range 0-24"))
        ),
        (
            #"{"timeZone":"UTC","weekly":[{"day":"monday","start":"18:00","end":"09:00"}]}"#,
            SMSCoreError.invalidSchedule(
                .rangeNotIncreasing(start: try! LocalTime("18:00"), end: try! LocalTime("09:00")))
        ),
        (#"{"timeZone":"Nowhere/City","weekly":[]}"#, SMSCoreError.invalidSchedule(.unknownTimeZone("Nowhere/City"))),
        (
            #"{"timeZone":"UTC","weekly":[],"exceptions":[{"date":"2025-02-30","ranges":[]}]}"#,
            SMSCoreError.invalidSchedule(
                .invalidDate("2025-02-30", reason: "day 30 is out of range 1-28 for that month"))
        ),
    ])
    func invalidJSONIsRejectedWithTheDomainError(_ json: String, _ expected: SMSCoreError) {
        #expect(throws: expected) { try JSONDecoder().decode(Schedule.self, from: Data(json.utf8)) }
    }
}

@Suite("Schedule opening hours")
struct ScheduleOpeningTests {
    @Test func weekdayHoursAreOpenFromStartUntilJustBeforeEnd() throws {
        // Montevideo is UTC-3 since 2015; Monday 2024-01-15.
        let office = try schedule("America/Montevideo", weekdays.map { ($0, "09:00", "18:00") })
        #expect(!office.isOpen(at: try utc("2024-01-15T11:59:59Z")))
        #expect(office.isOpen(at: try utc("2024-01-15T12:00:00Z")))
        #expect(office.isOpen(at: try utc("2024-01-15T20:59:59Z")))
        #expect(!office.isOpen(at: try utc("2024-01-15T21:00:00Z")))
        #expect(!office.isOpen(at: try utc("2024-01-20T15:00:00Z")))  // Saturday
    }

    @Test func nextOpeningSkipsTheWeekendAndIsNowWhenOpen() throws {
        let office = try schedule("America/Montevideo", weekdays.map { ($0, "09:00", "18:00") })
        #expect(office.nextOpening(after: try utc("2024-01-19T21:00:00Z")) == (try utc("2024-01-22T12:00:00Z")))
        let now = try utc("2024-01-15T15:00:00Z") + 0.25
        #expect(office.nextOpening(after: now) == now)
        #expect(office.nextClosing(after: now) == (try utc("2024-01-15T21:00:00Z")))
        #expect(office.nextClosing(after: try utc("2024-01-20T15:00:00Z")) == (try utc("2024-01-20T15:00:00Z")))
    }

    @Test func montevideoUsesItsHistoricalSummerTime() throws {
        // In January 2015 Uruguay was still on UTC-2.
        let office = try schedule("America/Montevideo", weekdays.map { ($0, "09:00", "18:00") })
        #expect(!office.isOpen(at: try utc("2015-01-12T10:59:59Z")))
        #expect(office.isOpen(at: try utc("2015-01-12T11:00:00Z")))
        // Summer time ended for good on Sunday 2015-03-08: Friday closes at 20:00Z, Monday opens at 12:00Z.
        #expect(office.nextClosing(after: try utc("2015-03-06T15:00:00Z")) == (try utc("2015-03-06T20:00:00Z")))
        #expect(office.nextOpening(after: try utc("2015-03-06T20:00:00Z")) == (try utc("2015-03-09T12:00:00Z")))
    }

    @Test func montevideoSpringForwardRangeInTheGapOpensAtTheTransition() throws {
        // 2014-10-05 02:00 UYT jumped to 03:00 UYST (05:00Z).
        let night = try schedule("America/Montevideo", [(.sunday, "02:00", "04:00")])
        #expect(night.nextOpening(after: try utc("2014-10-04T12:00:00Z")) == (try utc("2014-10-05T05:00:00Z")))
        #expect(night.nextClosing(after: try utc("2014-10-05T05:00:00Z")) == (try utc("2014-10-05T06:00:00Z")))
    }

    @Test func mexicoCityFollowsTheEndOfItsSummerTime() throws {
        let office = try schedule("America/Mexico_City", weekdays.map { ($0, "09:00", "18:00") })
        #expect(office.nextOpening(after: try utc("2022-06-06T00:00:00Z")) == (try utc("2022-06-06T14:00:00Z")))  // CDT
        #expect(office.nextOpening(after: try utc("2023-06-05T00:00:00Z")) == (try utc("2023-06-05T15:00:00Z")))  // CST, no more DST
        // Mexico's last fall-back was 2022-10-30.
        #expect(office.nextOpening(after: try utc("2022-10-28T23:00:00Z")) == (try utc("2022-10-31T15:00:00Z")))
    }

    @Test func newYorkOpeningMovesAnHourAcrossBothChanges() throws {
        let office = try schedule("America/New_York", weekdays.map { ($0, "09:00", "17:00") })
        // Spring forward 2025-03-09: Friday closes 22:00Z (EST), Monday opens 13:00Z (EDT).
        #expect(office.nextClosing(after: try utc("2025-03-07T15:00:00Z")) == (try utc("2025-03-07T22:00:00Z")))
        #expect(office.nextOpening(after: try utc("2025-03-07T22:00:00Z")) == (try utc("2025-03-10T13:00:00Z")))
        // Fall back 2025-11-02: Monday opens 14:00Z (EST).
        #expect(office.nextOpening(after: try utc("2025-10-31T21:00:00Z")) == (try utc("2025-11-03T14:00:00Z")))
    }

    @Test func romeSpringForwardRangeStartingInTheGapOpensAtThreeOClock() throws {
        // 2025-03-30: 02:00 CET jumped to 03:00 CEST at 01:00Z.
        let night = try schedule("Europe/Rome", [(.sunday, "02:00", "04:00")])
        #expect(!night.isOpen(at: try utc("2025-03-30T00:59:59Z")))
        #expect(night.isOpen(at: try utc("2025-03-30T01:00:00Z")))
        #expect(night.nextOpening(after: try utc("2025-03-29T12:00:00Z")) == (try utc("2025-03-30T01:00:00Z")))
        #expect(night.nextClosing(after: try utc("2025-03-30T01:00:00Z")) == (try utc("2025-03-30T02:00:00Z")))
    }

    @Test func romeRangeWhollyInsideTheGapDoesNotOpenThatDay() throws {
        let gap = try schedule("Europe/Rome", [(.sunday, "02:15", "02:45")])
        // Next Sunday, 02:15 CEST = 00:15Z.
        #expect(gap.nextOpening(after: try utc("2025-03-29T12:00:00Z")) == (try utc("2025-04-06T00:15:00Z")))
    }

    @Test func romeRangeEndingInTheGapClosesAtTheJump() throws {
        let night = try schedule("Europe/Rome", [(.sunday, "01:00", "02:30")])
        #expect(night.nextOpening(after: try utc("2025-03-29T12:00:00Z")) == (try utc("2025-03-30T00:00:00Z")))
        #expect(night.nextClosing(after: try utc("2025-03-30T00:30:00Z")) == (try utc("2025-03-30T01:00:00Z")))
    }

    @Test func romeFallBackOpensInBothPassesOfTheRepeatedHour() throws {
        // 2025-10-26: 03:00 CEST went back to 02:00 CET at 01:00Z; 02:00-02:30 happens twice.
        let night = try schedule("Europe/Rome", [(.sunday, "02:00", "02:30")])
        #expect(night.nextOpening(after: try utc("2025-10-25T12:00:00Z")) == (try utc("2025-10-26T00:00:00Z")))
        #expect(night.isOpen(at: try utc("2025-10-26T00:15:00Z")))
        #expect(!night.isOpen(at: try utc("2025-10-26T00:45:00Z")))
        #expect(night.nextClosing(after: try utc("2025-10-26T00:00:00Z")) == (try utc("2025-10-26T00:30:00Z")))
        #expect(night.nextOpening(after: try utc("2025-10-26T00:45:00Z")) == (try utc("2025-10-26T01:00:00Z")))
        #expect(night.nextClosing(after: try utc("2025-10-26T01:00:00Z")) == (try utc("2025-10-26T01:30:00Z")))
    }

    @Test func romeFallBackNightShiftLastsAnExtraHour() throws {
        let night = try schedule("Europe/Rome", [(.sunday, "00:00", "03:00")])
        // 00:00 CEST (22:00Z Saturday) to 03:00 CET (02:00Z): four real hours.
        #expect(night.nextOpening(after: try utc("2025-10-25T12:00:00Z")) == (try utc("2025-10-25T22:00:00Z")))
        #expect(night.nextClosing(after: try utc("2025-10-25T22:00:00Z")) == (try utc("2025-10-26T02:00:00Z")))
    }

    @Test func rangesEndingAndStartingAtMidnightJoin() throws {
        let late = try schedule("Europe/Rome", [(.friday, "22:00", "24:00"), (.saturday, "00:00", "02:00")])
        // Friday 2025-06-06 22:00 CEST = 20:00Z until Saturday 02:00 CEST = 00:00Z.
        #expect(late.nextOpening(after: try utc("2025-06-06T12:00:00Z")) == (try utc("2025-06-06T20:00:00Z")))
        #expect(late.nextClosing(after: try utc("2025-06-06T20:00:00Z")) == (try utc("2025-06-07T00:00:00Z")))
        #expect(late.isOpen(at: try utc("2025-06-06T22:00:00Z")))  // midnight local
    }

    @Test func overlappingRangesUnite() throws {
        let split = try schedule(
            "UTC", [(.monday, "09:00", "12:00"), (.monday, "11:00", "14:00"), (.monday, "14:00", "15:00")])
        #expect(split.nextClosing(after: try utc("2025-06-02T09:30:00Z")) == (try utc("2025-06-02T15:00:00Z")))
    }

    @Test func closedExceptionSkipsTheDayAndCustomHoursReplaceTheWeek() throws {
        let office = try schedule(
            "Europe/Madrid", weekdays.map { ($0, "09:00", "18:00") },
            exceptions: [
                .closed(LocalDate("2025-12-25")),
                ScheduleException(date: LocalDate("2025-12-24"), ranges: [TimeRange("10:00", "12:00")]),
                ScheduleException(date: LocalDate("2025-12-27"), ranges: [TimeRange("10:00", "13:00")]),  // a Saturday
            ]
        )
        // Wednesday 24th: only 10:00-12:00 CET (09:00Z-11:00Z).
        #expect(!office.isOpen(at: try utc("2025-12-24T08:30:00Z")))
        #expect(office.nextOpening(after: try utc("2025-12-24T08:30:00Z")) == (try utc("2025-12-24T09:00:00Z")))
        #expect(office.nextClosing(after: try utc("2025-12-24T09:00:00Z")) == (try utc("2025-12-24T11:00:00Z")))
        // Thursday 25th closed: next opening Friday 26th 09:00 CET.
        #expect(office.nextOpening(after: try utc("2025-12-24T11:00:00Z")) == (try utc("2025-12-26T08:00:00Z")))
        #expect(office.isOpen(at: try utc("2025-12-27T09:30:00Z")))
        #expect(office.ranges(on: try LocalDate("2025-12-25")).isEmpty)
        #expect(office.ranges(on: try LocalDate("2025-12-29")) == [try TimeRange("09:00", "18:00")])
    }

    @Test func scheduleThatNeverOpensAgainReturnsNil() throws {
        let none = try Schedule(timeZone: "Europe/Rome", weekly: [])
        #expect(none.nextOpening(after: try utc("2025-01-01T00:00:00Z")) == nil)
        let past = try Schedule(
            timeZone: "Europe/Rome", weekly: [],
            exceptions: [ScheduleException(date: LocalDate("2024-05-01"), ranges: [TimeRange("09:00", "10:00")])]
        )
        #expect(past.nextOpening(after: try utc("2025-01-01T00:00:00Z")) == nil)
        #expect(past.nextOpening(after: try utc("2024-04-01T00:00:00Z")) == (try utc("2024-05-01T07:00:00Z")))
    }

    @Test func exceptionYearsAheadIsStillFound() throws {
        let once = try Schedule(
            timeZone: "America/Santiago", weekly: [],
            exceptions: [ScheduleException(date: LocalDate("2027-09-18"), ranges: [TimeRange("10:00", "11:00")])]
        )
        #expect(once.nextOpening(after: try utc("2025-01-01T00:00:00Z")) == (try utc("2027-09-18T13:00:00Z")))
    }

    @Test func alwaysOpenIsOpenAndNeverCloses() throws {
        let now = try utc("2025-03-30T01:30:00Z")
        #expect(Schedule.alwaysOpen.isOpen(at: now))
        #expect(Schedule.alwaysOpen.nextOpening(after: now) == now)
        #expect(Schedule.alwaysOpen.nextClosing(after: now) == nil)
    }
}

@Suite("Schedule against a calendar oracle")
struct ScheduleOracleTests {
    /// Open state computed with Foundation's Calendar, independently of Schedule's own arithmetic.
    static func oracleIsOpen(_ date: Date, ranges: [(Weekday, Int, Int)], calendar: Calendar) -> Bool {
        let names: [Int: Weekday] = [
            1: .sunday, 2: .monday, 3: .tuesday, 4: .wednesday, 5: .thursday, 6: .friday, 7: .saturday,
        ]
        let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        let minute = parts.hour! * 60 + parts.minute!
        return ranges.contains { $0.0 == names[parts.weekday!] && $0.1 <= minute && minute < $0.2 }
    }

    /// Zones with DST at 02:00 (Rome, New York), at midnight (Santiago) and by 30 minutes (Lord Howe).
    @Test(arguments: [
        ("Europe/Rome", ["2025-03-27T00:00:00Z", "2025-10-23T00:00:00Z"]),
        ("America/New_York", ["2025-03-06T00:00:00Z", "2025-10-30T00:00:00Z"]),
        ("America/Santiago", ["2025-04-03T00:00:00Z", "2025-09-04T00:00:00Z"]),
        ("Australia/Lord_Howe", ["2025-04-03T00:00:00Z", "2025-10-02T00:00:00Z"]),
    ])
    func randomSchedulesAgreeWithTheOracleAroundDSTChanges(_ zone: String, _ windows: [String]) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        var random = SplitMix64(seed: UInt64(zone.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }))
        let quarter: TimeInterval = 15 * 60
        for window in windows {
            for _ in 0..<6 {
                // 1-4 ranges on quarter hours, biased to the small hours where DST happens.
                var ranges: [(Weekday, Int, Int)] = []
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let day = Weekday.allCases[Int(random.next() % 7)]
                    let start =
                        Int(random.next() % 16) * 15 + (random.next() % 2 == 0 ? 0 : Int(random.next() % 80) * 15)
                    let end = min(1440, start + 15 * (1 + Int(random.next() % 24)))
                    ranges.append((day, start, end))
                }
                let weekly = try ranges.map {
                    try WeeklyRange(
                        $0.0,
                        TimeRange(
                            start: LocalTime(hour: $0.1 / 60, minute: $0.1 % 60),
                            end: LocalTime(hour: $0.2 / 60, minute: $0.2 % 60)))
                }
                let schedule = try Schedule(timeZone: zone, weekly: weekly)
                let origin = try utc(window) + quarter * TimeInterval(random.next() % 96)
                // Walk 8 days in quarter hours; DST changes in these zones happen on quarter hours.
                var expectedOpening: Date?
                var expectedClosing: Date?
                var instant = origin
                for _ in 0..<(8 * 96) {
                    let open = Self.oracleIsOpen(instant, ranges: ranges, calendar: calendar)
                    #expect(schedule.isOpen(at: instant) == open, "\(zone) \(ranges) at \(instant)")
                    if open, expectedOpening == nil { expectedOpening = instant }
                    if !open, expectedClosing == nil { expectedClosing = instant }
                    instant += quarter
                }
                if let expectedOpening {
                    #expect(schedule.nextOpening(after: origin) == expectedOpening, "\(zone) \(ranges) from \(origin)")
                } else {
                    #expect(schedule.nextOpening(after: origin).map { $0 >= instant } ?? true)
                }
                if let expectedClosing {
                    #expect(schedule.nextClosing(after: origin) == expectedClosing, "\(zone) \(ranges) from \(origin)")
                }
            }
        }
    }
}
