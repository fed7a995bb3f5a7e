import Foundation
import SMSCore
import Testing

@Suite("Phone number normalisation")
struct PhoneNumberTests {
    static let uruguay = try! CountryCallingCode(598)

    @Test(arguments: [
        "+598 99 123 456", "00598 99123456", "099123456", "099 123 456", "(099) 123-456", "099.123.456",
        "+598 (99) 123-456", " +59899123456 ", "0059899123456", "99123456",
    ])
    func uruguayanFormsNormaliseToTheSameE164(_ input: String) throws {
        let number = try PhoneNumber(input, defaultCountry: Self.uruguay)
        #expect(number.e164 == "+59899123456")
        #expect(number.countryCallingCode.value == 598)
        #expect(number.nationalNumber == "99123456")
    }

    @Test(arguments: [
        // (input, default country, expected)
        ("212-555-1234", 1, "+12125551234"),
        ("1 (212) 555-1234", 1, "+12125551234"),
        ("011 598 99 123 456", 1, "+59899123456"),
        ("06 1234 5678", 39, "+390612345678"),  // Italian landline keeps its 0
        ("333 123 4567", 39, "+393331234567"),
        ("612 345 678", 34, "+34612345678"),
        ("55 1234 5678", 52, "+525512345678"),
        ("011 2345-6789", 54, "+541123456789"),
        ("07700 900123", 44, "+447700900123"),
        ("+44 7700 900123", 598, "+447700900123"),
        ("8 495 123-45-67", 7, "+74951234567"),
    ])
    func nationalFormsUseDefaultCountryAndTrunkPrefix(_ input: String, _ country: Int, _ expected: String) throws {
        #expect(try PhoneNumber(input, defaultCountry: CountryCallingCode(country)).e164 == expected)
    }

    @Test func lettersAreRejectedWithTheirPosition() {
        #expect(
            throws: SMSCoreError.invalidPhoneNumber(input: "099ABC456", problem: .invalidCharacter("A", position: 4))
        ) {
            try PhoneNumber("099ABC456", defaultCountry: Self.uruguay)
        }
        let message = SMSCoreError.invalidPhoneNumber(input: "099ABC456", problem: .invalidCharacter("A", position: 4))
            .description
        #expect(
            message
                == #"phone number "099ABC456": letter "A" at position 4 is not allowed (only digits 0-9, spaces, '-', '.', '(', ')' and a leading '+')"#
        )
    }

    @Test(arguments: ["０９９１２３４５６", "099١٢٣456", "099_123_456", "099/123/456", "099123456#"])
    func nonASCIIDigitsAndOtherSymbolsAreRejected(_ input: String) {
        #expect(throws: SMSCoreError.self) { try PhoneNumber(input, defaultCountry: Self.uruguay) }
    }

    @Test func moreThanFifteenDigitsIsTooLong() {
        #expect(
            throws: SMSCoreError.invalidPhoneNumber(
                input: "+598 1234567890123", problem: .tooLong(digits: 16, maximum: 15))
        ) {
            try PhoneNumber("+598 1234567890123", defaultCountry: Self.uruguay)
        }
        #expect(throws: Never.self) { try PhoneNumber("+598 123456789012", defaultCountry: Self.uruguay) }
    }

    @Test func fewerThanSevenDigitsIsTooShort() {
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: "123", problem: .tooShort(digits: 6, minimum: 7))) {
            try PhoneNumber("123", defaultCountry: Self.uruguay)
        }
        #expect(throws: Never.self) { try PhoneNumber("+683 4002", defaultCountry: Self.uruguay) }
    }

    @Test(arguments: ["", "   ", "+", "(-)", " . "])
    func inputWithoutDigitsIsEmpty(_ input: String) {
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: input, problem: .empty)) {
            try PhoneNumber(input, defaultCountry: Self.uruguay)
        }
    }

    @Test func plusAfterTheFirstDigitIsMisplaced() {
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: "598+99123456", problem: .misplacedPlus(position: 4))) {
            try PhoneNumber("598+99123456", defaultCountry: Self.uruguay)
        }
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: "++59899123456", problem: .misplacedPlus(position: 2))) {
            try PhoneNumber("++59899123456", defaultCountry: Self.uruguay)
        }
    }

    @Test(arguments: ["+999 123 4567", "+0 598 991234", "000598991234"])
    func unassignedCountryCodesAreRejected(_ input: String) {
        #expect {
            try PhoneNumber(input, defaultCountry: Self.uruguay)
        } throws: { error in
            guard case .invalidPhoneNumber(_, .unknownCountryCode) = error as? SMSCoreError else { return false }
            return true
        }
    }

    @Test func strictE164AcceptsOnlyPlusAndDigits() throws {
        #expect(try PhoneNumber(e164: "+59899123456").nationalNumber == "99123456")
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: "59899123456", problem: .missingPlus)) {
            try PhoneNumber(e164: "59899123456")
        }
        #expect(
            throws: SMSCoreError.invalidPhoneNumber(
                input: "+598 99123456", problem: .invalidCharacter(" ", position: 5))
        ) {
            try PhoneNumber(e164: "+598 99123456")
        }
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: "+", problem: .empty)) { try PhoneNumber(e164: "+") }
        #expect(throws: SMSCoreError.invalidPhoneNumber(input: "+598+99", problem: .misplacedPlus(position: 5))) {
            try PhoneNumber(e164: "+598+99")
        }
    }

    @Test func codableUsesTheE164StringAndValidatesOnDecode() throws {
        let number = try PhoneNumber("099123456", defaultCountry: Self.uruguay)
        let data = try JSONEncoder().encode([number])
        #expect(String(decoding: data, as: UTF8.self) == #"["+59899123456"]"#)
        #expect(try JSONDecoder().decode([PhoneNumber].self, from: data) == [number])
        #expect(throws: SMSCoreError.self) {
            try JSONDecoder().decode([PhoneNumber].self, from: Data(#"["099123456"]"#.utf8))
        }
    }

    @Test func numberKnowsItsCountrysDefaultTimeZone() throws {
        #expect(try PhoneNumber(e164: "+59899123456").defaultTimeZoneIdentifier == "America/Montevideo")
        #expect(try PhoneNumber(e164: "+14165550123").defaultTimeZoneIdentifier == "America/New_York")
    }
}

@Suite("Country calling codes")
struct CountryCallingCodeTests {
    @Test(arguments: [
        ("59899123456", 598), ("12125551234", 1), ("390612345678", 39), ("74951234567", 7), ("5491123456789", 54),
        ("35312345678", 353), ("8613800138000", 86), ("88612345678", 886), ("2637712345", 263),
    ])
    func longestAssignedPrefixIsTheCountryCode(_ digits: String, _ expected: Int) {
        #expect(CountryCallingCode.prefix(of: digits)?.value == expected)
    }

    @Test(arguments: ["", "0598", "999123", "5", "28123456", "+598991"])
    func digitsWithoutAnAssignedPrefixHaveNoCountryCode(_ digits: String) {
        #expect(CountryCallingCode.prefix(of: digits) == nil)
    }

    @Test func assignedCodesArePrefixFree() {
        for code in CountryCallingCode.assigned {
            for other in CountryCallingCode.assigned where other != code {
                #expect(!String(other).hasPrefix(String(code)), "+\(code) is a prefix of +\(other)")
            }
        }
    }

    @Test func unassignedCodeIsRejectedByName() {
        #expect(throws: SMSCoreError.unknownCountryCallingCode(999)) { try CountryCallingCode(999) }
        #expect(
            SMSCoreError.unknownCountryCallingCode(999).description
                == "country calling code +999 is not assigned by the ITU")
    }

    @Test(arguments: [
        (1, "America/New_York"), (52, "America/Mexico_City"), (598, "America/Montevideo"),
        (54, "America/Argentina/Buenos_Aires"), (56, "America/Santiago"), (57, "America/Bogota"), (51, "America/Lima"),
        (55, "America/Sao_Paulo"), (34, "Europe/Madrid"), (39, "Europe/Rome"), (44, "Europe/London"),
    ])
    func requiredCountriesHaveTheirMostPopulousZone(_ code: Int, _ zone: String) throws {
        #expect(try CountryCallingCode(code).defaultTimeZoneIdentifier == zone)
    }

    @Test func everyAmericanCountryCodeHasAZone() throws {
        let americas = [1, 297, 299] + Array(51...58) + Array(500...509) + Array(590...599)
        for code in americas {
            #expect(try CountryCallingCode(code).defaultTimeZoneIdentifier != nil, "+\(code)")
        }
    }

    @Test func everyDefaultZoneIsKnownToFoundation() throws {
        var zones = 0
        for value in CountryCallingCode.assigned {
            guard let identifier = try CountryCallingCode(value).defaultTimeZoneIdentifier else { continue }
            zones += 1
            #expect(TimeZone(identifier: identifier) != nil, "+\(value) → \(identifier)")
        }
        #expect(zones > 100)
    }

    @Test func trunkPrefixesFollowNationalDialling() throws {
        #expect(try CountryCallingCode(598).trunkPrefix == "0")
        #expect(try CountryCallingCode(1).trunkPrefix == "1")
        #expect(try CountryCallingCode(39).trunkPrefix == nil)
        #expect(try CountryCallingCode(34).trunkPrefix == nil)
        #expect(try CountryCallingCode(52).trunkPrefix == nil)
    }
}

@Suite("Provider number patterns")
struct NumberPatternTests {
    @Test func seedPatternAcceptsNineDigitNumbersStartingWith09() throws {
        let pattern = try NumberPattern(#"^(09\d{7})$"#)
        #expect(pattern.matches("099123456"))
        #expect(pattern.matches("091234567"))
        for number in ["09912345", "0991234567", "+59899123456", "099 123 456", "x099123456", "099123456\n", ""] {
            #expect(!pattern.matches(number), "\(number.debugDescription)")
        }
    }

    @Test func patternMustMatchTheWholeNumberEvenWithoutAnchors() throws {
        let unanchored = try NumberPattern(#"09\d{7}"#)
        #expect(unanchored.matches("099123456"))
        #expect(!unanchored.matches("x099123456"))
        #expect(!unanchored.matches("0991234567"))
        // The first alternative matches a prefix only; the whole-number rule must still find the second.
        let alternation = try NumberPattern(#"\d{3}|\d{9}"#)
        #expect(alternation.matches("099123456"))
    }

    @Test func icuSpecificSyntaxIsAccepted() throws {
        #expect(try NumberPattern(#"[[0-9]&&[^5]]+"#).matches("0123"))
        #expect(try !NumberPattern(#"[[0-9]&&[^5]]+"#).matches("0153"))
        #expect(try NumberPattern(#"(?:\+598|0)9\d{7}"#).matches("+59899123456"))
        #expect(try NumberPattern(#"(?i)\p{Nd}{3}"#).matches("123"))
    }

    @Test(arguments: [
        (#"(09\d{7}"#, SMSCoreError.NumberPatternProblem.unclosedGroup(position: 1)),
        (#"09\d{7})"#, .unmatchedParenthesis(position: 8)),
        (#"[0-9"#, .unclosedCharacterClass(position: 1)),
        (#"09\"#, .trailingBackslash(position: 3)),
        (#"*09"#, .nothingToRepeat(quantifier: "*", position: 1)),
        (#"(+598)"#, .nothingToRepeat(quantifier: "+", position: 2)),
        (#"09|?"#, .nothingToRepeat(quantifier: "?", position: 4)),
        (#"\d{9,3}"#, .reversedRepetition("{9,3}", position: 3)),
        (#"(?<n>a"#, .unclosedGroup(position: 1)),
        ("", .empty),
        ("  ", .empty),
        (#"a{,3}"#, .rejectedByICU),
    ])
    func invalidPatternIsRejectedWithItsPosition(_ pattern: String, _ problem: SMSCoreError.NumberPatternProblem) {
        #expect(throws: SMSCoreError.invalidNumberPattern(pattern: pattern, problem: problem)) {
            try NumberPattern(pattern)
        }
    }

    @Test func invalidPatternMessageNamesPatternAndPosition() {
        let error = SMSCoreError.invalidNumberPattern(pattern: #"(09\d{7}"#, problem: .unclosedGroup(position: 1))
        #expect(error.description == #"number pattern "(09\d{7}": '(' at position 1 is never closed"#)
    }

    @Test func codableRoundTripsThePatternText() throws {
        let pattern = try NumberPattern(#"^(09\d{7})$"#)
        let data = try JSONEncoder().encode(pattern)
        #expect(try JSONDecoder().decode(NumberPattern.self, from: data) == pattern)
        #expect(throws: SMSCoreError.self) { try JSONDecoder().decode(NumberPattern.self, from: Data(#""(09""#.utf8)) }
    }
}
