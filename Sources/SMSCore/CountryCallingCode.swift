/// An ITU-T E.164 country calling code (`1`, `39`, `598`), with its trunk prefix and default time zone.
public struct CountryCallingCode: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The code as a number (no leading zeros exist).
    public let value: Int

    /// Accepts only codes in the ITU assignment table (`assigned`).
    public init(_ value: Int) throws(SMSCoreError) {
        guard Self.assigned.contains(value) else { throw .unknownCountryCallingCode(value) }
        self.value = value
    }

    private init(unchecked value: Int) { self.value = value }

    /// The code's digits, without `+`.
    public var digits: String { String(value) }

    /// `+598` style text.
    public var description: String { "+\(value)" }

    /// Orders codes numerically.
    public static func < (lhs: CountryCallingCode, rhs: CountryCallingCode) -> Bool { lhs.value < rhs.value }

    /// The assigned code that the international digits (no `+`) start with; ITU codes are prefix-free, the longest match wins.
    public static func prefix(of internationalDigits: some StringProtocol) -> CountryCallingCode? {
        guard internationalDigits.allSatisfy(\.isASCIIDigit) else { return nil }
        for length in stride(from: 3, through: 1, by: -1) where internationalDigits.count >= length {
            if let value = Int(internationalDigits.prefix(length)), assigned.contains(value) {
                return CountryCallingCode(unchecked: value)
            }
        }
        return nil
    }

    /// The national trunk prefix removed from national-form numbers (`0`, `1` for NANP, `8` for +7), or nil when none.
    public var trunkPrefix: String? { Self.trunkPrefixes[value] }

    /// The IANA zone used for quiet hours when only the country is known (SPEC D10), or nil when not in the table.
    ///
    /// Countries spanning several zones get their most populous one: +1 (NANP: US, Canada and
    /// the Caribbean) → America/New_York, +52 → America/Mexico_City, +55 → America/Sao_Paulo,
    /// +54 → America/Argentina/Buenos_Aires, +7 → Europe/Moscow, +61 → Australia/Sydney.
    public var defaultTimeZoneIdentifier: String? { Self.timeZones[value] }

    /// Decodes from a bare number (`598`), which must be assigned.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(Int.self))
    }

    /// Encodes as a bare number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// Every country calling code currently assigned by the ITU (E.164 list), including global services (800, 870, 882…).
    public static let assigned: Set<Int> = [
        1, 7,
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49,
        51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66,
        81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
        // Zone 2 (Africa, Atlantic)
        211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229,
        230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249,
        250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269,
        290, 291, 297, 298, 299,
        // Zone 3 (Europe)
        350, 351, 352, 353, 354, 355, 356, 357, 358, 359,
        370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 380, 381, 382, 383, 385, 386, 387, 389,
        // Zone 4 (Europe)
        420, 421, 423,
        // Zone 5 (Americas)
        500, 501, 502, 503, 504, 505, 506, 507, 508, 509,
        590, 591, 592, 593, 594, 595, 596, 597, 598, 599,
        // Zone 6 (Oceania)
        670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692,
        // Zone 8 (East Asia, global services)
        800, 808, 850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888,
        // Zone 9 (West, Central and South Asia)
        960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979,
        991, 992, 993, 994, 995, 996, 998,
    ]

    private static let trunkPrefixes: [Int: String] = {
        var table: [Int: String] = [1: "1", 7: "8"]
        // Countries whose national numbers are dialled with a leading 0 that E.164 drops.
        // Not listed on purpose: Italy, San Marino, Vatican (the 0 is part of the number), and
        // countries without a trunk prefix (Spain, Mexico, Chile, Colombia, Portugal, Greece, …).
        let zero = [
            20, 27, 31, 32, 33, 36, 40, 41, 43, 44, 46, 49, 51, 53, 54, 55, 58, 60, 61, 62, 63, 64, 66,
            81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
            212, 213, 233, 234, 254, 255, 256, 353, 358, 359, 380, 381, 385, 386, 387, 389, 421,
            591, 593, 595, 598, 880, 886, 966, 971, 972,
        ]
        for code in zero { table[code] = "0" }
        return table
    }()

    private static let timeZones: [Int: String] = [
        // North America and the Caribbean
        1: "America/New_York", 52: "America/Mexico_City", 53: "America/Havana",
        297: "America/Aruba", 299: "America/Nuuk", 508: "America/Miquelon", 509: "America/Port-au-Prince",
        590: "America/Guadeloupe", 596: "America/Martinique", 599: "America/Curacao",
        // Central America
        501: "America/Belize", 502: "America/Guatemala", 503: "America/El_Salvador", 504: "America/Tegucigalpa",
        505: "America/Managua", 506: "America/Costa_Rica", 507: "America/Panama",
        // South America
        51: "America/Lima", 54: "America/Argentina/Buenos_Aires", 55: "America/Sao_Paulo", 56: "America/Santiago",
        57: "America/Bogota", 58: "America/Caracas", 500: "Atlantic/Stanley", 591: "America/La_Paz",
        592: "America/Guyana", 593: "America/Guayaquil", 594: "America/Cayenne", 595: "America/Asuncion",
        597: "America/Paramaribo", 598: "America/Montevideo",
        // Europe
        7: "Europe/Moscow", 30: "Europe/Athens", 31: "Europe/Amsterdam", 32: "Europe/Brussels", 33: "Europe/Paris",
        34: "Europe/Madrid", 36: "Europe/Budapest", 39: "Europe/Rome", 40: "Europe/Bucharest", 41: "Europe/Zurich",
        43: "Europe/Vienna", 44: "Europe/London", 45: "Europe/Copenhagen", 46: "Europe/Stockholm", 47: "Europe/Oslo",
        48: "Europe/Warsaw", 49: "Europe/Berlin", 298: "Atlantic/Faroe", 350: "Europe/Gibraltar", 351: "Europe/Lisbon",
        352: "Europe/Luxembourg", 353: "Europe/Dublin", 354: "Atlantic/Reykjavik", 355: "Europe/Tirane",
        356: "Europe/Malta", 357: "Asia/Nicosia", 358: "Europe/Helsinki", 359: "Europe/Sofia", 370: "Europe/Vilnius",
        371: "Europe/Riga", 372: "Europe/Tallinn", 373: "Europe/Chisinau", 374: "Asia/Yerevan", 375: "Europe/Minsk",
        376: "Europe/Andorra", 377: "Europe/Monaco", 378: "Europe/San_Marino", 379: "Europe/Vatican",
        380: "Europe/Kyiv", 381: "Europe/Belgrade", 382: "Europe/Podgorica", 383: "Europe/Belgrade",
        385: "Europe/Zagreb", 386: "Europe/Ljubljana", 387: "Europe/Sarajevo", 389: "Europe/Skopje",
        420: "Europe/Prague", 421: "Europe/Bratislava", 423: "Europe/Vaduz",
        // Africa
        20: "Africa/Cairo", 27: "Africa/Johannesburg", 212: "Africa/Casablanca", 213: "Africa/Algiers",
        216: "Africa/Tunis", 221: "Africa/Dakar", 233: "Africa/Accra", 234: "Africa/Lagos", 240: "Africa/Malabo",
        254: "Africa/Nairobi",
        // Asia and Oceania
        60: "Asia/Kuala_Lumpur", 61: "Australia/Sydney", 62: "Asia/Jakarta", 63: "Asia/Manila", 64: "Pacific/Auckland",
        65: "Asia/Singapore", 66: "Asia/Bangkok", 81: "Asia/Tokyo", 82: "Asia/Seoul", 84: "Asia/Ho_Chi_Minh",
        86: "Asia/Shanghai", 90: "Europe/Istanbul", 91: "Asia/Kolkata", 92: "Asia/Karachi", 98: "Asia/Tehran",
        852: "Asia/Hong_Kong", 880: "Asia/Dhaka", 886: "Asia/Taipei", 966: "Asia/Riyadh", 971: "Asia/Dubai",
        972: "Asia/Jerusalem",
    ]
}
