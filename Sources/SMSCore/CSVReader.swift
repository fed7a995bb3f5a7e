/// A malformed record of a CSV file: the line it starts on, the field at fault and what is wrong.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the record.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// A field that does not start with `"` contains one (`5" screen`): quote the whole field and double the quote.
        case quoteInUnquotedField
        /// A quoted field is followed by something other than the delimiter or the end of the line (`"abc"def`).
        case textAfterClosingQuote
        /// A quoted field is still open at the end of the file.
        case unterminatedQuote
        /// The field is not valid UTF-8; `byte` is the first offending byte (0xF1 is `ñ` in Latin-1/Windows-1252).
        case invalidUTF8(byte: UInt8)
        /// The file starts with a UTF-16 byte order mark: nothing after it is read.
        case utf16
        /// The record is longer than the reader accepts (bytes of its fields plus delimiters).
        case recordTooLong(maximum: Int)

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .quoteInUnquotedField:
                return "has a quote (\") inside a field that does not start with one; "
                    + "put the whole field in quotes and write the quote twice (\"5\"\" screen\")"
            case .textAfterClosingQuote:
                return "has text after the closing quote of a quoted field; "
                    + "write a quote inside a quoted field twice (\"\")"
            case .unterminatedQuote:
                return "opens a quoted field that is never closed"
            case .invalidUTF8(let byte):
                let hex = String(byte, radix: 16, uppercase: true)
                return "is not valid UTF-8 (byte 0x\(hex.count == 1 ? "0" : "")\(hex)); save the file as \"CSV UTF-8\""
            case .utf16:
                return "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as \"CSV UTF-8\""
            case .recordTooLong(let maximum):
                return "is longer than \(maximum) bytes (is a quote left open?)"
            }
        }
    }

    /// 1-based line of the file where the record starts.
    public let line: Int
    /// 1-based position of the field at fault, when one field is at fault.
    public let field: Int?
    /// What is wrong.
    public let problem: Problem

    /// Creates an error from its parts (normally thrown by `CSVReader.next()`).
    public init(line: Int, field: Int?, problem: Problem) {
        self.line = line
        self.field = field
        self.problem = problem
    }

    /// `line 3, field 2: has text after the closing quote…`.
    public var description: String {
        let place = field.map { "line \(line), field \($0)" } ?? "line \(line)"
        return "\(place): \(problem)"
    }
}

/// One record of a CSV file: its fields as unescaped UTF-8 bytes (already validated) and the line it starts on.
///
/// Fields are byte slices so a caller makes a `String` only for the fields it keeps (`string(at:)`).
/// A record is a value: keeping it (or a field slice) is safe, and costs a copy of the reader's
/// buffers only when the reader moves on while the record is still held.
public struct CSVRecord: Sendable, Hashable, RandomAccessCollection {
    /// 1-based line of the file where the record starts (a quoted field may carry it over several lines).
    public let line: Int
    /// The unescaped bytes of every field, one after the other.
    private let bytes: [UInt8]
    /// End offset in `bytes` of each field.
    private let ends: [Int]

    init(line: Int, bytes: [UInt8], ends: [Int]) {
        self.line = line
        self.bytes = bytes
        self.ends = ends
    }

    /// Creates a record from field texts (for tests and callers that build records by hand).
    public init(line: Int, fields: [String]) {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        for field in fields {
            bytes.append(contentsOf: field.utf8)
            ends.append(bytes.count)
        }
        self.init(line: line, bytes: bytes, ends: ends)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }
    /// The number of fields (stated, so it is not computed through the generic index distance).
    public var count: Int { ends.count }

    /// The unescaped UTF-8 bytes of a field (valid UTF-8, without surrounding quotes).
    public subscript(position: Int) -> ArraySlice<UInt8> {
        bytes[(position == 0 ? 0 : ends[position - 1])..<ends[position]]
    }

    /// A field as text.
    public func string(at position: Int) -> String {
        String(decoding: self[position], as: UTF8.self)
    }

    /// Every field as text.
    public var strings: [String] {
        indices.map(string(at:))
    }

    /// Whether every field is empty or only spaces and tabs (what `;;;` rows exported by spreadsheets are).
    public var isBlank: Bool {
        bytes.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
    }
}

/// A streaming reader of delimiter-separated text (`;` by default) fed with byte chunks, in constant memory.
///
/// Use: `feed(_:)` a chunk, call `next()` until it returns nil (more input needed), repeat; after
/// the last chunk call `finish()` and drain `next()` again, where nil then means the end. Memory
/// is the unread part of the last chunk plus the record being read (at most `maximumRecordLength`),
/// provided the caller drains `next()` before feeding more.
///
/// Rules:
/// - UTF-8, with or without a leading byte order mark (stripped). A UTF-16 byte order mark is an
///   error that ends the reading. Every field is checked to be valid UTF-8; a record that is not
///   is reported (naming its line, field and first bad byte) and skipped.
/// - Lines end with LF, CRLF or a lone CR (old Mac spreadsheets); the three may be mixed.
/// - Empty lines (nothing between two line ends) are skipped wherever they are, but counted in
///   line numbers. A line with only delimiters is a record of empty fields (`CSVRecord.isBlank`).
/// - A field starting with `"` is quoted: the delimiter, CR and LF are literal inside it (kept as
///   written, CRLF stays CRLF), `""` is one quote, and the closing quote must be followed by the
///   delimiter or the end of the line. A field starting otherwise may not contain `"` (no
///   lenient guessing: a stray quote usually means a broken export, and a clear error with the
///   line beats silently shifted columns). So a space before an opening quote or after a
///   closing one is an error too.
/// - A record's `line` is the 1-based line it starts on; quoted line breaks advance the count.
/// - After an error, `next()` resumes at the line after the one where the error was found, so
///   a caller can list every bad line. An unterminated quote is only found at the end of the
///   file; a record longer than `maximumRecordLength` (often a quote left open) is reported and
///   reading resumes at the next line end.
public struct CSVReader: Sendable {
    /// The default bound on one record: far above any real spool or DNCR line (an SMS is at most a few KB).
    public static let defaultMaximumRecordLength = 1 << 20

    /// The field separator (an ASCII byte other than `"`, CR and LF).
    public let delimiter: UInt8
    /// The longest record accepted, in bytes of its unescaped fields plus one per delimiter.
    public let maximumRecordLength: Int

    private enum State: Sendable {
        case recordStart, fieldStart, unquoted, quoted, quoteInQuoted, skippingLine, failed
    }

    private enum Step {
        case needMore, record, end
        case error(field: Int?, CSVError.Problem)
    }

    private var pending: [UInt8] = []
    private var position = 0
    private var finished = false
    private var atFileStart = true
    private var state = State.recordStart
    private var line = 1
    private var recordLine = 1
    private var fieldBytes: [UInt8] = []
    private var fieldEnds: [Int] = []

    /// Creates a reader; `delimiter` must be ASCII and not `"`, CR or LF.
    public init(delimiter: UInt8 = UInt8(ascii: ";"), maximumRecordLength: Int = CSVReader.defaultMaximumRecordLength) {
        precondition(
            delimiter < 0x80 && delimiter != Self.quote && delimiter != Self.cr && delimiter != Self.lf,
            "CSV delimiter must be an ASCII byte other than quote, CR and LF"
        )
        precondition(maximumRecordLength > 0, "maximumRecordLength must be positive")
        self.delimiter = delimiter
        self.maximumRecordLength = maximumRecordLength
    }

    /// Whether `finish()` was called and every record has been returned.
    public var isAtEnd: Bool {
        finished && (state == .recordStart || state == .skippingLine || state == .failed) && position == pending.count
    }

    /// Appends the next chunk of the file. Call `next()` until it returns nil before feeding more
    /// (feeding without draining works but keeps the unread bytes in memory).
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        precondition(!finished, "CSVReader.feed(_:) after finish()")
        if state == .failed { return }
        if position == pending.count {
            pending.removeAll(keepingCapacity: true)
        } else if position > 0 {
            pending.removeSubrange(0..<position)
        }
        position = 0
        pending.append(contentsOf: bytes)
    }

    /// Marks the end of the file: `next()` then returns the last record and reports an open quote.
    public mutating func finish() {
        finished = true
    }

    /// The next record, or nil when more input is needed (before `finish()`) or the file has ended (after).
    ///
    /// Throws for a malformed record, which is skipped; calling `next()` again continues after it.
    public mutating func next() throws(CSVError) -> CSVRecord? {
        if atFileStart {
            let available = pending.count - position
            let head = pending[position...].prefix(3)
            if !finished, available < 3, Self.byteOrderMark.starts(with: head) || Self.isUTF16Prefix(head) {
                return nil
            }
            atFileStart = false
            if head.elementsEqual(Self.byteOrderMark) {
                position += 3
            } else if head.count >= 2, Self.isUTF16Prefix(head.prefix(2)) {
                state = .failed
                position = pending.count
                throw CSVError(line: 1, field: nil, problem: .utf16)
            }
        }
        let input = pending
        let step = input.withUnsafeBufferPointer { parse($0) }
        switch step {
        case .needMore, .end:
            return nil
        case .error(let field, let problem):
            throw CSVError(line: recordLine, field: field, problem: problem)
        case .record:
            if let (field, byte) = firstInvalidField() {
                throw CSVError(line: recordLine, field: field, problem: .invalidUTF8(byte: byte))
            }
            return CSVRecord(line: recordLine, bytes: fieldBytes, ends: fieldEnds)
        }
    }

    // MARK: - Parsing

    private static let quote = UInt8(ascii: "\"")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    private static func isUTF16Prefix(_ head: ArraySlice<UInt8>) -> Bool {
        [0xFF, 0xFE].starts(with: head) || [0xFE, 0xFF].starts(with: head)
    }

    /// Runs the state machine from `position` until a record is complete, an error, or the input runs out.
    private mutating func parse(_ buffer: UnsafeBufferPointer<UInt8>) -> Step {
        let end = buffer.count
        let delimiter = self.delimiter
        let quote = Self.quote
        let cr = Self.cr
        let lf = Self.lf
        var index = position
        // Locals, written back on exit: the nested function below then captures only locals, which
        // keeps exclusivity checks static (captured stored properties cost a runtime check per access).
        var line = self.line
        let finished = self.finished
        defer {
            position = index
            self.line = line
        }

        /// Consumes the line end at `index` (CR, LF or CRLF); false when a CR is last and more input may bring its LF.
        func consumeLineEnd() -> Bool {
            if buffer[index] == cr {
                if index + 1 == end {
                    guard finished else { return false }
                } else if buffer[index + 1] == lf {
                    index += 1
                }
            }
            index += 1
            line += 1
            return true
        }

        while index < end {
            switch state {
            case .recordStart:
                let byte = buffer[index]
                if byte == lf || byte == cr {
                    guard consumeLineEnd() else { return .needMore }  // an empty line
                    continue
                }
                recordLine = line
                fieldBytes.removeAll(keepingCapacity: true)
                fieldEnds.removeAll(keepingCapacity: true)
                state = .fieldStart

            case .fieldStart:
                if isTooLong { return tooLong() }  // also bounds records of many empty fields
                if buffer[index] == quote {
                    index += 1
                    state = .quoted
                } else {
                    state = .unquoted
                }

            case .unquoted:
                let runStart = index
                while index < end {
                    let byte = buffer[index]
                    if byte == delimiter || byte == quote || byte == lf || byte == cr { break }
                    index += 1
                }
                if index > runStart {
                    fieldBytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<index]))
                    if isTooLong { return tooLong() }
                }
                guard index < end else { break }
                let byte = buffer[index]
                if byte == delimiter {
                    fieldEnds.append(fieldBytes.count)
                    index += 1
                    state = .fieldStart
                } else if byte == quote {
                    state = .skippingLine
                    return .error(field: fieldEnds.count + 1, .quoteInUnquotedField)
                } else {
                    guard consumeLineEnd() else { return .needMore }
                    fieldEnds.append(fieldBytes.count)
                    state = .recordStart
                    return .record
                }

            case .quoted:
                let runStart = index
                while index < end {
                    let byte = buffer[index]
                    if byte == quote || byte == lf || byte == cr { break }
                    index += 1
                }
                if index > runStart {
                    fieldBytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<index]))
                    if isTooLong { return tooLong() }
                }
                guard index < end else { break }
                if buffer[index] == quote {
                    index += 1
                    state = .quoteInQuoted
                } else {
                    let lineEndStart = index
                    guard consumeLineEnd() else { return .needMore }
                    fieldBytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[lineEndStart..<index]))
                    if isTooLong { return tooLong() }
                }

            case .quoteInQuoted:
                let byte = buffer[index]
                if byte == quote {
                    fieldBytes.append(quote)
                    index += 1
                    state = .quoted
                    if isTooLong { return tooLong() }
                } else if byte == delimiter {
                    fieldEnds.append(fieldBytes.count)
                    index += 1
                    state = .fieldStart
                } else if byte == lf || byte == cr {
                    guard consumeLineEnd() else { return .needMore }
                    fieldEnds.append(fieldBytes.count)
                    state = .recordStart
                    return .record
                } else {
                    state = .skippingLine
                    return .error(field: fieldEnds.count + 1, .textAfterClosingQuote)
                }

            case .skippingLine:
                while index < end, buffer[index] != lf, buffer[index] != cr { index += 1 }
                guard index < end else { break }
                guard consumeLineEnd() else { return .needMore }
                state = .recordStart

            case .failed:
                index = end
            }
        }

        guard finished else { return .needMore }
        switch state {
        case .recordStart, .skippingLine, .failed:
            return .end
        case .fieldStart, .unquoted, .quoteInQuoted:
            fieldEnds.append(fieldBytes.count)
            state = .recordStart
            return .record
        case .quoted:
            state = .recordStart
            return .error(field: fieldEnds.count + 1, .unterminatedQuote)
        }
    }

    private var isTooLong: Bool {
        fieldBytes.count + fieldEnds.count > maximumRecordLength
    }

    private mutating func tooLong() -> Step {
        state = .skippingLine
        return .error(field: nil, .recordTooLong(maximum: maximumRecordLength))
    }

    /// The first field (1-based) of the current record that is not valid UTF-8, with its first bad byte.
    ///
    /// Fields are checked one by one, not the record as a whole: a sequence cut in two by a
    /// delimiter (`\xC3;\xA9`) is invalid although the concatenated field bytes are not.
    private func firstInvalidField() -> (field: Int, byte: UInt8)? {
        fieldBytes.withUnsafeBufferPointer { bytes -> (field: Int, byte: UInt8)? in
            guard UTF8Validation.containsNonASCII(bytes) else { return nil }
            var start = 0
            for (offset, end) in fieldEnds.enumerated() {
                if let index = UTF8Validation.firstInvalidByte(in: bytes, from: start, to: end) {
                    return (offset + 1, bytes[index])
                }
                start = end
            }
            return nil
        }
    }
}

/// UTF-8 well-formedness (Unicode 15, table 3-7): no overlong forms, surrogates or scalars above U+10FFFF.
enum UTF8Validation {
    /// Whether any byte is 0x80 or above (eight bytes at a time).
    static func containsNonASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let raw = UnsafeRawBufferPointer(bytes)
        while index + 8 <= bytes.count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] >= 0x80 { return true }
            index += 1
        }
        return false
    }

    /// Index of the first byte in `from..<to` that starts an ill-formed sequence, or nil when the range is valid.
    static func firstInvalidByte(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        var index = start
        while index < end {
            // ASCII fast path, eight bytes at a time.
            while index + 8 <= end {
                let word = UnsafeRawBufferPointer(bytes).loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                index += 8
            }
            guard index < end else { return nil }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let continuationCount: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: continuationCount = 1
            case 0xE0:
                continuationCount = 2
                low = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: continuationCount = 2
            case 0xED:
                continuationCount = 2
                high = 0x9F
            case 0xF0:
                continuationCount = 3
                low = 0x90
            case 0xF1...0xF3: continuationCount = 3
            case 0xF4:
                continuationCount = 3
                high = 0x8F
            default: return index
            }
            guard index + continuationCount < end else { return index }
            let second = bytes[index + 1]
            guard second >= low, second <= high else { return index }
            if continuationCount > 1 {
                for offset in 2...continuationCount where bytes[index + offset] & 0xC0 != 0x80 { return index }
            }
            index += continuationCount + 1
        }
        return nil
    }
}
