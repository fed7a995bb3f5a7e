import Foundation
import SMSCore
import Testing

/// What reading a file yields, in order: records (line and field texts) and errors.
enum CSVOutcome: Hashable, CustomStringConvertible {
    case record(line: Int, fields: [String])
    case error(CSVError)

    var description: String {
        switch self {
        case .record(let line, let fields): return "\(line): \(fields)"
        case .error(let error): return "error \(error)"
        }
    }
}

/// Reads `bytes` fed in chunks of `chunkSize` (the whole file at once when nil), draining after every chunk.
func readCSV(
    _ bytes: [UInt8], chunkSize: Int? = nil, delimiter: UInt8 = UInt8(ascii: ";"),
    maximumRecordLength: Int = CSVReader.defaultMaximumRecordLength
) -> [CSVOutcome] {
    var reader = CSVReader(delimiter: delimiter, maximumRecordLength: maximumRecordLength)
    var outcomes: [CSVOutcome] = []
    func drain() {
        while true {
            do {
                guard let record = try reader.next() else { return }
                outcomes.append(.record(line: record.line, fields: record.strings))
            } catch {
                outcomes.append(.error(error))
            }
        }
    }
    let size = chunkSize ?? max(bytes.count, 1)
    var offset = 0
    while offset < bytes.count {
        reader.feed(bytes[offset..<min(offset + size, bytes.count)])
        drain()
        offset += size
    }
    reader.finish()
    drain()
    #expect(reader.isAtEnd)
    return outcomes
}

func readCSV(_ text: String, chunkSize: Int? = nil, delimiter: UInt8 = UInt8(ascii: ";")) -> [CSVOutcome] {
    readCSV(Array(text.utf8), chunkSize: chunkSize, delimiter: delimiter)
}

/// SplitMix64: a small seeded generator so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A random CSV file and the records it must read as (when `expected` is not nil: no injected errors).
struct GeneratedCSV {
    var bytes: [UInt8] = []
    var expected: [CSVOutcome]? = []

    static let pieces = ["a", "Zz", " ", "0", "ñ", "é", "😀", "🇪🇸", "€", ";", "\"", "\n", "\r\n", "\r", ","]
    static let lineEnds = ["\n", "\r\n", "\r"]

    /// 1-based line number after `bytes` (LF, CRLF and lone CR each end one line).
    static func lineNumber(after bytes: [UInt8]) -> Int {
        var line = 1
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0D {
                line += 1
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
            } else if bytes[index] == 0x0A {
                line += 1
            }
            index += 1
        }
        return line
    }

    init(using generator: inout SeededGenerator, injectErrors: Bool) {
        if Bool.random(using: &generator) { bytes += [0xEF, 0xBB, 0xBF] }
        let bodyStart = bytes.count
        let recordCount = Int.random(in: 0...12, using: &generator)
        var previousEnd = "\n"
        for index in 0..<recordCount {
            // Empty lines before the record; LF may not follow a lone CR (that would be one CRLF).
            for _ in 0..<(Int.random(in: 0...3, using: &generator) == 0 ? Int.random(in: 1...2, using: &generator) : 0)
            {
                var end = Self.lineEnds.randomElement(using: &generator)!
                if previousEnd == "\r", end == "\n" { end = "\r\n" }
                bytes += Array(end.utf8)
                previousEnd = end
            }
            let line = Self.lineNumber(after: Array(bytes[bodyStart...]))
            var fields: [String] = []
            var fieldCount = Int.random(in: 1...5, using: &generator)
            if injectErrors, Int.random(in: 0...5, using: &generator) == 0 {
                // A broken record: a stray quote, invalid UTF-8 or text after a closing quote.
                switch Int.random(in: 0...2, using: &generator) {
                case 0: bytes += Array("ab\"c;d".utf8)
                case 1: bytes += [0x61, 0xFF, 0x3B, 0xC3]
                default: bytes += Array("\"q\"x;y".utf8)
                }
                expected = nil
                fieldCount = 0
            }
            for fieldIndex in 0..<fieldCount {
                if fieldIndex > 0 { bytes.append(UInt8(ascii: ";")) }
                let length = Int.random(in: 0...4, using: &generator)
                let text = (0..<length).map { _ in Self.pieces.randomElement(using: &generator)! }.joined()
                fields.append(text)
                let needsQuotes =
                    text.utf8.contains { Array(";\"\n\r".utf8).contains($0) } || (fieldCount == 1 && text.isEmpty)
                if needsQuotes || Int.random(in: 0...3, using: &generator) == 0 {
                    bytes += Array(("\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"").utf8)
                } else {
                    bytes += Array(text.utf8)
                }
            }
            if fieldCount > 0 { expected?.append(.record(line: line, fields: fields)) }
            if index < recordCount - 1 || Bool.random(using: &generator) {
                previousEnd = Self.lineEnds.randomElement(using: &generator)!
                bytes += Array(previousEnd.utf8)
            } else {
                previousEnd = ""
            }
        }
        // Trailing empty lines.
        for _ in 0..<Int.random(in: 0...2, using: &generator) {
            var end = Self.lineEnds.randomElement(using: &generator)!
            if previousEnd == "\r", end == "\n" { end = "\r\n" }
            if previousEnd.isEmpty, recordCount > 0 { end = "\n" }
            bytes += Array(end.utf8)
            previousEnd = end
        }
    }
}

@Suite("CSV reader")
struct CSVReaderTests {
    @Test func recordsAreSplitOnSemicolonsAndKnowTheirLine() {
        #expect(
            readCSV("a;b;c\nd;e;f\n") == [
                .record(line: 1, fields: ["a", "b", "c"]), .record(line: 2, fields: ["d", "e", "f"]),
            ]
        )
    }

    @Test(arguments: [UInt8(ascii: ","), UInt8(ascii: "\t"), UInt8(ascii: "|")])
    func delimiterIsConfigurable(_ delimiter: UInt8) {
        let d = String(UnicodeScalar(delimiter))
        let text = "a\(d)\"b\(d)c\"\(d);\n"
        #expect(readCSV(text, delimiter: delimiter) == [.record(line: 1, fields: ["a", "b\(d)c", ";"])])
    }

    @Test func leadingByteOrderMarkIsStrippedAtAnyChunkSize() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("campaign;x\n".utf8)
        for size in 1...4 {
            #expect(readCSV(bytes, chunkSize: size) == [.record(line: 1, fields: ["campaign", "x"])])
        }
    }

    @Test func byteOrderMarkAfterTheStartIsData() {
        #expect(
            readCSV("a\n\u{FEFF}b\n") == [.record(line: 1, fields: ["a"]), .record(line: 2, fields: ["\u{FEFF}b"])])
    }

    @Test func fileOfOnlyAByteOrderMarkOrNothingHasNoRecords() {
        #expect(readCSV([0xEF, 0xBB, 0xBF]).isEmpty)
        #expect(readCSV([0xEF, 0xBB]) == [.error(CSVError(line: 1, field: 1, problem: .invalidUTF8(byte: 0xEF)))])
        #expect(readCSV([]).isEmpty)
        #expect(readCSV("\n\r\n\r").isEmpty)
    }

    @Test(arguments: ["\n", "\r\n", "\r"])
    func lineEndsLFCRLFAndLoneCRReadTheSame(_ end: String) {
        let text = ["a;b", "c;d", "", "e;f"].joined(separator: end) + end
        #expect(
            readCSV(text) == [
                .record(line: 1, fields: ["a", "b"]), .record(line: 2, fields: ["c", "d"]),
                .record(line: 4, fields: ["e", "f"]),
            ]
        )
    }

    @Test func mixedLineEndsAreEachOneLine() {
        #expect(
            readCSV("a\r\nb\rc\nd") == [
                .record(line: 1, fields: ["a"]), .record(line: 2, fields: ["b"]), .record(line: 3, fields: ["c"]),
                .record(line: 4, fields: ["d"]),
            ]
        )
    }

    @Test func quotedFieldsKeepDelimitersLineBreaksAndDoubledQuotes() {
        let text = "\"a;b\";\"line1\nline2\";\"say \"\"hi\"\"\";\"\";\"crlf\r\nkept\"\n"
        #expect(readCSV(text) == [.record(line: 1, fields: ["a;b", "line1\nline2", "say \"hi\"", "", "crlf\r\nkept"])])
    }

    @Test func lineNumbersCountLineBreaksInsideQuotedFields() {
        let text = "c1;\"two\nlines\";x\nc2;\"three\r\nlines\rhere\";y\r\n\nc3;z\n"
        #expect(
            readCSV(text) == [
                .record(line: 1, fields: ["c1", "two\nlines", "x"]),
                .record(line: 3, fields: ["c2", "three\r\nlines\rhere", "y"]),
                .record(line: 7, fields: ["c3", "z"]),
            ]
        )
    }

    @Test func emptyLinesAnywhereAreSkippedButCounted() {
        #expect(readCSV("\n\na\n\n\nb\n\n\n") == [.record(line: 3, fields: ["a"]), .record(line: 6, fields: ["b"])])
    }

    @Test func emptyFieldsAndATrailingDelimiterAreKept() {
        #expect(
            readCSV("a;;b;\n;\n\"\"\n") == [
                .record(line: 1, fields: ["a", "", "b", ""]), .record(line: 2, fields: ["", ""]),
                .record(line: 3, fields: [""]),
            ]
        )
    }

    @Test(arguments: ["a;b", "a;b\n", "a;b\r\n", "a;b\r", "a;b\n\n\n"])
    func lastLineEndIsOptional(_ text: String) {
        #expect(readCSV(text) == [.record(line: 1, fields: ["a", "b"])])
    }

    @Test func spanishAndEmojiTextIsReadAsWritten() {
        let text = "campaña;+593 99 123 4567;¡Hola Ñandú! ¿Cómo está? 🎉👍🏽🇪🇨;5\n"
        #expect(
            readCSV(text) == [
                .record(line: 1, fields: ["campaña", "+593 99 123 4567", "¡Hola Ñandú! ¿Cómo está? 🎉👍🏽🇪🇨", "5"])
            ])
    }

    @Test func quoteInUnquotedFieldIsAnErrorAndReadingResumesOnTheNextLine() {
        #expect(
            readCSV("ok;1\nbad;5\" screen;\"x\n\"next\";2\n") == [
                .record(line: 1, fields: ["ok", "1"]),
                .error(CSVError(line: 2, field: 2, problem: .quoteInUnquotedField)),
                .record(line: 3, fields: ["next", "2"]),
            ]
        )
    }

    @Test func spaceBeforeAnOpeningQuoteMakesTheFieldUnquoted() {
        #expect(readCSV("a; \"b\"\n") == [.error(CSVError(line: 1, field: 2, problem: .quoteInUnquotedField))])
    }

    @Test func textAfterClosingQuoteIsAnError() {
        #expect(
            readCSV("a;\"b\"c;d\ne\n") == [
                .error(CSVError(line: 1, field: 2, problem: .textAfterClosingQuote)), .record(line: 2, fields: ["e"]),
            ]
        )
    }

    @Test func unterminatedQuoteIsReportedAtTheLineItsRecordStarts() {
        #expect(
            readCSV("a;b\nc;\"open\nstill open;\nx\n") == [
                .record(line: 1, fields: ["a", "b"]), .error(CSVError(line: 2, field: 2, problem: .unterminatedQuote)),
            ]
        )
    }

    @Test(
        arguments: [
            ([0x61, 0xF1, 0x6F], 0xF1),  // "año" in Latin-1
            ([0x80], 0x80),  // stray continuation byte
            ([0xC0, 0xAF], 0xC0),  // overlong "/"
            ([0xE0, 0x80, 0xAF], 0xE0),  // overlong three-byte form
            ([0xED, 0xA0, 0x80], 0xED),  // UTF-16 surrogate
            ([0xF4, 0x90, 0x80, 0x80], 0xF4),  // above U+10FFFF
            ([0xF5, 0x80, 0x80, 0x80], 0xF5),
            ([0xE2, 0x82], 0xE2),  // truncated at the field's end
            ([0x61, 0xFF], 0xFF),
        ] as [([UInt8], UInt8)])
    func invalidUTF8IsReportedWithLineFieldAndByte(_ field: [UInt8], _ byte: UInt8) {
        let bytes = Array("ok;1\nx;".utf8) + field + Array(";z\nnext\n".utf8)
        #expect(
            readCSV(bytes) == [
                .record(line: 1, fields: ["ok", "1"]),
                .error(CSVError(line: 2, field: 2, problem: .invalidUTF8(byte: byte))),
                .record(line: 3, fields: ["next"]),
            ]
        )
    }

    @Test func multibyteSequenceCutByADelimiterIsInvalid() {
        // "é" is C3 A9: split by ";" each half is invalid although the record's bytes concatenated are not.
        #expect(
            readCSV([0xC3, 0x3B, 0xA9, 0x0A]) == [
                .error(CSVError(line: 1, field: 1, problem: .invalidUTF8(byte: 0xC3)))
            ])
    }

    @Test func invalidUTF8InAMultiLineQuotedFieldNamesTheRecordsFirstLine() {
        let bytes = Array("a\n\"x\ny".utf8) + [0xE9] + Array("\";b\n".utf8)
        #expect(
            readCSV(bytes) == [
                .record(line: 1, fields: ["a"]), .error(CSVError(line: 2, field: 1, problem: .invalidUTF8(byte: 0xE9))),
            ]
        )
    }

    @Test(arguments: [[0xFF, 0xFE], [0xFE, 0xFF]] as [[UInt8]])
    func utf16FileIsRefusedAsAWhole(_ mark: [UInt8]) {
        let bytes = mark + Array("a\0;\0b\0\n\0".utf8)
        for size in 1...3 {
            #expect(readCSV(bytes, chunkSize: size) == [.error(CSVError(line: 1, field: nil, problem: .utf16))])
        }
    }

    @Test func recordLongerThanTheMaximumIsReportedAndReadingResumes() {
        let text =
            "short\n" + String(repeating: "x", count: 50) + ";y\n\"open" + String(repeating: "z", count: 50)
            + "\nlast\n"
        #expect(
            readCSV(Array(text.utf8), chunkSize: 7, maximumRecordLength: 20) == [
                .record(line: 1, fields: ["short"]),
                .error(CSVError(line: 2, field: nil, problem: .recordTooLong(maximum: 20))),
                .error(CSVError(line: 3, field: nil, problem: .recordTooLong(maximum: 20))),
                .record(line: 4, fields: ["last"]),
            ]
        )
    }

    @Test(arguments: [
        "\"" + String(repeating: "\n", count: 30) + "\"", "\"" + String(repeating: "\"\"", count: 30) + "\"",
        String(repeating: ";", count: 30),
    ])
    func recordsOfLineBreaksQuotesOrDelimitersAlsoHaveAMaximumLength(_ record: String) {
        let outcomes = readCSV(Array((record + "\nlast\n").utf8), maximumRecordLength: 20)
        #expect(outcomes.first == .error(CSVError(line: 1, field: nil, problem: .recordTooLong(maximum: 20))))
        if !record.hasPrefix("\"\n") {  // resuming inside a quoted field misreads the rest; the first error stands
            #expect(outcomes.last == .record(line: 2, fields: ["last"]))
        }
    }

    @Test func nextWaitsForMoreInputUntilFinish() throws {
        var reader = CSVReader()
        reader.feed(Array("a;b".utf8))
        #expect(try reader.next() == nil)  // the field may go on
        reader.feed(Array("\r".utf8))
        #expect(try reader.next() == nil)  // a CR may be followed by LF
        reader.feed(Array("\nc".utf8))
        #expect(try reader.next()?.strings == ["a", "b"])
        #expect(try reader.next() == nil)
        #expect(!reader.isAtEnd)
        reader.finish()
        let last = try #require(try reader.next())
        #expect(last.strings == ["c"])
        #expect(last.line == 2)
        #expect(try reader.next() == nil)
        #expect(reader.isAtEnd)
    }

    @Test func recordsKeptByTheCallerSurviveTheReaderMovingOn() throws {
        var reader = CSVReader()
        reader.feed(Array("first;1\nsecond;22\n".utf8))
        let first = try #require(try reader.next())
        let field = first[1]
        let second = try #require(try reader.next())
        #expect(first.strings == ["first", "1"])
        #expect(Array(field) == Array("1".utf8))
        #expect(second.strings == ["second", "22"])
        #expect(first == CSVRecord(line: 1, fields: ["first", "1"]))
    }

    @Test func fieldsAreByteSlices() throws {
        var reader = CSVReader()
        reader.feed(Array("\"a\"\"b\";ñ; \t\n".utf8))
        reader.finish()
        let record = try #require(try reader.next())
        #expect(record.count == 3)
        #expect(Array(record[0]) == Array("a\"b".utf8))
        #expect(record.string(at: 1) == "ñ")
        #expect(!record.isBlank)
        #expect(CSVRecord(line: 1, fields: ["", " ", "\t"]).isBlank)
    }

    @Test func errorDescriptionsNameTheLineAndField() {
        #expect(
            CSVError(line: 3, field: 2, problem: .invalidUTF8(byte: 0xF1)).description
                == #"line 3, field 2: is not valid UTF-8 (byte 0xF1); save the file as "CSV UTF-8""#
        )
        #expect(
            CSVError(line: 9, field: 4, problem: .unterminatedQuote).description
                == "line 9, field 4: opens a quoted field that is never closed")
        #expect(CSVError(line: 1, field: nil, problem: .utf16).description.hasPrefix("line 1: the file is UTF-16"))
    }

    @Test(arguments: 0..<40)
    func generatedFilesReadAsTheirModelAtEveryChunkSize(_ seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed) &* 7919)
        let file = GeneratedCSV(using: &generator, injectErrors: false)
        let expected = try #require(file.expected)
        let whole = readCSV(file.bytes)
        #expect(whole == expected, "file: \(String(decoding: file.bytes, as: UTF8.self).debugDescription)")
        for size in 1...max(file.bytes.count, 1) {
            #expect(readCSV(file.bytes, chunkSize: size) == whole, "chunk size \(size)")
        }
    }

    @Test(arguments: 0..<40)
    func filesWithErrorsReadTheSameAtEveryChunkSize(_ seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) &+ 1_000_003)
        let file = GeneratedCSV(using: &generator, injectErrors: true)
        let whole = readCSV(file.bytes)
        for size in 1...max(file.bytes.count, 1) {
            #expect(readCSV(file.bytes, chunkSize: size) == whole, "chunk size \(size)")
        }
    }
}
