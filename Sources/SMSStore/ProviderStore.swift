import Foundation

/// A configured SMS provider as stored. The secret is stored encrypted; the
/// store never sees it in clear.
public struct ProviderRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// `ProviderType` raw value.
    public var type: String
    public var url: String?
    public var username: String?
    public var secretCiphertext: [UInt8]?
    public var sender: String?
    public var ports: String?
    public var numberPattern: String?
    /// `auto`, `GSM-7` or `UCS-2`.
    public var encoding: String
    public var isDefault: Bool
    /// Messages per second across all nodes; nil means unlimited.
    public var ratePerSecond: Double?
    public var maxConcurrency: Int?
    /// Type-specific settings as a JSON object of strings.
    public var settings: [String: String]
    /// The unguessable part of this provider's webhook URL.
    public var webhookToken: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64 = 0, name: String, type: String, url: String? = nil, username: String? = nil,
                secretCiphertext: [UInt8]? = nil, sender: String? = nil, ports: String? = nil,
                numberPattern: String? = nil, encoding: String = "auto", isDefault: Bool = false,
                ratePerSecond: Double? = nil, maxConcurrency: Int? = nil, settings: [String: String] = [:],
                webhookToken: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.type = type
        self.url = url
        self.username = username
        self.secretCiphertext = secretCiphertext
        self.sender = sender
        self.ports = ports
        self.numberPattern = numberPattern
        self.encoding = encoding
        self.isDefault = isDefault
        self.ratePerSecond = ratePerSecond
        self.maxConcurrency = maxConcurrency
        self.settings = settings
        self.webhookToken = webhookToken
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Providers (SPEC P1-P4).
public protocol ProviderStore: Sendable {
    /// Creates a provider; `conflict(field: "name")` when the name is taken.
    func create(_ record: ProviderRecord) async throws -> ProviderRecord
    /// Replaces every field but id, token and creation time; `notFound` when absent.
    func update(_ record: ProviderRecord, at: Date) async throws -> ProviderRecord
    func provider(id: Int64) async throws -> ProviderRecord?
    /// All providers in list order (by id).
    func list() async throws -> [ProviderRecord]
    /// Marks one provider the default and clears the previous one, atomically (SPEC P3).
    func makeDefault(id: Int64, at: Date) async throws
    /// The provider system notifications use: the one marked default, else the first in the list (SPEC P3).
    func effectiveDefault() async throws -> ProviderRecord?
    /// Names of the dialers that use the provider (as main or fallback).
    func dialerNames(usingProvider id: Int64) async throws -> [String]
    /// Deletes a provider no dialer uses; `StoreError.conflict(field: "dialers")` otherwise.
    func delete(id: Int64) async throws
}

struct SQLProviderStore: ProviderStore {
    let db: any SQLDatabase

    static let columns = """
        id, name, type, url, username, secret_ciphertext, sender, ports, number_pattern, encoding, is_default,
        rate_per_second, max_concurrency, settings, webhook_token, created_at, updated_at
        """

    static func decode(_ row: SQLRow) throws -> ProviderRecord {
        let settingsText = try row.string("settings")
        let settings = (try? JSONDecoder().decode([String: String].self, from: Data(settingsText.utf8))) ?? [:]
        var secret: [UInt8]?
        if case .blob(let bytes) = try row.value("secret_ciphertext") { secret = bytes }
        let rate: Double? = if case .null = try row.value("rate_per_second") { nil } else { try row.double("rate_per_second") }
        return ProviderRecord(
            id: try row.int("id"), name: try row.string("name"), type: try row.string("type"),
            url: try row.optionalString("url"), username: try row.optionalString("username"), secretCiphertext: secret,
            sender: try row.optionalString("sender"), ports: try row.optionalString("ports"),
            numberPattern: try row.optionalString("number_pattern"), encoding: try row.string("encoding"),
            isDefault: try row.bool("is_default"), ratePerSecond: rate,
            maxConcurrency: try row.optionalInt("max_concurrency").map(Int.init), settings: settings,
            webhookToken: try row.string("webhook_token"), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"))
    }

    static func settingsJSON(_ settings: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(settings)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func blob(_ bytes: [UInt8]?) -> SQLValue { bytes.map { .blob($0) } ?? .null }

    func create(_ r: ProviderRecord) async throws -> ProviderRecord {
        do {
            guard let row = try await db.queryFirst("""
                INSERT INTO providers (name, type, url, username, secret_ciphertext, sender, ports, number_pattern, encoding,
                  is_default, rate_per_second, max_concurrency, settings, webhook_token, created_at, updated_at)
                VALUES (\(r.name), \(r.type), \(r.url), \(r.username), \(Self.blob(r.secretCiphertext)), \(r.sender), \(r.ports),
                  \(r.numberPattern), \(r.encoding), \(false), \(r.ratePerSecond), \(r.maxConcurrency), \(Self.settingsJSON(r.settings)),
                  \(r.webhookToken), \(r.createdAt), \(r.updatedAt))
                RETURNING \(unsafeRaw: Self.columns)
                """) else { throw StoreError.database("INSERT INTO providers returned no row") }
            return try Self.decode(row)
        } catch StoreError.conflict {
            throw StoreError.conflict(field: "name", message: "a provider named \"\(r.name)\" already exists")
        }
    }

    func update(_ r: ProviderRecord, at: Date) async throws -> ProviderRecord {
        do {
            guard let row = try await db.queryFirst("""
                UPDATE providers SET name = \(r.name), type = \(r.type), url = \(r.url), username = \(r.username),
                  secret_ciphertext = \(Self.blob(r.secretCiphertext)), sender = \(r.sender), ports = \(r.ports),
                  number_pattern = \(r.numberPattern), encoding = \(r.encoding), rate_per_second = \(r.ratePerSecond),
                  max_concurrency = \(r.maxConcurrency), settings = \(Self.settingsJSON(r.settings)), updated_at = \(at)
                WHERE id = \(r.id)
                RETURNING \(unsafeRaw: Self.columns)
                """) else { throw StoreError.notFound("provider \(r.id)") }
            return try Self.decode(row)
        } catch StoreError.conflict {
            throw StoreError.conflict(field: "name", message: "a provider named \"\(r.name)\" already exists")
        }
    }

    func provider(id: Int64) async throws -> ProviderRecord? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM providers WHERE id = \(id)").map(Self.decode)
    }

    func list() async throws -> [ProviderRecord] {
        try await db.query("SELECT \(unsafeRaw: Self.columns) FROM providers ORDER BY id").map(Self.decode)
    }

    func makeDefault(id: Int64, at: Date) async throws {
        try await db.transaction { tx in
            guard try await tx.queryFirst("SELECT id FROM providers WHERE id = \(id)" + Self.lock(tx)) != nil else {
                throw StoreError.notFound("provider \(id)")
            }
            try await tx.query("UPDATE providers SET is_default = \(false), updated_at = \(at) WHERE is_default = \(true) AND id <> \(id)")
            try await tx.query("UPDATE providers SET is_default = \(true), updated_at = \(at) WHERE id = \(id)")
        }
    }

    static func lock(_ tx: any SQLExecutor) -> SQL { tx.dialect == .postgres ? " FOR UPDATE" : "" }

    func effectiveDefault() async throws -> ProviderRecord? {
        try await db.queryFirst("""
            SELECT \(unsafeRaw: Self.columns) FROM providers ORDER BY is_default DESC, id LIMIT 1
            """).map(Self.decode)
    }

    func dialerNames(usingProvider id: Int64) async throws -> [String] {
        try await Self.dialerNames(usingProvider: id, in: db)
    }

    static func dialerNames(usingProvider id: Int64, in executor: any SQLExecutor) async throws -> [String] {
        try await executor.query("""
            SELECT name FROM dialers WHERE provider_id = \(id) OR fallback_provider_id = \(id) ORDER BY name
            """).map { try $0.string("name") }
    }

    func delete(id: Int64) async throws {
        try await db.transaction { tx in
            let users = try await Self.dialerNames(usingProvider: id, in: tx)
            guard users.isEmpty else {
                throw StoreError.conflict(field: "dialers",
                    message: "the provider is used by dialer\(users.count == 1 ? "" : "s") \(users.joined(separator: ", ")); change \(users.count == 1 ? "it" : "them") first")
            }
            let deleted = try await tx.query("DELETE FROM providers WHERE id = \(id) RETURNING id")
            if deleted.isEmpty { throw StoreError.notFound("provider \(id)") }
        }
    }
}
