import Foundation

/// API keys for integrations, found by the hash of the key.
public protocol APIKeyStore: Sendable {
    func create(name: String, prefix: String, keyHash: String, role: Role, createdBy: Int64?, at: Date) async throws -> APIKey
    /// The key with this hash, if it exists and is not revoked.
    func activeKey(hash: String) async throws -> APIKey?
    /// All keys, newest first, revoked ones included.
    func list() async throws -> [APIKey]
    /// Revokes a key; `StoreError.notFound` if there is none.
    func revoke(id: Int64, at: Date) async throws
    func markUsed(id: Int64, at: Date) async throws
}

struct SQLAPIKeyStore: APIKeyStore {
    let db: any SQLDatabase
    static let columns = "id, name, prefix, role, created_by, created_at, last_used_at, revoked_at"

    static func decode(_ row: SQLRow) throws -> APIKey {
        let roleText = try row.string("role")
        guard let role = Role(rawValue: roleText) else {
            throw StoreError.decoding(column: "role", reason: "unknown role \(roleText)")
        }
        return APIKey(
            id: try row.int("id"), name: try row.string("name"), prefix: try row.string("prefix"), role: role,
            createdBy: try row.optionalInt("created_by"), createdAt: try row.date("created_at"),
            lastUsedAt: try row.optionalDate("last_used_at"), revokedAt: try row.optionalDate("revoked_at"))
    }

    func create(name: String, prefix: String, keyHash: String, role: Role, createdBy: Int64?, at: Date) async throws -> APIKey {
        guard let row = try await db.queryFirst("""
            INSERT INTO api_keys (name, prefix, key_hash, role, created_by, created_at)
            VALUES (\(name), \(prefix), \(keyHash), \(role.rawValue), \(createdBy), \(at))
            RETURNING \(unsafeRaw: Self.columns)
            """) else { throw StoreError.database("INSERT INTO api_keys returned no row") }
        return try Self.decode(row)
    }

    func activeKey(hash: String) async throws -> APIKey? {
        try await db.queryFirst(
            "SELECT \(unsafeRaw: Self.columns) FROM api_keys WHERE key_hash = \(hash) AND revoked_at IS NULL"
        ).map(Self.decode)
    }

    func list() async throws -> [APIKey] {
        try await db.query("SELECT \(unsafeRaw: Self.columns) FROM api_keys ORDER BY id DESC").map(Self.decode)
    }

    func revoke(id: Int64, at: Date) async throws {
        let rows = try await db.query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, \(at)) WHERE id = \(id) RETURNING id")
        if rows.isEmpty { throw StoreError.notFound("API key \(id)") }
    }

    func markUsed(id: Int64, at: Date) async throws {
        try await db.query("UPDATE api_keys SET last_used_at = \(at) WHERE id = \(id)")
    }
}
