import Foundation

/// A moment broken into UTC calendar fields, with the timestamp formats the
/// providers write. Computed arithmetically (no formatter, no locale), as it
/// runs on the send path.
struct UTCTime: Sendable {
    let year: Int, month: Int, day: Int
    let hour: Int, minute: Int, second: Int, millisecond: Int
    /// 0 = Sunday.
    let weekday: Int

    init(_ date: Date) {
        let milliseconds = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds.floorDivided(by: 1000)
        millisecond = milliseconds - seconds * 1000
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = seconds - days * 86_400
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
        weekday = (days % 7 + 11) % 7  // 1970-01-01 was a Thursday
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// RFC 2822, as Twilio writes dates: `Thu, 30 Jul 2015 20:12:31 +0000`.
    var rfc2822: String {
        "\(Self.weekdays[weekday]), \(pad(day)) \(Self.months[month - 1]) \(year) \(pad(hour)):\(pad(minute)):\(pad(second)) +0000"
    }

    /// `2014-12-21 12:06:01`, as Dinstar and Vonage write them.
    var dateTime: String {
        "\(year)-\(pad(month))-\(pad(day)) \(pad(hour)):\(pad(minute)):\(pad(second))"
    }

    /// `2019-11-09T16:00:00.000+0000`, as Infobip writes them.
    var infobip: String {
        "\(year)-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second)).\(pad(millisecond, 3))+0000"
    }

    /// ISO 8601 with milliseconds and `Z`.
    var iso8601: String {
        "\(year)-\(pad(month))-\(pad(day))T\(pad(hour)):\(pad(minute)):\(pad(second)).\(pad(millisecond, 3))Z"
    }

    /// `YYMMDDhhmm`: Vonage `scts`, Twilio `RawDlrDoneDate`.
    var compact: String {
        "\(pad(year % 100))\(pad(month))\(pad(day))\(pad(hour))\(pad(minute))"
    }

    private func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

extension Int {
    fileprivate func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
