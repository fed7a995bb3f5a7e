import Foundation
import SMSCore
import SMSStore
import Testing

/// A Uruguayan mobile number (+598 9…, zone America/Montevideo), distinct per `n`.
func uy(_ n: Int) -> String { "+59899" + String(format: "%06d", n) }

/// An Argentinian number, for "another country" cases.
func ar(_ n: Int) -> String { "+54911" + String(format: "%08d", n) }

/// States a message passed through, in order.
func path(_ history: [SpoolEvent]) -> [SpoolState] { history.map(\.to) }

/// Every recorded change is one the state machine allows, each event starts where the previous ended, and the
/// engine's own events are in time order (a delivery report's event carries the provider's time instead).
func expectConsistent(_ history: [SpoolEvent], _ id: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
    for (previous, event) in zip(history, history.dropFirst()) {
        if let from = event.from {
            #expect(from == previous.to, "message \(id): event from \(from) follows \(previous.to)", sourceLocation: sourceLocation)
            #expect(from.canTransition(to: event.to), "message \(id): \(from) → \(event.to) is not allowed",
                    sourceLocation: sourceLocation)
        }
        if event.from != .sent {
            #expect(event.at >= previous.at, "message \(id): history out of time order", sourceLocation: sourceLocation)
        }
    }
}

/// When the message was claimed (its `sending` events).
func claims(_ history: [SpoolEvent]) -> [SpoolEvent] { history.filter { $0.to == .sending } }
