import Foundation
import SMSCore

/// Where a conversation stands (SPEC C3, C8-C10). Raw values are the stored strings.
public enum ConversationState: String, Sendable, Codable, CaseIterable {
    /// Waiting in the campaign's first-in-first-out queue for a member with capacity.
    case queued
    /// Offered to one member, or under `ringall` to several; the first to accept (or reply) takes it.
    case offered
    /// Taken by one agent.
    case assigned
    /// Wrapped up; a returning client opens a new conversation linked to this one.
    case closed

    /// Queued, offered or assigned.
    public static let open: [ConversationState] = [.queued, .offered, .assigned]
}

/// A conversation with a client number in a campaign: one open thread per number and campaign (SPEC C10).
public struct ConversationRecord: Sendable, Equatable {
    public var id: Int64
    public var campaignID: Int64
    public var clientNumber: String
    /// The campaign number the client wrote to (nil for one an agent started without an inbound message).
    public var did: String?
    public var state: ConversationState
    /// The agent who took it; set from `assigned` on (kept when closed).
    public var agentID: Int64?
    /// The conversation with the same client and campaign closed before this one opened.
    public var previousConversationID: Int64?
    public var openedAt: Date
    /// When it entered the queue (kept while it is offered again after an offer timed out).
    public var queuedAt: Date?
    public var assignedAt: Date?
    /// The first agent reply actually due to go out (service level, SPEC C4).
    public var firstResponseAt: Date?
    public var lastActivityAt: Date
    public var closedAt: Date?
    /// The wrap-up given when it was closed (SPEC A5).
    public var closeReason: String?
    /// Client messages since the agent last read or replied.
    public var unreadCount: Int
    /// The out-of-time reply was queued for this conversation (SPEC C2: once per conversation).
    public var outOfTimeReplied: Bool

    public init(id: Int64, campaignID: Int64, clientNumber: String, did: String?, state: ConversationState, agentID: Int64?,
                previousConversationID: Int64?, openedAt: Date, queuedAt: Date?, assignedAt: Date?, firstResponseAt: Date?,
                lastActivityAt: Date, closedAt: Date?, closeReason: String?, unreadCount: Int, outOfTimeReplied: Bool) {
        self.id = id
        self.campaignID = campaignID
        self.clientNumber = clientNumber
        self.did = did
        self.state = state
        self.agentID = agentID
        self.previousConversationID = previousConversationID
        self.openedAt = openedAt
        self.queuedAt = queuedAt
        self.assignedAt = assignedAt
        self.firstResponseAt = firstResponseAt
        self.lastActivityAt = lastActivityAt
        self.closedAt = closedAt
        self.closeReason = closeReason
        self.unreadCount = unreadCount
        self.outOfTimeReplied = outOfTimeReplied
    }
}

/// An offer of a conversation to a member (SPEC C8, C9). An offer is live while the conversation is
/// `offered` and `expiresAt` is in the future.
public struct ConversationOffer: Sendable, Equatable {
    public var conversationID: Int64
    public var userID: Int64
    public var offeredAt: Date
    public var expiresAt: Date

    public init(conversationID: Int64, userID: Int64, offeredAt: Date, expiresAt: Date) {
        self.conversationID = conversationID
        self.userID = userID
        self.offeredAt = offeredAt
        self.expiresAt = expiresAt
    }
}

/// Which way a message went.
public enum MessageDirection: String, Sendable, Codable {
    case inbound = "in"
    case outbound = "out"
}

/// What became of an outgoing message: its spool row (SPEC A6, D3).
public struct MessageDelivery: Sendable, Equatable {
    public var spoolID: Int64
    public var state: SpoolState
    /// Not sent before this time (a scheduled reply, SPEC A7).
    public var notBefore: Date?
    public var sentAt: Date?
    public var deliveredAt: Date?
    public var errorCode: String?
    public var errorText: String?
    /// Why the DNCR or an opt-out stopped it.
    public var blockReason: String?

    public init(spoolID: Int64, state: SpoolState, notBefore: Date? = nil, sentAt: Date? = nil, deliveredAt: Date? = nil,
                errorCode: String? = nil, errorText: String? = nil, blockReason: String? = nil) {
        self.spoolID = spoolID
        self.state = state
        self.notBefore = notBefore
        self.sentAt = sentAt
        self.deliveredAt = deliveredAt
        self.errorCode = errorCode
        self.errorText = errorText
        self.blockReason = blockReason
    }
}

/// A message of a client's history: received, or sent by an agent or automatically.
public struct ConversationMessage: Sendable, Equatable {
    public var id: Int64
    /// Nil for a message that belongs to no conversation (unrouted, an opt-out keyword and its confirmation).
    public var conversationID: Int64?
    public var campaignID: Int64?
    public var direction: MessageDirection
    public var clientNumber: String
    public var did: String?
    public var body: String
    /// The agent who wrote an outgoing message; nil for automatic ones (out-of-time reply, confirmation).
    public var agentID: Int64?
    public var createdAt: Date
    /// Outgoing messages: the spool row that sends it.
    public var delivery: MessageDelivery?

    public init(id: Int64, conversationID: Int64?, campaignID: Int64?, direction: MessageDirection, clientNumber: String,
                did: String?, body: String, agentID: Int64?, createdAt: Date, delivery: MessageDelivery?) {
        self.id = id
        self.conversationID = conversationID
        self.campaignID = campaignID
        self.direction = direction
        self.clientNumber = clientNumber
        self.did = did
        self.body = body
        self.agentID = agentID
        self.createdAt = createdAt
        self.delivery = delivery
    }
}

/// A conversation as lists show it: with its campaign and agent names, last message, how long the
/// client has been waiting for an agent, and its live offers.
public struct ConversationListItem: Sendable, Equatable {
    public var conversation: ConversationRecord
    public var campaignName: String
    public var agentName: String?
    public var lastMessage: ConversationMessage?
    /// The oldest client message not answered by an agent since (automatic replies do not count).
    public var waitingSince: Date?
    /// Live offers (only while the conversation is `offered`).
    public var offers: [ConversationOffer]

    public init(conversation: ConversationRecord, campaignName: String, agentName: String?, lastMessage: ConversationMessage?,
                waitingSince: Date?, offers: [ConversationOffer]) {
        self.conversation = conversation
        self.campaignName = campaignName
        self.agentName = agentName
        self.lastMessage = lastMessage
        self.waitingSince = waitingSince
        self.offers = offers
    }
}

/// An agent's presence (SPEC A5). Only `available` agents with a signed-in session are offered work.
public struct AgentStatus: Sendable, Equatable {
    public var userID: Int64
    public var status: AssignmentCandidate.Status
    /// Why the agent paused.
    public var reason: String?
    /// Since when; nil for an agent who never set a status (offline).
    public var since: Date?

    public init(userID: Int64, status: AssignmentCandidate.Status, reason: String? = nil, since: Date?) {
        self.userID = userID
        self.status = status
        self.reason = reason
        self.since = since
    }
}

/// What the inbound pipeline decided about a message before storing it (SPEC C1, C2, D8).
public enum InboundRouting: Sendable, Equatable {
    /// No campaign receives on the number it was sent to: stored as unrouted, shown to admins.
    case unrouted
    /// The campaign is disabled (SPEC C6): stored with the campaign, no conversation.
    case campaignDisabled(campaignID: Int64)
    /// An opt-out or opt-in keyword (SPEC D8): the DNCR changes, the confirmation (if any) is queued,
    /// an audit row is written, and the message is routed to no agent.
    case keyword(campaignID: Int64, KeywordAction, confirmation: NewSpoolMessage?)
    /// A message for an agent: into the client's open conversation of the campaign, or a new queued one.
    /// `outOfTimeReply` (the campaign is closed now) is queued only if this conversation got none yet.
    case conversation(campaignID: Int64, outOfTimeReply: NewSpoolMessage?)
}

/// An opt-out or opt-in keyword and what it applies to.
public enum KeywordAction: Sendable, Equatable {
    case optOut(keyword: String, scope: OptOutScope)
    case optIn(keyword: String)
}

/// What storing an inbound message did.
public enum IngestOutcome: Sendable, Equatable {
    /// The provider sent this message id before: nothing changed.
    case duplicate
    /// Stored without a campaign, or for a disabled campaign.
    case stored(InboundMessage)
    /// A keyword: whether the DNCR changed, and the confirmation queued (nil if none).
    case keyword(InboundMessage, dncrChanged: Bool, confirmation: ConversationMessage?)
    /// Into a conversation: `opened` when this message opened it; `outOfTimeReply` when one was queued now;
    /// `agents` are those who should see it now (its agent, or the members it is offered to).
    case conversation(InboundMessage, ConversationRecord, opened: Bool, outOfTimeReply: ConversationMessage?, agents: Set<Int64>)
}

/// One step of serving a campaign's queue.
public enum RoutingStep: Sendable, Equatable {
    /// Nothing waits in the queue (or the campaign is disabled or gone).
    case idle
    /// The oldest waiting conversation stays queued: no member is eligible now.
    case waiting(ConversationRecord)
    /// The oldest waiting conversation was offered.
    case offered(ConversationRecord, offers: [ConversationOffer])
}

/// An offer that timed out: the conversation is back in the queue (SPEC C9).
public struct ExpiredOffer: Sendable, Equatable {
    public var conversation: ConversationRecord
    /// The members who let it time out (they are skipped when it is offered again).
    public var agents: [Int64]

    public init(conversation: ConversationRecord, agents: [Int64]) {
        self.conversation = conversation
        self.agents = agents
    }
}

/// A conversation taken by an agent (accepting an offer, replying to one, or starting one).
public struct TakenConversation: Sendable, Equatable {
    public var conversation: ConversationRecord
    /// Other members whose offers of it were withdrawn.
    public var withdrawnFrom: [Int64]

    public init(conversation: ConversationRecord, withdrawnFrom: [Int64]) {
        self.conversation = conversation
        self.withdrawnFrom = withdrawnFrom
    }
}

/// An agent's outgoing message, stored with its spool row.
public struct SentReply: Sendable, Equatable {
    public var conversation: ConversationRecord
    public var message: ConversationMessage
    /// Set when this reply took an offered conversation (or A1 took a waiting one).
    public var taken: TakenConversation?
    /// A1: the conversation was created by this message.
    public var created: Bool

    public init(conversation: ConversationRecord, message: ConversationMessage, taken: TakenConversation?, created: Bool) {
        self.conversation = conversation
        self.message = message
        self.taken = taken
        self.created = created
    }
}

/// An agent status change and the offers it withdrew.
public struct StatusChange: Sendable, Equatable {
    public var status: AgentStatus
    /// Conversations whose offer to the agent was withdrawn (pausing or going offline).
    public var withdrawnOffers: [Int64]
    /// Of those, the ones back in the queue because nobody else had a live offer.
    public var requeued: [ConversationRecord]

    public init(status: AgentStatus, withdrawnOffers: [Int64], requeued: [ConversationRecord]) {
        self.status = status
        self.withdrawnOffers = withdrawnOffers
        self.requeued = requeued
    }
}

/// Which conversations a staff list shows.
public struct ConversationFilter: Sendable, Equatable {
    public var campaignID: Int64?
    /// Empty: every state.
    public var states: [ConversationState]
    public var agentID: Int64?
    /// Part of the client number.
    public var number: String?
    /// The campaigns the caller may see (a supervisor: those assigned to them).
    public var scope: CampaignScope

    public init(campaignID: Int64? = nil, states: [ConversationState] = [], agentID: Int64? = nil, number: String? = nil,
                scope: CampaignScope = .all) {
        self.campaignID = campaignID
        self.states = states
        self.agentID = agentID
        self.number = number
        self.scope = scope
    }
}

/// Why a conversation action is refused. Messages are fit for the agent.
public enum ConversationError: Error, Equatable, CustomStringConvertible {
    /// No such conversation or message, or not one the agent may see.
    case notFound(String)
    /// The conversation is closed.
    case closed(Int64)
    /// The offer expired before it was accepted.
    case offerExpired(Int64)
    /// Another agent took the conversation first.
    case taken(Int64)
    /// The agent already has as many open conversations as the campaign allows.
    case atCapacity(limit: Int)
    /// The agent is not a member of the campaign.
    case notMember(campaignID: Int64)
    /// The campaign takes no new conversations and sends nothing (SPEC C6).
    case campaignDisabled(campaignID: Int64)
    /// The client already talks to another agent in this campaign.
    case otherAgent(conversationID: Int64)
    /// The action needs the conversation to be the caller's own (e.g. staff replying to an agent's conversation).
    case notAssignedToYou(Int64)
    /// The message was already sent (or is no longer waiting).
    case notCancellable(messageID: Int64, state: String)
    /// A request value that does not fit, named by its field.
    case invalid(field: String, message: String)

    public var description: String {
        switch self {
        case .notFound(let what): "\(what) not found"
        case .closed(let id): "conversation \(id) is closed; start a new interaction to write to the client again"
        case .offerExpired(let id): "the offer of conversation \(id) expired; it went back to the queue"
        case .taken(let id): "another agent took conversation \(id) first"
        case .atCapacity(let limit): "you already have \(limit) open conversation\(limit == 1 ? "" : "s"), the most this campaign allows; close one first"
        case .notMember(let id): "you are not a member of campaign \(id)"
        case .campaignDisabled(let id): "campaign \(id) is disabled: it takes no new conversations and sends nothing"
        case .otherAgent(let id): "this client already has an open conversation (\(id)) with another agent in this campaign"
        case .notAssignedToYou(let id): "conversation \(id) is not assigned to you"
        case .notCancellable(let id, let state): "message \(id) can no longer be cancelled (it is \(state))"
        case .invalid(_, let message): message
        }
    }
}

/// Client numbers as conversations key them: separators dropped, a leading `+` kept, letters (an
/// alphanumeric sender) upper-cased. `+59899000001` and `59899000001` are the same client.
public enum ClientNumber {
    /// The stored form, or nil when the text is not a number or sender name.
    public static func normalized(_ text: String) -> String? {
        CampaignDID.normalized(text)
    }

    /// The written forms that mean the same client.
    public static func equivalents(_ number: String) -> [String] {
        let normalized = CampaignDID.normalized(number) ?? number
        var forms = CampaignDID.equivalents(normalized)
        if !forms.contains(number) { forms.append(number) }
        return forms
    }
}

/// Conversations, their messages, offers and agents' presence (SPEC A1-A7, C2, C3, C8-C10, D8).
///
/// Every decision that gives work to an agent runs inside one write transaction that reads the
/// campaign's member snapshot (presence, sessions, open conversations) and writes the offers, so two
/// nodes or two simultaneous messages never give one conversation to two agents nor exceed a cap.
/// On PostgreSQL those transactions take one advisory lock (caps count an agent's conversations in
/// every campaign, so a per-campaign lock would not be enough); SQLite's single writer serialises them.
public protocol ConversationStore: Sendable {
    // MARK: inbound

    /// Stores an inbound message once (a provider's retry of a message id is `.duplicate`) and applies
    /// `routing` in the same transaction.
    func ingest(_ message: InboundMessage, routing: InboundRouting, at: Date) async throws -> IngestOutcome

    // MARK: assignment

    /// Offers the campaign's oldest queued conversation to the member(s) `decide` picks from a snapshot read
    /// in the same transaction. Members who let this conversation's offer time out are excluded, unless
    /// only they could take it (a new round then starts, as Asterisk's queues ring again).
    func routeNext(campaignID: Int64, at: Date, decide: @Sendable (AssignmentSnapshot) -> AssignmentDecision) async throws
        -> RoutingStep
    /// Returns offered conversations without a live offer left to the queue.
    func expireOffers(at: Date) async throws -> [ExpiredOffer]
    /// Campaigns with a queued conversation.
    func campaignsWithQueue() async throws -> [Int64]
    /// The agent accepts a live offer; `.taken`, `.offerExpired`, `.notFound` otherwise.
    func accept(conversationID: Int64, agentID: Int64, at: Date) async throws -> TakenConversation

    // MARK: agent actions

    /// Stores an agent's reply with its spool row (`message.conversationID` is set here). Replying to a
    /// live offer accepts it first.
    func reply(conversationID: Int64, agentID: Int64, message: NewSpoolMessage, at: Date) async throws -> SentReply
    /// SPEC A1: writes to `clientNumber` in the campaign, in the client's open conversation (taking it if it
    /// waits) or in a new one assigned to the agent, within the agent's cap.
    func start(campaignID: Int64, clientNumber: String, agentID: Int64, requireMembership: Bool, message: NewSpoolMessage,
               at: Date) async throws -> SentReply
    /// Closes an agent's own assigned conversation (`agentID`), or any open one (`agentID` nil: staff).
    func close(conversationID: Int64, agentID: Int64?, reason: String?, at: Date) async throws -> ConversationRecord
    /// No unread client messages left.
    func markRead(conversationID: Int64) async throws -> ConversationRecord
    /// Cancels an outgoing message that is not sent yet (e.g. a scheduled reply); `agentID` set: only one they wrote.
    func cancelOutgoing(messageID: Int64, agentID: Int64?, reason: String, at: Date) async throws -> ConversationMessage
    /// Sets an agent's presence. Pausing or going offline withdraws the agent's live offers.
    func setStatus(_ status: AgentStatus, at: Date) async throws -> StatusChange
    func status(userID: Int64) async throws -> AgentStatus

    // MARK: reads

    func conversation(id: Int64) async throws -> ConversationRecord?
    func item(id: Int64, at: Date) async throws -> ConversationListItem?
    /// The agent's assigned conversations and live offers, newest activity first.
    func inbox(agentID: Int64, at: Date) async throws -> [ConversationListItem]
    /// Conversations matching `filter`, newest first; `beforeID` pages.
    func list(_ filter: ConversationFilter, limit: Int, beforeID: Int64?, at: Date) async throws -> [ConversationListItem]
    /// SPEC S4: the conversations `search` matches, newest first; `beforeID` pages.
    func search(_ search: ConversationSearch, limit: Int, beforeID: Int64?, at: Date) async throws -> [ConversationListItem]
    /// The same conversations as `search`, each with all its messages (oldest first), for the CSV export.
    func transcripts(_ search: ConversationSearch, limit: Int, beforeID: Int64?) async throws -> [ConversationTranscript]
    /// A conversation's messages, oldest first.
    func messages(conversationID: Int64) async throws -> [ConversationMessage]
    func message(id: Int64) async throws -> ConversationMessage?
    /// The thread message sent as spool message `spoolID` (an outgoing reply or automatic answer).
    func message(spoolID: Int64) async throws -> ConversationMessage?
    /// Every message with a client in a campaign, newest first; `beforeID` pages (SPEC A4).
    func history(campaignID: Int64, clientNumber: String, beforeID: Int64?, limit: Int) async throws -> [ConversationMessage]
    /// The client's other conversations in the campaign, newest first.
    func otherConversations(of conversation: ConversationRecord, limit: Int, at: Date) async throws -> [ConversationListItem]
    /// Live offers of a conversation.
    func liveOffers(conversationID: Int64, at: Date) async throws -> [ConversationOffer]
    /// Agent replies scheduled for later and not sent yet, soonest first; `agentID` set: only theirs.
    func scheduled(agentID: Int64?, at: Date) async throws -> [ConversationMessage]
    /// The campaigns the user is a member of.
    func memberCampaignIDs(userID: Int64) async throws -> [Int64]
}
