import Foundation
import SMSCore
import Testing

@Suite("Dial strings")
struct DialStringTests {
    @Test(arguments: [
        ("0.3", [0, 1, 2, 3]),
        ("2", [2]),
        ("0.3,6.7", [0, 1, 2, 3, 6, 7]),
        (" 0.3 , 6.7 ", [0, 1, 2, 3, 6, 7]),
        ("0 . 3", [0, 1, 2, 3]),
        ("5.5", [5]),
        ("6.7,0.1", [6, 7, 0, 1]),
        ("1,3,5", [1, 3, 5]),
        ("007", [7]),
        ("0.255", Array(0...255)),
    ])
    func validDialStringsListTheirPortsInWrittenOrder(_ text: String, _ ports: [Int]) throws {
        #expect(try DialString(text).ports == ports)
    }

    @Test(arguments: [
        ("3.0", SMSCoreError.DialStringProblem.reversedRange(item: "3.0", start: 3, end: 0)),
        ("-1", .negativePort(item: "-1")),
        ("0.-3", .negativePort(item: "0.-3")),
        ("", .empty),
        ("   ", .empty),
        ("1,,2", .emptyItem(number: 2)),
        ("1,", .emptyItem(number: 2)),
        (",1", .emptyItem(number: 1)),
        ("a.b", .notAPortOrRange(item: "a.b")),
        ("1.2.3", .notAPortOrRange(item: "1.2.3")),
        ("1.", .notAPortOrRange(item: "1.")),
        (".3", .notAPortOrRange(item: ".3")),
        ("+1", .notAPortOrRange(item: "+1")),
        ("1 2", .notAPortOrRange(item: "1 2")),
        ("1-3", .notAPortOrRange(item: "1-3")),
        ("١", .notAPortOrRange(item: "١")),
        ("0.256", .portTooLarge(item: "0.256", maximum: 255)),
        ("0.99999999999999999999999", .portTooLarge(item: "0.99999999999999999999999", maximum: 255)),
        ("0.3,2", .duplicatePort(2, item: "2")),
        ("0.3,2.5", .duplicatePort(2, item: "2.5")),
    ])
    func invalidDialStringsAreRejectedNamingTheItem(_ text: String, _ problem: SMSCoreError.DialStringProblem) {
        #expect(throws: SMSCoreError.invalidDialString(input: text, problem: problem)) { try DialString(text) }
    }

    @Test func reversedRangeMessageNamesTheRangeAndItsEnds() {
        let error = SMSCoreError.invalidDialString(input: "3.0", problem: .reversedRange(item: "3.0", start: 3, end: 0))
        #expect(error.description == #"dial string "3.0": range 3.0 is reversed (start 3 > end 0)"#)
    }

    @Test func codableUsesTheTextAndValidatesOnDecode() throws {
        let dial = try DialString("0.3,6.7")
        let data = try JSONEncoder().encode(dial)
        #expect(String(decoding: data, as: UTF8.self) == #""0.3,6.7""#)
        #expect(try JSONDecoder().decode(DialString.self, from: data) == dial)
        #expect(
            throws: SMSCoreError.invalidDialString(input: "3.0", problem: .reversedRange(item: "3.0", start: 3, end: 0))
        ) {
            try JSONDecoder().decode(DialString.self, from: Data(#""3.0""#.utf8))
        }
    }
}

@Suite("Port rotation")
struct PortRotationTests {
    @Test func rotationCyclesThroughThePortsInOrder() throws {
        var rotation = PortRotation(try DialString("0.3"))
        #expect((0..<10).map { _ in rotation.next() } == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
        #expect(rotation.position == 10)
    }

    @Test func rotationResumesFromAPersistedPosition() throws {
        let dial = try DialString("0.1,6.7")
        var resumed = PortRotation(dial, position: 5)
        #expect((0..<3).map { _ in resumed.next() } == [1, 6, 7])
        #expect(PortRotation(dial).port(at: 5) == 1)
        #expect(PortRotation(dial).port(at: -1) == 7)
    }

    @Test func singlePortAlwaysRotatesToItself() throws {
        var rotation = PortRotation(try DialString("2"))
        #expect((0..<4).map { _ in rotation.next() } == [2, 2, 2, 2])
    }

    @Test func rotationSurvivesTheLargestPosition() throws {
        var rotation = PortRotation(try DialString("0.2"), position: .max)
        let expected = [Int.max % 3, (Int.max % 3 + 1) % 3, (Int.max % 3 + 2) % 3]
        #expect((0..<3).map { _ in rotation.next() } == expected)
    }
}
