import Foundation

/// Browser sessions, found by the hash of their cookie token.
public protocol SessionStore: Sendable {
    func create(_ session: Session) async throws
    /// The session, if it exists and has not expired at `now`.
    func session(tokenHash: String, now: Date) async throws -> Session?
    /// Records activity and slides the expiry forward.
    func touch(tokenHash: String, at: Date, expiresAt: Date) async throws
    func delete(tokenHash: String) async throws
    /// Ends every session of a user; returns how many ended.
    @discardableResult
    func deleteAll(userID: Int64) async throws -> Int
    /// Removes sessions expired before `now`; returns how many.
    @discardableResult
    func deleteExpired(now: Date) async throws -> Int
}

struct SQLSessionStore: SessionStore {
    let db: any SQLDatabase

    func create(_ s: Session) async throws {
        try await db.query("""
            INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, client_address, user_agent)
            VALUES (\(s.tokenHash), \(s.userID), \(s.csrfToken), \(s.createdAt), \(s.lastSeenAt), \(s.expiresAt),
                    \(s.clientAddress), \(s.userAgent))
            """)
    }

    func session(tokenHash: String, now: Date) async throws -> Session? {
        guard let row = try await db.queryFirst("""
            SELECT token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, client_address, user_agent
            FROM sessions WHERE token_hash = \(tokenHash) AND expires_at > \(now)
            """) else { return nil }
        return Session(
            tokenHash: try row.string("token_hash"), userID: try row.int("user_id"),
            csrfToken: try row.string("csrf_token"), createdAt: try row.date("created_at"),
            lastSeenAt: try row.date("last_seen_at"), expiresAt: try row.date("expires_at"),
            clientAddress: try row.optionalString("client_address"), userAgent: try row.optionalString("user_agent"))
    }

    func touch(tokenHash: String, at: Date, expiresAt: Date) async throws {
        try await db.query(
            "UPDATE sessions SET last_seen_at = \(at), expires_at = \(expiresAt) WHERE token_hash = \(tokenHash)")
    }

    func delete(tokenHash: String) async throws {
        try await db.query("DELETE FROM sessions WHERE token_hash = \(tokenHash)")
    }

    func deleteAll(userID: Int64) async throws -> Int {
        try await db.query("DELETE FROM sessions WHERE user_id = \(userID) RETURNING token_hash").count
    }

    func deleteExpired(now: Date) async throws -> Int {
        try await db.query("DELETE FROM sessions WHERE expires_at <= \(now) RETURNING token_hash").count
    }
}
