import Foundation

/// A dialer (SPEC D1, D2, D11).
public struct DialerRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var providerID: Int64
    public var fallbackProviderID: Int64?
    /// `Schedule` as JSON: when it may send.
    public var schedule: String
    public var timeZone: String
    public var dialString: String?
    public var intervalMs: Int
    public var enabled: Bool
    public var dncrCheck: Bool
    /// Where the port rotation continues.
    public var portCursor: Int
    /// Sending through the fallback provider after repeated retryable failures.
    public var failoverActive: Bool
    public var consecutiveFailures: Int
    public var campaignIDs: [Int64]
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64 = 0, name: String, providerID: Int64, fallbackProviderID: Int64? = nil, schedule: String,
                timeZone: String, dialString: String? = nil, intervalMs: Int = 0, enabled: Bool = false, dncrCheck: Bool = true,
                portCursor: Int = 0, failoverActive: Bool = false, consecutiveFailures: Int = 0, campaignIDs: [Int64] = [],
                createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.providerID = providerID
        self.fallbackProviderID = fallbackProviderID
        self.schedule = schedule
        self.timeZone = timeZone
        self.dialString = dialString
        self.intervalMs = intervalMs
        self.enabled = enabled
        self.dncrCheck = dncrCheck
        self.portCursor = portCursor
        self.failoverActive = failoverActive
        self.consecutiveFailures = consecutiveFailures
        self.campaignIDs = campaignIDs
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public protocol DialerStore: Sendable {
    func create(_ dialer: DialerRecord) async throws -> DialerRecord
    /// Replaces the configuration (not the runtime cursor and failover state).
    func update(_ dialer: DialerRecord, at: Date) async throws -> DialerRecord
    func dialer(id: Int64) async throws -> DialerRecord?
    func list() async throws -> [DialerRecord]
    func setEnabled(id: Int64, _ enabled: Bool, at: Date) async throws
    /// Saves the runtime state: port cursor, failover and consecutive retryable failures.
    func saveRuntime(id: Int64, portCursor: Int, failoverActive: Bool, consecutiveFailures: Int, at: Date) async throws
    func delete(id: Int64) async throws
}

struct SQLDialerStore: DialerStore {
    let db: any SQLDatabase
    static let columns = """
        id, name, provider_id, fallback_provider_id, schedule, time_zone, dial_string, interval_ms, enabled, dncr_check,
        port_cursor, failover_active, consecutive_failures, created_at, updated_at
        """

    func decode(_ row: SQLRow, in tx: any SQLExecutor) async throws -> DialerRecord {
        let id = try row.int("id")
        let campaigns = try await tx.query("SELECT campaign_id FROM dialer_campaigns WHERE dialer_id = \(id) ORDER BY campaign_id")
            .map { try $0.int("campaign_id") }
        return DialerRecord(
            id: id, name: try row.string("name"), providerID: try row.int("provider_id"),
            fallbackProviderID: try row.optionalInt("fallback_provider_id"), schedule: try row.string("schedule"),
            timeZone: try row.string("time_zone"), dialString: try row.optionalString("dial_string"),
            intervalMs: Int(try row.int("interval_ms")), enabled: try row.bool("enabled"), dncrCheck: try row.bool("dncr_check"),
            portCursor: Int(try row.int("port_cursor")), failoverActive: try row.bool("failover_active"),
            consecutiveFailures: Int(try row.int("consecutive_failures")), campaignIDs: campaigns,
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }

    func setCampaigns(_ id: Int64, _ campaigns: [Int64], in tx: any SQLExecutor) async throws {
        try await tx.query("DELETE FROM dialer_campaigns WHERE dialer_id = \(id)")
        for campaign in Set(campaigns) {
            try await tx.query("INSERT INTO dialer_campaigns (dialer_id, campaign_id) VALUES (\(id), \(campaign))")
        }
    }

    func create(_ d: DialerRecord) async throws -> DialerRecord {
        do {
            return try await db.transaction { tx in
                guard let row = try await tx.queryFirst("""
                    INSERT INTO dialers (name, provider_id, fallback_provider_id, schedule, time_zone, dial_string, interval_ms,
                      enabled, dncr_check, created_at, updated_at)
                    VALUES (\(d.name), \(d.providerID), \(d.fallbackProviderID), \(d.schedule), \(d.timeZone), \(d.dialString),
                      \(d.intervalMs), \(d.enabled), \(d.dncrCheck), \(d.createdAt), \(d.updatedAt))
                    RETURNING \(unsafeRaw: Self.columns)
                    """) else { throw StoreError.database("INSERT INTO dialers returned no row") }
                try await setCampaigns(try row.int("id"), d.campaignIDs, in: tx)
                return try await decode(row, in: tx)
            }
        } catch StoreError.conflict {
            throw StoreError.conflict(field: "name", message: "a dialer named \"\(d.name)\" already exists")
        }
    }

    func update(_ d: DialerRecord, at: Date) async throws -> DialerRecord {
        do {
            return try await db.transaction { tx in
                guard let row = try await tx.queryFirst("""
                    UPDATE dialers SET name = \(d.name), provider_id = \(d.providerID), fallback_provider_id = \(d.fallbackProviderID),
                      schedule = \(d.schedule), time_zone = \(d.timeZone), dial_string = \(d.dialString), interval_ms = \(d.intervalMs),
                      enabled = \(d.enabled), dncr_check = \(d.dncrCheck), updated_at = \(at)
                    WHERE id = \(d.id)
                    RETURNING \(unsafeRaw: Self.columns)
                    """) else { throw StoreError.notFound("dialer \(d.id)") }
                try await setCampaigns(d.id, d.campaignIDs, in: tx)
                return try await decode(row, in: tx)
            }
        } catch StoreError.conflict {
            throw StoreError.conflict(field: "name", message: "a dialer named \"\(d.name)\" already exists")
        }
    }

    func dialer(id: Int64) async throws -> DialerRecord? {
        guard let row = try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM dialers WHERE id = \(id)") else { return nil }
        return try await decode(row, in: db)
    }

    func list() async throws -> [DialerRecord] {
        var result: [DialerRecord] = []
        for row in try await db.query("SELECT \(unsafeRaw: Self.columns) FROM dialers ORDER BY name") {
            result.append(try await decode(row, in: db))
        }
        return result
    }

    func setEnabled(id: Int64, _ enabled: Bool, at: Date) async throws {
        if try await db.query("UPDATE dialers SET enabled = \(enabled), updated_at = \(at) WHERE id = \(id) RETURNING id").isEmpty {
            throw StoreError.notFound("dialer \(id)")
        }
    }

    func saveRuntime(id: Int64, portCursor: Int, failoverActive: Bool, consecutiveFailures: Int, at: Date) async throws {
        try await db.query("""
            UPDATE dialers SET port_cursor = \(portCursor), failover_active = \(failoverActive),
              consecutive_failures = \(consecutiveFailures) WHERE id = \(id)
            """)
    }

    func delete(id: Int64) async throws {
        if try await db.query("DELETE FROM dialers WHERE id = \(id) RETURNING id").isEmpty {
            throw StoreError.notFound("dialer \(id)")
        }
    }
}
