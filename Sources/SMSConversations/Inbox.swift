import Foundation
import Logging
import SMSCore
import SMSDispatch
import SMSStore

/// Who is looking at conversations.
public enum ConversationViewer: Sendable, Equatable {
    /// An agent: their own conversations (assigned to them now or before) and those offered to them.
    case agent(Int64)
    /// An admin (scope `.all`) or a supervisor (the campaigns an admin assigned them to): every
    /// conversation of those campaigns, and nothing of the others.
    case staff(Int64?, scope: CampaignScope = .all)

    /// The person, when there is one.
    public var userID: Int64? {
        switch self {
        case .agent(let id): id
        case .staff(let id, _): id
        }
    }

    /// The campaigns whose conversations staff may see; nil for an agent (whose scope is per conversation).
    public var campaignScope: CampaignScope? {
        switch self {
        case .agent: nil
        case .staff(_, let scope): scope
        }
    }
}

/// What an agent does in the inbox (SPEC A1-A7): reply (through the spool, so the DNCR, opt-outs and
/// quiet hours apply), accept an offer, close with a wrap-up, start an interaction, schedule and cancel
/// replies, mark read, and set their presence. Each action publishes its live events and, when it
/// frees capacity, serves the waiting queues.
public struct Inbox: Sendable {
    /// Agent replies and automatic answers go ahead of bulk sends in the spool (highest priority first).
    public static let replyPriority = 100
    /// Longest reply, in characters (about ten concatenated segments).
    public static let maximumTextLength = 1600
    public static let maximumWrapUpLength = 500
    public static let maximumReasonLength = 100
    /// How far ahead a reply may be scheduled.
    public static let maximumSchedule: TimeInterval = 366 * 86_400

    let storage: Storage
    let router: ConversationRouter
    let intake: SpoolIntake
    var events: ConversationEvents { router.events }

    public init(storage: Storage, router: ConversationRouter, intake: SpoolIntake) {
        self.storage = storage
        self.router = router
        self.intake = intake
    }

    // MARK: reading

    /// Whether `viewer` may see the conversation: an agent their own (SPEC A2), staff those of the
    /// campaigns in their scope (a supervisor: the campaigns assigned to them).
    public func canSee(_ item: ConversationListItem, _ viewer: ConversationViewer) -> Bool {
        switch viewer {
        case .staff(_, let scope): scope.allows(item.conversation.campaignID)
        case .agent(let id): item.conversation.agentID == id || item.offers.contains { $0.userID == id }
        }
    }

    /// The conversation, when `viewer` may see it; `.notFound` otherwise (an agent learns nothing of others' conversations).
    public func conversation(_ id: Int64, for viewer: ConversationViewer, at now: Date = Date()) async throws -> ConversationListItem {
        guard let item = try await storage.conversations.item(id: id, at: now), canSee(item, viewer) else {
            throw ConversationError.notFound("conversation \(id)")
        }
        return item
    }

    /// The agent's assigned conversations and live offers, newest activity first.
    public func inbox(of agentID: Int64, at now: Date = Date()) async throws -> [ConversationListItem] {
        try await storage.conversations.inbox(agentID: agentID, at: now)
    }

    // MARK: acting

    /// Replies in a conversation assigned to the agent (or offered to them: replying accepts it).
    /// `sendAt` in the future schedules it (SPEC A7).
    public func reply(to conversationID: Int64, text: String, sendAt: Date?, by viewer: ConversationViewer,
                      at now: Date = Date()) async throws -> SentReply {
        let body = try Self.validText(text)
        try Self.validSchedule(sendAt, now: now)
        guard let userID = viewer.userID else { throw ConversationError.notFound("conversation \(conversationID)") }
        let item = try await conversation(conversationID, for: viewer, at: now)
        guard let campaign = try await storage.campaigns.campaign(id: item.conversation.campaignID) else {
            throw ConversationError.notFound("campaign \(item.conversation.campaignID)")
        }
        let message = SpoolIntake.message(
            campaignID: campaign.id, destination: item.conversation.clientNumber, text: body, priority: Self.replyPriority,
            source: .agent, pattern: try await intake.numberPattern(for: campaign), createdBy: userID, notBefore: sendAt)
        let sent: SentReply
        do {
            sent = try await storage.conversations.reply(conversationID: conversationID, agentID: userID, message: message, at: now)
        } catch ConversationError.notFound where viewer != .agent(userID) {
            throw ConversationError.notAssignedToYou(conversationID)  // staff see it, but only its agent writes in it
        }
        if let taken = sent.taken { await events.assigned(taken, at: now) }
        await events.message(sent.message.id, in: conversationID, agents: [userID], at: now)
        return sent
    }

    /// SPEC A1: the agent writes to a number in a campaign; the conversation (the client's open one, or a
    /// new one) is theirs. Agents must be members of the campaign.
    public func start(campaignID: Int64, number: String, text: String, sendAt: Date?, by viewer: ConversationViewer,
                      at now: Date = Date()) async throws -> SentReply {
        guard let client = ClientNumber.normalized(number), Self.isPhoneNumber(client) else {
            throw ConversationError.invalid(field: "number", message: "number must be a phone number such as +59899123456")
        }
        let body = try Self.validText(text)
        try Self.validSchedule(sendAt, now: now)
        guard let userID = viewer.userID, viewer.campaignScope?.allows(campaignID) ?? true else {
            throw ConversationError.notMember(campaignID: campaignID)
        }
        guard let campaign = try await storage.campaigns.campaign(id: campaignID) else {
            throw ConversationError.invalid(field: "campaignId", message: "campaign \(campaignID) does not exist")
        }
        let message = SpoolIntake.message(
            campaignID: campaign.id, destination: client, text: body, priority: Self.replyPriority, source: .agent,
            pattern: try await intake.numberPattern(for: campaign), createdBy: userID, notBefore: sendAt)
        var requireMembership = true
        if case .staff = viewer { requireMembership = false }
        let sent = try await storage.conversations.start(campaignID: campaignID, clientNumber: client, agentID: userID,
                                                         requireMembership: requireMembership, message: message, at: now)
        if let taken = sent.taken {
            await events.assigned(taken, at: now)
        } else if sent.created {
            await events.assigned(TakenConversation(conversation: sent.conversation, withdrawnFrom: []), at: now)
        }
        await events.message(sent.message.id, in: sent.conversation.id, agents: [userID], at: now)
        return sent
    }

    /// The agent accepts a conversation offered to them; under `ringall` the other offers are withdrawn.
    public func accept(_ conversationID: Int64, by agentID: Int64, at now: Date = Date()) async throws -> TakenConversation {
        let taken = try await storage.conversations.accept(conversationID: conversationID, agentID: agentID, at: now)
        await events.assigned(taken, at: now)
        return taken
    }

    /// Closes (wraps up) a conversation: an agent their own assigned one, staff any open one. The agent's
    /// capacity frees, so the queues of their campaigns are served.
    public func close(_ conversationID: Int64, wrapUp: String?, by viewer: ConversationViewer,
                      at now: Date = Date()) async throws -> ConversationRecord {
        let reason = wrapUp?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let reason, reason.count > Self.maximumWrapUpLength {
            throw ConversationError.invalid(field: "wrapUp", message: "wrapUp is at most \(Self.maximumWrapUpLength) characters")
        }
        var agentID: Int64?
        if case .agent(let id) = viewer { agentID = id }
        if case .staff(_, let scope) = viewer, scope != .all {
            _ = try await conversation(conversationID, for: viewer, at: now)  // not one of their campaigns: not found
        }
        let closed = try await storage.conversations.close(conversationID: conversationID, agentID: agentID,
                                                           reason: reason?.isEmpty == false ? reason : nil, at: now)
        await events.closed(closed, at: now)
        do { try await storage.webhooks.enqueue([.conversationClosed(closed, at: now)], at: now) } catch {
            // The close is committed; only the receivers miss it, and the log says so.
            events.logger.error("could not queue the conversation.closed webhook event",
                                metadata: ["conversation": "\(closed.id)", "error": "\(error)"])
        }
        if let agent = closed.agentID { await router.agentFreed(agent, at: now) }
        return closed
    }

    /// No unread client messages left in the conversation.
    public func markRead(_ conversationID: Int64, by viewer: ConversationViewer, at now: Date = Date()) async throws -> ConversationRecord {
        _ = try await conversation(conversationID, for: viewer, at: now)
        let read = try await storage.conversations.markRead(conversationID: conversationID)
        await events.updated(conversationID, reason: "read", agents: [], at: now)
        return read
    }

    /// Cancels an outgoing message not sent yet (a scheduled reply, SPEC A7): an agent only one they wrote.
    public func cancel(messageID: Int64, by viewer: ConversationViewer, actorName: String,
                       at now: Date = Date()) async throws -> ConversationMessage {
        var agentID: Int64?
        if case .agent(let id) = viewer { agentID = id }
        if case .staff(_, let scope) = viewer, scope != .all {
            guard let message = try await storage.conversations.message(id: messageID), let campaignID = message.campaignID,
                  scope.allows(campaignID) else { throw ConversationError.notFound("message \(messageID)") }
        }
        let message = try await storage.conversations.cancelOutgoing(messageID: messageID, agentID: agentID,
                                                                     reason: "cancelled by \(actorName)", at: now)
        if let conversationID = message.conversationID {
            await events.message(message.id, in: conversationID, agents: [message.agentID].compactMap { $0 }, at: now)
        }
        return message
    }

    /// Outgoing messages scheduled and not sent yet: an agent's own, or (staff) everyone's.
    public func scheduled(for viewer: ConversationViewer, at now: Date = Date()) async throws -> [ConversationMessage] {
        switch viewer {
        case .agent(let id): try await storage.conversations.scheduled(agentID: id, at: now)
        case .staff(_, let scope):
            try await storage.conversations.scheduled(agentID: nil, at: now).filter { $0.campaignID.map(scope.allows) ?? (scope == .all) }
        }
    }

    /// Sets an agent's presence (SPEC A5). Becoming available serves the queues of their campaigns;
    /// pausing or going offline withdraws their pending offers, which go to the next member.
    public func setStatus(of userID: Int64, to status: AssignmentCandidate.Status, reason: String?,
                          at now: Date = Date()) async throws -> AgentStatus {
        var reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason?.isEmpty == true || status != .paused { reason = nil }
        if let reason, reason.count > Self.maximumReasonLength {
            throw ConversationError.invalid(field: "reason", message: "reason is at most \(Self.maximumReasonLength) characters")
        }
        let change = try await storage.conversations.setStatus(AgentStatus(userID: userID, status: status, reason: reason, since: now),
                                                               at: now)
        await events.status(change.status, at: now)
        for conversation in change.requeued {
            await events.updated(conversation.id, reason: "offer_withdrawn", agents: [userID], at: now)
        }
        if status == .available {
            await router.agentFreed(userID, at: now)
        } else if !change.requeued.isEmpty {
            await router.assignWaiting(campaignIDs: change.requeued.map(\.campaignID), at: now)
        }
        return change.status
    }

    // MARK: validation

    /// The text to send (surrounding blank lines and spaces removed); `.invalid` for an empty or too long one.
    static func validText(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ConversationError.invalid(field: "text", message: "text is required") }
        guard trimmed.count <= maximumTextLength else {
            throw ConversationError.invalid(field: "text", message: "text is at most \(maximumTextLength) characters")
        }
        return trimmed
    }

    /// A send-later time must be ahead, and within a year.
    static func validSchedule(_ sendAt: Date?, now: Date) throws {
        guard let sendAt else { return }
        guard sendAt > now else { throw ConversationError.invalid(field: "sendAt", message: "sendAt must be in the future") }
        guard sendAt.timeIntervalSince(now) <= maximumSchedule else {
            throw ConversationError.invalid(field: "sendAt", message: "sendAt is at most a year ahead")
        }
    }

    static func isPhoneNumber(_ normalized: String) -> Bool {
        let digits = normalized.hasPrefix("+") ? normalized.dropFirst() : Substring(normalized)
        return (3...20).contains(digits.count) && digits.allSatisfy(\.isNumber)
    }
}
