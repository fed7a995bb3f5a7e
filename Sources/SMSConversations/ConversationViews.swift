import Foundation
import SMSCore
import SMSStore

// The JSON shapes of conversations, messages and agent presence. The HTTP API answers with them and
// the live events carry the same ones, so the inbox page merges an event into what it loaded.
// Every field is written, null included.

/// A conversation as the inbox shows it.
public struct ConversationView: Encodable, Sendable, Equatable {
    public var id: Int64
    public var campaignId: Int64
    public var campaignName: String
    public var clientNumber: String
    public var did: String?
    /// `queued`, `offered`, `assigned` or `closed`.
    public var state: String
    public var agentId: Int64?
    public var agentName: String?
    public var unreadCount: Int
    public var openedAt: Date
    public var queuedAt: Date?
    public var assignedAt: Date?
    public var firstResponseAt: Date?
    public var lastActivityAt: Date
    public var closedAt: Date?
    /// The wrap-up given when it was closed.
    public var wrapUp: String?
    /// The oldest client message no agent answered since; null when the agent spoke last (or it is closed).
    public var waitingSince: Date?
    public var lastMessage: MessageView?
    /// Live offers: who may accept it, until when.
    public var offers: [OfferView]
    public var previousConversationId: Int64?

    public init(_ item: ConversationListItem, now: Date) {
        let c = item.conversation
        id = c.id
        campaignId = c.campaignID
        campaignName = item.campaignName
        clientNumber = c.clientNumber
        did = c.did
        state = c.state.rawValue
        agentId = c.agentID
        agentName = item.agentName
        unreadCount = c.unreadCount
        openedAt = c.openedAt
        queuedAt = c.queuedAt
        assignedAt = c.assignedAt
        firstResponseAt = c.firstResponseAt
        lastActivityAt = c.lastActivityAt
        closedAt = c.closedAt
        wrapUp = c.closeReason
        waitingSince = item.waitingSince
        lastMessage = item.lastMessage.map { MessageView($0, now: now) }
        offers = item.offers.map(OfferView.init)
        previousConversationId = c.previousConversationID
    }

    enum CodingKeys: String, CodingKey {
        case id, campaignId, campaignName, clientNumber, did, state, agentId, agentName, unreadCount, openedAt, queuedAt, assignedAt,
             firstResponseAt, lastActivityAt, closedAt, wrapUp, waitingSince, lastMessage, offers, previousConversationId
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(campaignId, forKey: .campaignId)
        try c.encode(campaignName, forKey: .campaignName)
        try c.encode(clientNumber, forKey: .clientNumber)
        try c.encode(did, forKey: .did)
        try c.encode(state, forKey: .state)
        try c.encode(agentId, forKey: .agentId)
        try c.encode(agentName, forKey: .agentName)
        try c.encode(unreadCount, forKey: .unreadCount)
        try c.encode(openedAt, forKey: .openedAt)
        try c.encode(queuedAt, forKey: .queuedAt)
        try c.encode(assignedAt, forKey: .assignedAt)
        try c.encode(firstResponseAt, forKey: .firstResponseAt)
        try c.encode(lastActivityAt, forKey: .lastActivityAt)
        try c.encode(closedAt, forKey: .closedAt)
        try c.encode(wrapUp, forKey: .wrapUp)
        try c.encode(waitingSince, forKey: .waitingSince)
        try c.encode(lastMessage, forKey: .lastMessage)
        try c.encode(offers, forKey: .offers)
        try c.encode(previousConversationId, forKey: .previousConversationId)
    }
}

/// A live offer of a conversation to an agent.
public struct OfferView: Encodable, Sendable, Equatable {
    public var userId: Int64
    public var offeredAt: Date
    public var expiresAt: Date

    public init(_ offer: ConversationOffer) {
        userId = offer.userID
        offeredAt = offer.offeredAt
        expiresAt = offer.expiresAt
    }
}

/// A message of a thread, with the delivery state of an outgoing one (SPEC A6, A7).
public struct MessageView: Encodable, Sendable, Equatable {
    public var id: Int64
    public var conversationId: Int64?
    public var campaignId: Int64?
    /// `in` (from the client) or `out`.
    public var direction: String
    public var clientNumber: String
    public var text: String
    /// When it was received or written.
    public var at: Date
    /// The agent who wrote it; null for received and automatic messages.
    public var agentId: Int64?
    /// Sent by the system: the out-of-time reply or an opt-out confirmation.
    public var automatic: Bool
    /// `received` for client messages; for outgoing ones `scheduled` (waiting for its time), `queued`, `held`,
    /// `sending`, `sent`, `delivered`, `failed`, `blocked` (DNCR or opt-out), `invalid`, `cancelled` or `expired`.
    public var state: String
    /// Why it failed, was blocked, or waits (e.g. quiet hours); null otherwise.
    public var reason: String?
    /// A scheduled reply not sent yet: when it goes.
    public var scheduledFor: Date?
    public var sentAt: Date?
    public var deliveredAt: Date?
    /// Whether it can still be cancelled (an outgoing message not yet handed to the provider).
    public var cancellable: Bool

    public init(_ message: ConversationMessage, now: Date) {
        id = message.id
        conversationId = message.conversationID
        campaignId = message.campaignID
        direction = message.direction.rawValue
        clientNumber = message.clientNumber
        text = message.body
        at = message.createdAt
        agentId = message.agentID
        automatic = message.direction == .outbound && message.agentID == nil
        sentAt = message.delivery?.sentAt
        deliveredAt = message.delivery?.deliveredAt
        scheduledFor = nil
        reason = nil
        cancellable = false
        guard message.direction == .outbound else {
            state = "received"
            return
        }
        guard let delivery = message.delivery else {
            state = "queued"
            return
        }
        let waiting = delivery.state == .toProcess || delivery.state == .held
        cancellable = waiting
        if waiting, let notBefore = delivery.notBefore, notBefore > now { scheduledFor = notBefore }
        switch delivery.state {
        case .toProcess: state = scheduledFor != nil ? "scheduled" : "queued"
        case .held: state = "held"
        default: state = delivery.state.rawValue
        }
        switch delivery.state {
        case .sent, .delivered, .sending: reason = nil
        case .blocked: reason = delivery.blockReason ?? delivery.errorText
        case .failed:
            let parts = [delivery.errorCode, delivery.errorText].compactMap { $0 }.filter { !$0.isEmpty }
            reason = parts.isEmpty ? nil : parts.joined(separator: ": ")
        default: reason = delivery.errorText ?? delivery.blockReason
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, conversationId, campaignId, direction, clientNumber, text, at, agentId, automatic, state, reason, scheduledFor,
             sentAt, deliveredAt, cancellable
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(conversationId, forKey: .conversationId)
        try c.encode(campaignId, forKey: .campaignId)
        try c.encode(direction, forKey: .direction)
        try c.encode(clientNumber, forKey: .clientNumber)
        try c.encode(text, forKey: .text)
        try c.encode(at, forKey: .at)
        try c.encode(agentId, forKey: .agentId)
        try c.encode(automatic, forKey: .automatic)
        try c.encode(state, forKey: .state)
        try c.encode(reason, forKey: .reason)
        try c.encode(scheduledFor, forKey: .scheduledFor)
        try c.encode(sentAt, forKey: .sentAt)
        try c.encode(deliveredAt, forKey: .deliveredAt)
        try c.encode(cancellable, forKey: .cancellable)
    }
}

/// An agent's presence (SPEC A5).
public struct AgentStatusView: Encodable, Sendable, Equatable {
    public var userId: Int64
    /// `available`, `paused` or `offline`.
    public var status: String
    /// Why the agent paused; null otherwise.
    public var reason: String?
    /// Since when; null for an agent who never set a status.
    public var since: Date?

    public init(_ status: AgentStatus) {
        userId = status.userID
        self.status = status.status.rawValue
        reason = status.reason
        since = status.since
    }

    enum CodingKeys: String, CodingKey { case userId, status, reason, since }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(userId, forKey: .userId)
        try c.encode(status, forKey: .status)
        try c.encode(reason, forKey: .reason)
        try c.encode(since, forKey: .since)
    }
}
