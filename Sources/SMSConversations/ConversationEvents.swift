import Foundation
import Logging
import SMSLive
import SMSStore

/// Tells the browsers what happened to conversations and agents, through the live event bus. Each
/// event goes to the agents concerned and to every admin and supervisor (a per-campaign supervisor
/// scope narrows `staff` here later).
///
/// | topic | payload |
/// | --- | --- |
/// | `conversation.offered` | `{"conversation"}`: offered to the agents in `conversation.offers` |
/// | `conversation.assigned` | `{"conversation", "withdrawnFrom": [userId]}`: taken; the others' offers are withdrawn |
/// | `conversation.message` | `{"conversation", "message"}`: a new or changed message (upsert by `message.id`) |
/// | `conversation.updated` | `{"conversation", "reason"}`: `queued`, `offer_expired`, `offer_withdrawn`, `read` |
/// | `conversation.closed` | `{"conversation"}` |
/// | `agent.status` | `{"status"}` |
/// | `inbound.unrouted` | `{"message"}`: to admins only, a message no campaign claims |
public struct ConversationEvents: Sendable {
    public static let offered = "conversation.offered"
    public static let assigned = "conversation.assigned"
    public static let message = "conversation.message"
    public static let updated = "conversation.updated"
    public static let closed = "conversation.closed"
    public static let agentStatus = "agent.status"
    public static let unrouted = "inbound.unrouted"

    let bus: EventBus?
    let storage: Storage?
    let logger: Logger

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
        await publish(Self.offered, agents: agents, ConversationPayload(conversation: view), at: now)
    }

    func assigned(_ taken: TakenConversation, at now: Date) async {
        guard let view = await view(taken.conversation.id, at: now) else { return }
        let agents = [taken.conversation.agentID].compactMap { $0 } + taken.withdrawnFrom
        await publish(Self.assigned, agents: agents, AssignedPayload(conversation: view, withdrawnFrom: taken.withdrawnFrom), at: now)
    }

    func message(_ messageID: Int64, in conversationID: Int64, agents: [Int64], at now: Date) async {
        guard let storage, bus != nil, let view = await view(conversationID, at: now) else { return }
        do {
            guard let message = try await storage.conversations.message(id: messageID) else { return }
            await publish(Self.message, agents: agents + [view.agentId].compactMap { $0 },
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
                      UpdatedPayload(conversation: view, reason: reason), at: now)
    }

    func closed(_ conversation: ConversationRecord, at now: Date) async {
        guard let view = await view(conversation.id, at: now) else { return }
        await publish(Self.closed, agents: [conversation.agentID].compactMap { $0 }, ConversationPayload(conversation: view), at: now)
    }

    func status(_ status: AgentStatus, at now: Date) async {
        await publish(Self.agentStatus, agents: [status.userID], StatusPayload(status: AgentStatusView(status)), at: now)
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

    /// Publishes to `agents` and the staff. Never throws: a failure is logged (the page reloads on reconnect).
    private func publish(_ topic: String, agents: [Int64], _ payload: some Encodable, at now: Date) async {
        guard let bus else { return }
        do {
            try await bus.publish(topic: topic, audience: LiveAudience(roles: [.admin, .supervisor], userIDs: Set(agents)),
                                  data: payload, at: now)
        } catch {
            logger.warning("live event not published", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }
}
