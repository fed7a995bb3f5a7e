import Foundation
import SMSCore

struct SQLSpoolStore: SpoolStore {
    let db: any SQLDatabase
    /// Where `message.status` webhook events are queued, in the transaction of each state change.
    var outbox: SQLWebhookStore? = nil

    static let columns = """
        id, campaign_id, dialer_id, conversation_id, destination, message, priority, extra, state, attempts, source,
        idempotency_key, provider_id, provider_message_id, port, encoding, segments, error_code, error_text, block_reason,
        possible_duplicate, not_before, next_attempt_at, lease_owner, lease_expires_at, created_at, updated_at, sent_at, delivered_at
        """

    /// Rows per multi-row statement (well under both backends' parameter limits).
    static let chunk = 400

    static func decode(_ row: SQLRow) throws -> SpoolMessage {
        let stateText = try row.string("state")
        guard let state = SpoolState(rawValue: stateText) else {
            throw StoreError.decoding(column: "state", reason: "unknown spool state \(stateText)")
        }
        return SpoolMessage(
            id: try row.int("id"), campaignID: try row.optionalInt("campaign_id") ?? 0, dialerID: try row.optionalInt("dialer_id"),
            conversationID: try row.optionalInt("conversation_id"), destination: try row.string("destination"),
            message: try row.string("message"), priority: Int(try row.int("priority")), extra: try row.optionalString("extra"),
            state: state, attempts: Int(try row.int("attempts")), source: try row.string("source"),
            idempotencyKey: try row.optionalString("idempotency_key"), providerID: try row.optionalInt("provider_id"),
            providerMessageID: try row.optionalString("provider_message_id"), port: try row.optionalInt("port").map(Int.init),
            encoding: try row.optionalString("encoding"), segments: try row.optionalInt("segments").map(Int.init),
            errorCode: try row.optionalString("error_code"), errorText: try row.optionalString("error_text"),
            blockReason: try row.optionalString("block_reason"), possibleDuplicate: try row.bool("possible_duplicate"),
            notBefore: try row.optionalDate("not_before"), nextAttemptAt: try row.optionalDate("next_attempt_at"),
            leaseOwner: try row.optionalString("lease_owner"), leaseExpiresAt: try row.optionalDate("lease_expires_at"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"), sentAt: try row.optionalDate("sent_at"),
            deliveredAt: try row.optionalDate("delivered_at"))
    }

    struct EventRow {
        var id: Int64
        var from: SpoolState?
        var to: SpoolState
        var reason: String?
    }

    static func insertEvents(_ events: [EventRow], at: Date, node: String?, in tx: any SQLExecutor) async throws {
        var start = 0
        while start < events.count {
            let slice = events[start..<min(start + chunk, events.count)]
            var sql: SQL = "INSERT INTO spool_events (spool_id, at, from_state, to_state, reason, node) VALUES "
            for (i, e) in slice.enumerated() {
                sql += (i == 0 ? "" : ", ") + "(\(e.id), \(at), \(e.from?.rawValue), \(e.to.rawValue), \(e.reason), \(node))"
            }
            try await tx.query(sql)
            start += chunk
        }
    }

    static func values(_ m: NewSpoolMessage, at: Date) -> SQL {
        "(\(m.campaignID), \(m.conversationID), \(m.destination), \(m.message), \(m.priority), \(m.extra), \(m.state.rawValue), 0, \(m.source.rawValue), \(m.createdBy), \(m.idempotencyKey), \(m.encoding), \(m.segments), \(m.state == .invalid ? m.reason : nil), \(m.notBefore), \(at), \(at))"
    }

    static let insertColumns: SQL = """
        INSERT INTO spool (campaign_id, conversation_id, destination, message, priority, extra, state, attempts, source,
          created_by, idempotency_key, encoding, segments, error_text, not_before, created_at, updated_at) VALUES
        """

    /// The columns `arguments` gives values for, in order (the same as `insertColumns` + `values`).
    static let insertedColumns = ["campaign_id", "conversation_id", "destination", "message", "priority", "extra", "state",
                                  "attempts", "source", "created_by", "idempotency_key", "encoding", "segments", "error_text",
                                  "not_before", "created_at", "updated_at"]

    static func arguments(_ m: NewSpoolMessage, at: Date) -> [SQLValue] {
        [.integer(m.campaignID), m.conversationID.map(SQLValue.integer) ?? .null, .text(m.destination), .text(m.message),
         .integer(Int64(m.priority)), m.extra.map(SQLValue.text) ?? .null, .text(m.state.rawValue), .integer(0), .text(m.source.rawValue),
         m.createdBy.map(SQLValue.integer) ?? .null, m.idempotencyKey.map(SQLValue.text) ?? .null,
         m.encoding.map(SQLValue.text) ?? .null, m.segments.map { .integer(Int64($0)) } ?? .null,
         m.state == .invalid ? (m.reason.map(SQLValue.text) ?? .null) : .null, m.notBefore?.sqlValue ?? .null,
         at.sqlValue, at.sqlValue]
    }

    static func insert(_ messages: [NewSpoolMessage], at: Date, in tx: any SQLExecutor) async throws -> [Int64] {
        if let bulk = tx as? any SQLBulkExecutor { return try await insertBulk(messages, at: at, in: bulk) }
        var ids: [Int64] = []
        ids.reserveCapacity(messages.count)
        var start = 0
        while start < messages.count {
            let slice = messages[start..<min(start + chunk, messages.count)]
            var sql = insertColumns
            for (i, m) in slice.enumerated() { sql += (i == 0 ? "" : ", ") + values(m, at: at) }
            let rows = try await tx.query(sql + " RETURNING id")
            let inserted = try rows.map { try $0.int("id") }.sorted()
            try await insertEvents(zip(inserted, slice).map { id, m in
                EventRow(id: id, from: nil, to: m.state, reason: m.reason ?? "queued (\(m.source.rawValue))")
            }, at: at, node: nil, in: tx)
            ids += inserted
            start += chunk
        }
        return ids
    }

    /// The bulk path: the messages are loaded in one batch (`SQLBulkExecutor`), then the history rows are
    /// copied from the new spool rows by one statement when every reason is the default one.
    static func insertBulk(_ messages: [NewSpoolMessage], at: Date, in tx: any SQLBulkExecutor) async throws -> [Int64] {
        let ids = try await tx.insertRows(into: "spool", columns: insertedColumns, messages.map { arguments($0, at: at) })
        guard let first = ids.first, let last = ids.last else { return ids }
        if messages.allSatisfy({ $0.state == .invalid || $0.reason == nil }) {
            // SQLite's ids are one range (the transaction holds the only write lock); PostgreSQL's may have gaps
            // that other sessions' rows fill, so there the ids are listed.
            let rows: SQL = tx.dialect == .sqlite ? "id BETWEEN \(first) AND \(last)" : "id IN \(list: ids)"
            try await tx.query("""
                INSERT INTO spool_events (spool_id, at, from_state, to_state, reason, node)
                SELECT id, \(at), NULL, state,
                  CASE WHEN state = 'invalid' THEN error_text ELSE 'queued (' || source || ')' END, NULL
                FROM spool WHERE \(rows) ORDER BY id
                """)
        } else {
            _ = try await tx.insertRows(into: "spool_events", columns: ["spool_id", "at", "to_state", "reason"],
                                        zip(ids, messages).map { id, m in
                [.integer(id), at.sqlValue, .text(m.state.rawValue), .text(m.reason ?? "queued (\(m.source.rawValue))")]
            })
        }
        return ids
    }

    func enqueue(_ messages: [NewSpoolMessage], at: Date) async throws -> [Int64] {
        guard !messages.isEmpty else { return [] }
        return try await db.transaction { tx in try await Self.insert(messages, at: at, in: tx) }
    }

    func enqueueReturning(_ messages: [NewSpoolMessage], at: Date) async throws -> [SpoolMessage] {
        guard !messages.isEmpty else { return [] }
        return try await db.transaction { tx in
            let ids = try await Self.insert(messages, at: at, in: tx)
            var stored: [SpoolMessage] = []
            stored.reserveCapacity(ids.count)
            var start = 0
            while start < ids.count {
                let slice = Array(ids[start..<min(start + Self.chunk, ids.count)])
                let rows = try await tx.query("SELECT \(unsafeRaw: Self.columns) FROM spool WHERE id IN \(list: slice) ORDER BY id")
                stored += try rows.map(Self.decode)
                start += Self.chunk
            }
            let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
            return try ids.map { id in
                guard let message = byID[id] else { throw StoreError.database("spool row \(id) not found after its insert") }
                return message
            }
        }
    }

    func enqueueAll(at: Date, _ body: @Sendable (_ insert: @Sendable ([NewSpoolMessage]) async throws -> Void) async throws -> Void)
        async throws -> Int {
        try await db.transaction { tx in
            let tally = Tally()
            try await body { batch in
                await tally.add(try await Self.insert(batch, at: at, in: tx).count)
            }
            return await tally.total
        }
    }

    actor Tally {
        var total = 0
        func add(_ n: Int) { total += n }
    }

    func enqueueOnce(_ message: NewSpoolMessage, at: Date) async throws -> (SpoolMessage, created: Bool) {
        try await db.transaction { tx in
            if let key = message.idempotencyKey,
               let existing = try await tx.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM spool WHERE idempotency_key = \(key)") {
                return (try Self.decode(existing), false)
            }
            guard let row = try await tx.queryFirst(Self.insertColumns + Self.values(message, at: at) + " RETURNING \(unsafeRaw: Self.columns)") else {
                throw StoreError.database("INSERT INTO spool returned no row")
            }
            let created = try Self.decode(row)
            try await Self.insertEvents([EventRow(id: created.id, from: nil, to: created.state,
                                                  reason: message.reason ?? "queued (\(message.source.rawValue))")],
                                        at: at, node: nil, in: tx)
            return (created, true)
        }
    }

    func claim(campaignIDs: [Int64], scope: SpoolClaimScope, limit: Int, owner: String, leaseUntil: Date, now: Date)
        async throws -> [SpoolMessage] {
        guard !campaignIDs.isEmpty, limit > 0 else { return [] }
        let sources: SQL = switch scope {
        case .all: ""
        case .bulk: " AND source NOT IN \(list: SpoolClaimScope.conversationSources)"
        case .conversations: " AND source IN \(list: SpoolClaimScope.conversationSources)"
        }
        return try await db.transaction { tx in
            // PostgreSQL: SKIP LOCKED lets several nodes claim disjoint batches at once. SQLite: the
            // transaction holds the database's single write lock, so the statement is atomic as it is.
            let lock: SQL = tx.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            // Never stamp the claim earlier than the row's last change: another node's lease recovery may have
            // committed after the caller read its clock, and a history must stay in time order.
            let latest: SQL = tx.dialect == .postgres ? "GREATEST" : "MAX"
            let rows = try await tx.query("""
                UPDATE spool SET state = 'sending', lease_owner = \(owner), lease_expires_at = \(leaseUntil),
                  attempts = attempts + 1, updated_at = \(latest)(updated_at, \(now))
                WHERE id IN (
                  SELECT id FROM spool
                  WHERE campaign_id IN \(list: campaignIDs) AND state = 'to_process'\(sources)
                    AND (next_attempt_at IS NULL OR next_attempt_at <= \(now))
                    AND (not_before IS NULL OR not_before <= \(now))
                  ORDER BY priority DESC, id LIMIT \(limit)\(lock))
                RETURNING \(unsafeRaw: Self.columns)
                """)
            let claimed = try rows.map(Self.decode).sorted { ($0.priority, -$0.id) > ($1.priority, -$1.id) }
            let at = claimed.map(\.updatedAt).max().map { max($0, now) } ?? now
            try await Self.insertEvents(claimed.map { EventRow(id: $0.id, from: .toProcess, to: .sending, reason: "claimed (attempt \($0.attempts))") },
                                        at: at, node: owner, in: tx)
            return claimed
        }
    }

    func record(_ outcomes: [SpoolOutcome], owner: String, at: Date) async throws -> Int {
        guard !outcomes.isEmpty else { return 0 }
        return try await db.transaction { tx in
            var events: [EventRow] = []
            var sentByProvider: [Int64: [String: Int64]] = [:]
            let fence: SQL = "AND state = 'sending' AND lease_owner = \(owner) RETURNING id"
            var statements: [SQL] = []
            var planned: [(id: Int64, to: SpoolState, reason: String)] = []
            statements.reserveCapacity(outcomes.count)
            // PostgreSQL answers one statement per round trip: the sends (nearly every outcome) go as one
            // UPDATE … FROM (VALUES …); the rest one statement each.
            let sends = tx.dialect == .postgres ? outcomes.filter { if case .sent = $0 { true } else { false } } : []
            var batchedSends: [(id: Int64, reason: String)] = []
            for outcome in outcomes {
                let sql: SQL
                let to: SpoolState
                let reason: String
                switch outcome {
                case .sent(let id, _, let providerID, let providerMessageID, _) where sends.count > 1:
                    batchedSends.append((id, Self.sentReason(providerID, providerMessageID)))
                    if let providerMessageID { sentByProvider[providerID, default: [:]][providerMessageID] = id }
                    continue
                case .sent(let id, let dialerID, let providerID, let providerMessageID, let port):
                    sql = """
                        UPDATE spool SET state = 'sent', dialer_id = \(dialerID), provider_id = \(providerID),
                          provider_message_id = \(providerMessageID), port = \(port), sent_at = \(at), updated_at = \(at),
                          lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, error_code = NULL, error_text = NULL
                        WHERE id = \(id)
                        """
                    to = .sent
                    reason = Self.sentReason(providerID, providerMessageID)
                    if let providerMessageID { sentByProvider[providerID, default: [:]][providerMessageID] = id }
                case .retry(let id, let when, let code, let text, let countsAsAttempt):
                    sql = """
                        UPDATE spool SET state = 'to_process', next_attempt_at = \(when), error_code = \(code), error_text = \(text),
                          attempts = attempts - \(countsAsAttempt ? 0 : 1), updated_at = \(at), lease_owner = NULL, lease_expires_at = NULL
                        WHERE id = \(id)
                        """
                    to = .toProcess
                    reason = "\(countsAsAttempt ? "retry" : "deferred") at \(ISO8601DateFormatter().string(from: when)): " + (code.map { "\($0) " } ?? "") + text
                case .failed(let id, let providerID, let code, let text):
                    sql = """
                        UPDATE spool SET state = 'failed', provider_id = COALESCE(\(providerID), provider_id), error_code = \(code),
                          error_text = \(text), updated_at = \(at), lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL
                        WHERE id = \(id)
                        """
                    to = .failed
                    reason = (code.map { "\($0) " } ?? "") + text
                case .blocked(let id, let why):
                    sql = """
                        UPDATE spool SET state = 'blocked', block_reason = \(why), updated_at = \(at), lease_owner = NULL,
                          lease_expires_at = NULL
                        WHERE id = \(id)
                        """
                    to = .blocked
                    reason = why
                case .invalid(let id, let why):
                    sql = """
                        UPDATE spool SET state = 'invalid', error_text = \(why), updated_at = \(at), lease_owner = NULL,
                          lease_expires_at = NULL
                        WHERE id = \(id)
                        """
                    to = .invalid
                    reason = why
                }
                statements.append(sql + " " + fence)
                planned.append((outcome.id, to, reason))
            }
            if !batchedSends.isEmpty {
                var values: SQL = ""
                for (i, outcome) in sends.enumerated() {
                    guard case .sent(let id, let dialerID, let providerID, let providerMessageID, let port) = outcome else { continue }
                    values += (i == 0 ? "" : ", ") + """
                        (CAST(\(id) AS BIGINT), CAST(\(dialerID) AS BIGINT), CAST(\(providerID) AS BIGINT), \
                        CAST(\(providerMessageID) AS TEXT), CAST(\(port.map(Int64.init)) AS BIGINT))
                        """
                }
                let updated = Set(try await tx.query("""
                    UPDATE spool SET state = 'sent', dialer_id = v.dialer_id, provider_id = v.provider_id,
                      provider_message_id = v.provider_message_id, port = v.port, sent_at = \(at), updated_at = \(at),
                      lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = NULL, error_code = NULL, error_text = NULL
                    FROM (VALUES \(values)) AS v (id, dialer_id, provider_id, provider_message_id, port)
                    WHERE spool.id = v.id AND spool.state = 'sending' AND spool.lease_owner = \(owner)
                    RETURNING spool.id
                    """).map { try $0.int("id") })
                for send in batchedSends where updated.contains(send.id) {
                    events.append(EventRow(id: send.id, from: .sending, to: .sent, reason: send.reason))
                }
            }
            // One round trip for the whole batch where the backend allows it.
            for (result, plan) in zip(try await tx.queryAll(statements), planned) where !result.isEmpty {
                events.append(EventRow(id: plan.id, from: .sending, to: plan.to, reason: plan.reason))
            }
            try await Self.insertEvents(events, at: at, node: owner, in: tx)
            try await Self.publishStatus(events, at: at, outbox: outbox, in: tx)
            // Delivery reports that arrived before the provider's answer was recorded.
            for (providerID, byMessageID) in sentByProvider {
                let early = try await tx.query("""
                    SELECT provider_message_id, outcome, code, detail FROM delivery_reports
                    WHERE provider_id = \(providerID) AND provider_message_id IN \(list: Array(byMessageID.keys)) AND outcome <> 'pending'
                    ORDER BY id
                    """)
                for report in early {
                    let messageID = try report.string("provider_message_id")
                    _ = try await Self.applyReport(tx, providerID: providerID, providerMessageID: messageID,
                                               delivered: try report.string("outcome") == "delivered",
                                               code: try report.optionalString("code"), text: try report.optionalString("detail"), at: at,
                                               outbox: outbox)
                }
            }
            return events.count
        }
    }

    /// The history's reason for a send the provider accepted.
    static func sentReason(_ providerID: Int64, _ providerMessageID: String?) -> String {
        "accepted by provider \(providerID)" + (providerMessageID.map { " as \($0)" } ?? "")
    }

    func recoverExpiredLeases(now: Date, node: String?) async throws -> Int {
        try await db.transaction { tx in
            let ids = try await tx.query("""
                UPDATE spool SET state = 'to_process', possible_duplicate = \(true), lease_owner = NULL, lease_expires_at = NULL,
                  updated_at = \(now)
                WHERE state = 'sending' AND lease_expires_at < \(now)
                RETURNING id
                """).map { try $0.int("id") }
            try await Self.insertEvents(ids.map {
                EventRow(id: $0, from: .sending, to: .toProcess,
                         reason: "lease expired while sending (node stopped): queued again, possible duplicate")
            }, at: now, node: node, in: tx)
            return ids.count
        }
    }

    static func applyReport(_ tx: any SQLExecutor, providerID: Int64, providerMessageID: String, delivered: Bool,
                            code: String?, text: String?, at: Date, outbox: SQLWebhookStore? = nil) async throws -> Bool {
        let to: SpoolState = delivered ? .delivered : .failed
        let rows = try await tx.query("""
            UPDATE spool SET state = \(to.rawValue), delivered_at = \(delivered ? at : nil),
              error_code = \(delivered ? nil : code), error_text = \(delivered ? nil : text), updated_at = \(at)
            WHERE provider_id = \(providerID) AND provider_message_id = \(providerMessageID) AND state = 'sent'
            RETURNING id
            """)
        let ids = try rows.map { try $0.int("id") }
        let reason = delivered ? "delivery report: delivered" : "delivery report: " + [code, text].compactMap { $0 }.joined(separator: " ")
        let changes = ids.map { EventRow(id: $0, from: .sent, to: to, reason: reason) }
        try await insertEvents(changes, at: at, node: nil, in: tx)
        try await publishStatus(changes, at: at, outbox: outbox, in: tx)
        if let id = ids.first {
            try await tx.query("""
                UPDATE delivery_reports SET spool_id = \(id)
                WHERE provider_id = \(providerID) AND provider_message_id = \(providerMessageID) AND spool_id IS NULL
                """)
        }
        return !ids.isEmpty
    }

    func applyDeliveryReport(providerID: Int64, providerMessageID: String, delivered: Bool, code: String?, text: String?,
                             at: Date) async throws -> Bool {
        try await db.transaction { tx in
            try await Self.applyReport(tx, providerID: providerID, providerMessageID: providerMessageID, delivered: delivered,
                                       code: code, text: text, at: at, outbox: outbox)
        }
    }

    func message(id: Int64) async throws -> SpoolMessage? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM spool WHERE id = \(id)").map(Self.decode)
    }

    func message(providerID: Int64, providerMessageID: String) async throws -> SpoolMessage? {
        try await db.queryFirst("""
            SELECT \(unsafeRaw: Self.columns) FROM spool WHERE provider_id = \(providerID) AND provider_message_id = \(providerMessageID)
            ORDER BY id DESC LIMIT 1
            """).map(Self.decode)
    }

    func history(id: Int64) async throws -> [SpoolEvent] {
        try await db.query("""
            SELECT at, from_state, to_state, reason, node FROM spool_events WHERE spool_id = \(id) ORDER BY id
            """).map { row in
            SpoolEvent(at: try row.date("at"), from: try row.optionalString("from_state").flatMap(SpoolState.init(rawValue:)),
                       to: SpoolState(rawValue: try row.string("to_state")) ?? .failed, reason: try row.optionalString("reason"),
                       node: try row.optionalString("node"))
        }
    }

    func counts(campaignID: Int64) async throws -> SpoolCounts {
        var counts = SpoolCounts()
        for row in try await db.query("SELECT state, COUNT(*) AS n FROM spool WHERE campaign_id = \(campaignID) GROUP BY state") {
            if let state = SpoolState(rawValue: try row.string("state")) { counts.byState[state] = Int(try row.int("n")) }
        }
        counts.possibleDuplicates = Int(try await db.queryFirst("""
            SELECT COUNT(*) AS n FROM spool WHERE campaign_id = \(campaignID) AND possible_duplicate = \(true)
            """)?.int("n") ?? 0)
        return counts
    }

    func list(_ filter: SpoolFilter, limit: Int, beforeID: Int64?) async throws -> [SpoolMessage] {
        var conditions: SQL = "id < \(beforeID ?? Int64.max)"
        if let campaign = filter.campaignID { conditions += " AND campaign_id = \(campaign)" }
        if !filter.states.isEmpty { conditions += " AND state IN \(list: filter.states.map(\.rawValue))" }
        if let number = filter.number, !number.isEmpty {
            let escaped = number.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            conditions += " AND destination LIKE \("%" + escaped + "%") ESCAPE '\\'"
        }
        if let from = filter.createdFrom { conditions += " AND created_at >= \(from)" }
        if let before = filter.createdBefore { conditions += " AND created_at < \(before)" }
        return try await db.query("""
            SELECT \(unsafeRaw: Self.columns) FROM spool WHERE \(conditions) ORDER BY id DESC LIMIT \(limit)
            """).map(Self.decode)
    }

    func awaitingReports(providerID: Int64, since: Date, limit: Int) async throws -> [String] {
        try await db.query("""
            SELECT provider_message_id FROM spool
            WHERE provider_id = \(providerID) AND state = 'sent' AND provider_message_id IS NOT NULL AND sent_at >= \(since)
            ORDER BY sent_at LIMIT \(limit)
            """).map { try $0.string("provider_message_id") }
    }

    func cancelUnprocessed(campaignID: Int64, reason: String, at: Date) async throws -> Int {
        try await db.transaction { tx in
            let rows = try await tx.query("""
                UPDATE spool SET state = 'cancelled', updated_at = \(at)
                WHERE campaign_id = \(campaignID) AND state IN ('none', 'to_process')
                RETURNING id
                """)
            let ids = try rows.map { try $0.int("id") }
            let changes = ids.map { EventRow(id: $0, from: nil, to: .cancelled, reason: reason) }
            try await Self.insertEvents(changes, at: at, node: nil, in: tx)
            try await Self.publishStatus(changes, at: at, outbox: outbox, in: tx)
            return ids.count
        }
    }
}
