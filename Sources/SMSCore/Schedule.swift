import Foundation

/// A half-open span of wall-clock time within one day, `[start, end)`; end may be 24:00. Coded as `{"start":"09:00","end":"18:00"}`.
///
/// Ranges never cross midnight: 22:00-02:00 is rejected and must be written as 22:00-24:00
/// on one day plus 00:00-02:00 on the next (they join into one continuous opening).
public struct TimeRange: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The first open minute.
    public let start: LocalTime
    /// The first closed minute after the range (exclusive), after `start`.
    public let end: LocalTime

    /// A range with `start < end`; throws naming the range otherwise.
    public init(start: LocalTime, end: LocalTime) throws(SMSCoreError) {
        guard start != .endOfDay else { throw .invalidSchedule(.rangeStartsAtMidnightEnd(end: end)) }
        guard start < end else { throw .invalidSchedule(.rangeNotIncreasing(start: start, end: end)) }
        self.start = start
        self.end = end
    }

    /// Parses both ends as `HH:mm`.
    public init(_ start: String, _ end: String) throws(SMSCoreError) {
        try self.init(start: LocalTime(start), end: LocalTime(end))
    }

    /// `HH:mm-HH:mm`.
    public var description: String { "\(start)-\(end)" }

    /// Whether a wall-clock second of the day (0..<86400) falls in the range.
    func contains(secondOfDay: Int) -> Bool {
        start.minutesSinceMidnight * 60 <= secondOfDay && secondOfDay < end.minutesSinceMidnight * 60
    }

    private enum CodingKeys: String, CodingKey { case start, end }

    /// Decodes and validates `{"start":"HH:mm","end":"HH:mm"}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            start: container.decode(LocalTime.self, forKey: .start),
            end: container.decode(LocalTime.self, forKey: .end)
        )
    }
}

/// One weekly opening: a day of the week and a time range. Coded flat: `{"day":"monday","start":"09:00","end":"18:00"}`.
public struct WeeklyRange: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The day of the week the range applies to.
    public let day: Weekday
    /// The hours of that day.
    public let range: TimeRange

    /// A weekly range from a day and a validated range.
    public init(_ day: Weekday, _ range: TimeRange) {
        self.day = day
        self.range = range
    }

    /// A weekly range from `HH:mm` texts.
    public init(_ day: Weekday, _ start: String, _ end: String) throws(SMSCoreError) {
        self.init(day, try TimeRange(start, end))
    }

    /// `monday 09:00-18:00`.
    public var description: String { "\(day.rawValue) \(range)" }

    private enum CodingKeys: String, CodingKey { case day, start, end }

    /// Decodes and validates the flat form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            try container.decode(Weekday.self, forKey: .day),
            try TimeRange(
                start: container.decode(LocalTime.self, forKey: .start),
                end: container.decode(LocalTime.self, forKey: .end)
            )
        )
    }

    /// Encodes the flat form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(day, forKey: .day)
        try container.encode(range.start, forKey: .start)
        try container.encode(range.end, forKey: .end)
    }
}

/// A dated override of the weekly hours: no ranges means closed all day. Coded as `{"date":"2025-12-25","ranges":[]}`.
public struct ScheduleException: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The local date the exception replaces.
    public let date: LocalDate
    /// That date's opening hours instead of the weekly ones; empty means closed all day.
    public let ranges: [TimeRange]

    /// An exception with its own hours (or none: closed).
    public init(date: LocalDate, ranges: [TimeRange]) {
        self.date = date
        self.ranges = ranges
    }

    /// A date closed all day.
    public static func closed(_ date: LocalDate) -> ScheduleException { ScheduleException(date: date, ranges: []) }

    /// `2025-12-25 closed` or `2025-12-24 09:00-13:00`.
    public var description: String {
        ranges.isEmpty ? "\(date) closed" : "\(date) " + ranges.map(\.description).joined(separator: ", ")
    }
}

/// Weekly opening hours in an IANA time zone, with dated exceptions (SPEC C1, D1, D10).
///
/// Semantics are wall-clock: the schedule is open at an instant when the local date and time
/// there fall in one of that date's ranges (the exception's ranges if the date has one,
/// otherwise the weekly ranges of its weekday; overlapping ranges simply unite). So, across DST:
/// - spring forward (Rome, last Sunday of March, 02:00→03:00): wall times in the gap never
///   occur, so a range starting inside the gap opens at the first valid instant after it
///   (03:00 local, the transition); a range lying wholly inside the gap does not open that day;
/// - fall back (Rome, last Sunday of October, 03:00→02:00): wall times in the overlap occur
///   twice, and the schedule is open during both passes when they are in range.
/// Times have minute precision; instants are compared at whole seconds (fractions are dropped).
public struct Schedule: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The IANA identifier of the zone the ranges are in, as given.
    public let timeZoneIdentifier: String
    /// The weekly ranges.
    public let weekly: [WeeklyRange]
    /// The dated exceptions, at most one per date.
    public let exceptions: [ScheduleException]

    private let timeZone: TimeZone
    private let weeklyByDay: [Weekday: [TimeRange]]
    private let exceptionsByDay: [Int: [TimeRange]]

    /// A schedule; throws for an unknown time zone or two exceptions on one date.
    public init(timeZone identifier: String, weekly: [WeeklyRange], exceptions: [ScheduleException] = [])
        throws(SMSCoreError)
    {
        guard let timeZone = TimeZone(identifier: identifier) else {
            throw .invalidSchedule(.unknownTimeZone(identifier))
        }
        var exceptionsByDay: [Int: [TimeRange]] = [:]
        for exception in exceptions {
            let day = exception.date.daysSinceEpoch
            guard exceptionsByDay[day] == nil else { throw .invalidSchedule(.duplicateException(exception.date)) }
            exceptionsByDay[day] = exception.ranges
        }
        self.timeZoneIdentifier = identifier
        self.timeZone = timeZone
        self.weekly = weekly
        self.exceptions = exceptions
        self.weeklyByDay = Dictionary(grouping: weekly, by: \.day).mapValues { $0.map(\.range) }
        self.exceptionsByDay = exceptionsByDay
    }

    /// Open every day 00:00-24:00 (in UTC, which then makes no difference).
    public static let alwaysOpen: Schedule = {
        let allDay = try! TimeRange(start: .midnight, end: .endOfDay)  // 00:00 < 24:00: cannot fail
        return try! Schedule(timeZone: "UTC", weekly: Weekday.allCases.map { WeeklyRange($0, allDay) })
    }()

    /// Whether the schedule is open at the instant.
    public func isOpen(at date: Date) -> Bool {
        let second = Int((date.timeIntervalSince1970).rounded(.down))
        return isOpen(atSecond: second)
    }

    /// The first instant at or after `date` when the schedule is open (`date` itself if open then); nil if it never opens again.
    public func nextOpening(after date: Date) -> Date? {
        firstInstant(atOrAfter: date, whereOpen: true)
    }

    /// The first instant at or after `date` when the schedule is closed (`date` itself if closed then); nil if it never closes.
    public func nextClosing(after date: Date) -> Date? {
        firstInstant(atOrAfter: date, whereOpen: false)
    }

    /// The ranges that apply on a local date: the exception's if it has one, else the weekday's.
    public func ranges(on date: LocalDate) -> [TimeRange] {
        exceptionsByDay[date.daysSinceEpoch] ?? weeklyByDay[date.weekday] ?? []
    }

    /// `Europe/Rome: monday 09:00-18:00, …; exceptions: 2025-12-25 closed`.
    public var description: String {
        var text =
            "\(timeZoneIdentifier): "
            + (weekly.isEmpty ? "no weekly hours" : weekly.map(\.description).joined(separator: ", "))
        if !exceptions.isEmpty { text += "; exceptions: " + exceptions.map(\.description).joined(separator: ", ") }
        return text
    }

    /// Schedules are equal when zone identifier, weekly ranges and exceptions are equal as written.
    public static func == (lhs: Schedule, rhs: Schedule) -> Bool {
        lhs.timeZoneIdentifier == rhs.timeZoneIdentifier && lhs.weekly == rhs.weekly && lhs.exceptions == rhs.exceptions
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(timeZoneIdentifier)
        hasher.combine(weekly)
        hasher.combine(exceptions)
    }

    private enum CodingKeys: String, CodingKey { case timeZone, weekly, exceptions }

    /// Decodes `{"timeZone":"Europe/Rome","weekly":[…],"exceptions":[…]}` (exceptions optional), validating everything.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            timeZone: container.decode(String.self, forKey: .timeZone),
            weekly: container.decode([WeeklyRange].self, forKey: .weekly),
            exceptions: container.decodeIfPresent([ScheduleException].self, forKey: .exceptions) ?? []
        )
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(timeZoneIdentifier, forKey: .timeZone)
        try container.encode(weekly, forKey: .weekly)
        try container.encode(exceptions, forKey: .exceptions)
    }

    // MARK: - Wall-clock computation

    private static let secondsPerDay = 86_400

    private func isOpen(atSecond second: Int) -> Bool {
        let wall = second + timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(second)))
        let day = Self.floorDivide(wall, Self.secondsPerDay)
        let secondOfDay = wall - day * Self.secondsPerDay
        return ranges(onDay: day).contains { $0.contains(secondOfDay: secondOfDay) }
    }

    private func ranges(onDay day: Int) -> [TimeRange] {
        exceptionsByDay[day] ?? weeklyByDay[Weekday.from(daysSinceEpoch: day)] ?? []
    }

    /// Finds the first whole second at or after `date` whose open state is `open`.
    ///
    /// The open state only changes where the wall clock reaches a range start or end (this
    /// covers a change of date: staying open across midnight needs an end at 24:00 and a start
    /// at 00:00), or at a UTC-offset transition (the wall clock jumps). Those instants are
    /// enumerated up to a horizon two weeks past the later of `date` and the last exception,
    /// after which the weekly pattern just repeats; the earliest with the wanted state wins.
    private func firstInstant(atOrAfter date: Date, whereOpen open: Bool) -> Date? {
        // Open state has one-second resolution: `date` shares the state of its whole second.
        let start = Int(date.timeIntervalSince1970.rounded(.down))
        if isOpen(atSecond: start) == open { return date }

        let startWall = start + timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(start)))
        let startDay = Self.floorDivide(startWall, Self.secondsPerDay)
        let lastExceptionDay = exceptionsByDay.keys.max() ?? startDay
        let endDay = max(startDay, lastExceptionDay) + 16
        // Every instant before `horizon` has a wall day before `endDay` (offsets are under a day).
        let horizon = (endDay - 1) * Self.secondsPerDay
        let transitions = offsetTransitions(from: start - Self.secondsPerDay, to: horizon + Self.secondsPerDay)

        var candidates = transitions.filter { $0 > start && $0 < horizon }
        for day in (startDay - 1)..<endDay {
            var secondsOfDay: Set<Int> = []
            for range in ranges(onDay: day) {
                secondsOfDay.insert(range.start.minutesSinceMidnight * 60)
                secondsOfDay.insert(range.end.minutesSinceMidnight * 60)
            }
            for secondOfDay in secondsOfDay {
                for instant in instants(atWall: day * Self.secondsPerDay + secondOfDay, transitions: transitions)
                where instant > start && instant < horizon {
                    candidates.append(instant)
                }
            }
        }
        guard let found = candidates.sorted().first(where: { isOpen(atSecond: $0) == open }) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(found))
    }

    /// The instants (0, 1 or 2) whose local wall-clock time is `wall` (seconds since 1970-01-01 00:00 local).
    private func instants(atWall wall: Int, transitions: [Int]) -> [Int] {
        let margin = 18 * 3600  // more than any UTC offset
        var offsets: Set<Int> = []
        for probe in [wall - margin, wall, wall + margin] { offsets.insert(offset(at: probe)) }
        for transition in transitions where transition > wall - margin && transition < wall + margin {
            offsets.insert(offset(at: transition))
        }
        return offsets.map { wall - $0 }.filter { offset(at: $0) == wall - $0 }
    }

    private func offset(at second: Int) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(second)))
    }

    /// Instants (whole seconds) in `[from, to]` where the zone's UTC offset changes.
    private func offsetTransitions(from: Int, to: Int) -> [Int] {
        var result: [Int] = []
        var cursor = Date(timeIntervalSince1970: TimeInterval(from))
        while let next = timeZone.nextDaylightSavingTimeTransition(after: cursor),
            next.timeIntervalSince1970 <= TimeInterval(to)
        {
            result.append(Int(next.timeIntervalSince1970.rounded(.up)))
            cursor = next
        }
        return result
    }

    private static func floorDivide(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}
