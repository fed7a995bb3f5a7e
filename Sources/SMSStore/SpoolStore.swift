import Foundation
import SMSCore

/// Where a spool message came from.
public enum SpoolSource: String, Sendable, Codable {
    case csv, api, legacyAPI = "legacy_api", agent, unitary, system
    /// An automatic answer to a message the client just sent (the out-of-time reply, SPEC C2).
    case autoReply = "auto_reply"
    /// The one confirmation of an opt-out or opt-in keyword (SPEC D8).
    case optOutConfirmation = "opt_out_confirmation"

    /// Answers to a message the client has just sent go out at once: quiet hours (SPEC D10) protect
    /// recipients from unsolicited messages, not from the answer they asked for.
    public static func bypassesQuietHours(_ source: String) -> Bool {
        source == SpoolSource.autoReply.rawValue || source == SpoolSource.optOutConfirmation.rawValue
    }

    /// The confirmation of an opt-out is sent although the number has just been put on the DNCR (SPEC D8:
    /// "sends one confirmation"); every other message is checked against the DNCR.
    public static func bypassesDNCR(_ source: String) -> Bool {
        source == SpoolSource.optOutConfirmation.rawValue
    }
}

/// A message to put in the spool.
public struct NewSpoolMessage: Sendable, Equatable {
    public var campaignID: Int64
    public var destination: String
    public var message: String
    public var priority: Int
    /// Extra CSV columns or API metadata, as JSON text.
    public var extra: String?
    public var source: SpoolSource
    public var createdBy: Int64?
    public var idempotencyKey: String?
    /// `toProcess` normally; `invalid` when the number fails the provider's pattern; `held` to load without sending.
    public var state: SpoolState
    /// Why it starts in that state (recorded in its history).
    public var reason: String?
    /// Not before this time (send later).
    public var notBefore: Date?
    public var conversationID: Int64?
    public var encoding: String?
    public var segments: Int?

    public init(campaignID: Int64, destination: String, message: String, priority: Int = 0, extra: String? = nil,
                source: SpoolSource, createdBy: Int64? = nil, idempotencyKey: String? = nil,
                state: SpoolState = .toProcess, reason: String? = nil, notBefore: Date? = nil,
                conversationID: Int64? = nil, encoding: String? = nil, segments: Int? = nil) {
        self.campaignID = campaignID
        self.destination = destination
        self.message = message
        self.priority = priority
        self.extra = extra
        self.source = source
        self.createdBy = createdBy
        self.idempotencyKey = idempotencyKey
        self.state = state
        self.reason = reason
        self.notBefore = notBefore
        self.conversationID = conversationID
        self.encoding = encoding
        self.segments = segments
    }
}

/// A spool row (SPEC D3).
public struct SpoolMessage: Sendable, Equatable {
    public var id: Int64
    public var campaignID: Int64
    public var dialerID: Int64?
    public var conversationID: Int64?
    public var destination: String
    public var message: String
    public var priority: Int
    public var extra: String?
    public var state: SpoolState
    public var attempts: Int
    public var source: String
    public var idempotencyKey: String?
    public var providerID: Int64?
    public var providerMessageID: String?
    public var port: Int?
    public var encoding: String?
    public var segments: Int?
    public var errorCode: String?
    public var errorText: String?
    public var blockReason: String?
    public var possibleDuplicate: Bool
    public var notBefore: Date?
    public var nextAttemptAt: Date?
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var sentAt: Date?
    public var deliveredAt: Date?
}

/// One recorded state change of a spool message.
public struct SpoolEvent: Sendable, Equatable {
    public var at: Date
    public var from: SpoolState?
    public var to: SpoolState
    public var reason: String?
    public var node: String?
}

/// What became of a claimed message; applied only while the claim's lease is still held.
public enum SpoolOutcome: Sendable, Equatable {
    /// The provider accepted it.
    case sent(id: Int64, dialerID: Int64?, providerID: Int64, providerMessageID: String?, port: Int?)
    /// Retry later (retryable error, or quiet hours / closed schedule: `countsAsAttempt` false).
    case retry(id: Int64, at: Date, code: String?, text: String, countsAsAttempt: Bool)
    /// Permanent failure, or retries exhausted.
    case failed(id: Int64, providerID: Int64?, code: String?, text: String)
    /// On the DNCR or opted out.
    case blocked(id: Int64, reason: String)
    /// Fails the provider's number pattern.
    case invalid(id: Int64, reason: String)

    public var id: Int64 {
        switch self {
        case .sent(let id, _, _, _, _), .retry(let id, _, _, _, _), .failed(let id, _, _, _), .blocked(let id, _),
             .invalid(let id, _): id
        }
    }
}

/// Counts of a campaign's spool by state.
public struct SpoolCounts: Sendable, Equatable {
    public var byState: [SpoolState: Int]
    public var possibleDuplicates: Int
    public init(byState: [SpoolState: Int] = [:], possibleDuplicates: Int = 0) {
        self.byState = byState
        self.possibleDuplicates = possibleDuplicates
    }
    public subscript(_ state: SpoolState) -> Int { byState[state] ?? 0 }
}

/// Which spool messages a report lists.
public struct SpoolFilter: Sendable, Equatable {
    public var campaignID: Int64?
    public var states: [SpoolState]
    /// Part of the destination number.
    public var number: String?
    public var createdFrom: Date?
    public var createdBefore: Date?

    public init(campaignID: Int64? = nil, states: [SpoolState] = [], number: String? = nil, createdFrom: Date? = nil,
                createdBefore: Date? = nil) {
        self.campaignID = campaignID
        self.states = states
        self.number = number
        self.createdFrom = createdFrom
        self.createdBefore = createdBefore
    }
}

/// The spool: every outgoing message and its history. Claims are atomic and
/// leased, so several dispatcher processes on one PostgreSQL never send one
/// message at once; a lease that expires (a crashed node) returns its
/// messages to the queue flagged `possible_duplicate`.
public protocol SpoolStore: Sendable {
    /// Adds messages in one transaction; returns their ids in order.
    func enqueue(_ messages: [NewSpoolMessage], at: Date) async throws -> [Int64]
    /// Adds messages produced batch by batch by `body` in ONE transaction: all of them or, if `body`
    /// or a write fails, none. Returns how many were added.
    func enqueueAll(at: Date, _ body: @Sendable (_ insert: @Sendable ([NewSpoolMessage]) async throws -> Void) async throws -> Void)
        async throws -> Int
    /// Adds messages in one transaction and returns them as stored, in order.
    func enqueueReturning(_ messages: [NewSpoolMessage], at: Date) async throws -> [SpoolMessage]
    /// Adds one message unless its idempotency key was used before; returns the message and whether it is new.
    func enqueueOnce(_ message: NewSpoolMessage, at: Date) async throws -> (SpoolMessage, created: Bool)
    /// Claims up to `limit` due `to_process` messages of these campaigns, highest priority then oldest,
    /// marking them `sending` under a lease held by `owner` until `leaseUntil`.
    func claim(campaignIDs: [Int64], scope: SpoolClaimScope, limit: Int, owner: String, leaseUntil: Date, now: Date)
        async throws -> [SpoolMessage]
    /// Applies outcomes of claims held by `owner` in one transaction; returns how many applied
    /// (a message whose lease was lost meanwhile is left alone).
    @discardableResult
    func record(_ outcomes: [SpoolOutcome], owner: String, at: Date) async throws -> Int
    /// Returns messages of expired leases to `to_process`, flagged as possible duplicates.
    @discardableResult
    func recoverExpiredLeases(now: Date, node: String?) async throws -> Int
    /// Moves a `sent` message to `delivered` or `failed` from a delivery report; true when one changed.
    @discardableResult
    func applyDeliveryReport(providerID: Int64, providerMessageID: String, delivered: Bool, code: String?, text: String?,
                             at: Date) async throws -> Bool
    func message(id: Int64) async throws -> SpoolMessage?
    /// The message a provider knows by `providerMessageID` (what a delivery report names).
    func message(providerID: Int64, providerMessageID: String) async throws -> SpoolMessage?
    func history(id: Int64) async throws -> [SpoolEvent]
    func counts(campaignID: Int64) async throws -> SpoolCounts
    /// Provider message ids of messages sent through a provider since `since` that have no final delivery state yet.
    func awaitingReports(providerID: Int64, since: Date, limit: Int) async throws -> [String]
    /// Messages matching `filter`, newest first, `limit` at a time; `beforeID` pages.
    func list(_ filter: SpoolFilter, limit: Int, beforeID: Int64?) async throws -> [SpoolMessage]
    /// Cancels every not-yet-processed (held or to-process) message of a campaign; returns how many.
    func cancelUnprocessed(campaignID: Int64, reason: String, at: Date) async throws -> Int
}

/// Which messages a claim takes: dialers send bulk and API traffic; conversation traffic (agents'
/// replies and the automatic answers to a client) goes out by itself, whether or not a dialer serves
/// the campaign or its schedule is open.
public enum SpoolClaimScope: Sendable, Equatable {
    case all
    case bulk
    case conversations

    /// The sources of conversation traffic.
    public static let conversationSources: [String] = [SpoolSource.agent.rawValue, SpoolSource.autoReply.rawValue,
                                                       SpoolSource.optOutConfirmation.rawValue]
}

extension SpoolStore {
    /// Claims every kind of message (tests and tools).
    public func claim(campaignIDs: [Int64], limit: Int, owner: String, leaseUntil: Date, now: Date) async throws -> [SpoolMessage] {
        try await claim(campaignIDs: campaignIDs, scope: .all, limit: limit, owner: owner, leaseUntil: leaseUntil, now: now)
    }
}
