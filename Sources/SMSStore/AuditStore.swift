import Foundation

/// The append-only audit log.
public protocol AuditStore: Sendable {
    @discardableResult
    func append(_ entry: AuditEntry) async throws -> AuditEntry
    /// Newest first; `before` pages by id.
    func list(limit: Int, before: Int64?) async throws -> [AuditEntry]
    /// Entries with one of `actions` on one target since `since`, oldest first.
    func entries(actions: [String], targetType: String, targetID: String, since: Date) async throws -> [AuditEntry]
}

struct SQLAuditStore: AuditStore {
    let db: any SQLDatabase
    static let columns = "id, at, actor_user_id, actor_name, action, target_type, target_id, details, client_address"

    static func decode(_ row: SQLRow) throws -> AuditEntry {
        AuditEntry(
            id: try row.int("id"), at: try row.date("at"), actorUserID: try row.optionalInt("actor_user_id"),
            actorName: try row.string("actor_name"), action: try row.string("action"),
            targetType: try row.optionalString("target_type"), targetID: try row.optionalString("target_id"),
            details: try row.optionalString("details"), clientAddress: try row.optionalString("client_address"))
    }

    func append(_ e: AuditEntry) async throws -> AuditEntry {
        guard let row = try await db.queryFirst("""
            INSERT INTO audit_log (at, actor_user_id, actor_name, action, target_type, target_id, details, client_address)
            VALUES (\(e.at), \(e.actorUserID), \(e.actorName), \(e.action), \(e.targetType), \(e.targetID),
                    \(e.details), \(e.clientAddress))
            RETURNING \(unsafeRaw: Self.columns)
            """) else { throw StoreError.database("INSERT INTO audit_log returned no row") }
        return try Self.decode(row)
    }

    func list(limit: Int, before: Int64?) async throws -> [AuditEntry] {
        let cursor = before ?? Int64.max
        return try await db.query("""
            SELECT \(unsafeRaw: Self.columns) FROM audit_log WHERE id < \(cursor) ORDER BY id DESC LIMIT \(limit)
            """).map(Self.decode)
    }

    func entries(actions: [String], targetType: String, targetID: String, since: Date) async throws -> [AuditEntry] {
        guard !actions.isEmpty else { return [] }
        return try await db.query("""
            SELECT \(unsafeRaw: Self.columns) FROM audit_log
            WHERE at >= \(since) AND target_type = \(targetType) AND target_id = \(targetID) AND action IN \(list: actions)
            ORDER BY id
            """).map(Self.decode)
    }
}
