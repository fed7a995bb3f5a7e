/// The state of an outgoing message in the spool (SPEC D3); raw values are the stable storage strings.
///
/// Allowed transitions, and why (any other change, including to the same state, is refused):
/// - `held` → `toProcess`: a held message is released for sending.
/// - `held` → `cancelled`: the operator deletes a held message (D7 "Delete").
/// - `held` → `expired`: its validity ran out while it was held.
/// - `toProcess` → `sending`: the engine claims it for a send attempt (D4).
/// - `toProcess` → `blocked`: the number is on the DNCR or opted out (D4, D8).
/// - `toProcess` → `invalid`: the number fails the provider's expression (P5).
/// - `toProcess` → `cancelled`: the operator deletes not-yet-processed messages (D7).
/// - `toProcess` → `expired`: its validity ran out before it could be sent (quiet hours, closed schedule).
/// - `toProcess` → `held`: the operator holds it again.
/// - `sending` → `sent`: the provider accepted it and returned a message id.
/// - `sending` → `failed`: a permanent provider error, or retryable errors exhausted the attempts (P8).
/// - `sending` → `toProcess`: a retryable error schedules a retry with backoff, or the claim's
///   lease expired after a crash before anything was handed to the provider (D4).
/// - `sending` → `invalid`: the provider rejected the number itself as malformed.
/// - `sending` → `blocked`: the provider reports the recipient unsubscribed (e.g. Twilio 21610).
/// - `sent` → `delivered`: a delivery report confirms delivery.
/// - `sent` → `failed`: a delivery report says undelivered or rejected.
/// - `failed` → `toProcess`: an operator retries a failed message by hand.
/// `delivered`, `blocked`, `invalid`, `cancelled` and `expired` are terminal; `failed` is not,
/// only because of the manual retry. Late or repeated reports (`sent` after `delivered`) are refused.
public enum SpoolState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Held: loaded but not to be sent yet (legacy code 0, "NONE").
    case held = "none"
    /// Waiting for the engine (legacy code 1, "TO PROCESS").
    case toProcess = "to_process"
    /// Not sent because the number is on the DNCR or opted out (legacy code 3, "BLOCKED").
    case blocked
    /// Claimed by the engine; a send attempt is in flight.
    case sending
    /// Accepted by the provider, not yet confirmed delivered.
    case sent
    /// Confirmed delivered by a delivery report.
    case delivered
    /// Could not be sent or delivered.
    case failed
    /// The number is malformed or fails the provider's expression.
    case invalid
    /// Deleted by an operator before being sent.
    case cancelled
    /// Its validity ran out before it could be sent.
    case expired

    /// The numeric code of the original system, where it had one (0, 1, 3).
    public var legacyCode: Int? {
        switch self {
        case .held: 0
        case .toProcess: 1
        case .blocked: 3
        default: nil
        }
    }

    /// The state for a legacy numeric code (0, 1 or 3), nil for any other code.
    public init?(legacyCode: Int) {
        guard let state = SpoolState.allCases.first(where: { $0.legacyCode == legacyCode }) else { return nil }
        self = state
    }

    /// The states this one may change to (see the type's documentation for the reasons).
    public var allowedNextStates: Set<SpoolState> {
        switch self {
        case .held: [.toProcess, .cancelled, .expired]
        case .toProcess: [.sending, .blocked, .invalid, .cancelled, .expired, .held]
        case .sending: [.sent, .failed, .toProcess, .invalid, .blocked]
        case .sent: [.delivered, .failed]
        case .failed: [.toProcess]
        case .delivered, .blocked, .invalid, .cancelled, .expired: []
        }
    }

    /// Whether no change can leave this state.
    public var isTerminal: Bool { allowedNextStates.isEmpty }

    /// Whether the state machine allows changing to `next`.
    public func canTransition(to next: SpoolState) -> Bool { allowedNextStates.contains(next) }

    /// Returns `next` if the change is allowed, else throws `forbiddenSpoolTransition` naming both states.
    public func transition(to next: SpoolState) throws(SMSCoreError) -> SpoolState {
        guard canTransition(to: next) else { throw .forbiddenSpoolTransition(from: self, to: next) }
        return next
    }

    /// The storage string.
    public var description: String { rawValue }
}
