import SMSCore
import Testing

/// Reads a DNCR file fed in chunks of `chunkSize` (whole when nil).
func readDNCR(_ bytes: [UInt8], chunkSize: Int? = nil) -> (
    rows: [DNCRCSVRow], issues: [DNCRCSVIssue], header: [String]?
) {
    var dncr = DNCRCSV()
    var rows: [DNCRCSVRow] = []
    let size = chunkSize ?? max(bytes.count, 1)
    var offset = 0
    while offset < bytes.count {
        dncr.feed(bytes[offset..<min(offset + size, bytes.count)])
        while let row = dncr.next() { rows.append(row) }
        offset += size
    }
    dncr.finish()
    while let row = dncr.next() { rows.append(row) }
    #expect(dncr.isAtEnd)
    return (rows, dncr.issues, dncr.header)
}

func readDNCR(_ text: String) -> (rows: [DNCRCSVRow], issues: [DNCRCSVIssue], header: [String]?) {
    readDNCR(Array(text.utf8))
}

@Suite("DNCR CSV")
struct DNCRCSVTests {
    @Test func seedExampleIsRead() {
        let result = readDNCR("20045676;dialerestest;\n29089900;dialerestest;\n27865555;dialerestest;\n")
        #expect(result.issues.isEmpty)
        #expect(result.header == nil)
        #expect(
            result.rows == [
                DNCRCSVRow(line: 1, number: "20045676", campaign: "dialerestest"),
                DNCRCSVRow(line: 2, number: "29089900", campaign: "dialerestest"),
                DNCRCSVRow(line: 3, number: "27865555", campaign: "dialerestest"),
            ]
        )
    }

    @Test func emptyOrMissingCampaignMeansEveryCampaign() {
        let result = readDNCR("111;;\r\n222;\r\n333\r\n444; \t;\r\n555;promo")
        #expect(result.issues.isEmpty)
        #expect(result.rows.map(\.campaign) == [nil, nil, nil, nil, "promo"])
        #expect(result.rows.map(\.line) == [1, 2, 3, 4, 5])
    }

    @Test func numberAndCampaignAreTrimmed() {
        let result = readDNCR(" +593 99 123 4567 ;\u{A0}promo ;\n")
        #expect(result.rows == [DNCRCSVRow(line: 1, number: "+593 99 123 4567", campaign: "promo")])
    }

    @Test func columnsAfterTheSecondAreIgnored() {
        let result = readDNCR("0991234567;promo;asked by phone;2024-05-01\n")
        #expect(result.issues.isEmpty)
        #expect(result.rows == [DNCRCSVRow(line: 1, number: "0991234567", campaign: "promo")])
    }

    @Test(arguments: [
        "number;campaign", "Número;Campaña;", "TELEFONO", " msisdn ", "phone number;campaign;reason", "x;campaña",
    ])
    func headerLineIsRecognisedAndSkipped(_ header: String) {
        let result = readDNCR("\u{FEFF}" + header + "\n0991234567;promo;\n")
        #expect(result.header != nil)
        #expect(result.issues.isEmpty)
        #expect(result.rows == [DNCRCSVRow(line: 2, number: "0991234567", campaign: "promo")])
    }

    @Test func firstLineWithDigitsIsDataEvenWithAColumnNameBeside() {
        let result = readDNCR("12345;campaign\n")
        #expect(result.header == nil)
        #expect(result.rows == [DNCRCSVRow(line: 1, number: "12345", campaign: "campaign")])
    }

    @Test func firstLineThatIsNeitherHeaderNorNumberIsAnError() {
        let result = readDNCR("promo;0991234567\n0991234567;promo\n")
        #expect(result.header == nil)
        #expect(result.issues == [DNCRCSVIssue(line: 1, field: .number, problem: .notANumber("promo"))])
        #expect(result.rows == [DNCRCSVRow(line: 2, number: "0991234567", campaign: "promo")])
    }

    @Test func everyBadLineIsListedWithItsFieldAndReason() {
        let bytes = Array("111;a\n;promo\n  ;promo\nnúmero;promo\n\"open;x\n".utf8)
        var withBadUTF8 = Array("222;camp".utf8) + [0xE1] + Array("ña\n".utf8)
        withBadUTF8 += bytes
        let result = readDNCR(withBadUTF8)
        #expect(result.rows == [DNCRCSVRow(line: 2, number: "111", campaign: "a")])
        #expect(
            result.issues == [
                DNCRCSVIssue(line: 1, field: .campaign, problem: .malformed(.invalidUTF8(byte: 0xE1))),
                DNCRCSVIssue(line: 3, field: .number, problem: .empty),
                DNCRCSVIssue(line: 4, field: .number, problem: .empty),
                DNCRCSVIssue(line: 5, field: .number, problem: .notANumber("número")),
                DNCRCSVIssue(line: 6, field: .number, problem: .malformed(.unterminatedQuote)),
            ]
        )
    }

    @Test func blankLinesAreSkipped() {
        let result = readDNCR("\n111;promo;\n;;\n\n222;;\n\n")
        #expect(result.issues.isEmpty)
        #expect(result.rows.map(\.line) == [2, 5])
    }

    @Test func issueDescriptionsNameLineFieldAndReason() {
        #expect(DNCRCSVIssue(line: 4, field: .number, problem: .empty).description == "line 4, number: is empty")
        #expect(
            DNCRCSVIssue(line: 2, field: .number, problem: .notANumber("promo")).description
                == #"line 2, number: "promo" has no digits, so it is not a phone number"#
        )
    }

    @Test func readingInChunksGivesTheSameResult() {
        let bytes = Array("\u{FEFF}Teléfono;Campaña\r\n+593 99;promo;\r\n\"0991\";\"pro;mo\"\r\n;x\r\n0992\r\n".utf8)
        let whole = readDNCR(bytes)
        #expect(whole.rows.count == 3)
        #expect(whole.issues.count == 1)
        for size in 1...bytes.count {
            let chunked = readDNCR(bytes, chunkSize: size)
            #expect(chunked.rows == whole.rows, "chunk size \(size)")
            #expect(chunked.issues == whole.issues, "chunk size \(size)")
            #expect(chunked.header == whole.header, "chunk size \(size)")
        }
    }

    @Test func readHelperReadsAWholeFileWithAnotherDelimiter() {
        let result = DNCRCSV.read(Array("0991234567\tpromo\n".utf8), delimiter: UInt8(ascii: "\t"))
        #expect(result.rows == [DNCRCSVRow(line: 1, number: "0991234567", campaign: "promo")])
    }
}
