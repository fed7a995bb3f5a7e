import Foundation
import SMSCore
import Testing

/// The `gsm0338.json` fixture (copied verbatim from the spec), loaded next to this file.
struct GSMFixture: Decodable {
    struct Rules: Decodable {
        let gsm7BasicTable: String
        let gsm7ExtensionTable: String

        enum CodingKeys: String, CodingKey {
            case gsm7BasicTable = "gsm7_basic_table"
            case gsm7ExtensionTable = "gsm7_extension_table"
        }
    }

    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        let id: String
        let text: String
        let encoding: String
        let segments: Int
        let units: Int?
        let twilioCharacters: Int?
        let unicodeScalars: Int?

        var testDescription: String { id }

        enum CodingKeys: String, CodingKey {
            case id, text, encoding, segments, units
            case twilioCharacters = "twilio_characters"
            case unicodeScalars = "unicode_scalars"
        }
    }

    let rules: Rules
    let vectors: [Vector]

    static func load() throws -> GSMFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/gsm0338.json")
        return try JSONDecoder().decode(GSMFixture.self, from: Data(contentsOf: url))
    }
}

@Suite("GSM 03.38 fixture vectors")
struct GSMFixtureVectorTests {
    @Test func fixtureHoldsAllTwentyFiveVectors() throws {
        #expect(try GSMFixture.load().vectors.count == 25)
    }

    @Test(arguments: try GSMFixture.load().vectors)
    func vectorEncodingUnitsAndSegmentsMatch(_ vector: GSMFixture.Vector) throws {
        let analysis = SMSText.analyze(vector.text)
        #expect(analysis.encoding.rawValue == vector.encoding)
        #expect(analysis.segments == vector.segments)
        #expect(SMSText.segments(of: vector.text).count == vector.segments)
        if let units = vector.units {
            #expect(analysis.units == units)
        }
        if analysis.encoding == .ucs2 {
            #expect(analysis.units == vector.text.utf16.count)
        }
        // Twilio's "characters" are grapheme clusters; checks the fixture reached us intact.
        if let characters = vector.twilioCharacters {
            #expect(vector.text.count == characters)
        }
        if let scalars = vector.unicodeScalars {
            #expect(vector.text.unicodeScalars.count == scalars)
        }
    }

    @Test func alphabetTablesEqualTheFixtureTables() throws {
        let rules = try GSMFixture.load().rules
        #expect(Set(GSM7.basicCharacters) == Set(rules.gsm7BasicTable.unicodeScalars))
        #expect(Set(GSM7.extensionCharacters) == Set(rules.gsm7ExtensionTable.unicodeScalars))
        #expect(GSM7.basicCharacters.count == 127)
        #expect(Set(GSM7.basicCharacters).count == 127)
        #expect(GSM7.extensionCharacters.count == 10)
        #expect(Set(GSM7.basicCharacters).isDisjoint(with: GSM7.extensionCharacters))
    }

    @Test func escapePairIsMovedWholeToTheNextSegment() throws {
        let vector = try #require(try GSMFixture.load().vectors.first { $0.id == "derived.escape_not_split" })
        let segments = SMSText.segments(of: vector.text)
        #expect(segments.map { SMSText.units(of: $0, in: .gsm7) } == [152, 12])
        #expect(segments[1].hasPrefix("€"))
        #expect(SMSText.analyze(vector.text).remainingInSegment == 153 - 12)
    }
}

@Suite("SMS text encoding and segments")
struct SMSTextTests {
    @Test func emptyTextIsZeroSegmentsWithAFullSegmentFree() {
        let analysis = SMSText.analyze("")
        #expect(
            analysis
                == SMSAnalysis(
                    encoding: .gsm7, units: 0, segments: 0, perSegmentLimit: 160, remainingInSegment: 160,
                    nonGSMCharacters: []
                ))
        #expect(SMSText.segments(of: "").isEmpty)
    }

    @Test func remainingCountsDownWithinOneSegment() {
        #expect(SMSText.analyze(String(repeating: "a", count: 150)).remainingInSegment == 10)
        #expect(SMSText.analyze(String(repeating: "a", count: 160)).remainingInSegment == 0)
        #expect(SMSText.analyze("€" + String(repeating: "a", count: 150)).remainingInSegment == 8)
        #expect(SMSText.analyze("ó" + String(repeating: "a", count: 60)).remainingInSegment == 9)
    }

    @Test func concatenatedLimitAppliesFromTheSecondSegment() {
        let analysis = SMSText.analyze(String(repeating: "a", count: 161))
        #expect(analysis.segments == 2)
        #expect(analysis.perSegmentLimit == 153)
        #expect(analysis.remainingInSegment == 153 * 2 - 161)
        let ucs2 = SMSText.analyze("ó" + String(repeating: "a", count: 70))
        #expect(ucs2.segments == 2)
        #expect(ucs2.perSegmentLimit == 67)
        #expect(ucs2.remainingInSegment == 67 * 2 - 71)
    }

    @Test(arguments: ["á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú", "ç", "ã", "õ", "ê", "Ж", "中", "😀", "\u{00A0}", "\t"])
    func characterOutsideGSMForcesUCS2ForTheWholeText(_ character: String) {
        let analysis = SMSText.analyze("Hola " + character + " mundo")
        #expect(analysis.encoding == .ucs2)
        #expect(analysis.nonGSMCharacters == [character])
    }

    @Test(arguments: ["é", "É", "ñ", "Ñ", "ü", "Ü", "¿", "¡", "à", "è", "ì", "ò", "ù", "Ç", "ß", "Δ", "\r\n", "\u{0C}"])
    func spanishAndSpecialGSMCharactersStayGSM7(_ character: String) {
        #expect(SMSText.analyze("Hola " + character).encoding == .gsm7)
    }

    @Test func extensionCharactersCostTwoSeptetsButOneUCS2Unit() {
        for character in "\u{0C}[\\]^{|}~€" {
            #expect(SMSText.analyze(String(character)).units == 2)
            #expect(SMSText.analyze(String(character) + "ó").units == 2)
        }
    }

    @Test func decomposedAccentIsNotGSMEvenThoughItLooksLikeAGSMLetter() {
        let decomposed = "Qu" + "e\u{0301}"
        let analysis = SMSText.analyze(decomposed)
        #expect(analysis.encoding == .ucs2)
        #expect(analysis.nonGSMCharacters.map { Array($0.unicodeScalars) } == [["e", "\u{0301}"]])
        #expect(SMSText.analyze("Qu\u{00E9}").encoding == .gsm7)
    }

    @Test func nonGSMCharactersAreListedOnceInOrderOfAppearance() {
        #expect(SMSText.analyze("óáó😀á🇮🇹").nonGSMCharacters == ["ó", "á", "😀", "🇮🇹"])
    }

    @Test func forcingGSM7OnNonGSMTextThrowsNamingTheCharacters() {
        #expect(throws: SMSCoreError.notEncodableInGSM7(characters: ["ó", "á"])) {
            try SMSText.analyze("¿Dónde está?", setting: .gsm7)
        }
        #expect(throws: SMSCoreError.notEncodableInGSM7(characters: ["😀"])) {
            try SMSText.segments(of: "hi 😀", setting: .gsm7)
        }
        let message = SMSCoreError.notEncodableInGSM7(characters: ["ó"]).description
        #expect(
            message
                == "text cannot be sent as GSM-7: \"ó\" (U+00F3) is not in the GSM 03.38 alphabet (use UCS-2 or auto)")
    }

    @Test func forcedEncodingsOverrideTheAutomaticChoice() throws {
        #expect(try SMSText.analyze("Hello €", setting: .gsm7) == SMSText.analyze("Hello €"))
        let ucs2 = try SMSText.analyze("Hello €", setting: .ucs2)
        #expect(ucs2.encoding == .ucs2)
        #expect(ucs2.units == 7)
        #expect(ucs2.perSegmentLimit == 70)
        #expect(ucs2.nonGSMCharacters.isEmpty)
        let long = String(repeating: "a", count: 100)
        #expect(try SMSText.segments(of: long, setting: .ucs2).map(\.count) == [67, 33])
        #expect(try SMSText.analyze("ó", setting: .auto).encoding == .ucs2)
    }

    @Test func surrogatePairMovesWholeToTheNextSegment() {
        let text = "ó" + String(repeating: "a", count: 65) + "😀" + "aaaaa"
        #expect(SMSText.segments(of: text) == ["ó" + String(repeating: "a", count: 65), "😀aaaaa"])
    }

    @Test func flagGraphemeIsNotCutBetweenItsRegionalIndicators() {
        let text = "ó" + String(repeating: "a", count: 64) + "🇮🇹" + String(repeating: "b", count: 10)
        // 65 units + 4 would exceed 67: the whole flag moves on.
        #expect(
            SMSText.segments(of: text) == [
                "ó" + String(repeating: "a", count: 64), "🇮🇹" + String(repeating: "b", count: 10),
            ])
    }

    @Test func graphemeLongerThanASegmentIsCutBetweenScalarsOnly() {
        let text = "a" + String(repeating: "\u{0301}", count: 100)
        let segments = SMSText.segments(of: text)
        #expect(segments.map(\.utf16.count) == [67, 34])
        #expect(segments.flatMap(\.unicodeScalars) == Array(text.unicodeScalars))
        #expect(SMSText.analyze(text).segments == 2)
    }

    @Test func analysisEncodesWithStableJSONKeysForTheBrowserMirror() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try String(decoding: encoder.encode(SMSText.analyze("ó")), as: UTF8.self)
        #expect(
            json
                == #"{"encoding":"UCS-2","nonGSMCharacters":["ó"],"perSegmentLimit":70,"remainingInSegment":69,"segments":1,"units":1}"#
        )
    }

    @Test func encodingSettingRawValuesAreStable() {
        #expect(SMSEncodingSetting.allCases.map(\.rawValue) == ["auto", "GSM-7", "UCS-2"])
        #expect(SMSEncoding.allCases.map(\.rawValue) == ["GSM-7", "UCS-2"])
    }
}

@Suite("SMS segmentation properties")
struct SMSSegmentationPropertyTests {
    static let emoji = ["😀", "🇮🇹", "🏳️‍🌈", "👍🏽", "👨‍👩‍👧", "❤️", "🦄"]
    static let bmpNonGSM = ["á", "í", "ó", "ú", "ç", "Ж", "中", "ї", "ş", "ł", "“", "’", "…", "\t", "e\u{0301}"]

    struct Sample {
        let text: String
        let expectGSM: Bool
    }

    static func samples(count: Int) throws -> [Sample] {
        let rules = try GSMFixture.load().rules
        let basic = rules.gsm7BasicTable.unicodeScalars.map { String($0) }
        let extensions = rules.gsm7ExtensionTable.unicodeScalars.map { String($0) }
        var random = SplitMix64(seed: 0x5EED_0338)
        return (0..<count).map { index in
            let gsmOnly = index % 2 == 0
            let length = Int(random.next() % 420)
            var text = ""
            for _ in 0..<length {
                let roll = random.next() % 100
                let pool: [String]
                switch roll {
                case 0..<70: pool = basic
                case 70..<85: pool = extensions
                case 85..<93: pool = gsmOnly ? basic : bmpNonGSM
                default: pool = gsmOnly ? extensions : emoji
                }
                text += pool[Int(random.next() % UInt64(pool.count))]
            }
            let expectGSM = text.unicodeScalars.allSatisfy {
                rules.gsm7BasicTable.unicodeScalars.contains($0) || rules.gsm7ExtensionTable.unicodeScalars.contains($0)
            }
            return Sample(text: text, expectGSM: expectGSM)
        }
    }

    /// Units of a text computed from the fixture's tables, independently of SMSCore.
    static func referenceUnits(_ text: String, gsm: Bool, rules: GSMFixture.Rules) -> Int {
        guard gsm else { return text.utf16.count }
        return text.unicodeScalars.reduce(0) { $0 + (rules.gsm7ExtensionTable.unicodeScalars.contains($1) ? 2 : 1) }
    }

    @Test func randomTextsSplitLosslesslyWithinLimitsAndGreedily() throws {
        let rules = try GSMFixture.load().rules
        let samples = try Self.samples(count: 400)
        #expect(samples.contains { $0.expectGSM && SMSText.analyze($0.text).segments > 2 })
        #expect(samples.contains { !$0.expectGSM && SMSText.analyze($0.text).segments > 3 })
        for sample in samples {
            let text = sample.text
            let analysis = SMSText.analyze(text)
            let segments = SMSText.segments(of: text)
            let gsm = analysis.encoding == .gsm7
            #expect(gsm == sample.expectGSM, "encoding of \(text.debugDescription)")
            #expect(analysis.units == Self.referenceUnits(text, gsm: gsm, rules: rules))
            #expect(segments.count == analysis.segments)
            // Lossless: the exact scalars come back, and no grapheme cluster was cut.
            #expect(segments.flatMap(\.unicodeScalars) == Array(text.unicodeScalars))
            #expect(segments.flatMap { $0.map { Array($0.unicodeScalars) } } == text.map { Array($0.unicodeScalars) })
            let limit = segments.count > 1 ? (gsm ? 153 : 67) : (gsm ? 160 : 70)
            #expect(analysis.perSegmentLimit == limit)
            let unitsPerSegment = segments.map { Self.referenceUnits($0, gsm: gsm, rules: rules) }
            #expect(unitsPerSegment.allSatisfy { $0 <= limit && $0 > 0 })
            #expect(analysis.remainingInSegment == limit - (unitsPerSegment.last ?? 0))
            // Greedy: each segment was closed only because the next grapheme did not fit.
            for (index, units) in unitsPerSegment.dropLast().enumerated() {
                let nextGrapheme = String(try #require(segments[index + 1].first))
                #expect(units + Self.referenceUnits(nextGrapheme, gsm: gsm, rules: rules) > limit)
            }
        }
    }
}

@Suite("SMS analysis fast path")
struct SMSAnalysisFastPathTests {
    /// `analyze(_:)` answers plain single-segment ASCII text without splitting; it must agree with the
    /// general path (`setting: .auto`) on every ASCII text, encodable or not, around the 160 limit.
    @Test func fastPathAgreesWithTheGeneralPathOnASCII() throws {
        var random = SplitMix64(seed: 0xFA57_0338)
        // Every ASCII byte, weighted towards letters, so backticks, tabs and other controls (not GSM) and
        // the extension characters ^{}\[~]| all occur.
        let letters = Array("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?@$_".unicodeScalars)
        for index in 0..<4000 {
            let length = index < 200 ? index : Int(random.next() % 175)
            var scalars = String.UnicodeScalarView()
            for _ in 0..<length {
                let roll = random.next() % 10
                scalars.append(roll < 8 ? letters[Int(random.next() % UInt64(letters.count))]
                                        : Unicode.Scalar(UInt8(random.next() % 128)))
            }
            let text = String(scalars)
            #expect(SMSText.analyze(text) == (try SMSText.analyze(text, setting: .auto)), "text \(text.debugDescription)")
        }
    }

    @Test func fastPathCountsExtensionCharactersTwiceAndRefusesTheBacktick() {
        #expect(SMSText.analyze(String(repeating: "{", count: 80)).segments == 1)
        #expect(SMSText.analyze(String(repeating: "{", count: 81)).segments == 2)
        #expect(SMSText.analyze("a`b").encoding == .ucs2)
        #expect(SMSText.analyze("a`b").nonGSMCharacters == ["`"])
        #expect(SMSText.analyze("tab\there").encoding == .ucs2)
    }
}

/// A tiny deterministic generator so property tests fail the same way every run.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
