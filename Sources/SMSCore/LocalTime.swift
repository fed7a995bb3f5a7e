extension SMSCoreError {
    /// Why a schedule or one of its parts is invalid.
    public enum ScheduleProblem: Sendable, Hashable, CustomStringConvertible {
        /// A time of day that is not `HH:mm` between 00:00 and 24:00.
        case invalidTime(String, reason: String)
        /// A date that is not an existing `YYYY-MM-DD` day.
        case invalidDate(String, reason: String)
        /// A range whose end is not after its start.
        case rangeNotIncreasing(start: LocalTime, end: LocalTime)
        /// A range that starts at 24:00.
        case rangeStartsAtMidnightEnd(end: LocalTime)
        /// A time zone identifier Foundation does not know.
        case unknownTimeZone(String)
        /// Two exceptions for the same date.
        case duplicateException(LocalDate)

        /// A human-readable message naming the offending value.
        public var description: String {
            switch self {
            case .invalidTime(let text, let reason):
                return "time \"\(text)\": \(reason)"
            case .invalidDate(let text, let reason):
                return "date \"\(text)\": \(reason)"
            case .rangeNotIncreasing(let start, let end):
                return "time range \(start)-\(end): end \(end) is not after start \(start)"
                    + " (a range crossing midnight must be split into ...-24:00 and 00:00-...)"
            case .rangeStartsAtMidnightEnd(let end):
                return "time range 24:00-\(end): a range cannot start at 24:00"
            case .unknownTimeZone(let identifier):
                return "time zone \"\(identifier)\" is not a known IANA time zone"
            case .duplicateException(let date):
                return "schedule has two exceptions for \(date)"
            }
        }
    }
}

/// A wall-clock time of day with minute precision, from 00:00 to 24:00 inclusive; coded as `"HH:mm"`.
public struct LocalTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Minutes since midnight, 0...1440 (1440 is 24:00, the end of the day).
    public let minutesSinceMidnight: Int

    /// 00:00.
    public static let midnight = LocalTime(uncheckedMinutes: 0)
    /// 24:00, valid only as the end of a range.
    public static let endOfDay = LocalTime(uncheckedMinutes: 1440)

    /// A time from hour 0...23 and minute 0...59, or exactly 24:00.
    public init(hour: Int, minute: Int = 0) throws(SMSCoreError) {
        let text = LocalTime.format(hour: hour, minute: minute)
        guard (0...24).contains(hour) else {
            throw .invalidSchedule(.invalidTime(text, reason: "hour \(hour) is out of range 0-24"))
        }
        guard (0...59).contains(minute) else {
            throw .invalidSchedule(.invalidTime(text, reason: "minute \(minute) is out of range 0-59"))
        }
        guard hour < 24 || minute == 0 else {
            throw .invalidSchedule(.invalidTime(text, reason: "only 24:00 is allowed after 23:59"))
        }
        minutesSinceMidnight = hour * 60 + minute
    }

    /// Parses `HH:mm` (`9:30` and `24:00` accepted).
    public init(_ text: String) throws(SMSCoreError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            let hour = Int(parts[0]), let minute = Int(parts[1])
        else {
            throw .invalidSchedule(.invalidTime(text, reason: "expected HH:mm, such as 09:30"))
        }
        do {
            try self.init(hour: hour, minute: minute)
        } catch {
            // Re-throw with the text as written ("25:00", not a reformatted value).
            if case .invalidSchedule(.invalidTime(_, let reason)) = error {
                throw .invalidSchedule(.invalidTime(text, reason: reason))
            }
            throw error
        }
    }

    private init(uncheckedMinutes: Int) { minutesSinceMidnight = uncheckedMinutes }

    /// The hour, 0...24.
    public var hour: Int { minutesSinceMidnight / 60 }
    /// The minute, 0...59.
    public var minute: Int { minutesSinceMidnight % 60 }

    /// `HH:mm`.
    public var description: String { LocalTime.format(hour: hour, minute: minute) }

    /// Orders times within a day.
    public static func < (lhs: LocalTime, rhs: LocalTime) -> Bool {
        lhs.minutesSinceMidnight < rhs.minutesSinceMidnight
    }

    /// Decodes from `"HH:mm"`, validating it.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes as `"HH:mm"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func format(hour: Int, minute: Int) -> String {
        func twoDigits(_ value: Int) -> String { value >= 0 && value < 10 ? "0\(value)" : "\(value)" }
        return "\(twoDigits(hour)):\(twoDigits(minute))"
    }
}

/// A calendar day (proleptic Gregorian) without a time zone; coded as `"YYYY-MM-DD"`.
public struct LocalDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The year, 1...9999.
    public let year: Int
    /// The month, 1...12.
    public let month: Int
    /// The day of the month, 1...31 as the month allows.
    public let day: Int

    /// A date that must exist (no 2025-02-29).
    public init(year: Int, month: Int, day: Int) throws(SMSCoreError) {
        let text = LocalDate.format(year: year, month: month, day: day)
        guard (1...9999).contains(year) else {
            throw .invalidSchedule(.invalidDate(text, reason: "year \(year) is out of range 1-9999"))
        }
        guard (1...12).contains(month) else {
            throw .invalidSchedule(.invalidDate(text, reason: "month \(month) is out of range 1-12"))
        }
        let length = LocalDate.daysIn(month: month, year: year)
        guard (1...length).contains(day) else {
            throw .invalidSchedule(.invalidDate(text, reason: "day \(day) is out of range 1-\(length) for that month"))
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init(_ text: String) throws(SMSCoreError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else {
            throw .invalidSchedule(.invalidDate(text, reason: "expected YYYY-MM-DD, such as 2025-12-25"))
        }
        try self.init(year: year, month: month, day: day)
    }

    /// The date `daysSinceEpoch` days after 1970-01-01 (negative before it).
    init(daysSinceEpoch days: Int) {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this date (negative before it).
    var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The day of the week.
    public var weekday: Weekday { Weekday.from(daysSinceEpoch: daysSinceEpoch) }

    /// `YYYY-MM-DD`.
    public var description: String { LocalDate.format(year: year, month: month, day: day) }

    /// Orders dates chronologically.
    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Decodes from `"YYYY-MM-DD"`, validating it.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes as `"YYYY-MM-DD"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func format(year: Int, month: Int, day: Int) -> String {
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }
}

/// A day of the week; coded as its lowercase English name (`"monday"`).
public enum Weekday: String, Sendable, Hashable, Codable, CaseIterable {
    /// Monday.
    case monday
    /// Tuesday.
    case tuesday
    /// Wednesday.
    case wednesday
    /// Thursday.
    case thursday
    /// Friday.
    case friday
    /// Saturday.
    case saturday
    /// Sunday.
    case sunday

    static func from(daysSinceEpoch days: Int) -> Weekday {
        // 1970-01-01 was a Thursday (index 3 counting from Monday).
        let index = ((days % 7) + 7 + 3) % 7
        return allCases[index]
    }
}
