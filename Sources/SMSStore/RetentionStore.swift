import Crypto
import Foundation

/// What happens to messages older than the retention period.
public enum RetentionMode: String, Codable, Sendable, CaseIterable {
    /// Nothing is ever removed (the default).
    case keep
    /// Old messages, their history and finished conversations are deleted.
    case delete
    /// Old texts are emptied and phone numbers replaced by a keyed hash, so counts per number still add up.
    case anonymise
}

/// The retention setting, stored as JSON in `settings` under `retention.policy`.
public struct RetentionPolicy: Codable, Sendable, Equatable {
    public var mode: RetentionMode
    /// Age in days after which `mode` applies; nil with `keep`.
    public var days: Int?

    public init(mode: RetentionMode, days: Int? = nil) {
        self.mode = mode
        self.days = days
    }

    public static let keepEverything = RetentionPolicy(mode: .keep)
    /// The longest retention period accepted (about 100 years).
    public static let maximumDays = 36_500

    /// The first problem of the policy as (field, message), or nil when it can be stored.
    public var problem: (field: String, message: String)? {
        switch mode {
        case .keep:
            return days == nil ? nil : ("days", "days must be left out when mode is keep")
        case .delete, .anonymise:
            guard let days else { return ("days", "days is required when mode is \(mode.rawValue)") }
            guard (1...Self.maximumDays).contains(days) else { return ("days", "days must be 1 to \(Self.maximumDays)") }
            return nil
        }
    }

    /// Rows older than this are removed or anonymised; nil when everything is kept.
    public func cutoff(now: Date) -> Date? {
        guard mode != .keep, let days else { return nil }
        return now.addingTimeInterval(-Double(days) * 86_400)
    }
}

/// A retention policy that cannot be stored or applied, naming the field at fault.
public struct RetentionPolicyError: Error, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { message }
}

/// What one retention run changed (or, dry, would change), per table.
public struct RetentionReport: Codable, Sendable, Equatable {
    public var mode: RetentionMode
    public var days: Int?
    public var cutoff: Date?
    public var at: Date
    public var dryRun: Bool
    /// Outgoing messages (the spool) deleted or anonymised.
    public var spool: Int = 0
    /// State history rows deleted with their spool messages.
    public var spoolEvents: Int = 0
    /// Finished conversations deleted or anonymised.
    public var conversations: Int = 0
    /// Conversation messages (inbound and outbound, routed or not) deleted or anonymised.
    public var messages: Int = 0
    /// Provider delivery reports deleted, or their free-text detail cleared.
    public var deliveryReports: Int = 0
    /// Finished outgoing-webhook deliveries deleted with their attempts (their payloads hold texts and numbers),
    /// in either mode: the delivery log is for operating the integration, not a record of the messages.
    public var webhookDeliveries: Int = 0

    public init(mode: RetentionMode, days: Int?, cutoff: Date?, at: Date, dryRun: Bool) {
        self.mode = mode
        self.days = days
        self.cutoff = cutoff
        self.at = at
        self.dryRun = dryRun
    }

    /// `spool=3 spool_events=9 …`, for logs, the audit log and the CLI.
    public var countsSummary: String {
        "spool=\(spool) spool_events=\(spoolEvents) conversations=\(conversations) messages=\(messages) delivery_reports=\(deliveryReports) webhook_deliveries=\(webhookDeliveries)"
    }
}

/// Replaces a phone number by a stable keyed hash (HMAC-SHA256): equal numbers give equal pseudonyms, so counts
/// and statistics per number still work, and without the key the number cannot be recovered by trying numbers.
public struct NumberPseudonym: Sendable {
    /// Every pseudonym starts with this; a stored number with it was already anonymised.
    public static let prefix = "anon:"
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    /// `anon:` and the first 128 bits of HMAC-SHA256(key, number) in hex. A pseudonym maps to itself.
    public func pseudonym(_ number: String) -> String {
        if number.hasPrefix(Self.prefix) { return number }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(number.utf8), using: key)
        return Self.prefix + mac.prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

/// Applies the retention policy to stored messages. The do-not-contact register (and its opt-out history) is never
/// touched; messages still waiting or being sent, and conversations still open, are kept whatever their age.
public protocol RetentionStore: Sendable {
    /// The stored policy; `keepEverything` when none was set.
    func policy() async throws -> RetentionPolicy
    func setPolicy(_ policy: RetentionPolicy) async throws
    /// Deletes or anonymises, in transactions of at most `batchSize` rows, what is older than the policy's cutoff
    /// at `now`; with `dryRun` only counts it.
    func apply(_ policy: RetentionPolicy, now: Date, pseudonym: NumberPseudonym, batchSize: Int, dryRun: Bool) async throws
        -> RetentionReport
    /// Claims the daily run of `day` (`YYYY-MM-DD`): true for exactly one caller per day across every node.
    func claimDailyRun(day: String) async throws -> Bool
    /// The report of the last run (not dry), kept for the settings page.
    func lastReport() async throws -> RetentionReport?
    func recordReport(_ report: RetentionReport) async throws
}

struct SQLRetentionStore: RetentionStore {
    let db: any SQLDatabase

    static let policyName = "retention.policy"
    static let lastRunName = "retention.last_run_day"
    static let lastReportName = "retention.last_report"
    /// Spool states a message never leaves by itself: only these are old enough to forget.
    static let finishedStates = ["sent", "delivered", "failed", "blocked", "invalid", "cancelled", "expired"]

    func policy() async throws -> RetentionPolicy {
        guard let text = try await db.queryFirst("SELECT value FROM settings WHERE name = \(Self.policyName)")?.string("value") else {
            return .keepEverything
        }
        do {
            return try JSONDecoder().decode(RetentionPolicy.self, from: Data(text.utf8))
        } catch {
            throw StoreError.decoding(column: "settings.\(Self.policyName)", reason: "\(error)")
        }
    }

    func setPolicy(_ policy: RetentionPolicy) async throws {
        if let problem = policy.problem { throw RetentionPolicyError(field: problem.field, message: problem.message) }
        try await upsert(Self.policyName, String(decoding: try JSONEncoder().encode(policy), as: UTF8.self))
    }

    func lastReport() async throws -> RetentionReport? {
        guard let text = try await db.queryFirst("SELECT value FROM settings WHERE name = \(Self.lastReportName)")?.string("value") else {
            return nil
        }
        return try? Self.decoder.decode(RetentionReport.self, from: Data(text.utf8))
    }

    func recordReport(_ report: RetentionReport) async throws {
        try await upsert(Self.lastReportName, String(decoding: try Self.encoder.encode(report), as: UTF8.self))
    }

    func claimDailyRun(day: String) async throws -> Bool {
        // One atomic upsert: the row moves forward to `day` for one caller only; the others see no row returned.
        let rows = try await db.query("""
            INSERT INTO settings (name, value) VALUES (\(Self.lastRunName), \(day))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE settings.value < excluded.value
            RETURNING value
            """)
        return !rows.isEmpty
    }

    private func upsert(_ name: String, _ value: String) async throws {
        try await db.query("""
            INSERT INTO settings (name, value) VALUES (\(name), \(value))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """)
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }

    // MARK: applying

    func apply(_ policy: RetentionPolicy, now: Date, pseudonym: NumberPseudonym, batchSize: Int, dryRun: Bool) async throws
        -> RetentionReport {
        if let problem = policy.problem { throw RetentionPolicyError(field: problem.field, message: problem.message) }
        var report = RetentionReport(mode: policy.mode, days: policy.days, cutoff: policy.cutoff(now: now), at: now, dryRun: dryRun)
        guard let cutoff = report.cutoff else { return report }
        let batch = max(1, batchSize)
        let anonymise = policy.mode == .anonymise
        if dryRun {
            try await count(into: &report, cutoff: cutoff, anonymise: anonymise)
            return report
        }
        try await spool(into: &report, cutoff: cutoff, anonymise: anonymise, pseudonym: pseudonym, batch: batch)
        try await conversations(into: &report, cutoff: cutoff, anonymise: anonymise, pseudonym: pseudonym, batch: batch)
        try await unroutedMessages(into: &report, cutoff: cutoff, anonymise: anonymise, pseudonym: pseudonym, batch: batch)
        try await deliveryReports(into: &report, cutoff: cutoff, anonymise: anonymise, batch: batch)
        try await webhookDeliveries(into: &report, cutoff: cutoff, batch: batch)
        return report
    }

    /// The rows each step would touch, as shared conditions (`anonymise` skips rows already anonymised).
    static func spoolCondition(_ cutoff: Date, anonymise: Bool) -> SQL {
        // Replies in a conversation still open stay as they are, like the conversation's own messages.
        "created_at < \(cutoff) AND state IN \(list: finishedStates)"
            + " AND (conversation_id IS NULL OR conversation_id NOT IN (SELECT id FROM conversations WHERE closed_at IS NULL))"
            + (anonymise ? " AND destination NOT LIKE \(NumberPseudonym.prefix + "%")" : "")
    }

    static func conversationCondition(_ cutoff: Date, anonymise: Bool) -> SQL {
        "closed_at IS NOT NULL AND closed_at < \(cutoff) AND last_activity_at < \(cutoff)"
            + (anonymise ? " AND client_number NOT LIKE \(NumberPseudonym.prefix + "%")" : "")
    }

    static func unroutedCondition(_ cutoff: Date, anonymise: Bool) -> SQL {
        "conversation_id IS NULL AND created_at < \(cutoff)"
            + (anonymise ? " AND client_number NOT LIKE \(NumberPseudonym.prefix + "%")" : "")
    }

    static func reportCondition(_ cutoff: Date, anonymise: Bool) -> SQL {
        "received_at < \(cutoff)" + (anonymise ? " AND detail IS NOT NULL" : "")
    }

    static func webhookDeliveryCondition(_ cutoff: Date) -> SQL {
        "created_at < \(cutoff) AND state IN ('delivered', 'failed')"
    }

    private func count(into report: inout RetentionReport, cutoff: Date, anonymise: Bool) async throws {
        func count(_ sql: SQL) async throws -> Int { Int(try await db.queryFirst(sql)?.int("n") ?? 0) }
        let spool = Self.spoolCondition(cutoff, anonymise: anonymise)
        let conversations = Self.conversationCondition(cutoff, anonymise: anonymise)
        report.spool = try await count("SELECT COUNT(*) AS n FROM spool WHERE " + spool)
        report.spoolEvents = anonymise ? 0 : try await count(
            "SELECT COUNT(*) AS n FROM spool_events WHERE spool_id IN (SELECT id FROM spool WHERE " + spool + ")")
        report.conversations = try await count("SELECT COUNT(*) AS n FROM conversations WHERE " + conversations)
        report.messages = try await count(
            "SELECT COUNT(*) AS n FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE " + conversations + ")")
            + count("SELECT COUNT(*) AS n FROM messages WHERE " + Self.unroutedCondition(cutoff, anonymise: anonymise))
        report.deliveryReports = try await count(
            "SELECT COUNT(*) AS n FROM delivery_reports WHERE " + Self.reportCondition(cutoff, anonymise: anonymise))
        report.webhookDeliveries = try await count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE " + Self.webhookDeliveryCondition(cutoff))
    }

    /// `CASE column WHEN number THEN pseudonym … ELSE column END` for the distinct numbers of a batch.
    static func pseudonyms(_ column: String, _ numbers: some Sequence<String>, _ pseudonym: NumberPseudonym) -> SQL {
        var sql: SQL = "CASE \(unsafeRaw: column)"
        for number in Set(numbers).sorted() { sql += " WHEN \(number) THEN \(pseudonym.pseudonym(number))" }
        sql += " ELSE \(unsafeRaw: column) END"
        return sql
    }

    /// Runs `step` on successive batches of ids (keyset by id, one transaction each) until a batch comes back short.
    private func batches(_ select: @escaping @Sendable (_ after: Int64) -> SQL, batch: Int,
                         _ step: @escaping @Sendable (any SQLExecutor, [SQLRow]) async throws -> (Int, Int)) async throws -> (Int, Int) {
        var after: Int64 = 0
        var totals = (0, 0)
        while true {
            let from = after
            let (counts, last, full) = try await db.transaction { tx -> ((Int, Int), Int64?, Bool) in
                let rows = try await tx.query(select(from) + " ORDER BY id LIMIT \(batch)")
                guard let last = rows.last else { return ((0, 0), nil, false) }
                return (try await step(tx, rows), try last.int("id"), rows.count == batch)
            }
            totals.0 += counts.0
            totals.1 += counts.1
            guard let last, full else { return totals }
            after = last
            // Between batches the writer is free: other writes go first, so none waits behind a long run.
            await Task.yield()
        }
    }

    private func spool(into report: inout RetentionReport, cutoff: Date, anonymise: Bool, pseudonym: NumberPseudonym,
                       batch: Int) async throws {
        let condition = Self.spoolCondition(cutoff, anonymise: anonymise)
        let (spool, events) = try await batches({ "SELECT id, destination FROM spool WHERE id > \($0) AND " + condition }, batch: batch) { tx, rows in
            let ids = try rows.map { try $0.int("id") }
            if anonymise {
                let numbers = try rows.map { try $0.string("destination") }
                let changed = try await tx.query("""
                    UPDATE spool SET destination = \(Self.pseudonyms("destination", numbers, pseudonym)), message = '', extra = NULL
                    WHERE id IN \(list: ids) RETURNING id
                    """)
                return (changed.count, 0)
            }
            let events = try await tx.query("DELETE FROM spool_events WHERE spool_id IN \(list: ids) RETURNING id")
            let deleted = try await tx.query("DELETE FROM spool WHERE id IN \(list: ids) RETURNING id")
            return (deleted.count, events.count)
        }
        report.spool = spool
        report.spoolEvents = events
    }

    private func conversations(into report: inout RetentionReport, cutoff: Date, anonymise: Bool, pseudonym: NumberPseudonym,
                               batch: Int) async throws {
        let condition = Self.conversationCondition(cutoff, anonymise: anonymise)
        let (conversations, messages) = try await batches({ "SELECT id, client_number FROM conversations WHERE id > \($0) AND " + condition },
                                                          batch: batch) { tx, rows in
            let ids = try rows.map { try $0.int("id") }
            if anonymise {
                let numbers = try await tx.query("""
                    SELECT DISTINCT client_number FROM messages WHERE conversation_id IN \(list: ids)
                    """).map { try $0.string("client_number") }
                let messages = try await tx.query("""
                    UPDATE messages SET body = '', client_number = \(Self.pseudonyms("client_number", numbers, pseudonym))
                    WHERE conversation_id IN \(list: ids) RETURNING id
                    """)
                let conversations = try await tx.query("""
                    UPDATE conversations
                    SET client_number = \(Self.pseudonyms("client_number", try rows.map { try $0.string("client_number") }, pseudonym))
                    WHERE id IN \(list: ids) RETURNING id
                    """)
                return (conversations.count, messages.count)
            }
            let messages = try await tx.query("DELETE FROM messages WHERE conversation_id IN \(list: ids) RETURNING id")
            try await tx.query("DELETE FROM conversation_offers WHERE conversation_id IN \(list: ids)")
            let conversations = try await tx.query("DELETE FROM conversations WHERE id IN \(list: ids) RETURNING id")
            return (conversations.count, messages.count)
        }
        report.conversations = conversations
        report.messages += messages
    }

    private func unroutedMessages(into report: inout RetentionReport, cutoff: Date, anonymise: Bool, pseudonym: NumberPseudonym,
                                  batch: Int) async throws {
        let condition = Self.unroutedCondition(cutoff, anonymise: anonymise)
        let (messages, _) = try await batches({ "SELECT id, client_number FROM messages WHERE id > \($0) AND " + condition },
                                              batch: batch) { tx, rows in
            let ids = try rows.map { try $0.int("id") }
            if anonymise {
                let numbers = try rows.map { try $0.string("client_number") }
                let changed = try await tx.query("""
                    UPDATE messages SET body = '', client_number = \(Self.pseudonyms("client_number", numbers, pseudonym))
                    WHERE id IN \(list: ids) RETURNING id
                    """)
                return (changed.count, 0)
            }
            return (try await tx.query("DELETE FROM messages WHERE id IN \(list: ids) RETURNING id").count, 0)
        }
        report.messages += messages
    }

    private func deliveryReports(into report: inout RetentionReport, cutoff: Date, anonymise: Bool, batch: Int) async throws {
        let condition = Self.reportCondition(cutoff, anonymise: anonymise)
        let (reports, _) = try await batches({ "SELECT id FROM delivery_reports WHERE id > \($0) AND " + condition }, batch: batch) { tx, rows in
            let ids = try rows.map { try $0.int("id") }
            let changed = anonymise
                ? try await tx.query("UPDATE delivery_reports SET detail = NULL WHERE id IN \(list: ids) RETURNING id")
                : try await tx.query("DELETE FROM delivery_reports WHERE id IN \(list: ids) RETURNING id")
            return (changed.count, 0)
        }
        report.deliveryReports = reports
    }

    private func webhookDeliveries(into report: inout RetentionReport, cutoff: Date, batch: Int) async throws {
        let condition = Self.webhookDeliveryCondition(cutoff)
        let (deleted, _) = try await batches({ "SELECT id FROM webhook_deliveries WHERE id > \($0) AND " + condition }, batch: batch) { tx, rows in
            let ids = try rows.map { try $0.int("id") }
            try await tx.query("DELETE FROM webhook_attempts WHERE delivery_id IN \(list: ids)")
            return (try await tx.query("DELETE FROM webhook_deliveries WHERE id IN \(list: ids) RETURNING id").count, 0)
        }
        report.webhookDeliveries = deleted
    }
}
