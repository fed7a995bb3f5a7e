import Foundation

/// One do-not-contact entry. `campaignID` nil means every campaign.
public struct DNCREntry: Sendable, Equatable {
    public var number: String
    public var campaignID: Int64?
    /// `manual`, `import`, `opt_out`.
    public var source: String
    public var reason: String?
    public var createdBy: Int64?
    public var createdAt: Date

    public init(number: String, campaignID: Int64?, source: String, reason: String? = nil, createdBy: Int64? = nil, createdAt: Date) {
        self.number = number
        self.campaignID = campaignID
        self.source = source
        self.reason = reason
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// The do-not-contact register (SPEC D7, D8): the one place every send is checked against.
public protocol DNCRStore: Sendable {
    /// Adds entries (existing ones are kept as they are); returns how many were new.
    @discardableResult
    func add(_ entries: [DNCREntry]) async throws -> Int
    /// Removes a number for a campaign (nil: the all-campaigns entry); true when one was removed.
    @discardableResult
    func remove(number: String, campaignID: Int64?) async throws -> Bool
    /// Entries, optionally for one number, newest first.
    func list(number: String?, limit: Int) async throws -> [DNCREntry]
    /// Of `numbers`, those blocked for `campaignID` (an entry for that campaign or for all), with the entry's reason.
    func blocked(_ numbers: [String], campaignID: Int64) async throws -> [String: String]
    /// Every number blocked for `campaignID`, with the reason `blocked` gives; nil when there are more than
    /// `limit` (then look numbers up with `blocked`).
    func blockedNumbers(campaignID: Int64, limit: Int) async throws -> [String: String]?
}

struct SQLDNCRStore: DNCRStore {
    let db: any SQLDatabase

    func add(_ entries: [DNCREntry]) async throws -> Int {
        guard !entries.isEmpty else { return 0 }
        return try await db.transaction { tx in
            var added = 0
            var start = 0
            while start < entries.count {
                let slice = entries[start..<min(start + 400, entries.count)]
                var sql: SQL = "INSERT INTO dncr (number, campaign_id, source, reason, created_by, created_at) VALUES "
                for (i, e) in slice.enumerated() {
                    sql += (i == 0 ? "" : ", ") + "(\(e.number), \(e.campaignID ?? 0), \(e.source), \(e.reason), \(e.createdBy), \(e.createdAt))"
                }
                added += try await tx.query(sql + " ON CONFLICT (number, campaign_id) DO NOTHING RETURNING number").count
                start += 400
            }
            return added
        }
    }

    func remove(number: String, campaignID: Int64?) async throws -> Bool {
        !(try await db.query("DELETE FROM dncr WHERE number = \(number) AND campaign_id = \(campaignID ?? 0) RETURNING number").isEmpty)
    }

    func list(number: String?, limit: Int) async throws -> [DNCREntry] {
        let filter: SQL = number.map { "WHERE number = \($0)" } ?? ""
        return try await db.query("""
            SELECT number, campaign_id, source, reason, created_by, created_at FROM dncr \(filter)
            ORDER BY created_at DESC, number LIMIT \(limit)
            """).map { row in
            let campaign = try row.int("campaign_id")
            return DNCREntry(number: try row.string("number"), campaignID: campaign == 0 ? nil : campaign,
                             source: try row.string("source"), reason: try row.optionalString("reason"),
                             createdBy: try row.optionalInt("created_by"), createdAt: try row.date("created_at"))
        }
    }

    func blocked(_ numbers: [String], campaignID: Int64) async throws -> [String: String] {
        guard !numbers.isEmpty else { return [:] }
        var result: [String: String] = [:]
        let unique = Array(Set(numbers))
        var start = 0
        while start < unique.count {
            let slice = Array(unique[start..<min(start + 400, unique.count)])
            for row in try await db.query("""
                SELECT number, campaign_id, source, reason FROM dncr
                WHERE number IN \(list: slice) AND campaign_id IN (0, \(campaignID))
                """) {
                result[try row.string("number")] = try Self.reason(row)
            }
            start += 400
        }
        return result
    }

    func blockedNumbers(campaignID: Int64, limit: Int) async throws -> [String: String]? {
        let rows = try await db.query("""
            SELECT number, campaign_id, source, reason FROM dncr WHERE campaign_id IN (0, \(campaignID)) LIMIT \(limit + 1)
            """)
        guard rows.count <= limit else { return nil }
        var result: [String: String] = [:]
        for row in rows { result[try row.string("number")] = try Self.reason(row) }
        return result
    }

    /// Why an entry blocks its number, e.g. "opted out (this campaign): BAJA".
    static func reason(_ row: SQLRow) throws -> String {
        let scope = try row.int("campaign_id") == 0 ? "all campaigns" : "this campaign"
        let source = try row.string("source") == "opt_out" ? "opted out" : "on the DNCR"
        return "\(source) (\(scope))" + ((try row.optionalString("reason")).map { ": \($0)" } ?? "")
    }
}
