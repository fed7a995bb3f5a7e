import Foundation
import SMSCore

/// Figures an operator's monitoring scrapes (`GET /metrics`): what is waiting and who is there, read from
/// the database at scrape time, so every node of a cluster reports the same.
public struct OperationalGauges: Sendable, Equatable {
    /// Spool messages by state; every state is present (0 when none).
    public var spool: [SpoolState: Int]
    /// Conversations not closed, by state (`queued`, `offered`, `assigned`).
    public var openConversations: [ConversationState: Int]
    /// Agents by the presence they last set; agents who never set one are `offline`.
    public var agents: [AssignmentCandidate.Status: Int]

    public init(spool: [SpoolState: Int], openConversations: [ConversationState: Int], agents: [AssignmentCandidate.Status: Int]) {
        self.spool = spool
        self.openConversations = openConversations
        self.agents = agents
    }
}

public protocol OperationsStore: Sendable {
    func gauges() async throws -> OperationalGauges
}

struct SQLOperationsStore: OperationsStore {
    let db: any SQLDatabase

    func gauges() async throws -> OperationalGauges {
        // GROUP BY state reads the spool_claim index (campaign, state, …), not the table.
        let rows = try await db.queryAll([
            "SELECT state, COUNT(*) AS n FROM spool GROUP BY state",
            "SELECT state, COUNT(*) AS n FROM conversations WHERE closed_at IS NULL GROUP BY state",
            """
            SELECT COALESCE(s.status, 'offline') AS state, COUNT(*) AS n
            FROM users u LEFT JOIN agent_status s ON s.user_id = u.id
            WHERE u.role = 'agent' AND NOT u.disabled GROUP BY COALESCE(s.status, 'offline')
            """,
        ])
        func counts<Key: RawRepresentable & Hashable>(_ rows: [SQLRow], _ keys: [Key]) throws -> [Key: Int] where Key.RawValue == String {
            var result = Dictionary(uniqueKeysWithValues: keys.map { ($0, 0) })
            for row in rows {
                if let key = Key(rawValue: try row.string("state")) { result[key, default: 0] += Int(try row.int("n")) }
            }
            return result
        }
        return OperationalGauges(
            spool: try counts(rows[0], SpoolState.allCases),
            openConversations: try counts(rows[1], [ConversationState.queued, .offered, .assigned]),
            agents: try counts(rows[2], AssignmentCandidate.Status.allCases))
    }
}
