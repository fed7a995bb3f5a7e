extension SMSCoreError {
    /// Why a phone number cannot be normalised to E.164 (positions are 1-based characters of the input).
    public enum PhoneNumberProblem: Sendable, Hashable, CustomStringConvertible {
        /// No digits at all.
        case empty
        /// A character that is neither a digit nor an allowed separator.
        case invalidCharacter(Character, position: Int)
        /// An E.164 string without its leading `+`.
        case missingPlus
        /// A `+` somewhere other than before the first digit.
        case misplacedPlus(position: Int)
        /// Fewer digits than any E.164 number has (country code included).
        case tooShort(digits: Int, minimum: Int)
        /// More digits than E.164 allows (country code included).
        case tooLong(digits: Int, maximum: Int)
        /// The international digits do not start with an assigned country calling code.
        case unknownCountryCode(digits: String)

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .empty:
                return "contains no digits"
            case .invalidCharacter(let character, let position):
                let kind = character.isLetter ? "letter" : "character"
                return "\(kind) \"\(character)\" at position \(position) is not allowed "
                    + "(only digits 0-9, spaces, '-', '.', '(', ')' and a leading '+')"
            case .missingPlus:
                return "E.164 form must start with '+'"
            case .misplacedPlus(let position):
                return "'+' at position \(position) is only allowed before the first digit"
            case .tooShort(let digits, let minimum):
                return "too short: \(digits) digits with the country code, at least \(minimum) needed"
            case .tooLong(let digits, let maximum):
                return "too long: \(digits) digits with the country code, E.164 allows at most \(maximum)"
            case .unknownCountryCode(let digits):
                return "+\(digits) does not start with an assigned country calling code"
            }
        }
    }
}

/// A phone number in E.164 form (`+59899123456`): a `+`, an assigned country calling code, at most 15 digits.
///
/// Normalisation is deliberately simple (no per-country length or numbering-plan rules; the
/// provider's `NumberPattern` is the format check of SPEC P5):
/// - separators (whitespace, `-`, `.`, `(`, `)`) are removed; any other non-digit is an error;
/// - `+CC…` and `00CC…` are international (`011CC…` too when the default country is +1);
/// - anything else is national: the default country's trunk prefix (`0` in Uruguay, `1` in
///   NANP, none in Italy, Spain or Mexico) is removed once and the country code prepended.
///   Digits without `+`/`00` are never guessed to already contain a country code.
/// Known gaps: Argentina's mobile `15` and Brazil's carrier codes are not rewritten.
public struct PhoneNumber: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Most digits an E.164 number has, country code included.
    public static let maximumDigits = 15
    /// Fewest digits accepted, country code included (Niue's `+683 xxxx` has 7).
    public static let minimumDigits = 7

    /// The number as `+` followed by digits.
    public let e164: String
    /// The country calling code the number starts with.
    public let countryCallingCode: CountryCallingCode

    /// Validates a string that must already be E.164: `+` and 7 to 15 digits starting with an assigned code.
    public init(e164 string: String) throws(SMSCoreError) {
        let body = string.dropFirst()
        guard string.first == "+", !body.isEmpty, body.allSatisfy(\.isASCIIDigit) else {
            throw .invalidPhoneNumber(input: string, problem: Self.firstProblem(inE164: string))
        }
        try self.init(internationalDigits: String(body), input: string)
    }

    /// Normalises a national or international number to E.164, using `defaultCountry` for national forms.
    public init(_ input: String, defaultCountry: CountryCallingCode) throws(SMSCoreError) {
        var digits = ""
        var hasPlus = false
        for (offset, character) in input.enumerated() {
            let position = offset + 1
            if character.isASCIIDigit {
                digits.append(character)
            } else if character == "+" {
                guard digits.isEmpty, !hasPlus else {
                    throw .invalidPhoneNumber(input: input, problem: .misplacedPlus(position: position))
                }
                hasPlus = true
            } else if !Self.isSeparator(character) {
                throw .invalidPhoneNumber(input: input, problem: .invalidCharacter(character, position: position))
            }
        }
        guard !digits.isEmpty else { throw .invalidPhoneNumber(input: input, problem: .empty) }

        let international: String
        if hasPlus {
            international = digits
        } else if digits.hasPrefix("00") {
            international = String(digits.dropFirst(2))
        } else if defaultCountry.value == 1, digits.hasPrefix("011") {
            international = String(digits.dropFirst(3))
        } else {
            var national = Substring(digits)
            if let trunk = defaultCountry.trunkPrefix, national.hasPrefix(trunk) {
                national = national.dropFirst(trunk.count)
            }
            international = defaultCountry.digits + national
        }
        try self.init(internationalDigits: international, input: input)
    }

    private init(internationalDigits digits: String, input: String) throws(SMSCoreError) {
        guard digits.count <= Self.maximumDigits else {
            throw .invalidPhoneNumber(
                input: input, problem: .tooLong(digits: digits.count, maximum: Self.maximumDigits))
        }
        guard let code = CountryCallingCode.prefix(of: digits) else {
            throw .invalidPhoneNumber(input: input, problem: .unknownCountryCode(digits: digits))
        }
        guard digits.count >= Self.minimumDigits else {
            throw .invalidPhoneNumber(
                input: input, problem: .tooShort(digits: digits.count, minimum: Self.minimumDigits))
        }
        self.e164 = "+" + digits
        self.countryCallingCode = code
    }

    /// The digits after the country calling code (the national significant number).
    public var nationalNumber: String { String(e164.dropFirst(1 + countryCallingCode.digits.count)) }

    /// The default IANA time zone of the number's country (SPEC D10), if known.
    public var defaultTimeZoneIdentifier: String? { countryCallingCode.defaultTimeZoneIdentifier }

    /// The E.164 form.
    public var description: String { e164 }

    /// Orders numbers by their E.164 text.
    public static func < (lhs: PhoneNumber, rhs: PhoneNumber) -> Bool { lhs.e164 < rhs.e164 }

    /// Decodes from a single E.164 string, validating it.
    public init(from decoder: any Decoder) throws {
        let string = try decoder.singleValueContainer().decode(String.self)
        try self.init(e164: string)
    }

    /// Encodes as a single E.164 string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(e164)
    }

    private static func isSeparator(_ character: Character) -> Bool {
        character.isWhitespace || character == "-" || character == "." || character == "(" || character == ")"
    }

    private static func firstProblem(inE164 string: String) -> SMSCoreError.PhoneNumberProblem {
        for (offset, character) in string.enumerated() where !character.isASCIIDigit {
            if character == "+" {
                if offset != 0 { return .misplacedPlus(position: offset + 1) }
            } else {
                return .invalidCharacter(character, position: offset + 1)
            }
        }
        // Only digits and at most a leading '+' are left: either no '+' or no digits.
        return string.hasPrefix("+") || string.isEmpty ? .empty : .missingPlus
    }
}

extension Character {
    /// `0`…`9` only (not other scripts' digits, not fullwidth digits).
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
