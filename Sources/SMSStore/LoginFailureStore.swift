import Foundation

/// Counts failed sign-ins per user name and per client address, shared by
/// every node so throttling holds across a cluster.
public protocol LoginFailureStore: Sendable {
    /// Adds one failure to `key` and returns the new count. A count whose last
    /// failure is older than `resetAfter` starts again from one.
    func recordFailure(key: String, at: Date, resetAfter: TimeInterval) async throws -> LoginFailures
    func failures(key: String) async throws -> LoginFailures?
    func reset(key: String) async throws
}

struct SQLLoginFailureStore: LoginFailureStore {
    let db: any SQLDatabase

    func recordFailure(key: String, at: Date, resetAfter: TimeInterval) async throws -> LoginFailures {
        let staleBefore = at.addingTimeInterval(-resetAfter)
        guard let row = try await db.queryFirst("""
            INSERT INTO login_failures (subject, failures, last_failure_at) VALUES (\(key), 1, \(at))
            ON CONFLICT (subject) DO UPDATE SET
              failures = CASE WHEN login_failures.last_failure_at < \(staleBefore) THEN 1
                              ELSE login_failures.failures + 1 END,
              last_failure_at = excluded.last_failure_at
            RETURNING subject, failures, last_failure_at
            """) else { throw StoreError.database("upsert into login_failures returned no row") }
        return try Self.decode(row)
    }

    static func decode(_ row: SQLRow) throws -> LoginFailures {
        LoginFailures(key: try row.string("subject"), count: Int(try row.int("failures")),
                      lastFailureAt: try row.date("last_failure_at"))
    }

    func failures(key: String) async throws -> LoginFailures? {
        try await db.queryFirst("SELECT subject, failures, last_failure_at FROM login_failures WHERE subject = \(key)")
            .map(Self.decode)
    }

    func reset(key: String) async throws {
        try await db.query("DELETE FROM login_failures WHERE subject = \(key)")
    }
}
