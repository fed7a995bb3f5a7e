/// One line of a DNCR file (SPEC D7): a number not to be contacted, for one campaign or all.
public struct DNCRCSVRow: Sendable, Hashable {
    /// 1-based line of the file where the row starts.
    public let line: Int
    /// The number, trimmed but otherwise as written (the caller normalises it).
    public let number: String
    /// The campaign name, trimmed; nil (empty in the file) means every campaign.
    public let campaign: String?

    /// Creates a row from its parts (normally produced by `DNCRCSV.next()`).
    public init(line: Int, number: String, campaign: String?) {
        self.line = line
        self.number = number
        self.campaign = campaign
    }
}

/// Why a line of a DNCR file is refused: the line, the field and the reason.
public struct DNCRCSVIssue: Sendable, Hashable, CustomStringConvertible {
    /// The column a problem is about.
    public enum Field: Sendable, Hashable, CustomStringConvertible {
        case number, campaign
        /// A column after the second (1-based column number, so 3 or more).
        case other(column: Int)

        /// The field at a 1-based column.
        public init(column: Int) {
            switch column {
            case 1: self = .number
            case 2: self = .campaign
            default: self = .other(column: column)
            }
        }

        /// `number`, `campaign` or `column 3`.
        public var description: String {
            switch self {
            case .number: return "number"
            case .campaign: return "campaign"
            case .other(let column): return "column \(column)"
            }
        }
    }

    /// What is wrong.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// The line is not well-formed CSV (quotes, UTF-8, length).
        case malformed(CSVError.Problem)
        /// The number is empty or only whitespace.
        case empty
        /// The number has no digit at all (such as a campaign name in the wrong column).
        case notANumber(String)

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .malformed(let problem): return problem.description
            case .empty: return "is empty"
            case .notANumber(let text): return "\"\(text)\" has no digits, so it is not a phone number"
            }
        }
    }

    /// 1-based line of the file where the offending row starts.
    public let line: Int
    /// The field at fault, or nil when the line as a whole is.
    public let field: Field?
    /// What is wrong.
    public let problem: Problem

    /// Creates an issue from its parts (normally collected by `DNCRCSV`).
    public init(line: Int, field: Field?, problem: Problem) {
        self.line = line
        self.field = field
        self.problem = problem
    }

    /// `line 4, number: is empty`.
    public var description: String {
        let place = field.map { "line \(line), \($0)" } ?? "line \(line)"
        return "\(place): \(problem)"
    }
}

/// Streaming reader of a DNCR upload (SPEC D7): `number;campaign;` per line, as in the seed's `20045676;dialerestest;`.
///
/// Feed chunks and drain `next()` as with `CSVReader`; it returns only valid rows and collects
/// every refused line in `issues`. Rules, on top of `CSVReader`'s:
/// - The trailing `;` is optional, and so is the campaign: empty or missing means every campaign.
/// - Number and campaign are trimmed of whitespace. The number may not be empty and must contain
///   at least one digit; its format is the caller's to check (normalisation to E.164).
/// - Columns after the second are ignored (spreadsheets often carry a reason or a date there).
/// - Header: optional. The first non-blank line is a header when its first field has no digit
///   and is a column name (`number`, `número`, `phone`, `teléfono`, `destination`, `destino`,
///   `msisdn`, `mobile`, `móvil`, `celular`…; case, accents and spaces ignored), or when its
///   second field is `campaign`/`campaña`/`campagna` and its first has no digit.
/// - Blank lines (empty, or only delimiters and spaces) are skipped.
public struct DNCRCSV: Sendable {
    /// The header line's fields, when the file has one (known after the first non-blank line).
    public private(set) var header: [String]?
    /// Every refused line so far, in file order.
    public private(set) var issues: [DNCRCSVIssue] = []

    private var reader: CSVReader
    private var sawFirstRecord = false

    /// Creates a reader for `;`-separated files (or another ASCII `delimiter`).
    public init(delimiter: UInt8 = UInt8(ascii: ";")) {
        reader = CSVReader(delimiter: delimiter)
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
    public mutating func next() -> DNCRCSVRow? {
        while true {
            let record: CSVRecord
            do {
                guard let next = try reader.next() else { return nil }
                record = next
            } catch {
                sawFirstRecord = true  // only the first line can be a header, even when it is malformed
                let field = error.field.map(DNCRCSVIssue.Field.init(column:))
                issues.append(DNCRCSVIssue(line: error.line, field: field, problem: .malformed(error.problem)))
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
            let number = CSVText.trimmedString(record[0])
            guard !number.isEmpty else {
                issues.append(DNCRCSVIssue(line: record.line, field: .number, problem: .empty))
                continue
            }
            guard number.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) else {
                issues.append(DNCRCSVIssue(line: record.line, field: .number, problem: .notANumber(number)))
                continue
            }
            let campaign = record.count > 1 ? CSVText.trimmedString(record[1]) : ""
            return DNCRCSVRow(line: record.line, number: number, campaign: campaign.isEmpty ? nil : campaign)
        }
    }

    /// Reads a whole file held in memory: its valid rows, every issue and the header if any.
    public static func read(
        _ bytes: some Collection<UInt8>, delimiter: UInt8 = UInt8(ascii: ";")
    ) -> (rows: [DNCRCSVRow], issues: [DNCRCSVIssue], header: [String]?) {
        var dncr = DNCRCSV(delimiter: delimiter)
        dncr.feed(bytes)
        dncr.finish()
        var rows: [DNCRCSVRow] = []
        while let row = dncr.next() { rows.append(row) }
        return (rows, dncr.issues, dncr.header)
    }

    private static let numberNames: Set<String> = [
        "number", "numero", "phone", "phone number", "telefono", "tel", "destination", "destino", "msisdn", "mobile",
        "movil", "celular", "cellulare", "numero di telefono", "numero de telefono",
    ]
    private static let campaignNames: Set<String> = ["campaign", "campana", "campagna", "campanha"]

    private static func isHeader(_ record: CSVRecord) -> Bool {
        guard !record[0].contains(where: { $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        if numberNames.contains(CSVText.folded(record[0])) { return true }
        return record.count > 1 && campaignNames.contains(CSVText.folded(record[1]))
    }
}
