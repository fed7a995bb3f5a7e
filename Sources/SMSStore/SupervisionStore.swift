import Foundation
import SMSCore

/// A member of a campaign as the supervisor's monitor shows them (SPEC S1).
public struct MonitoredAgent: Sendable, Equatable {
    public var userID: Int64
    public var username: String
    public var displayName: String
    public var disabled: Bool
    /// 0 at the top of the admin's order.
    public var position: Int
    public var penalty: Int
    /// The presence the agent (or a supervisor) set; `offline` when never set.
    public var status: AgentStatus
    /// Signed-in sessions that have not expired. Without one the agent is offline whatever `status` says.
    public var sessions: Int
    /// Open conversations assigned to the agent, per campaign (every campaign, not only this one).
    public var openByCampaign: [Int64: Int]
    /// Live offers to the agent (every campaign).
    public var liveOffers: Int
    /// Conversations of this campaign the agent closed since the start of the day given.
    public var completed: Int

    public init(userID: Int64, username: String, displayName: String, disabled: Bool, position: Int, penalty: Int,
                status: AgentStatus, sessions: Int, openByCampaign: [Int64: Int], liveOffers: Int, completed: Int) {
        self.userID = userID
        self.username = username
        self.displayName = displayName
        self.disabled = disabled
        self.position = position
        self.penalty = penalty
        self.status = status
        self.sessions = sessions
        self.openByCampaign = openByCampaign
        self.liveOffers = liveOffers
        self.completed = completed
    }

    /// Open conversations assigned to the agent in every campaign.
    public var open: Int { openByCampaign.values.reduce(0, +) }
}

/// A message of the supervisor-agent chat (SPEC S3), with the names of both people.
public struct AgentChatMessage: Sendable, Equatable {
    public var id: Int64
    public var fromUserID: Int64
    public var fromName: String
    public var toUserID: Int64
    public var toName: String
    public var body: String
    public var at: Date

    public init(id: Int64, fromUserID: Int64, fromName: String, toUserID: Int64, toName: String, body: String, at: Date) {
        self.id = id
        self.fromUserID = fromUserID
        self.fromName = fromName
        self.toUserID = toUserID
        self.toName = toName
        self.body = body
        self.at = at
    }
}

/// A conversation a supervisor took over: now assigned to them.
public struct TakenOver: Sendable, Equatable {
    public var conversation: ConversationRecord
    /// The agent who held it, when it was assigned.
    public var previousAgentID: Int64?
    /// Members whose live offers of it ended.
    public var withdrawnFrom: [Int64]

    public init(conversation: ConversationRecord, previousAgentID: Int64?, withdrawnFrom: [Int64]) {
        self.conversation = conversation
        self.previousAgentID = previousAgentID
        self.withdrawnFrom = withdrawnFrom
    }
}

/// What the supervisor's screens read and do besides the inbox (SPEC S1-S3, S6): the facts the
/// contact-center metrics are computed from, the campaign's agents as the monitor shows them, taking
/// a conversation over, and the supervisor-agent chat.
public protocol SupervisionStore: Sendable {
    /// The facts of every conversation of the campaign that touches [`from`, `to`): opened before `to` and
    /// not closed before `from` (so every open one too, whatever its day). `firstResponseAt` is the first
    /// agent reply, queued at once or sent later (a scheduled reply counts when it went out); `optedOutAt`
    /// is when the client sent an opt-out keyword while it was open.
    func facts(campaignID: Int64, from: Date, to: Date) async throws -> [ConversationFacts]
    /// The campaign's members in the admin's order, with presence, sessions, load in every campaign and the
    /// conversations of this campaign they closed since `completedSince`.
    func agents(campaignID: Int64, completedSince: Date, at: Date) async throws -> [MonitoredAgent]
    /// Signed-in sessions of the user that have not expired at `at`.
    func sessionCount(userID: Int64, at: Date) async throws -> Int
    /// The supervisors of the campaign (who see its live events).
    func supervisorIDs(campaignID: Int64) async throws -> [Int64]
    /// The supervisors of every campaign the agent is a member of (who see the agent's presence).
    func supervisorIDs(ofAgent agentID: Int64) async throws -> [Int64]
    /// SPEC S3 "take over": the open conversation is assigned to `userID`; the agent who held it loses it and
    /// live offers of it end. Its `assigned_at` stays when it was assigned already (the queue metrics do
    /// not change). `.closed` for a closed one, `.notFound` when it does not exist.
    func takeOver(conversationID: Int64, by userID: Int64, at: Date) async throws -> TakenOver
    /// Stores a chat message from one person to another.
    func appendChat(from: Int64, to: Int64, body: String, at: Date) async throws -> AgentChatMessage
    /// The agent's chat, oldest first (the newest `limit`): with one person (`with`), or with everyone (nil).
    func chat(agentID: Int64, with other: Int64?, limit: Int) async throws -> [AgentChatMessage]
}

struct SQLSupervisionStore: SupervisionStore {
    let db: any SQLDatabase

    func facts(campaignID: Int64, from: Date, to: Date) async throws -> [ConversationFacts] {
        try await db.query("""
            SELECT c.id, c.agent_id, c.opened_at, c.queued_at, c.assigned_at, c.first_response_at, c.closed_at, c.opted_out_at,
              (SELECT MIN(s.sent_at) FROM messages m JOIN spool s ON s.id = m.spool_id
               WHERE m.conversation_id = c.id AND m.direction = 'out' AND m.agent_id IS NOT NULL) AS first_sent_at
            FROM conversations c
            WHERE c.campaign_id = \(campaignID) AND c.opened_at < \(to) AND (c.closed_at IS NULL OR c.closed_at >= \(from))
            ORDER BY c.id
            """).map { row in
            // A reply scheduled for later sets no first_response_at when it goes out: its send time counts.
            let replies = [try row.optionalDate("first_response_at"), try row.optionalDate("first_sent_at")].compactMap { $0 }
            return ConversationFacts(
                id: try row.int("id"), agentID: try row.optionalInt("agent_id"), openedAt: try row.date("opened_at"),
                queuedAt: try row.optionalDate("queued_at"), assignedAt: try row.optionalDate("assigned_at"),
                firstResponseAt: replies.min(), closedAt: try row.optionalDate("closed_at"),
                optedOutAt: try row.optionalDate("opted_out_at"))
        }
    }

    func agents(campaignID: Int64, completedSince: Date, at: Date) async throws -> [MonitoredAgent] {
        var agents: [MonitoredAgent] = []
        for row in try await db.query("""
            SELECT m.user_id, m.position, m.penalty, u.username, u.display_name, u.disabled, st.status, st.reason, st.since,
              (SELECT COUNT(*) FROM sessions x WHERE x.user_id = m.user_id AND x.expires_at > \(at)) AS sessions
            FROM campaign_members m JOIN users u ON u.id = m.user_id LEFT JOIN agent_status st ON st.user_id = m.user_id
            WHERE m.campaign_id = \(campaignID)
            ORDER BY m.position, m.user_id
            """) {
            let id = try row.int("user_id")
            let status = AgentStatus(
                userID: id, status: AssignmentCandidate.Status(rawValue: try row.optionalString("status") ?? "offline") ?? .offline,
                reason: try row.optionalString("reason"), since: try row.optionalDate("since"))
            agents.append(MonitoredAgent(
                userID: id, username: try row.string("username"), displayName: try row.string("display_name"),
                disabled: try row.bool("disabled"), position: Int(try row.int("position")), penalty: Int(try row.int("penalty")),
                status: status, sessions: Int(try row.int("sessions")), openByCampaign: [:], liveOffers: 0, completed: 0))
        }
        let ids = agents.map(\.userID)
        guard !ids.isEmpty else { return [] }
        var open: [Int64: [Int64: Int]] = [:]
        for row in try await db.query("""
            SELECT agent_id, campaign_id, COUNT(*) AS n FROM conversations
            WHERE state = 'assigned' AND closed_at IS NULL AND agent_id IN \(list: ids) GROUP BY agent_id, campaign_id
            """) {
            open[try row.int("agent_id"), default: [:]][try row.optionalInt("campaign_id") ?? 0] = Int(try row.int("n"))
        }
        var offers: [Int64: Int] = [:]
        for row in try await db.query("""
            SELECT o.user_id, COUNT(*) AS n FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE c.state = 'offered' AND o.expires_at > \(at) AND o.user_id IN \(list: ids) GROUP BY o.user_id
            """) {
            offers[try row.int("user_id")] = Int(try row.int("n"))
        }
        var completed: [Int64: Int] = [:]
        for row in try await db.query("""
            SELECT agent_id, COUNT(*) AS n FROM conversations
            WHERE campaign_id = \(campaignID) AND state = 'closed' AND closed_at >= \(completedSince) AND agent_id IN \(list: ids)
            GROUP BY agent_id
            """) {
            completed[try row.int("agent_id")] = Int(try row.int("n"))
        }
        for i in agents.indices {
            let id = agents[i].userID
            agents[i].openByCampaign = open[id] ?? [:]
            agents[i].liveOffers = offers[id] ?? 0
            agents[i].completed = completed[id] ?? 0
        }
        return agents
    }

    func sessionCount(userID: Int64, at: Date) async throws -> Int {
        Int(try await db.queryFirst("SELECT COUNT(*) AS n FROM sessions WHERE user_id = \(userID) AND expires_at > \(at)")?.int("n") ?? 0)
    }

    func supervisorIDs(campaignID: Int64) async throws -> [Int64] {
        try await db.query("SELECT user_id FROM campaign_supervisors WHERE campaign_id = \(campaignID) ORDER BY user_id")
            .map { try $0.int("user_id") }
    }

    func supervisorIDs(ofAgent agentID: Int64) async throws -> [Int64] {
        try await db.query("""
            SELECT DISTINCT s.user_id FROM campaign_supervisors s JOIN campaign_members m ON m.campaign_id = s.campaign_id
            WHERE m.user_id = \(agentID) ORDER BY s.user_id
            """).map { try $0.int("user_id") }
    }

    func takeOver(conversationID: Int64, by userID: Int64, at: Date) async throws -> TakenOver {
        try await db.transaction { tx in
            try await SQLConversationStore.lockAssignments(tx)
            guard let current = try await SQLConversationStore.conversation(conversationID, in: tx) else {
                throw ConversationError.notFound("conversation \(conversationID)")
            }
            guard current.state != .closed else { throw ConversationError.closed(conversationID) }
            if current.state == .assigned, current.agentID == userID {
                return TakenOver(conversation: current, previousAgentID: nil, withdrawnFrom: [])
            }
            guard let row = try await tx.queryFirst("""
                UPDATE conversations SET state = 'assigned', agent_id = \(userID), assigned_at = COALESCE(assigned_at, \(at))
                WHERE id = \(conversationID) AND state <> 'closed'
                RETURNING \(unsafeRaw: SQLConversationStore.columns)
                """) else { throw ConversationError.closed(conversationID) }
            let withdrawn = try await SQLConversationStore.endOffers(conversationID, except: userID, at: at, in: tx)
            let previous = current.state == .assigned ? current.agentID : nil
            if let previous {
                try await tx.query("""
                    UPDATE campaign_members SET last_ended_at = \(at) WHERE campaign_id = \(current.campaignID) AND user_id = \(previous)
                    """)
            }
            return TakenOver(conversation: try SQLConversationStore.decode(row), previousAgentID: previous, withdrawnFrom: withdrawn)
        }
    }

    static let chatSelect = """
        SELECT a.id, a.from_user_id, a.to_user_id, a.body, a.at, f.display_name AS from_name, t.display_name AS to_name
        FROM agent_chat a JOIN users f ON f.id = a.from_user_id JOIN users t ON t.id = a.to_user_id
        """

    static func decodeChat(_ row: SQLRow) throws -> AgentChatMessage {
        AgentChatMessage(id: try row.int("id"), fromUserID: try row.int("from_user_id"), fromName: try row.string("from_name"),
                         toUserID: try row.int("to_user_id"), toName: try row.string("to_name"), body: try row.string("body"),
                         at: try row.date("at"))
    }

    func appendChat(from: Int64, to: Int64, body: String, at: Date) async throws -> AgentChatMessage {
        try await db.transaction { tx in
            guard let row = try await tx.queryFirst("""
                INSERT INTO agent_chat (from_user_id, to_user_id, body, at) VALUES (\(from), \(to), \(body), \(at)) RETURNING id
                """) else { throw StoreError.database("INSERT INTO agent_chat returned no row") }
            guard let stored = try await tx.queryFirst("\(unsafeRaw: Self.chatSelect) WHERE a.id = \(try row.int("id"))") else {
                throw StoreError.database("chat message not found")
            }
            return try Self.decodeChat(stored)
        }
    }

    func chat(agentID: Int64, with other: Int64?, limit: Int) async throws -> [AgentChatMessage] {
        let pair: SQL = other.map {
            "(a.from_user_id = \(agentID) AND a.to_user_id = \($0)) OR (a.from_user_id = \($0) AND a.to_user_id = \(agentID))"
        } ?? "a.from_user_id = \(agentID) OR a.to_user_id = \(agentID)"
        return try await db.query("\(unsafeRaw: Self.chatSelect) WHERE \(pair) ORDER BY a.id DESC LIMIT \(max(1, limit))")
            .map(Self.decodeChat).reversed()
    }
}
