import Foundation
import Logging
import SMSLive
import SMSStore

/// Tells the browsers what happened to conversations and agents, through the live event bus. Each
/// event goes to the agents concerned, every admin, and the supervisors of the conversation's campaign
/// (of an agent's campaigns for `agent.status`): a supervisor sees the campaigns an admin assigned them
/// to, and nothing else.
///
/// | topic | payload |
/// | --- | --- |
/// | `conversation.offered` | `{"conversation"}`: offered to the agents in `conversation.offers` |
/// | `conversation.assigned` | `{"conversation", "withdrawnFrom": [userId]}`: taken; the others' offers are withdrawn |
/// | `conversation.message` | `{"conversation", "message"}`: a new or changed message (upsert by `message.id`) |
/// | `conversation.updated` | `{"conversation", "reason"}`: `queued`, `offer_expired`, `offer_withdrawn`, `read` |
/// | `conversation.closed` | `{"conversation"}` |
/// | `agent.status` | `{"status"}` |
/// | `agent.chat` | `{"message"}`: a supervisor-agent chat message, to its two people (SPEC S3) |
/// | `session.ended` | `{}`: to a person whose sessions were ended; their live sockets close (code 4001) |
/// | `agent.supervision` | `{"action", "by", "reason", "conversationId"}`: to the agent, what a supervisor did to them |
/// | `inbound.unrouted` | `{"message"}`: to admins only, a message no campaign claims |
public struct ConversationEvents: Sendable {
    public static let offered = "conversation.offered"
    public static let assigned = "conversation.assigned"
    public static let message = "conversation.message"
    public static let updated = "conversation.updated"
    public static let closed = "conversation.closed"
    public static let agentStatus = "agent.status"
    public static let agentChat = "agent.chat"
    public static let supervision = "agent.supervision"
    /// Handled by the live socket itself: it re-checks its session and closes when it ended (not forwarded).
    public static let sessionEnded = "session.ended"
    public static let unrouted = "inbound.unrouted"

    let bus: EventBus?
    let storage: Storage?
    let logger: Logger
    /// Supervisors of a campaign / of an agent's campaigns, read for nearly every event: kept a second, so
    /// a supervisor just assigned to a campaign gets its events within a second.
    let supervisorsOfCampaign = ExpiringCache<Int64, Set<Int64>>(lifetime: .seconds(1))
    let supervisorsOfAgent = ExpiringCache<Int64, Set<Int64>>(lifetime: .seconds(1))

    /// Events through `bus`; conversations are read back from `storage` to send their current view.
    public init(bus: EventBus?, storage: Storage, logger: Logger) {
        self.bus = bus
        self.storage = storage
        self.logger = logger
    }

    /// No live events (tools and tests without a bus).
    public static let disabled = ConversationEvents(bus: nil, storage: nil, logger: Logger(label: "smsdesk.conversations"))

    private init(bus: EventBus?, storage: Storage?, logger: Logger) {
        self.bus = bus
        self.storage = storage
        self.logger = logger
    }

    struct ConversationPayload: Encodable {
        var conversation: ConversationView
    }

    struct AssignedPayload: Encodable {
        var conversation: ConversationView
        var withdrawnFrom: [Int64]
    }

    struct MessagePayload: Encodable {
        var conversation: ConversationView
        var message: MessageView
    }

    struct UpdatedPayload: Encodable {
        var conversation: ConversationView
        var reason: String
    }

    struct StatusPayload: Encodable {
        var status: AgentStatusView
    }

    struct ChatPayload: Encodable {
        var message: ChatMessageView
    }

    struct SupervisionPayload: Encodable {
        var action: String
        var by: String
        var reason: String?
        var conversationId: Int64?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(action, forKey: .action)
            try c.encode(by, forKey: .by)
            try c.encode(reason, forKey: .reason)
            try c.encode(conversationId, forKey: .conversationId)
        }

        enum CodingKeys: String, CodingKey { case action, by, reason, conversationId }
    }

    struct UnroutedPayload: Encodable {
        var message: UnroutedMessage
    }

    struct UnroutedMessage: Encodable {
        var id: Int64
        var providerId: Int64
        var from: String
        var to: String
        var text: String
        var receivedAt: Date
    }

    // MARK: publishing

    func offered(_ conversationID: Int64, to agents: [Int64], at now: Date) async {
        guard let view = await view(conversationID, at: now) else { return }
        await publish(Self.offered, agents: agents, campaignID: view.campaignId, ConversationPayload(conversation: view), at: now)
    }

    func assigned(_ taken: TakenConversation, at now: Date) async {
        guard let view = await view(taken.conversation.id, at: now) else { return }
        let agents = [taken.conversation.agentID].compactMap { $0 } + taken.withdrawnFrom
        await publish(Self.assigned, agents: agents, campaignID: view.campaignId,
                      AssignedPayload(conversation: view, withdrawnFrom: taken.withdrawnFrom), at: now)
    }

    func message(_ messageID: Int64, in conversationID: Int64, agents: [Int64], at now: Date) async {
        guard let storage, bus != nil, let view = await view(conversationID, at: now) else { return }
        do {
            guard let message = try await storage.conversations.message(id: messageID) else { return }
            await publish(Self.message, agents: agents + [view.agentId].compactMap { $0 }, campaignID: view.campaignId,
                          MessagePayload(conversation: view, message: MessageView(message, now: now)), at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(Self.message)", "error": "\(error)"])
        }
    }

    /// Outgoing messages (by spool id) whose delivery state changed: each is published again as a
    /// `conversation.message`, so the agent's page shows sent / delivered / failed as it happens (SPEC A6).
    public func deliveryChanged(spoolIDs: [Int64], at now: Date = Date()) async {
        guard let storage, bus != nil else { return }
        for spoolID in spoolIDs {
            do {
                guard let message = try await storage.conversations.message(spoolID: spoolID),
                      let conversationID = message.conversationID else { continue }
                await self.message(message.id, in: conversationID, agents: [], at: now)
            } catch {
                logger.warning("live event not published", metadata: ["topic": "\(Self.message)", "error": "\(error)"])
            }
        }
    }

    func updated(_ conversationID: Int64, reason: String, agents: [Int64], at now: Date) async {
        guard let view = await view(conversationID, at: now) else { return }
        await publish(Self.updated, agents: agents + [view.agentId].compactMap { $0 } + view.offers.map(\.userId),
                      campaignID: view.campaignId, UpdatedPayload(conversation: view, reason: reason), at: now)
    }

    func closed(_ conversation: ConversationRecord, at now: Date) async {
        guard let view = await view(conversation.id, at: now) else { return }
        await publish(Self.closed, agents: [conversation.agentID].compactMap { $0 }, campaignID: view.campaignId,
                      ConversationPayload(conversation: view), at: now)
    }

    func status(_ status: AgentStatus, at now: Date) async {
        await publish(Self.agentStatus, agents: [status.userID], overseersOf: status.userID, StatusPayload(status: AgentStatusView(status)),
                      at: now)
    }

    /// A supervisor-agent chat message, to its two people only.
    func chat(_ message: AgentChatMessage, at now: Date) async {
        guard let bus else { return }
        do {
            try await bus.publish(topic: Self.agentChat, audience: .users([message.fromUserID, message.toUserID]),
                                  data: ChatPayload(message: ChatMessageView(message)), at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(Self.agentChat)", "error": "\(error)"])
        }
    }

    /// The person's sessions were ended: their sockets, on every node, check theirs and close.
    public func sessionEnded(of userID: Int64, at now: Date) async {
        guard let bus else { return }
        struct Empty: Encodable {}
        do {
            try await bus.publish(topic: Self.sessionEnded, audience: .users([userID]), data: Empty(), at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(Self.sessionEnded)", "error": "\(error)"])
        }
    }

    /// Tells the agent what a supervisor did to them (`pause`, `takeover`), for the agent's page.
    func supervision(_ action: String, of agentID: Int64, by name: String, reason: String? = nil, conversationID: Int64? = nil,
                     at now: Date) async {
        guard let bus else { return }
        do {
            try await bus.publish(topic: Self.supervision, audience: .users([agentID]),
                                  data: SupervisionPayload(action: action, by: name, reason: reason, conversationId: conversationID),
                                  at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(Self.supervision)", "error": "\(error)"])
        }
    }

    func unrouted(_ message: InboundMessage, at now: Date) async {
        guard let bus else { return }
        let payload = UnroutedPayload(message: UnroutedMessage(id: message.id, providerId: message.providerID, from: message.from,
                                                               to: message.to, text: message.body, receivedAt: message.receivedAt))
        do {
            try await bus.publish(topic: Self.unrouted, audience: .roles([.admin]), data: payload, at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(Self.unrouted)", "error": "\(error)"])
        }
    }

    /// The conversation's current view, or nil (no bus, or it cannot be read: logged).
    private func view(_ conversationID: Int64, at now: Date) async -> ConversationView? {
        guard bus != nil, let storage else { return nil }
        do {
            return try await storage.conversations.item(id: conversationID, at: now).map { ConversationView($0, now: now) }
        } catch {
            logger.warning("live event not published", metadata: ["conversation": "\(conversationID)", "error": "\(error)"])
            return nil
        }
    }

    /// Publishes to `agents`, the admins and the supervisors of the campaign (`campaignID`) or of the agent's
    /// campaigns (`overseersOf`). Never throws: a failure is logged (the page reloads on reconnect).
    private func publish(_ topic: String, agents: [Int64], campaignID: Int64? = nil, overseersOf agentID: Int64? = nil,
                         _ payload: some Encodable, at now: Date) async {
        guard let bus, let storage else { return }
        do {
            var users = Set(agents)
            if let campaignID {
                users.formUnion(try await supervisorsOfCampaign.value(campaignID) {
                    Set(try await storage.supervision.supervisorIDs(campaignID: campaignID))
                })
            }
            if let agentID {
                users.formUnion(try await supervisorsOfAgent.value(agentID) { Set(try await storage.supervision.supervisorIDs(ofAgent: agentID)) })
            }
            try await bus.publish(topic: topic, audience: LiveAudience(roles: [.admin], userIDs: users), data: payload, at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }
}
