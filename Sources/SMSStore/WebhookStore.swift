import Foundation

/// An outgoing webhook: a URL an admin registered for some events. The secret that signs each
/// request is stored encrypted (`SecretBox`) and never leaves the server after it is created.
public struct WebhookRecord: Sendable, Equatable {
    public var id: Int64
    public var url: String
    public var events: [WebhookEventName]
    public var enabled: Bool
    public var secretCiphertext: [UInt8]
    public var createdAt: Date
    public var updatedAt: Date
}

public enum WebhookDeliveryState: String, Sendable, CaseIterable, Codable {
    /// Waiting for its first attempt or for a retry (or being attempted, under a lease).
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// No 2xx within 24 hours of the event.
    case failed
}

/// One event for one webhook: the outbox row the delivery worker sends, and its log.
public struct WebhookDelivery: Sendable, Equatable {
    public var id: Int64
    public var webhookID: Int64
    public var event: String
    /// The exact JSON body sent (and signed).
    public var payload: String
    public var state: WebhookDeliveryState
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    public var lastStatus: Int?
    /// The first 2 KB of the last answer's body.
    public var lastResponse: String?
    /// The last transport error (refused, timeout), when there was no answer.
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
    /// A failed attempt after this instant is final.
    public var expiresAt: Date

    /// How long after its event (or its replay) a delivery is retried.
    public static let lifetime: TimeInterval = 24 * 3600
}

/// One attempt to deliver, as logged.
public struct WebhookAttempt: Sendable, Equatable {
    public var deliveryID: Int64
    public var at: Date
    public var status: Int?
    public var response: String?
    public var error: String?
    public var durationMilliseconds: Int
    public var node: String?

    public init(deliveryID: Int64, at: Date, status: Int?, response: String?, error: String?, durationMilliseconds: Int,
                node: String?) {
        self.deliveryID = deliveryID
        self.at = at
        self.status = status
        self.response = response
        self.error = error
        self.durationMilliseconds = durationMilliseconds
        self.node = node
    }
}

/// What an attempt decided for its delivery.
public enum WebhookAttemptOutcome: Sendable, Equatable {
    case delivered
    case retry(at: Date)
    case failed
}

/// Outgoing webhooks: the subscriptions, the outbox of deliveries and their attempt log.
public protocol WebhookStore: Sendable {
    func create(url: String, events: [WebhookEventName], enabled: Bool, secretCiphertext: [UInt8], at: Date) async throws -> WebhookRecord
    /// Every webhook, oldest first.
    func list() async throws -> [WebhookRecord]
    func webhook(id: Int64) async throws -> WebhookRecord?
    /// Changes URL, events and enabled; `StoreError.notFound` if there is none.
    func update(id: Int64, url: String, events: [WebhookEventName], enabled: Bool, at: Date) async throws -> WebhookRecord
    func rotateSecret(id: Int64, secretCiphertext: [UInt8], at: Date) async throws
    /// Removes the webhook with its deliveries and their log.
    func delete(id: Int64) async throws

    /// Queues each event for every enabled webhook subscribed to it (one outbox row per webhook and
    /// event), due at once; returns how many rows it wrote. The subscriptions are cached briefly, so
    /// with none this costs no query.
    @discardableResult
    func enqueue(_ events: [WebhookEvent], at: Date) async throws -> Int
    /// The same inside a caller's transaction: the rows commit (or not) with the state change.
    @discardableResult
    func enqueue(_ events: [WebhookEvent], at: Date, in tx: any SQLExecutor) async throws -> Int
    /// Queues `event` for one webhook only, whatever it subscribes to (the admin's test event).
    func enqueue(_ event: WebhookEvent, webhookID: Int64, at: Date) async throws -> WebhookDelivery

    /// Leases up to `limit` deliveries that are due, at most one per webhook and only each enabled
    /// webhook's oldest pending one (a webhook's later deliveries wait behind it). Safe with several
    /// processes on one PostgreSQL (`FOR UPDATE SKIP LOCKED`).
    func claimDue(limit: Int, owner: String, leaseUntil: Date, now: Date) async throws -> [WebhookDelivery]
    /// Logs an attempt of a delivery leased by `owner` and applies its outcome; false when the lease
    /// was lost meanwhile (nothing is written).
    @discardableResult
    func recordAttempt(_ attempt: WebhookAttempt, outcome: WebhookAttemptOutcome, owner: String) async throws -> Bool
    /// Queues a delivery of `webhookID` again, due now and retried for another 24 h.
    func replay(deliveryID: Int64, webhookID: Int64, at: Date) async throws -> WebhookDelivery
    /// A webhook's deliveries, newest first; `beforeID` pages.
    func deliveries(webhookID: Int64, state: WebhookDeliveryState?, limit: Int, beforeID: Int64?) async throws -> [WebhookDelivery]
    func delivery(id: Int64) async throws -> WebhookDelivery?
    /// The attempts of these deliveries, oldest first.
    func attempts(deliveryIDs: [Int64]) async throws -> [WebhookAttempt]
}

struct SQLWebhookStore: WebhookStore {
    let db: any SQLDatabase
    let subscriptions = WebhookSubscriptions()

    static let columns = "id, url, events, enabled, secret_ciphertext, created_at, updated_at"
    static let deliveryColumns = """
        id, webhook_id, event, payload, state, attempts, next_attempt_at, last_attempt_at, last_status, last_response, last_error,
        created_at, delivered_at, expires_at
        """
    static let chunk = 300

    static func decode(_ row: SQLRow) throws -> WebhookRecord {
        let secret: [UInt8]
        switch try row.value("secret_ciphertext") {
        case .blob(let bytes): secret = bytes
        case let other: throw StoreError.decoding(column: "secret_ciphertext", reason: "expected bytes, found \(other)")
        }
        return WebhookRecord(
            id: try row.int("id"), url: try row.string("url"), events: decodeEvents(try row.string("events")),
            enabled: try row.bool("enabled"), secretCiphertext: secret, createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"))
    }

    /// Events are stored as a comma-separated list of names.
    static func decodeEvents(_ text: String) -> [WebhookEventName] {
        text.split(separator: ",").compactMap { WebhookEventName(rawValue: String($0)) }
    }

    static func encodeEvents(_ events: [WebhookEventName]) -> String {
        WebhookEventName.allCases.filter(events.contains).map(\.rawValue).joined(separator: ",")
    }

    static func decodeDelivery(_ row: SQLRow) throws -> WebhookDelivery {
        let stateText = try row.string("state")
        guard let state = WebhookDeliveryState(rawValue: stateText) else {
            throw StoreError.decoding(column: "state", reason: "unknown delivery state \(stateText)")
        }
        return WebhookDelivery(
            id: try row.int("id"), webhookID: try row.int("webhook_id"), event: try row.string("event"),
            payload: try row.string("payload"), state: state, attempts: Int(try row.int("attempts")),
            nextAttemptAt: try row.optionalDate("next_attempt_at"), lastAttemptAt: try row.optionalDate("last_attempt_at"),
            lastStatus: try row.optionalInt("last_status").map(Int.init), lastResponse: try row.optionalString("last_response"),
            lastError: try row.optionalString("last_error"), createdAt: try row.date("created_at"),
            deliveredAt: try row.optionalDate("delivered_at"), expiresAt: try row.date("expires_at"))
    }

    func create(url: String, events: [WebhookEventName], enabled: Bool, secretCiphertext: [UInt8], at: Date) async throws -> WebhookRecord {
        guard let row = try await db.queryFirst("""
            INSERT INTO webhooks (url, events, secret_ciphertext, enabled, created_at, updated_at)
            VALUES (\(url), \(Self.encodeEvents(events)), \(SQLValue.blob(secretCiphertext)), \(enabled), \(at), \(at))
            RETURNING \(unsafeRaw: Self.columns)
            """) else { throw StoreError.database("INSERT INTO webhooks returned no row") }
        subscriptions.invalidate()
        return try Self.decode(row)
    }

    func list() async throws -> [WebhookRecord] {
        try await db.query("SELECT \(unsafeRaw: Self.columns) FROM webhooks ORDER BY id").map(Self.decode)
    }

    func webhook(id: Int64) async throws -> WebhookRecord? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM webhooks WHERE id = \(id)").map(Self.decode)
    }

    func update(id: Int64, url: String, events: [WebhookEventName], enabled: Bool, at: Date) async throws -> WebhookRecord {
        guard let row = try await db.queryFirst("""
            UPDATE webhooks SET url = \(url), events = \(Self.encodeEvents(events)), enabled = \(enabled), updated_at = \(at)
            WHERE id = \(id) RETURNING \(unsafeRaw: Self.columns)
            """) else { throw StoreError.notFound("webhook \(id)") }
        subscriptions.invalidate()
        return try Self.decode(row)
    }

    func rotateSecret(id: Int64, secretCiphertext: [UInt8], at: Date) async throws {
        let rows = try await db.query("""
            UPDATE webhooks SET secret_ciphertext = \(SQLValue.blob(secretCiphertext)), updated_at = \(at) WHERE id = \(id) RETURNING id
            """)
        if rows.isEmpty { throw StoreError.notFound("webhook \(id)") }
    }

    func delete(id: Int64) async throws {
        // Explicitly, child rows first: SQLite does not enforce the foreign keys' ON DELETE CASCADE.
        let deleted = try await db.transaction { tx in
            try await tx.query("""
                DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = \(id))
                """)
            try await tx.query("DELETE FROM webhook_deliveries WHERE webhook_id = \(id)")
            return try await tx.query("DELETE FROM webhooks WHERE id = \(id) RETURNING id").count
        }
        subscriptions.invalidate()
        if deleted == 0 { throw StoreError.notFound("webhook \(id)") }
    }

    // MARK: Outbox

    func enqueue(_ events: [WebhookEvent], at: Date) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let subscribed = try await subscriptions.current(at: at) { try await Self.loadSubscriptions(db) }
        let rows = Self.outboxRows(events, subscribed: subscribed)
        guard !rows.isEmpty else { return 0 }
        return try await db.transaction { tx in try await Self.insert(rows, at: at, in: tx) }
    }

    func enqueue(_ events: [WebhookEvent], at: Date, in tx: any SQLExecutor) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let subscribed = try await subscriptions.current(at: at) { try await Self.loadSubscriptions(tx) }
        let rows = Self.outboxRows(events, subscribed: subscribed)
        guard !rows.isEmpty else { return 0 }
        return try await Self.insert(rows, at: at, in: tx)
    }

    /// Whether any enabled webhook takes `event` (cached like `enqueue`'s list), so a producer can skip
    /// building payloads nobody receives.
    func isSubscribed(_ event: WebhookEventName, at: Date, in tx: any SQLExecutor) async throws -> Bool {
        try await subscriptions.current(at: at) { try await Self.loadSubscriptions(tx) }.contains { $0.events.contains(event) }
    }

    func enqueue(_ event: WebhookEvent, webhookID: Int64, at: Date) async throws -> WebhookDelivery {
        try await db.transaction { tx in
            guard try await tx.queryFirst("SELECT id FROM webhooks WHERE id = \(webhookID)") != nil else {
                throw StoreError.notFound("webhook \(webhookID)")
            }
            guard let row = try await tx.queryFirst("""
                INSERT INTO webhook_deliveries (webhook_id, event, payload, state, attempts, next_attempt_at, created_at, expires_at)
                VALUES (\(webhookID), \(event.name.rawValue), \(event.body), 'pending', 0, \(at), \(at),
                        \(at.addingTimeInterval(WebhookDelivery.lifetime)))
                RETURNING \(unsafeRaw: Self.deliveryColumns)
                """) else { throw StoreError.database("INSERT INTO webhook_deliveries returned no row") }
            return try Self.decodeDelivery(row)
        }
    }

    static func loadSubscriptions(_ executor: any SQLExecutor) async throws -> [WebhookSubscriptions.Entry] {
        try await executor.query("SELECT id, events FROM webhooks WHERE enabled = \(true) ORDER BY id").map {
            WebhookSubscriptions.Entry(webhookID: try $0.int("id"), events: Set(decodeEvents(try $0.string("events"))))
        }
    }

    static func outboxRows(_ events: [WebhookEvent], subscribed: [WebhookSubscriptions.Entry]) -> [(Int64, WebhookEvent)] {
        events.flatMap { event in subscribed.filter { $0.events.contains(event.name) }.map { ($0.webhookID, event) } }
    }

    static func insert(_ rows: [(webhookID: Int64, event: WebhookEvent)], at: Date, in tx: any SQLExecutor) async throws -> Int {
        var start = 0
        while start < rows.count {
            let slice = rows[start..<min(start + chunk, rows.count)]
            var sql: SQL = """
                INSERT INTO webhook_deliveries (webhook_id, event, payload, state, attempts, next_attempt_at, created_at, expires_at) VALUES
                """
            for (i, row) in slice.enumerated() {
                sql += (i == 0 ? " " : ", ") + """
                    (\(row.webhookID), \(row.event.name.rawValue), \(row.event.body), 'pending', 0, \(at), \(row.event.occurredAt),
                     \(row.event.occurredAt.addingTimeInterval(WebhookDelivery.lifetime)))
                    """
            }
            try await tx.query(sql)
            start += chunk
        }
        return rows.count
    }

    // MARK: Delivery

    func claimDue(limit: Int, owner: String, leaseUntil: Date, now: Date) async throws -> [WebhookDelivery] {
        guard limit > 0 else { return [] }
        return try await db.transaction { tx in
            // PostgreSQL: SKIP LOCKED keeps two nodes from taking the same head; the head rule (its id is its
            // webhook's smallest pending one) keeps a node from taking the next one while the head is locked or
            // leased. SQLite: the transaction holds the only write lock.
            let lock: SQL = tx.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            let rows = try await tx.query("""
                UPDATE webhook_deliveries SET lease_owner = \(owner), lease_expires_at = \(leaseUntil)
                WHERE id IN (
                  SELECT d.id FROM webhook_deliveries d
                  WHERE d.state = 'pending'
                    AND d.webhook_id IN (SELECT w.id FROM webhooks w WHERE w.enabled = \(true))
                    AND d.id = (SELECT MIN(h.id) FROM webhook_deliveries h WHERE h.webhook_id = d.webhook_id AND h.state = 'pending')
                    AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= \(now))
                    AND (d.lease_expires_at IS NULL OR d.lease_expires_at < \(now))
                  ORDER BY d.id LIMIT \(limit)\(lock))
                RETURNING \(unsafeRaw: Self.deliveryColumns)
                """)
            return try rows.map(Self.decodeDelivery).sorted { $0.id < $1.id }
        }
    }

    func recordAttempt(_ attempt: WebhookAttempt, outcome: WebhookAttemptOutcome, owner: String) async throws -> Bool {
        let (state, next, deliveredAt): (WebhookDeliveryState, Date?, Date?) = switch outcome {
        case .delivered: (.delivered, nil, attempt.at)
        case .retry(let at): (.pending, at, nil)
        case .failed: (.failed, nil, nil)
        }
        return try await db.transaction { tx in
            let updated = try await tx.query("""
                UPDATE webhook_deliveries SET state = \(state.rawValue), attempts = attempts + 1, next_attempt_at = \(next),
                  last_attempt_at = \(attempt.at), last_status = \(attempt.status), last_response = \(attempt.response),
                  last_error = \(attempt.error), delivered_at = COALESCE(\(deliveredAt), delivered_at),
                  lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(attempt.deliveryID) AND state = 'pending' AND lease_owner = \(owner)
                RETURNING id
                """)
            guard !updated.isEmpty else { return false }
            try await tx.query("""
                INSERT INTO webhook_attempts (delivery_id, at, status, response, error, duration_ms, node)
                VALUES (\(attempt.deliveryID), \(attempt.at), \(attempt.status), \(attempt.response), \(attempt.error),
                        \(attempt.durationMilliseconds), \(attempt.node))
                """)
            return true
        }
    }

    func replay(deliveryID: Int64, webhookID: Int64, at: Date) async throws -> WebhookDelivery {
        guard let row = try await db.queryFirst("""
            UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = \(at),
              expires_at = \(at.addingTimeInterval(WebhookDelivery.lifetime))
            WHERE id = \(deliveryID) AND webhook_id = \(webhookID)
            RETURNING \(unsafeRaw: Self.deliveryColumns)
            """) else { throw StoreError.notFound("delivery \(deliveryID) of webhook \(webhookID)") }
        return try Self.decodeDelivery(row)
    }

    func deliveries(webhookID: Int64, state: WebhookDeliveryState?, limit: Int, beforeID: Int64?) async throws -> [WebhookDelivery] {
        var conditions: SQL = "webhook_id = \(webhookID) AND id < \(beforeID ?? Int64.max)"
        if let state { conditions += " AND state = \(state.rawValue)" }
        return try await db.query("""
            SELECT \(unsafeRaw: Self.deliveryColumns) FROM webhook_deliveries WHERE \(conditions) ORDER BY id DESC LIMIT \(limit)
            """).map(Self.decodeDelivery)
    }

    func delivery(id: Int64) async throws -> WebhookDelivery? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.deliveryColumns) FROM webhook_deliveries WHERE id = \(id)")
            .map(Self.decodeDelivery)
    }

    func attempts(deliveryIDs: [Int64]) async throws -> [WebhookAttempt] {
        guard !deliveryIDs.isEmpty else { return [] }
        return try await db.query("""
            SELECT delivery_id, at, status, response, error, duration_ms, node FROM webhook_attempts
            WHERE delivery_id IN \(list: deliveryIDs) ORDER BY id
            """).map { row in
            WebhookAttempt(deliveryID: try row.int("delivery_id"), at: try row.date("at"), status: try row.optionalInt("status").map(Int.init),
                           response: try row.optionalString("response"), error: try row.optionalString("error"),
                           durationMilliseconds: Int(try row.int("duration_ms")), node: try row.optionalString("node"))
        }
    }
}

/// The enabled webhooks and their events, as the hot paths see them: read at most every few seconds
/// and at once after a change made through this process (another node's change is seen within
/// `maximumAge`).
final class WebhookSubscriptions: @unchecked Sendable {
    // @unchecked: `entries` and `loadedAt` are read and written only with `lock` held.
    struct Entry: Sendable {
        var webhookID: Int64
        var events: Set<WebhookEventName>
    }

    static let maximumAge: TimeInterval = 5
    private let lock = NSLock()
    private var entries: [Entry] = []
    private var loadedAt: ContinuousClock.Instant?
    /// Bumped by every change, so a read that began before it is not kept.
    private var generation = 0

    func invalidate() {
        lock.withLock {
            loadedAt = nil
            generation += 1
        }
    }

    func current(at now: Date, load: () async throws -> [Entry]) async throws -> [Entry] {
        let (fresh, seen): ([Entry]?, Int) = lock.withLock {
            guard let loadedAt, ContinuousClock.now - loadedAt < .seconds(Self.maximumAge) else { return (nil, generation) }
            return (entries, generation)
        }
        if let fresh { return fresh }
        let started = ContinuousClock.now
        let loaded = try await load()
        lock.withLock {
            guard generation == seen else { return }
            entries = loaded
            loadedAt = started
        }
        return loaded
    }
}
