import Foundation
import SMSCore
import Testing

/// Reads a spool file fed in chunks of `chunkSize` (whole when nil).
func readSpool(
    _ bytes: [UInt8], chunkSize: Int? = nil, maximumMessageLength: Int = SpoolCSV.defaultMaximumMessageLength
)
    -> (rows: [SpoolCSVRow], issues: [SpoolCSVIssue], header: [String]?)
{
    var spool = SpoolCSV(maximumMessageLength: maximumMessageLength)
    var rows: [SpoolCSVRow] = []
    let size = chunkSize ?? max(bytes.count, 1)
    var offset = 0
    while offset < bytes.count {
        spool.feed(bytes[offset..<min(offset + size, bytes.count)])
        while let row = spool.next() { rows.append(row) }
        offset += size
    }
    spool.finish()
    while let row = spool.next() { rows.append(row) }
    #expect(spool.isAtEnd)
    return (rows, spool.issues, spool.header)
}

func readSpool(_ text: String, maximumMessageLength: Int = SpoolCSV.defaultMaximumMessageLength)
    -> (rows: [SpoolCSVRow], issues: [SpoolCSVIssue], header: [String]?)
{
    readSpool(Array(text.utf8), maximumMessageLength: maximumMessageLength)
}

extension SpoolCSVRow {
    static func fixture(
        line: Int = 1, campaign: String = "promo", destination: String = "0991234567", message: String = "Hola",
        priority: Int = 0, extra: [String] = []
    ) -> SpoolCSVRow {
        SpoolCSVRow(
            line: line, campaign: campaign, destination: destination, message: message, priority: priority, extra: extra
        )
    }
}

@Suite("Spool CSV")
struct SpoolCSVTests {
    @Test func seedExampleWithTrailingSemicolonsReadsWithoutHeaderOrExtraData() {
        let text = """
            smsintegratest;099782129;Test message;9999;
            smsintegratest;0917564998;Test message;9999;
            smsintegratest;095675776;Test message;9999;
            """
        let result = readSpool(text)
        #expect(result.issues.isEmpty)
        #expect(result.header == nil)
        #expect(
            result.rows == [
                SpoolCSVRow(
                    line: 1, campaign: "smsintegratest", destination: "099782129", message: "Test message",
                    priority: 9999),
                SpoolCSVRow(
                    line: 2, campaign: "smsintegratest", destination: "0917564998", message: "Test message",
                    priority: 9999),
                SpoolCSVRow(
                    line: 3, campaign: "smsintegratest", destination: "095675776", message: "Test message",
                    priority: 9999),
            ]
        )
    }

    @Test(arguments: [
        "campaign;destination;message;priority",
        "Campaña;Destino;Mensaje;Prioridad",
        "CAMPANA;DESTINO;MENSAJE;PRIORIDAD",
        "campagna;destinazione;messaggio;priorità",
        " Campaign ; Number ; Text ",
        "campaign;phone;body;prio",
        "\u{FEFF}campaign;destination;message;priority;Device;idm;data",
    ])
    func headerLineIsRecognisedAndSkipped(_ header: String) {
        let result = readSpool(header + "\r\npromo;0991234567;Hola;1\r\n")
        #expect(result.issues.isEmpty)
        #expect(result.header?.first?.lowercased().contains("camp") == true)
        #expect(result.rows == [.fixture(line: 2, priority: 1)])
    }

    @Test func headerNamesTheExtraColumns() {
        let result = readSpool("campaign;destination;message;priority;Device;idm\npromo;0991234567;Hola;1;dongle0;42\n")
        #expect(result.header == ["campaign", "destination", "message", "priority", "Device", "idm"])
        #expect(result.rows == [.fixture(line: 2, priority: 1, extra: ["dongle0", "42"])])
    }

    @Test func firstLineWithAnIntegerPriorityIsDataEvenWithColumnNames() {
        let result = readSpool("campaign;destination;message;1\n")
        #expect(result.header == nil)
        #expect(
            result.rows == [.fixture(campaign: "campaign", destination: "destination", message: "message", priority: 1)]
        )
    }

    @Test func firstLineWithABadPriorityButNoColumnNamesIsAnError() {
        let result = readSpool("promo;0991234567;Hola;alta\npromo;0991234567;Hola;1\n")
        #expect(result.header == nil)
        #expect(result.issues == [SpoolCSVIssue(line: 1, field: .priority, problem: .priorityNotAnInteger("alta"))])
        #expect(result.rows == [.fixture(line: 2, priority: 1)])
    }

    @Test func onlyTheFirstLineCanBeAHeader() {
        let result = readSpool("promo;0991234567;Hola;1\ncampaign;destination;message;priority\n")
        #expect(result.header == nil)
        #expect(result.issues == [SpoolCSVIssue(line: 2, field: .priority, problem: .priorityNotAnInteger("priority"))])
    }

    @Test func extraColumnsAreKeptInOrderWithoutTrailingEmptyOnes() {
        let result = readSpool("promo;0991234567;Hola;1;a;; b ;;\npromo;0991234567;Hola;1;;\n")
        #expect(result.rows.map(\.extra) == [["a", "", " b "], []])
    }

    @Test func requiredFieldsAreTrimmedButTheMessageIsKeptAsWritten() {
        let result = readSpool(" promo\t;\u{A0}+593 99 123 4567 ;\" Hola\nmundo \"; 7 \n")
        #expect(result.issues.isEmpty)
        #expect(result.rows == [.fixture(destination: "+593 99 123 4567", message: " Hola\nmundo ", priority: 7)])
    }

    @Test func quotedMessagesKeepSeparatorsAndLineBreaksAndLaterLinesKeepTheirNumbers() {
        let text = "promo;0991234567;\"Hola; \"\"Juan\"\"\r\nsu cita\nes mañana\";3\r\npromo;0997654321;Adiós;x\r\n"
        let result = readSpool(text)
        #expect(result.rows == [.fixture(message: "Hola; \"Juan\"\r\nsu cita\nes mañana", priority: 3)])
        #expect(result.issues == [SpoolCSVIssue(line: 4, field: .priority, problem: .priorityNotAnInteger("x"))])
    }

    @Test func anyUnicodeTextIsAcceptedIncludingTheSeedsBannedCharacters() {
        let messages = [
            "¡Hola Ñandú! ¿Cómo está?", "Écrivez à info@example.com", "“Oferta” ‘hoy’ ´", "🎉👍🏽🇪🇨 listo", "日本語",
        ]
        let text = messages.map { "promo;0991234567;\"\($0.replacingOccurrences(of: "\"", with: "\"\""))\";1" }
            .joined(separator: "\n")
        let result = readSpool(text)
        #expect(result.issues.isEmpty)
        #expect(result.rows.map(\.message) == messages)
    }

    @Test func blankLinesAndSpreadsheetPaddingRowsAreSkipped() {
        let result = readSpool("\n;;;\npromo;0991234567;Hola;1\n \t; ;;\n\n;;;;\n")
        #expect(result.issues.isEmpty)
        #expect(result.rows == [.fixture(line: 3, priority: 1)])
    }

    @Test func everyRefusedLineIsListedWithEveryProblemAndField() {
        let text = """
            campaña;destino;mensaje;prioridad
            promo;0991234567;Hola;1
            promo;0991234567
            ;  ;\t;
            promo;0991234567;Hola;1.5
            promo;0991234567;Hola;99999999999
            promo;0991234567;Hola;1
            promo,0991234567,Hola,1
            """
        let result = readSpool(text)
        #expect(result.rows == [.fixture(line: 2, priority: 1), .fixture(line: 7, priority: 1)])
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 3, field: nil, problem: .tooFewFields(found: 2, likelyDelimiter: nil)),
                SpoolCSVIssue(line: 5, field: .priority, problem: .priorityNotAnInteger("1.5")),
                SpoolCSVIssue(line: 6, field: .priority, problem: .priorityOutOfRange("99999999999")),
                SpoolCSVIssue(line: 8, field: nil, problem: .tooFewFields(found: 1, likelyDelimiter: ",")),
            ]
        )
    }

    @Test func oneLineCanHaveSeveralIssues() {
        let result = readSpool("promo;0991234567;Hola;1\n ;;\" \";;note\n")
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 2, field: .campaign, problem: .empty),
                SpoolCSVIssue(line: 2, field: .destination, problem: .empty),
                SpoolCSVIssue(line: 2, field: .message, problem: .empty),
                SpoolCSVIssue(line: 2, field: .priority, problem: .empty),
            ]
        )
    }

    @Test func shortLineAlsoReportsItsEmptyFields() {
        let result = readSpool("promo;0991234567;Hola;1\n;0991234567\n")
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 2, field: nil, problem: .tooFewFields(found: 2, likelyDelimiter: nil)),
                SpoolCSVIssue(line: 2, field: .campaign, problem: .empty),
            ]
        )
    }

    @Test(arguments: [
        ("5", 5), ("+5", 5), ("-3", -3), (" 007 ", 7), ("0", 0), ("2147483647", 2_147_483_647),
        ("-2147483648", -2_147_483_648),
    ])
    func priorityIsAnInt32WithOptionalSignAndSpaces(_ text: String, _ value: Int) {
        let result = readSpool("promo;0991234567;Hola;\(text)\n")
        #expect(result.issues.isEmpty)
        #expect(result.rows.first?.priority == value)
    }

    @Test(arguments: [
        ("2147483648", SpoolCSVIssue.Problem.priorityOutOfRange("2147483648")),
        ("-2147483649", .priorityOutOfRange("-2147483649")),
        ("99999999999999999999999", .priorityOutOfRange("99999999999999999999999")),
        ("1.5", .priorityNotAnInteger("1.5")),
        ("5 5", .priorityNotAnInteger("5 5")),
        ("alta", .priorityNotAnInteger("alta")),
        ("+", .priorityNotAnInteger("+")),
        ("٣", .priorityNotAnInteger("٣")),
        ("1e3", .priorityNotAnInteger("1e3")),
        ("  ", .empty),
    ])
    func badPrioritiesAreRefused(_ text: String, _ problem: SpoolCSVIssue.Problem) {
        let result = readSpool("promo;0991234567;Hola;\(text)\n")
        #expect(result.rows.isEmpty)
        #expect(result.issues == [SpoolCSVIssue(line: 1, field: .priority, problem: problem)])
    }

    @Test func messageLengthIsCountedInCharactersUpToTheMaximum() {
        let flags1600 = String(repeating: "🇪🇸", count: 1600)  // 3,200 scalars, 12,800 bytes, 1,600 characters
        let text = [
            "promo;1;\(String(repeating: "a", count: 1600));1",
            "promo;1;\(String(repeating: "a", count: 1601));1",
            "promo;1;\(flags1600);1",
            "promo;1;\(flags1600)ñ;1",
        ].joined(separator: "\n")
        let result = readSpool(text)
        #expect(result.rows.map(\.line) == [1, 3])
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 2, field: .message, problem: .messageTooLong(characters: 1601, maximum: 1600)),
                SpoolCSVIssue(line: 4, field: .message, problem: .messageTooLong(characters: 1601, maximum: 1600)),
            ]
        )
    }

    @Test func aNULCharacterIsRefusedNamingItsField() {
        let result = readSpool("promo;0991234567;Hola\u{0} mundo;1\npromo;0991234567;Hola;1;ref\u{0}\npromo;0991234567;Hola;1\n")
        #expect(result.rows.map(\.line) == [3])
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 1, field: .message, problem: .nulCharacter),
                SpoolCSVIssue(line: 2, field: .extra(column: 5), problem: .nulCharacter),
            ])
        #expect(result.issues[0].description.contains("NUL character"))
    }

    @Test func maximumMessageLengthIsConfigurable() {
        let result = readSpool("promo;1;ñandú;1\npromo;1;ñandús;1\n", maximumMessageLength: 5)
        #expect(result.rows.map(\.line) == [1])
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 2, field: .message, problem: .messageTooLong(characters: 6, maximum: 5))
            ])
    }

    @Test func malformedLinesAreIssuesNamingTheirField() {
        let bytes =
            Array("promo;0991234567;Hola;1\npromo;0991234567;Espa".utf8) + [0xF1] + Array("a;1\n".utf8)
            + Array("promo;0991234567;Hola;1;5\" screen\npromo;0991234567;\"open;1\n".utf8)
        let result = readSpool(bytes)
        #expect(result.rows == [.fixture(priority: 1)])
        #expect(
            result.issues == [
                SpoolCSVIssue(line: 2, field: .message, problem: .malformed(.invalidUTF8(byte: 0xF1))),
                SpoolCSVIssue(line: 3, field: .extra(column: 5), problem: .malformed(.quoteInUnquotedField)),
                SpoolCSVIssue(line: 4, field: .message, problem: .malformed(.unterminatedQuote)),
            ]
        )
    }

    @Test func issueDescriptionsNameLineFieldAndReason() {
        #expect(
            SpoolCSVIssue(line: 7, field: .priority, problem: .priorityNotAnInteger("alta")).description
                == #"line 7, priority: "alta" is not a whole number"#
        )
        #expect(
            SpoolCSVIssue(line: 3, field: nil, problem: .tooFewFields(found: 1, likelyDelimiter: ",")).description
                == #"line 3: has 1 field; 4 are required (campaign;destination;message;priority); the line seems separated by "," instead of ";""#
        )
        #expect(
            SpoolCSVIssue(line: 2, field: .extra(column: 6), problem: .malformed(.quoteInUnquotedField)).description
                .hasPrefix("line 2, column 6: has a quote")
        )
        #expect(
            SpoolCSVIssue(line: 9, field: .priority, problem: .priorityOutOfRange("2147483648")).description
                == "line 9, priority: 2147483648 is outside -2147483648...2147483647"
        )
    }

    @Test(arguments: 0..<10)
    func readingInChunksGivesTheSameRowsAndIssues(_ seed: Int) {
        var generator = SeededGenerator(seed: UInt64(seed) &+ 77)
        var lines: [String] = Bool.random(using: &generator) ? ["Campaña;Destino;Mensaje;Prioridad;Nombre"] : []
        let messages = ["Hola", "\"Cita;\nmañana\"", "¡Oferta! 🎉", "\"dice \"\"sí\"\"\"", ""]
        let priorities = ["1", " 2 ", "x", "", "9999"]
        for index in 0..<Int.random(in: 1...15, using: &generator) {
            let message = messages.randomElement(using: &generator)!
            let priority = priorities.randomElement(using: &generator)!
            lines.append("c\(index % 3);09912345\(index);\(message);\(priority);extra\(index)")
        }
        let bytes = Array(lines.joined(separator: Bool.random(using: &generator) ? "\r\n" : "\n").utf8)
        let whole = readSpool(bytes)
        #expect(!whole.rows.isEmpty || !whole.issues.isEmpty)
        for size in 1...bytes.count {
            let chunked = readSpool(bytes, chunkSize: size)
            #expect(chunked.rows == whole.rows, "chunk size \(size)")
            #expect(chunked.issues == whole.issues, "chunk size \(size)")
            #expect(chunked.header == whole.header, "chunk size \(size)")
        }
    }

    @Test func readHelperReadsAWholeFile() {
        let result = SpoolCSV.read(Array("promo,0991234567,Hola,4\n".utf8), delimiter: UInt8(ascii: ","))
        #expect(result.rows == [.fixture(priority: 4)])
        #expect(result.issues.isEmpty)
    }

    // MARK: - File names

    @Test(arguments: ["DISCTEST29042014.csv", "promo_2024-05.CSV", "a.csv", "x.y.Csv"])
    func acceptedFileNames(_ name: String) throws {
        try SpoolCSV.validateFileName(name)
    }

    @Test(arguments: [
        ("mi archivo.csv", SpoolCSV.FileNameError.Problem.forbiddenCharacters([" "])),
        ("campaña@2024 (1).csv", .forbiddenCharacters(["ñ", "@", " ", "(", ")"])),
        ("../etc/passwd.csv", .forbiddenCharacters(["/"])),
        ("promo.txt", .notCSV),
        ("promo.csv.txt", .notCSV),
        ("promo", .notCSV),
        ("", .empty),
        (".csv", .empty),
        (String(repeating: "a", count: 97) + ".csv", .tooLong(length: 101, maximum: 100)),
    ])
    func refusedFileNames(_ name: String, _ problem: SpoolCSV.FileNameError.Problem) {
        #expect(throws: SpoolCSV.FileNameError(name: name, problem: problem)) { try SpoolCSV.validateFileName(name) }
    }

    @Test func fileNameErrorSaysWhatToUse() {
        #expect(
            SpoolCSV.FileNameError(name: "mi archivo@.csv", problem: .forbiddenCharacters([" ", "@"])).description
                == #"file name "mi archivo@.csv" contains space, "@"; use only letters A-Z, digits, ".", "_" and "-""#
        )
    }

    // MARK: - Dry run summary

    @Test func summaryCountsDuplicatesOfCampaignDestinationAndMessage() {
        var summary = SpoolCSVSummary()
        let rows: [SpoolCSVRow] = [
            .fixture(), .fixture(line: 2), .fixture(line: 3, message: "Hola!"), .fixture(line: 4, campaign: "other"),
            .fixture(line: 5, destination: "0997654321"), .fixture(line: 6, priority: 9, extra: ["x"]),
        ]
        let duplicates = rows.map { summary.add($0).isDuplicate }
        #expect(duplicates == [false, true, false, false, false, true])
        #expect(summary.duplicates == 2)
        #expect(summary.rows == 6)
        #expect(summary.campaigns == ["promo": 5, "other": 1])
    }

    @Test func summaryComparesTheNormalisedDestinationWhenGiven() {
        var summary = SpoolCSVSummary()
        summary.add(.fixture(destination: "0991234567"), destination: "+593991234567")
        let entry = summary.add(.fixture(line: 2, destination: "+593 99 123 4567"), destination: "+593991234567")
        #expect(entry.isDuplicate)
        #expect(summary.duplicates == 1)
    }

    @Test func summaryCountsEncodingsAndSegmentsOfTheMessagesToSend() {
        var summary = SpoolCSVSummary()
        let gsm161 = String(repeating: "a", count: 161)
        summary.add(.fixture(message: "Hola, ¿cómo estás?"))  // ó and á are not GSM-7: UCS-2, 1 segment
        summary.add(.fixture(line: 2, message: gsm161))  // GSM-7, 2 segments
        summary.add(.fixture(line: 3, message: "Niño"))  // ñ is GSM-7: 1 segment
        summary.add(.fixture(line: 4, message: "Hola, ¿cómo estás?"), blockedByDNCR: true)  // not sent
        let entry = summary.add(.fixture(line: 5, message: gsm161), numberIsValid: false)  // not sent
        #expect(entry.analysis.encoding == .gsm7)
        #expect(entry.analysis.segments == 2)
        #expect(summary.encodings == [.ucs2: 1, .gsm7: 2])
        #expect(summary.segments == 4)
    }

    @Test func summarySplitsValidInvalidBlockedAndOptedOutRows() {
        var summary = SpoolCSVSummary()
        summary.add(.fixture(line: 1, destination: "1"))
        summary.add(.fixture(line: 2, destination: "2"), numberIsValid: false)
        summary.add(.fixture(line: 3, destination: "3"), numberIsValid: false, blockedByDNCR: true)
        summary.add(.fixture(line: 4, destination: "4"), blockedByDNCR: true)
        summary.add(.fixture(line: 5, destination: "5"), optedOut: true)
        summary.add(.fixture(line: 6, destination: "6"), blockedByDNCR: true, optedOut: true)
        #expect(summary.rows == 6)
        #expect(summary.valid == 4)
        #expect(summary.invalid == 2)
        #expect(summary.blockedByDNCR == 2)
        #expect(summary.optedOut == 2)
        #expect(summary.toSend == 1)
        #expect(summary.duplicates == 0)
    }

    @Test func duplicateDetectionKeepsWorkingAsTheTableGrows() {
        var summary = SpoolCSVSummary()
        for index in 0..<50_000 { summary.add(.fixture(destination: String(index))) }
        #expect(summary.duplicates == 0)
        for index in stride(from: 0, to: 50_000, by: 7) { summary.add(.fixture(destination: String(index))) }
        #expect(summary.duplicates == (50_000 + 6) / 7)
        #expect(summary.rows == 50_000 + (50_000 + 6) / 7)
    }
}
