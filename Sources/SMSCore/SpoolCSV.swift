import Foundation

/// One valid line of a bulk spool file (SPEC D5), with its required fields trimmed.
public struct SpoolCSVRow: Sendable, Hashable {
    /// 1-based line of the file where the row starts.
    public let line: Int
    /// Campaign name, trimmed (whether it exists is for the caller to check).
    public let campaign: String
    /// Destination number, trimmed but otherwise as written (the caller checks the provider's pattern).
    public let destination: String
    /// Message text exactly as written (line breaks of a quoted field included).
    public let message: String
    /// Priority (higher is sent first), within `SpoolCSV.priorityRange`.
    public let priority: Int
    /// Columns after the fourth, in order and as written, without trailing empty ones.
    public let extra: [String]

    /// Creates a row from its parts (normally produced by `SpoolCSV.next()`).
    public init(line: Int, campaign: String, destination: String, message: String, priority: Int, extra: [String] = [])
    {
        self.line = line
        self.campaign = campaign
        self.destination = destination
        self.message = message
        self.priority = priority
        self.extra = extra
    }
}

/// Why a line of a bulk spool file is refused: the line, the field and the reason.
public struct SpoolCSVIssue: Sendable, Hashable, CustomStringConvertible {
    /// The column a problem is about.
    public enum Field: Sendable, Hashable, CustomStringConvertible {
        case campaign, destination, message, priority
        /// A column after the fourth (1-based column number, so 5 or more).
        case extra(column: Int)

        /// The field at a 1-based column.
        public init(column: Int) {
            switch column {
            case 1: self = .campaign
            case 2: self = .destination
            case 3: self = .message
            case 4: self = .priority
            default: self = .extra(column: column)
            }
        }

        /// `priority`, or `column 6` for extra columns.
        public var description: String {
            switch self {
            case .campaign: return "campaign"
            case .destination: return "destination"
            case .message: return "message"
            case .priority: return "priority"
            case .extra(let column): return "column \(column)"
            }
        }
    }

    /// What is wrong.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// The line is not well-formed CSV (quotes, UTF-8, length).
        case malformed(CSVError.Problem)
        /// Fewer than the 4 required fields; `likelyDelimiter` is set when the line seems to use another separator.
        case tooFewFields(found: Int, likelyDelimiter: Character?)
        /// A required field is empty or only whitespace.
        case empty
        /// The priority is not a whole number.
        case priorityNotAnInteger(String)
        /// The priority is a whole number outside `SpoolCSV.priorityRange`.
        case priorityOutOfRange(String)
        /// The message has more characters than allowed.
        case messageTooLong(characters: Int, maximum: Int)
        /// The field holds a NUL character (U+0000), which no text column of either database can store.
        case nulCharacter

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .malformed(let problem):
                return problem.description
            case .tooFewFields(let found, let likelyDelimiter):
                let count = found == 1 ? "1 field" : "\(found) fields"
                var text = "has \(count); 4 are required (campaign;destination;message;priority)"
                if let likelyDelimiter {
                    let name = likelyDelimiter == "\t" ? "tab" : "\"\(likelyDelimiter)\""
                    text += "; the line seems separated by \(name) instead of \";\""
                }
                return text
            case .empty:
                return "is empty"
            case .priorityNotAnInteger(let text):
                return "\"\(text)\" is not a whole number"
            case .priorityOutOfRange(let text):
                return "\(text) is outside \(SpoolCSV.priorityRange.lowerBound)...\(SpoolCSV.priorityRange.upperBound)"
            case .messageTooLong(let characters, let maximum):
                return "has \(characters) characters; at most \(maximum) are allowed"
            case .nulCharacter:
                return "contains a NUL character (U+0000), which cannot be stored"
            }
        }
    }

    /// 1-based line of the file where the offending row starts.
    public let line: Int
    /// The field at fault, or nil when the line as a whole is.
    public let field: Field?
    /// What is wrong.
    public let problem: Problem

    /// Creates an issue from its parts (normally collected by `SpoolCSV`).
    public init(line: Int, field: Field?, problem: Problem) {
        self.line = line
        self.field = field
        self.problem = problem
    }

    /// `line 7, priority: "alta" is not a whole number`.
    public var description: String {
        let place = field.map { "line \(line), \($0)" } ?? "line \(line)"
        return "\(place): \(problem)"
    }
}

/// Streaming reader of a bulk spool file (SPEC D5): `campaign;destination;message;priority[;extra…]`.
///
/// Feed chunks and drain `next()` as with `CSVReader`; it returns only valid rows and collects
/// every refused line in `issues` (all of them, each with line, field and reason: a file with
/// any issue is to be refused whole; issues are not capped, so a file of a million bad lines
/// holds a million issues). Rules, on top of `CSVReader`'s:
/// - Header: optional. The first non-blank line (only it, even when it is malformed) is a header
///   when its 4th field is missing or not
///   an integer and at least two of its first four fields are column names at their place
///   (case, accents and surrounding spaces ignored): `campaign`/`campaña`/`campagna`,
///   `destination`/`destino`/`number`/`phone`/`teléfono`, `message`/`mensaje`/`messaggio`/`text`,
///   `priority`/`prioridad`/`priorità`. Its fields are kept in `header` (names for the extra columns).
/// - Blank lines (empty, or only delimiters and spaces, as spreadsheets export) are skipped.
/// - At least 4 fields. Campaign, destination and priority are trimmed of whitespace; campaign,
///   destination and message may not be empty or only whitespace; the message is kept as written.
/// - Priority: an optional sign and decimal digits within `priorityRange` (the spool's SQL
///   `int` column), such as the seed's `9999`.
/// - Message: at most `maximumMessageLength` characters (grapheme clusters, as Twilio counts its
///   1,600-character limit). Any Unicode text is allowed: the seed's ban on `@` and quotes is not kept.
/// - Destinations are not checked against a provider pattern here (invalid numbers load as `invalid`).
/// - Extra columns are kept in order, as written; trailing empty ones are dropped, so the seed's
///   `campaign;number;text;9999;` lines have no extra data.
public struct SpoolCSV: Sendable {
    /// The four required columns, in order.
    public static let columns = ["campaign", "destination", "message", "priority"]
    /// Twilio's limit for one message body, in characters.
    public static let defaultMaximumMessageLength = 1600
    /// Priorities accepted: the range of the spool's 32-bit SQL `int` column.
    public static let priorityRange = Int(Int32.min)...Int(Int32.max)

    /// The longest message accepted, in characters (grapheme clusters).
    public let maximumMessageLength: Int
    /// The header line's fields, when the file has one (known after the first non-blank line).
    public private(set) var header: [String]?
    /// Every refused line so far, in file order (a line may have several issues).
    public private(set) var issues: [SpoolCSVIssue] = []

    private var reader: CSVReader
    private var sawFirstRecord = false

    /// Creates a reader for `;`-separated files (or another ASCII `delimiter`).
    public init(delimiter: UInt8 = UInt8(ascii: ";"), maximumMessageLength: Int = SpoolCSV.defaultMaximumMessageLength)
    {
        reader = CSVReader(delimiter: delimiter)
        self.maximumMessageLength = maximumMessageLength
    }

    /// Appends the next chunk of the file; drain `next()` before feeding more.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        reader.feed(bytes)
    }

    /// Marks the end of the file.
    public mutating func finish() {
        reader.finish()
    }

    /// Whether `finish()` was called and every row has been returned.
    public var isAtEnd: Bool { reader.isAtEnd }

    /// The next valid row, or nil when more input is needed (before `finish()`) or at the end (after).
    /// Refused lines are added to `issues` and skipped.
    public mutating func next() -> SpoolCSVRow? {
        while true {
            let record: CSVRecord
            do {
                guard let next = try reader.next() else { return nil }
                record = next
            } catch {
                sawFirstRecord = true  // only the first line can be a header, even when it is malformed
                let field = error.field.map(SpoolCSVIssue.Field.init(column:))
                issues.append(SpoolCSVIssue(line: error.line, field: field, problem: .malformed(error.problem)))
                continue
            }
            if record.isBlank { continue }
            if !sawFirstRecord {
                sawFirstRecord = true
                if Self.isHeader(record) {
                    header = record.strings
                    continue
                }
            }
            if let row = row(from: record) { return row }
        }
    }

    /// Reads a whole file held in memory: its valid rows, every issue and the header if any.
    public static func read(
        _ bytes: some Collection<UInt8>, delimiter: UInt8 = UInt8(ascii: ";"),
        maximumMessageLength: Int = SpoolCSV.defaultMaximumMessageLength
    ) -> (rows: [SpoolCSVRow], issues: [SpoolCSVIssue], header: [String]?) {
        var spool = SpoolCSV(delimiter: delimiter, maximumMessageLength: maximumMessageLength)
        spool.feed(bytes)
        spool.finish()
        var rows: [SpoolCSVRow] = []
        while let row = spool.next() { rows.append(row) }
        return (rows, spool.issues, spool.header)
    }

    // MARK: - Validation

    private mutating func row(from record: CSVRecord) -> SpoolCSVRow? {
        let line = record.line
        let issueCount = issues.count
        func report(_ field: SpoolCSVIssue.Field?, _ problem: SpoolCSVIssue.Problem) {
            issues.append(SpoolCSVIssue(line: line, field: field, problem: problem))
        }
        if record.count < 4 {
            report(nil, .tooFewFields(found: record.count, likelyDelimiter: Self.likelyDelimiter(in: record)))
        }
        // A record has at least one field.
        let campaign = CSVText.trimmedString(record[0])
        let destination = record.count > 1 ? CSVText.trimmedString(record[1]) : ""
        let message = record.count > 2 ? record.string(at: 2) : ""
        if campaign.isEmpty { report(.campaign, .empty) }
        if record.count > 1, destination.isEmpty { report(.destination, .empty) }
        if record.count > 2 {
            if CSVText.isBlank(record[2]) {
                report(.message, .empty)
            } else if let characters = Self.characterCount(of: message, bytes: record[2], above: maximumMessageLength) {
                report(.message, .messageTooLong(characters: characters, maximum: maximumMessageLength))
            }
        }
        for (index, field) in record.enumerated() where field.contains(0) {
            report(SpoolCSVIssue.Field(column: index + 1), .nulCharacter)
        }
        var priority = 0
        if record.count > 3 {
            switch CSVText.integer(record[3]) {
            case .empty: report(.priority, .empty)
            case .notAnInteger(let text): report(.priority, .priorityNotAnInteger(text))
            case .value(let value, let text):
                if Self.priorityRange.contains(value) {
                    priority = value
                } else {
                    report(.priority, .priorityOutOfRange(text))
                }
            }
        }
        guard issues.count == issueCount else { return nil }
        var extra: [String] = []
        if record.count > 4 {
            let last = record.indices.last { !record[$0].isEmpty } ?? 3
            if last > 3 { extra = (4...last).map(record.string(at:)) }
        }
        return SpoolCSVRow(
            line: line, campaign: campaign, destination: destination, message: message, priority: priority, extra: extra
        )
    }

    /// The number of characters of the message when above `maximum`, else nil; cheap for short messages.
    private static func characterCount(of message: String, bytes: ArraySlice<UInt8>, above maximum: Int) -> Int? {
        // Bytes bound scalars, which bound grapheme clusters: count clusters only when it can matter.
        guard bytes.count > maximum else { return nil }
        guard message.unicodeScalars.count > maximum else { return nil }
        let characters = message.count
        return characters > maximum ? characters : nil
    }

    /// The separator a one-field line seems to use instead (`,`, tab or `|`), if any.
    private static func likelyDelimiter(in record: CSVRecord) -> Character? {
        guard record.count == 1 else { return nil }
        let candidates: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: "\t"), UInt8(ascii: "|")]
        let field = record[0]
        let best = candidates.map { candidate in (candidate, field.count { $0 == candidate }) }.max { $0.1 < $1.1 }
        guard let best, best.1 >= 2 else { return nil }
        return Character(Unicode.Scalar(best.0))
    }

    // MARK: - Header

    private static let headerNames: [Set<String>] = [
        ["campaign", "campana", "campagna", "campanha", "campaign name", "campaign_name"],
        [
            "destination", "destino", "destinatario", "destinazione", "number", "numero", "phone", "telefono",
            "tel", "mobile", "movil", "celular", "cellulare", "msisdn", "to",
        ],
        ["message", "mensaje", "messaggio", "mensagem", "text", "texto", "testo", "sms", "body"],
        ["priority", "prioridad", "priorita", "prioridade"],
    ]

    private static func isHeader(_ record: CSVRecord) -> Bool {
        if record.count > 3, case .value = CSVText.integer(record[3]) { return false }
        let matches = record.prefix(4).enumerated().count { column, field in
            headerNames[column].contains(CSVText.folded(field))
        }
        return matches >= 2
    }
}

/// Field helpers shared by the spool and DNCR readers.
enum CSVText {
    /// Whether the field is empty or only whitespace.
    static func isBlank(_ field: ArraySlice<UInt8>) -> Bool {
        var hasNonASCII = false
        for byte in field {
            if byte >= 0x80 {
                hasNonASCII = true
            } else if byte != 0x20, byte != 0x09, byte != 0x0A, byte != 0x0D {
                return false
            }
        }
        // Only Unicode spaces (NBSP, ideographic space…) need the character check.
        return !hasNonASCII || String(decoding: field, as: UTF8.self).allSatisfy(\.isWhitespace)
    }

    /// The field as text without surrounding whitespace (ASCII trimmed on bytes; Unicode spaces such as NBSP too).
    static func trimmedString(_ field: ArraySlice<UInt8>) -> String {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        var start = field.startIndex
        var end = field.endIndex
        while start < end, isSpace(field[start]) { start += 1 }
        while end > start, isSpace(field[end - 1]) { end -= 1 }
        let text = String(decoding: field[start..<end], as: UTF8.self)
        if start < end, field[start] >= 0x80 || field[end - 1] >= 0x80 { return text.trimmingWhitespace() }
        return text
    }

    enum Integer {
        case empty
        case notAnInteger(String)
        /// `text` is the trimmed field.
        case value(Int, text: String)
    }

    /// The field as a whole number: optional `+`/`-` then ASCII digits, surrounding whitespace ignored.
    /// A number too large for `Int` is `.value(Int.max or Int.min)` so range checks reject it.
    static func integer(_ field: ArraySlice<UInt8>) -> Integer {
        let text = trimmedString(field)
        if text.isEmpty { return .empty }
        var digits = Substring(text).utf8[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .notAnInteger(text) }
        var value = 0
        for digit in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - 0x30))
            if overflow1 || overflow2 { return .value(negative ? .min : .max, text: text) }
            value = sum
        }
        return .value(negative ? -value : value, text: text)
    }

    /// Lowercased, without accents and surrounding whitespace: how header names are compared.
    static func folded(_ field: ArraySlice<UInt8>) -> String {
        trimmedString(field).folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }
}

// MARK: - File name

extension SpoolCSV {
    /// The longest file name accepted, in characters.
    public static let maximumFileNameLength = 100

    /// Why an uploaded file name is refused.
    public struct FileNameError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong with the name.
        public enum Problem: Sendable, Hashable, CustomStringConvertible {
            /// Nothing before `.csv` (or no name at all).
            case empty
            /// The name does not end in `.csv`.
            case notCSV
            /// Characters other than `A-Z a-z 0-9 . _ -` (each listed once, in order of appearance).
            case forbiddenCharacters([String])
            /// More than `maximumFileNameLength` characters.
            case tooLong(length: Int, maximum: Int)

            /// A human-readable reason.
            public var description: String {
                switch self {
                case .empty:
                    return "has no name before \".csv\""
                case .notCSV:
                    return "does not end in \".csv\""
                case .forbiddenCharacters(let characters):
                    let list = characters.map { $0 == " " ? "space" : "\"\($0)\"" }.joined(separator: ", ")
                    return "contains \(list); use only letters A-Z, digits, \".\", \"_\" and \"-\""
                case .tooLong(let length, let maximum):
                    return "is \(length) characters long; at most \(maximum) are allowed"
                }
            }
        }

        /// The name as given.
        public let name: String
        /// What is wrong.
        public let problem: Problem

        /// Creates an error from its parts (normally thrown by `SpoolCSV.validateFileName(_:)`).
        public init(name: String, problem: Problem) {
            self.name = name
            self.problem = problem
        }

        /// `file name "mi archivo.csv" contains space; …`.
        public var description: String { "file name \"\(name)\" \(problem)" }
    }

    /// Checks an uploaded file's name (SPEC D5, such as `DISCTEST29042014.csv`): only `A-Z a-z 0-9 . _ -`,
    /// ending in `.csv` (any case), something before it, at most `maximumFileNameLength` characters.
    public static func validateFileName(_ name: String) throws(FileNameError) {
        func fail(_ problem: FileNameError.Problem) -> FileNameError { FileNameError(name: name, problem: problem) }
        var forbidden: [String] = []
        for character in name where !character.isASCII || !Self.isFileNameCharacter(character) {
            let text = String(character)
            if !forbidden.contains(text) { forbidden.append(text) }
        }
        guard forbidden.isEmpty else { throw fail(.forbiddenCharacters(forbidden)) }
        guard name.lowercased().hasSuffix(".csv") else { throw fail(name.isEmpty ? .empty : .notCSV) }
        guard name.count > 4 else { throw fail(.empty) }
        guard name.count <= maximumFileNameLength else {
            throw fail(.tooLong(length: name.count, maximum: maximumFileNameLength))
        }
    }

    private static func isFileNameCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "." || character == "_" || character == "-"
    }
}

// MARK: - Dry run

/// Totals of a bulk file for the dry run (SPEC D9), accumulated row by row without keeping the rows.
///
/// The caller feeds each valid `SpoolCSVRow` with the facts only it knows (whether the number
/// passes the provider's pattern, DNCR and opt-out hits). Definitions:
/// - `rows` = `valid` + `invalid` (number fails the provider's pattern).
/// - `blockedByDNCR` and `optedOut` count valid rows only; `toSend` are the valid rows with neither.
/// - `duplicates`: rows whose campaign, destination and message (compared as `String ==` does:
///   canonically equivalent texts are equal) appeared earlier in the file, counted whatever their
///   other facts; they are still loaded, this is a warning. Pass the normalised number as
///   `destination` so `099…` and `+59399…` match. Rows are remembered as 64-bit hashes (SipHash
///   via `Hasher`, in a table 3/8 to 3/4 full: 11 to 22 bytes per distinct row), so two
///   different rows are wrongly taken for duplicates with probability about n²/2⁶⁵ (3 in
///   100 million for a million rows); a real duplicate is never missed.
/// - `encodings` and `segments` cover the rows to send (`SMSText.analyze`, automatic encoding).
/// - `campaigns`: rows per campaign name.
public struct SpoolCSVSummary: Sendable {
    /// What the summary learnt about one row.
    public struct Entry: Sendable, Hashable {
        /// Whether the same campaign, destination and message appeared earlier.
        public let isDuplicate: Bool
        /// Encoding and segments of the message.
        public let analysis: SMSAnalysis
    }

    /// Rows seen.
    public private(set) var rows = 0
    /// Rows whose number passes the provider's pattern.
    public private(set) var valid = 0
    /// Rows whose number fails the provider's pattern (loaded as `invalid`).
    public private(set) var invalid = 0
    /// Rows repeating an earlier row's campaign, destination and message.
    public private(set) var duplicates = 0
    /// Valid rows whose number is on the DNCR.
    public private(set) var blockedByDNCR = 0
    /// Valid rows whose number opted out of the campaign.
    public private(set) var optedOut = 0
    /// Valid rows neither on the DNCR nor opted out: what will be sent.
    public private(set) var toSend = 0
    /// Messages to send per encoding.
    public private(set) var encodings: [SMSEncoding: Int] = [:]
    /// Total SMS segments of the messages to send.
    public private(set) var segments = 0
    /// Rows per campaign name.
    public private(set) var campaigns: [String: Int] = [:]

    private var seen = FingerprintSet()
    private var analyses: [String: SMSAnalysis] = [:]
    private var lastAnalysis: (message: String, analysis: SMSAnalysis)?
    /// Distinct messages whose analysis is remembered (bulk files often repeat a few texts).
    private static let analysisCacheSize = 1024

    /// An empty summary.
    public init() {}

    /// Counts one row; `destination` is the number compared for duplicates (the normalised one), by default the row's.
    @discardableResult
    public mutating func add(
        _ row: SpoolCSVRow, destination: String? = nil, numberIsValid: Bool = true, blockedByDNCR: Bool = false,
        optedOut: Bool = false
    ) -> Entry {
        rows += 1
        campaigns[row.campaign, default: 0] += 1

        var hasher = Hasher()
        hasher.combine(row.campaign)
        hasher.combine(destination ?? row.destination)
        hasher.combine(row.message)
        let isDuplicate = !seen.insert(UInt64(truncatingIfNeeded: hasher.finalize()))
        if isDuplicate { duplicates += 1 }

        let analysis: SMSAnalysis
        if let last = lastAnalysis, last.message == row.message {
            analysis = last.analysis
        } else if let cached = analyses[row.message] {
            analysis = cached
        } else {
            analysis = SMSText.analyze(row.message)
            if analyses.count < Self.analysisCacheSize { analyses[row.message] = analysis }
        }
        lastAnalysis = (row.message, analysis)

        if numberIsValid {
            valid += 1
            if blockedByDNCR { self.blockedByDNCR += 1 }
            if optedOut { self.optedOut += 1 }
            if !blockedByDNCR, !optedOut {
                toSend += 1
                encodings[analysis.encoding, default: 0] += 1
                segments += analysis.segments
            }
        } else {
            invalid += 1
        }
        return Entry(isDuplicate: isDuplicate, analysis: analysis)
    }
}

/// A set of 64-bit fingerprints: open addressing, linear probing, at most 3/4 full (11–22 bytes per element).
struct FingerprintSet: Sendable {
    private var slots: [UInt64] = Array(repeating: 0, count: 1024)
    private(set) var count = 0

    /// Inserts a fingerprint; false when it was already there. (0 is stored as 1: slot value 0 means empty.)
    mutating func insert(_ fingerprint: UInt64) -> Bool {
        let value = fingerprint == 0 ? 1 : fingerprint
        if (count + 1) * 4 > slots.count * 3 { grow() }
        let inserted = Self.insert(value, into: &slots)
        if inserted { count += 1 }
        return inserted
    }

    private static func insert(_ value: UInt64, into slots: inout [UInt64]) -> Bool {
        let mask = slots.count - 1
        // Hasher output is uniform; mix anyway so callers may pass weaker fingerprints.
        var index = Int(truncatingIfNeeded: (value &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
        while true {
            let slot = slots[index]
            if slot == value { return false }
            if slot == 0 {
                slots[index] = value
                return true
            }
            index = (index + 1) & mask
        }
    }

    private mutating func grow() {
        var larger = [UInt64](repeating: 0, count: slots.count * 2)
        for value in slots where value != 0 { _ = Self.insert(value, into: &larger) }
        slots = larger
    }
}
