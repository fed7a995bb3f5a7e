import Foundation

/// Who may see a live event: everyone signed in, or the listed roles and users.
public struct LiveAudience: Sendable, Hashable, CustomStringConvertible {
    public var everyone: Bool
    public var roles: Set<Role>
    public var userIDs: Set<Int64>

    public init(roles: Set<Role> = [], userIDs: Set<Int64> = []) {
        everyone = false
        self.roles = roles
        self.userIDs = userIDs
    }

    /// Every signed-in principal, API keys included.
    public static let everyone: LiveAudience = {
        var audience = LiveAudience()
        audience.everyone = true
        return audience
    }()

    /// Admins and supervisors (monitoring).
    public static let staff = LiveAudience(roles: [.admin, .supervisor])

    public static func roles(_ roles: Set<Role>) -> LiveAudience { LiveAudience(roles: roles) }
    public static func users(_ ids: Set<Int64>) -> LiveAudience { LiveAudience(userIDs: ids) }

    /// Whether a principal with `role` (and `userID`, for a person) sees the event.
    public func includes(_ viewer: LiveViewer) -> Bool {
        everyone || roles.contains(viewer.role) || viewer.userID.map(userIDs.contains) ?? false
    }

    /// The stored form: `*`, or comma-wrapped tokens (`,role:admin,user:7,`) that a `LIKE` can find.
    public var stored: String {
        if everyone { return "*" }
        let tokens = roles.sorted().map { "role:\($0.rawValue)" } + userIDs.sorted().map { "user:\($0)" }
        return "," + tokens.joined(separator: ",") + ","
    }

    public init(stored: String) {
        if stored == "*" {
            self = .everyone
            return
        }
        self.init()
        for token in stored.split(separator: ",") {
            if token.hasPrefix("role:"), let role = Role(rawValue: String(token.dropFirst(5))) {
                roles.insert(role)
            } else if token.hasPrefix("user:"), let id = Int64(token.dropFirst(5)) {
                userIDs.insert(id)
            }
        }
    }

    public var description: String { stored }
}

/// The principal a live event is filtered for.
public struct LiveViewer: Sendable, Hashable {
    public var role: Role
    /// The person; nil for an API key.
    public var userID: Int64?

    public init(role: Role, userID: Int64?) {
        self.role = role
        self.userID = userID
    }
}

/// A live event to be stored; the store gives it its sequence number.
public struct NewLiveEvent: Sendable, Equatable {
    public var at: Date
    public var topic: String
    public var audience: LiveAudience
    /// A JSON object, as text.
    public var payload: String

    public init(at: Date = Date(), topic: String, audience: LiveAudience, payload: String = "{}") {
        self.at = at
        self.topic = topic
        self.audience = audience
        self.payload = payload
    }
}

/// A stored live event. `seq` orders every event of the database: events
/// become visible to readers in `seq` order, so a reader that has seen `seq`
/// N has seen every event before it.
public struct LiveEvent: Sendable, Equatable {
    public var seq: Int64
    public var at: Date
    public var topic: String
    public var audience: LiveAudience
    /// A JSON object, as text.
    public var payload: String

    public init(seq: Int64, at: Date, topic: String, audience: LiveAudience, payload: String) {
        self.seq = seq
        self.at = at
        self.topic = topic
        self.audience = audience
        self.payload = payload
    }
}

/// The durable, ordered log of live events (`live_events`), shared by every
/// node: the sequence a reconnecting browser catches up from.
public protocol LiveEventStore: Sendable {
    /// Stores the events in order and returns them with their sequence numbers. Appends are
    /// serialised, so a later append always commits with higher numbers than an earlier one.
    func append(_ events: [NewLiveEvent]) async throws -> [LiveEvent]
    /// Events with `seq` greater than `after`, oldest first, at most `limit`; only those `viewer`
    /// may see (nil: all).
    func events(after seq: Int64, visibleTo viewer: LiveViewer?, limit: Int) async throws -> [LiveEvent]
    /// The highest sequence number stored, 0 when there is none.
    func latestSeq() async throws -> Int64
    /// The lowest sequence number still stored, nil when there is none.
    func oldestSeq() async throws -> Int64?
    /// Removes events older than `before`, always keeping the newest one (so the sequence
    /// never goes back); returns how many were removed.
    @discardableResult
    func deleteOlder(than before: Date) async throws -> Int
}

extension LiveEventStore {
    /// Stores one event.
    public func append(_ event: NewLiveEvent) async throws -> LiveEvent {
        guard let stored = try await append([event]).first else { throw StoreError.database("INSERT INTO live_events returned no row") }
        return stored
    }
}

struct SQLLiveEventStore: LiveEventStore {
    let db: any SQLDatabase
    static let columns = "seq, at, topic, audience, payload"
    /// The advisory lock that serialises appends on PostgreSQL (any constant distinct from the migration lock).
    static let appendLock: Int64 = 0x534D_5344_4C49_5645

    static func decode(_ row: SQLRow) throws -> LiveEvent {
        LiveEvent(seq: try row.int("seq"), at: try row.date("at"), topic: try row.string("topic"),
                  audience: LiveAudience(stored: try row.string("audience")), payload: try row.string("payload"))
    }

    func append(_ events: [NewLiveEvent]) async throws -> [LiveEvent] {
        guard !events.isEmpty else { return [] }
        return try await db.transaction { tx in
            // PostgreSQL hands out identity values at insert time but readers see rows at commit: two
            // concurrent appends could commit out of order and a reader would skip the lower one. Holding a
            // transaction-scoped lock makes commit order equal sequence order, across nodes. (SQLite has
            // one writer, so its appends are serialised already.)
            if tx.dialect == .postgres {
                try await tx.query("SELECT pg_advisory_xact_lock(\(Self.appendLock))")
            }
            var insert: SQL = "INSERT INTO live_events (at, topic, audience, payload) VALUES "
            for (i, event) in events.enumerated() {
                if i > 0 { insert += ", " }
                insert += "(\(event.at), \(event.topic), \(event.audience.stored), \(event.payload))"
            }
            insert += " RETURNING \(unsafeRaw: Self.columns)"
            return try await tx.query(insert).map(Self.decode).sorted { $0.seq < $1.seq }
        }
    }

    func events(after seq: Int64, visibleTo viewer: LiveViewer?, limit: Int) async throws -> [LiveEvent] {
        var visible: SQL = ""
        if let viewer {
            visible = " AND (audience = '*' OR audience LIKE \("%,role:\(viewer.role.rawValue),%")"
            if let user = viewer.userID { visible += " OR audience LIKE \("%,user:\(user),%")" }
            visible += ")"
        }
        return try await db.query("""
            SELECT \(unsafeRaw: Self.columns) FROM live_events WHERE seq > \(seq)\(visible) ORDER BY seq LIMIT \(max(1, limit))
            """).map(Self.decode)
    }

    func latestSeq() async throws -> Int64 {
        try await db.queryFirst("SELECT MAX(seq) AS seq FROM live_events")?.optionalInt("seq") ?? 0
    }

    func oldestSeq() async throws -> Int64? {
        try await db.queryFirst("SELECT MIN(seq) AS seq FROM live_events")?.optionalInt("seq")
    }

    func deleteOlder(than before: Date) async throws -> Int {
        try await db.query("""
            DELETE FROM live_events WHERE at < \(before) AND seq < (SELECT MAX(seq) FROM live_events) RETURNING seq
            """).count
    }
}
