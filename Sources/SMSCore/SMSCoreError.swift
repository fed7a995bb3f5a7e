/// Every error SMSCore throws; `description` is a message for humans that names the offending input.
public enum SMSCoreError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The text was forced to GSM-7 but contains these characters (grapheme clusters, first occurrence order) that GSM 03.38 lacks.
    case notEncodableInGSM7(characters: [String])
    /// A provider's number-validation regular expression does not compile.
    case invalidNumberPattern(pattern: String, problem: NumberPatternProblem)
    /// A phone number cannot be normalised to E.164.
    case invalidPhoneNumber(input: String, problem: PhoneNumberProblem)
    /// A country calling code that the ITU has not assigned.
    case unknownCountryCallingCode(Int)
    /// A schedule, or one of its times, dates or ranges, is invalid.
    case invalidSchedule(ScheduleProblem)
    /// A dial string cannot be parsed into ports.
    case invalidDialString(input: String, problem: DialStringProblem)
    /// The spool state machine does not allow this change.
    case forbiddenSpoolTransition(from: SpoolState, to: SpoolState)
    /// An opt-out/opt-in keyword configuration is invalid.
    case invalidKeywords(KeywordProblem)

    /// A human-readable message naming what is wrong and where.
    public var description: String {
        switch self {
        case .notEncodableInGSM7(let characters):
            let list = characters.map { "\"\($0)\" (\(SMSCoreError.codePoints($0)))" }.joined(separator: ", ")
            let verb = characters.count == 1 ? "is" : "are"
            return "text cannot be sent as GSM-7: \(list) \(verb) not in the GSM 03.38 alphabet (use UCS-2 or auto)"
        case .invalidNumberPattern(let pattern, let problem):
            return "number pattern \"\(pattern)\": \(problem)"
        case .invalidPhoneNumber(let input, let problem):
            return "phone number \"\(input)\": \(problem)"
        case .unknownCountryCallingCode(let code):
            return "country calling code +\(code) is not assigned by the ITU"
        case .invalidSchedule(let problem):
            return problem.description
        case .invalidDialString(let input, let problem):
            return "dial string \"\(input)\": \(problem)"
        case .forbiddenSpoolTransition(let from, let to):
            return "spool state cannot change from \"\(from.rawValue)\" to \"\(to.rawValue)\""
        case .invalidKeywords(let problem):
            return "keywords: \(problem)"
        }
    }

    /// `U+00F3` style code points of a string, for messages about invisible or look-alike characters.
    static func codePoints(_ string: String) -> String {
        string.unicodeScalars.map { scalar in
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }.joined(separator: " ")
    }
}
