import Foundation
import Logging
import SMSCore
import SMSStore

/// What a supervisor does to an agent or a conversation (SPEC S3): take a conversation over, pause an
/// agent with a reason, disconnect them, and chat with them. Each action publishes its live events;
/// who may do it to whom (scope) and the audit log are the caller's.
///
/// Spying is not here: it is a plain read (`Inbox.conversation`), which changes nothing.
public struct Supervision: Sendable {
    public static let maximumChatLength = 1000

    let storage: Storage
    let inbox: Inbox
    var router: ConversationRouter { inbox.router }
    var events: ConversationEvents { inbox.router.events }

    public init(storage: Storage, inbox: Inbox) {
        self.storage = storage
        self.inbox = inbox
    }

    /// The conversation moves to `userID` (a supervisor or admin), who can then reply and close it through the
    /// conversation API. The agent who held it, and members it was offered to, lose it at once (a
    /// `conversation.assigned` event, and `agent.supervision` to the agent); their capacity frees.
    public func takeOver(_ conversationID: Int64, by userID: Int64, name: String, at now: Date = Date()) async throws -> TakenOver {
        let taken = try await storage.supervision.takeOver(conversationID: conversationID, by: userID, at: now)
        let losers = ([taken.previousAgentID].compactMap { $0 } + taken.withdrawnFrom).filter { $0 != userID }
        await events.assigned(TakenConversation(conversation: taken.conversation, withdrawnFrom: losers), at: now)
        if let previous = taken.previousAgentID, previous != userID {
            await events.supervision("takeover", of: previous, by: name, conversationID: conversationID, at: now)
        }
        for agent in Set(losers) { await router.agentFreed(agent, at: now) }
        return taken
    }

    /// Pauses the agent with a reason, as if they had paused themselves: their pending offers are withdrawn
    /// and go to the next member, and their page shows it at once (`agent.status`, `agent.supervision`).
    public func pause(_ agentID: Int64, reason: String, by name: String, at now: Date = Date()) async throws -> AgentStatus {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw ConversationError.invalid(field: "reason", message: "reason is required") }
        let status = try await inbox.setStatus(of: agentID, to: .paused, reason: reason, at: now)
        await events.supervision("pause", of: agentID, by: name, reason: status.reason, at: now)
        return status
    }

    /// Ends every session of the agent and sets them offline (their offers go to the next member); their
    /// sockets close at once (`session.ended`), so each page of theirs shows the sign-in view. Returns the
    /// number of sessions ended.
    public func disconnect(_ agentID: Int64, at now: Date = Date()) async throws -> Int {
        _ = try await inbox.setStatus(of: agentID, to: .offline, reason: nil, at: now)
        let ended = try await storage.sessions.deleteAll(userID: agentID)
        await events.sessionEnded(of: agentID, at: now)
        return ended
    }

    /// A supervisor (or admin) writes to an agent.
    public func chat(from staffID: Int64, to agentID: Int64, text: String, at now: Date = Date()) async throws -> AgentChatMessage {
        let body = try Self.validChat(text)
        let message = try await storage.supervision.appendChat(from: staffID, to: agentID, body: body, at: now)
        await events.chat(message, at: now)
        return message
    }

    /// The agent answers in their chat: to `to`, or (nil) to the last person who wrote to them. Only someone who
    /// wrote to the agent can be answered.
    public func agentReply(from agentID: Int64, to: Int64?, text: String, at now: Date = Date()) async throws -> AgentChatMessage {
        let body = try Self.validChat(text)
        let thread = try await storage.supervision.chat(agentID: agentID, with: nil, limit: 500)
        let writers = thread.filter { $0.toUserID == agentID }.map(\.fromUserID)
        guard let recipient = to ?? writers.last else {
            throw ConversationError.invalid(field: "toUserId", message: "no supervisor has written to you yet")
        }
        guard writers.contains(recipient) else {
            throw ConversationError.invalid(field: "toUserId", message: "you can only answer someone who wrote to you")
        }
        let message = try await storage.supervision.appendChat(from: agentID, to: recipient, body: body, at: now)
        await events.chat(message, at: now)
        return message
    }

    static func validChat(_ text: String) throws -> String {
        let body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !body.isEmpty else { throw ConversationError.invalid(field: "text", message: "text is required") }
        guard body.count <= maximumChatLength else {
            throw ConversationError.invalid(field: "text", message: "text is at most \(maximumChatLength) characters")
        }
        return body
    }
}
