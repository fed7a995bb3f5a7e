import Foundation

/// People who sign in, with their bcrypt password hashes.
public protocol UserStore: Sendable {
    /// Creates a user; `StoreError.conflict(field: "username")` when the name is taken.
    func create(username: String, displayName: String, role: Role, passwordHash: String, at: Date) async throws -> User
    func user(id: Int64) async throws -> User?
    /// The user and their password hash, for signing in.
    func credentials(username: String) async throws -> (user: User, passwordHash: String)?
    /// All users, by user name.
    func list() async throws -> [User]
    func count() async throws -> Int
    /// Applies `changes`; `StoreError.notFound` when there is no such user.
    func update(id: Int64, _ changes: UserChanges, at: Date) async throws -> User
    func setPasswordHash(id: Int64, _ hash: String, at: Date) async throws
}

struct SQLUserStore: UserStore {
    let db: any SQLDatabase

    static let columns = "id, username, display_name, role, disabled, locale, time_zone, monitor_screen_allowed, created_at, updated_at"

    static func decode(_ row: SQLRow) throws -> User {
        let roleText = try row.string("role")
        guard let role = Role(rawValue: roleText) else {
            throw StoreError.decoding(column: "role", reason: "unknown role \(roleText)")
        }
        return User(
            id: try row.int("id"), username: try row.string("username"), displayName: try row.string("display_name"),
            role: role, disabled: try row.bool("disabled"), locale: try row.optionalString("locale"),
            timeZone: try row.optionalString("time_zone"),
            monitorScreenAllowed: try row.bool("monitor_screen_allowed"), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"))
    }

    func create(username: String, displayName: String, role: Role, passwordHash: String, at: Date) async throws -> User {
        do {
            let rows = try await db.query("""
                INSERT INTO users (username, display_name, password_hash, role, disabled, created_at, updated_at)
                VALUES (\(username), \(displayName), \(passwordHash), \(role.rawValue), \(false), \(at), \(at))
                RETURNING \(unsafeRaw: Self.columns)
                """)
            guard let row = rows.first else { throw StoreError.database("INSERT INTO users returned no row") }
            return try Self.decode(row)
        } catch StoreError.conflict {
            throw StoreError.conflict(field: "username", message: "a user named \"\(username)\" already exists")
        }
    }

    func user(id: Int64) async throws -> User? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM users WHERE id = \(id)").map(Self.decode)
    }

    func credentials(username: String) async throws -> (user: User, passwordHash: String)? {
        guard let row = try await db.queryFirst(
            "SELECT \(unsafeRaw: Self.columns), password_hash FROM users WHERE username = \(username)")
        else { return nil }
        return (try Self.decode(row), try row.string("password_hash"))
    }

    func list() async throws -> [User] {
        try await db.query("SELECT \(unsafeRaw: Self.columns) FROM users ORDER BY username").map(Self.decode)
    }

    func count() async throws -> Int {
        Int(try await db.queryFirst("SELECT COUNT(*) AS n FROM users")?.int("n") ?? 0)
    }

    func update(id: Int64, _ changes: UserChanges, at: Date) async throws -> User {
        var sets: SQL = "updated_at = \(at)"
        if let v = changes.displayName { sets += ", display_name = \(v)" }
        if let v = changes.role { sets += ", role = \(v.rawValue)" }
        if let v = changes.disabled { sets += ", disabled = \(v)" }
        if let v = changes.locale { sets += ", locale = \(v)" }
        if let v = changes.timeZone { sets += ", time_zone = \(v)" }
        if let v = changes.monitorScreenAllowed { sets += ", monitor_screen_allowed = \(v)" }
        guard let row = try await db.queryFirst(
            "UPDATE users SET \(sets) WHERE id = \(id) RETURNING \(unsafeRaw: Self.columns)")
        else { throw StoreError.notFound("user \(id)") }
        return try Self.decode(row)
    }

    func setPasswordHash(id: Int64, _ hash: String, at: Date) async throws {
        let rows = try await db.query(
            "UPDATE users SET password_hash = \(hash), updated_at = \(at) WHERE id = \(id) RETURNING id")
        if rows.isEmpty { throw StoreError.notFound("user \(id)") }
    }
}
