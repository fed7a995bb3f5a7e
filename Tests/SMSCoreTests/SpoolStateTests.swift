import Foundation
import SMSCore
import Testing

@Suite("Spool state machine")
struct SpoolStateTests {
    /// The allowed transitions, written out independently of the implementation.
    static let allowed: Set<[SpoolState]> = [
        [.held, .toProcess], [.held, .cancelled], [.held, .expired],
        [.toProcess, .sending], [.toProcess, .blocked], [.toProcess, .invalid], [.toProcess, .cancelled],
        [.toProcess, .expired], [.toProcess, .held],
        [.sending, .sent], [.sending, .failed], [.sending, .toProcess], [.sending, .invalid], [.sending, .blocked],
        [.sent, .delivered], [.sent, .failed],
        [.failed, .toProcess],
    ]

    @Test func everyPairIsAllowedExactlyWhenListed() throws {
        var checked = 0
        for from in SpoolState.allCases {
            for to in SpoolState.allCases {
                checked += 1
                let expected = Self.allowed.contains([from, to])
                #expect(from.canTransition(to: to) == expected, "\(from) → \(to)")
                if expected {
                    #expect(try from.transition(to: to) == to)
                } else {
                    #expect(throws: SMSCoreError.forbiddenSpoolTransition(from: from, to: to)) {
                        try from.transition(to: to)
                    }
                }
            }
        }
        #expect(checked == 100)
    }

    @Test func forbiddenTransitionMessageNamesBothStates() {
        #expect(
            SMSCoreError.forbiddenSpoolTransition(from: .delivered, to: .toProcess).description
                == #"spool state cannot change from "delivered" to "to_process""#)
    }

    @Test func terminalStatesAreThoseWithNoWayOut() {
        let terminal = SpoolState.allCases.filter(\.isTerminal)
        #expect(terminal == [.blocked, .delivered, .invalid, .cancelled, .expired])
    }

    @Test func storageStringsAreStable() {
        #expect(
            SpoolState.allCases.map(\.rawValue) == [
                "none", "to_process", "blocked", "sending", "sent", "delivered", "failed", "invalid", "cancelled",
                "expired",
            ])
        #expect(SpoolState(rawValue: "to_process") == .toProcess)
    }

    @Test func legacyCodesMapBothWays() {
        #expect(SpoolState(legacyCode: 0) == SpoolState.held)
        #expect(SpoolState(legacyCode: 1) == .toProcess)
        #expect(SpoolState(legacyCode: 3) == .blocked)
        #expect(SpoolState(legacyCode: 2) == nil)
        #expect(SpoolState.allCases.compactMap(\.legacyCode) == [0, 1, 3])
    }

    @Test func codableUsesTheStorageString() throws {
        #expect(String(decoding: try JSONEncoder().encode([SpoolState.toProcess]), as: UTF8.self) == #"["to_process"]"#)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([SpoolState].self, from: Data(#"["TO PROCESS"]"#.utf8))
        }
    }
}
