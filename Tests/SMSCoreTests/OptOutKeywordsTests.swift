import Foundation
import SMSCore
import Testing

@Suite("Opt-out keywords")
struct OptOutKeywordsTests {
    @Test(arguments: [
        ("STOP", "STOP"), ("stop", "STOP"), (" stop ", "STOP"), ("Stop.", "STOP"), ("Baja.", "BAJA"), ("BÁJA", "BAJA"),
        ("¡Alto!", "ALTO"), ("alto", "ALTO"), ("\"Cancelar\"", "CANCELAR"), ("  unsubscribe\n", "UNSUBSCRIBE"),
        ("end", "END"), ("Quit!!!", "QUIT"), ("cancel", "CANCEL"), ("ＳＴＯＰ", "STOP"), ("s\u{0301}top", "STOP"),
        ("\u{200B}STOP\u{200B}", "STOP"), ("¿baja?", "BAJA"), ("...stop...", "STOP"), ("- STOP -", "STOP"),
    ])
    func optOutKeywordMatchesIgnoringCaseAccentsAndPunctuation(_ text: String, _ keyword: String) {
        #expect(OptOutKeywords.standard.match(text) == .optOut(keyword: keyword, scope: .campaign))
    }

    @Test(arguments: ["STOPALL", "stopall", " StopAll! "])
    func stopAllOptsOutOfEveryCampaign(_ text: String) {
        #expect(OptOutKeywords.standard.match(text) == .optOut(keyword: "STOPALL", scope: .all))
    }

    @Test(arguments: [("START", "START"), ("alta", "ALTA"), ("Unstop.", "UNSTOP"), ("¡ÁLTA!", "ALTA")])
    func optInKeywordMatches(_ text: String, _ keyword: String) {
        #expect(OptOutKeywords.standard.match(text) == .optIn(keyword: keyword))
    }

    @Test(arguments: [
        "stop please", "stopper", "STOP 😡", "s t o p", "st.op", "no stop", "bajar", "altos", "", "   ", "!!!",
        "STOP STOP", "stop\nplease", "HOLA", "start now",
    ])
    func otherTextIsNotAKeyword(_ text: String) {
        #expect(OptOutKeywords.standard.match(text) == KeywordMatch.none)
    }

    @Test func campaignKeywordsReplaceTheDefaults() throws {
        let custom = try OptOutKeywords(optOut: ["NO MAS", "Basta"], optOutAll: ["NUNCA"], optIn: ["VOLVER"])
        #expect(custom.match("no   más!") == .optOut(keyword: "NO MAS", scope: .campaign))
        #expect(custom.match("basta") == .optOut(keyword: "Basta", scope: .campaign))
        #expect(custom.match("Nunca.") == .optOut(keyword: "NUNCA", scope: .all))
        #expect(custom.match("volver") == .optIn(keyword: "VOLVER"))
        #expect(custom.match("STOP") == KeywordMatch.none)
        #expect(custom.allOptOutKeywords == ["NO MAS", "Basta", "NUNCA"])
    }

    @Test func defaultListsAreTheSpecsKeywords() {
        #expect(
            Set(OptOutKeywords.standard.allOptOutKeywords)
                == ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BAJA", "CANCELAR", "ALTO"])
        #expect(OptOutKeywords.standard.optOutAll == ["STOPALL"])
        #expect(OptOutKeywords.standard.optIn == ["START", "ALTA", "UNSTOP"])
    }

    @Test func keywordThatCanNeverMatchIsRejected() {
        #expect(throws: SMSCoreError.invalidKeywords(.emptyKeyword("!!"))) {
            try OptOutKeywords(optOut: ["STOP", "!!"], optIn: [])
        }
    }

    @Test func sameKeywordInTwoListsIsRejected() {
        #expect(throws: SMSCoreError.invalidKeywords(.conflictingKeywords("baja", "BÁJA"))) {
            try OptOutKeywords(optOut: ["baja"], optIn: ["BÁJA"])
        }
        #expect(
            SMSCoreError.invalidKeywords(.conflictingKeywords("baja", "BÁJA")).description
                == #"keywords: "baja" and "BÁJA" match the same messages; list each keyword once"#)
    }

    @Test func codableRoundTripsAndValidates() throws {
        let data = try JSONEncoder().encode(OptOutKeywords.standard)
        #expect(try JSONDecoder().decode(OptOutKeywords.self, from: data) == OptOutKeywords.standard)
        let withoutAll = #"{"optOut":["FIN"],"optIn":["INICIO"]}"#
        #expect(
            try JSONDecoder().decode(OptOutKeywords.self, from: Data(withoutAll.utf8)).match("fin")
                == .optOut(keyword: "FIN", scope: .campaign))
        #expect(throws: SMSCoreError.self) {
            try JSONDecoder().decode(OptOutKeywords.self, from: Data(#"{"optOut":["STOP"],"optIn":["stop"]}"#.utf8))
        }
    }
}
