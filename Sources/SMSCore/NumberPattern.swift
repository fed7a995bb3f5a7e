import Foundation

extension SMSCoreError {
    /// Why a number-validation regular expression is rejected (positions are 1-based characters of the pattern).
    public enum NumberPatternProblem: Sendable, Hashable, CustomStringConvertible {
        /// The pattern is empty or only whitespace.
        case empty
        /// A `(` that is never closed.
        case unclosedGroup(position: Int)
        /// A `)` with no matching `(`.
        case unmatchedParenthesis(position: Int)
        /// A `[` that is never closed.
        case unclosedCharacterClass(position: Int)
        /// A `\` at the very end.
        case trailingBackslash(position: Int)
        /// A quantifier (`*`, `+`, `?`, `{n}`) with nothing before it to repeat.
        case nothingToRepeat(quantifier: String, position: Int)
        /// A `{min,max}` repetition with min greater than max.
        case reversedRepetition(String, position: Int)
        /// ICU rejected the pattern for a reason it does not locate.
        case rejectedByICU

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .empty: "pattern is empty"
            case .unclosedGroup(let position): "'(' at position \(position) is never closed"
            case .unmatchedParenthesis(let position): "')' at position \(position) has no matching '('"
            case .unclosedCharacterClass(let position): "'[' at position \(position) is never closed"
            case .trailingBackslash(let position): "'\\' at position \(position) escapes nothing"
            case .nothingToRepeat(let quantifier, let position):
                "quantifier '\(quantifier)' at position \(position) has nothing before it to repeat"
            case .reversedRepetition(let text, let position):
                "repetition '\(text)' at position \(position) has its minimum above its maximum"
            case .rejectedByICU: "not a valid ICU regular expression"
            }
        }
    }
}

/// A provider's number-validation regular expression (SPEC P2/P5), such as `^(09\d{7})$`.
///
/// The dialect is ICU's, through `NSRegularExpression` (the same on Linux and macOS; close to
/// Java's and PCRE's for the usual `^`, `$`, `\d`, `{n,m}`, `[...]`, `|`, groups). A number is
/// valid only when the WHOLE string matches (like Java's `String.matches`), whether or not the
/// pattern has `^`/`$`; the pattern is applied to the number exactly as given (spaces included),
/// so pass the form the provider expects (national `099123456` or E.164 `+59899123456`).
public struct NumberPattern: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The pattern as the administrator wrote it.
    public let pattern: String
    private let regex: NSRegularExpression

    /// Compiles the pattern; an invalid one throws `invalidNumberPattern` naming the pattern and, when found, the position.
    public init(_ pattern: String) throws(SMSCoreError) {
        guard !pattern.allSatisfy(\.isWhitespace) else {
            throw .invalidNumberPattern(pattern: pattern, problem: .empty)
        }
        do {
            _ = try NSRegularExpression(pattern: pattern)
            // Whole-string semantics: \A and \z, unlike ^ and $, ignore line ends and a trailing newline.
            regex = try NSRegularExpression(pattern: "\\A(?:" + pattern + ")\\z")
        } catch {
            throw .invalidNumberPattern(pattern: pattern, problem: Self.locateProblem(in: pattern))
        }
        self.pattern = pattern
    }

    /// Whether the whole number matches the pattern.
    public func matches(_ number: String) -> Bool {
        let range = NSRange(number.startIndex..<number.endIndex, in: number)
        return regex.firstMatch(in: number, options: [], range: range) != nil
    }

    /// The pattern text.
    public var description: String { pattern }

    /// Compares patterns by their text.
    public static func == (lhs: NumberPattern, rhs: NumberPattern) -> Bool { lhs.pattern == rhs.pattern }

    /// Hashes the pattern text.
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// Decodes from the pattern string, compiling it.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes as the pattern string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(pattern)
    }

    /// Finds the first structural mistake ICU would reject, since `NSRegularExpression` reports no position.
    static func locateProblem(in pattern: String) -> SMSCoreError.NumberPatternProblem {
        let characters = Array(pattern)
        var openGroups: [Int] = []  // 1-based positions of unclosed '('
        var canRepeat = false  // whether the previous token is something a quantifier may follow
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let position = index + 1
            switch character {
            case "\\":
                guard index + 1 < characters.count else { return .trailingBackslash(position: position) }
                if characters[index + 1] == "Q" {  // \Q…\E quotes literally, possibly to the end
                    index += 2
                    while index < characters.count,
                        !(characters[index] == "\\" && index + 1 < characters.count && characters[index + 1] == "E")
                    {
                        index += 1
                    }
                    index += 2
                    canRepeat = true
                    continue
                }
                index += 2
                canRepeat = true
                continue
            case "[":
                guard let close = closingBracket(in: characters, openingAt: index) else {
                    return .unclosedCharacterClass(position: position)
                }
                index = close + 1
                canRepeat = true
                continue
            case "(":
                openGroups.append(position)
                canRepeat = false
                if index + 1 < characters.count, characters[index + 1] == "?" {
                    index += 2  // group options such as (?: (?= (?<name> are not quantifiers
                    continue
                }
            case ")":
                guard openGroups.popLast() != nil else { return .unmatchedParenthesis(position: position) }
                canRepeat = true
            case "|":
                canRepeat = false
            case "*", "+", "?":
                guard canRepeat else { return .nothingToRepeat(quantifier: String(character), position: position) }
                // A following '?' or '+' makes it lazy or possessive, not a second quantifier.
                if index + 1 < characters.count, characters[index + 1] == "?" || characters[index + 1] == "+" {
                    index += 1
                }
                canRepeat = false
            case "{":
                if let close = characters[index...].firstIndex(of: "}") {
                    let body = String(characters[(index + 1)..<close])
                    let bounds = body.split(separator: ",", omittingEmptySubsequences: false)
                    if !body.isEmpty, bounds.count <= 2, bounds.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
                        !bounds[0].isEmpty
                    {
                        let text = String(characters[index...close])
                        guard canRepeat else { return .nothingToRepeat(quantifier: text, position: position) }
                        if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low > high {
                            return .reversedRepetition(text, position: position)
                        }
                        index = close + 1
                        canRepeat = false
                        continue
                    }
                }
                canRepeat = true
            case "^", "$":
                canRepeat = false
            default:
                canRepeat = true
            }
            index += 1
        }
        if let unclosed = openGroups.last { return .unclosedGroup(position: unclosed) }
        return .rejectedByICU
    }

    /// Index of the `]` closing the class opened at `start`, honouring escapes and nested ICU sets.
    private static func closingBracket(in characters: [Character], openingAt start: Int) -> Int? {
        var depth = 0
        var index = start
        var classStart = start
        while index < characters.count {
            let character = characters[index]
            if character == "\\" {
                index += 2
                continue
            }
            if character == "[" {
                depth += 1
                classStart = index
                // A ']' right after '[' or '[^' is a literal member in ICU.
                index += 1
                if index < characters.count, characters[index] == "^" { index += 1 }
                if index < characters.count, characters[index] == "]", index > classStart { index += 1 }
                continue
            }
            if character == "]" {
                depth -= 1
                if depth == 0 { return index }
            }
            index += 1
        }
        return nil
    }
}
