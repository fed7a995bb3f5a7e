import Foundation
import SMSStore
import SMSStoreSQLite
import Testing

/// A storage behaviour both backends must show.
struct ConformanceCase: Sendable, CustomTestStringConvertible {
    let name: String
    let run: @Sendable (Storage) async throws -> Void
    var testDescription: String { name }
}

@Suite("Storage conformance: SQLite")
struct SQLiteConformanceTests {
    @Test("SQLite", arguments: ConformanceCases.all)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await withFreshStorage(.sqlite) { try await testCase.run($0) }
    }

    @Test("SQLite runs in WAL mode")
    func walMode() async throws {
        try await withFreshStorage(.sqlite) { storage in
            let mode = try await storage.database.queryFirst("PRAGMA journal_mode")?.string("journal_mode")
            #expect(mode == "wal")
        }
    }

    @Test("under a stream of commits the WAL is copied into the database and rewound as it goes, and nothing is lost")
    func walStaysSmall() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-wal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("test.sqlite").path
        func size(_ file: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0 }
        let database = try SQLiteDatabase(path: path)
        try await database.query("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        // 5,000 small commits (each writes a ~2 kB row: a page or two through the WAL, 20 MB or more in all): SQLite
        // checkpoints and rewinds the WAL at 1,000 pages (4 MB), so it never holds more than that and the last commit.
        let commits = 5000
        var largestWAL = 0
        for n in 0..<commits {
            try await database.query("INSERT INTO t (body) VALUES (\(String(repeating: "x", count: 2000) + String(n)))")
            if n % 50 == 0 { largestWAL = max(largestWAL, size(path + "-wal")) }
        }
        #expect(size(path) >= commits * 1000, "the rows reached the database file: \(size(path)) bytes for \(commits) rows")
        #expect(largestWAL < 8_000_000, "the WAL was rewound as it went: largest \(largestWAL) bytes of 20 MB or more written")
        try await database.close()
        let reopened = try SQLiteDatabase(path: path)
        #expect(try await reopened.queryFirst("SELECT COUNT(*) AS n FROM t")?.int("n") == Int64(commits))
        try await reopened.close()
    }
}

@Suite(
    "Storage conformance: PostgreSQL",
    .enabled(
        if: Backend.postgresURL != nil,
        Comment(rawValue: "PostgreSQL cases skipped (SMSDESK_TEST_DATABASE_URL not set; scripts/test sets it): "
            + ConformanceCases.all.map(\.name).joined(separator: ", ")))
)
struct PostgresConformanceTests {
    @Test("PostgreSQL", arguments: ConformanceCases.all)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await withFreshStorage(.postgres) { try await testCase.run($0) }
    }

    @Test("two nodes migrating one PostgreSQL database at once apply each migration once")
    func concurrentMigration() async throws {
        try await withFreshStorage(.postgres, migrate: false) { storage in
            async let first = Migrator(database: storage.database).run()
            async let second = Migrator(database: storage.database).run()
            let applied = try await first.count + second.count
            #expect(applied == Migration.all.count)
        }
    }
}

enum ConformanceCases {
    static let all: [ConformanceCase] = [
        .init(name: "migrations are idempotent and recorded", run: migrationsIdempotent),
        .init(name: "an edited shipped migration is refused", run: editedMigrationRefused),
        .init(name: "a database newer than the code is refused", run: newerSchemaRefused),
        .init(name: "values round-trip with their types", run: valuesRoundTrip),
        .init(name: "a failed transaction writes nothing", run: transactionRollback),
        .init(name: "concurrent transactions serialise", run: concurrentTransactions),
        .init(name: "users: create, find, list, conflict", run: usersCreateAndFind),
        .init(name: "users: update and password", run: usersUpdate),
        .init(name: "sessions: expiry, touch, end all", run: sessions),
        .init(name: "API keys: active, revoked, used", run: apiKeys),
        .init(name: "login failures count, reset and are forgotten", run: loginFailures),
        .init(name: "audit log pages newest first", run: auditLog),
        .init(name: "schema covers every domain table", run: schemaTables),
        .init(name: "providers: create, update, secrets as bytes, name conflict", run: providersCRUD),
        .init(name: "providers: default rule (none marked: first; marking clears the other)", run: providerDefault),
        .init(name: "providers: delete refused while a dialer uses it", run: providerDeleteRefused),
        .init(name: "inbound messages and delivery reports are recorded once", run: inboundDedupe),
    ] + SpoolCases.all + CampaignCases.all + LiveEventCases.all + ConversationCases.all + SearchCases.all + SupervisionCases.all + RateLimitCases.all + WebhookCases.all + OperationsCases.all + RetentionCases.all

    static func provider(_ name: String, type: String = "Twilio") -> ProviderRecord {
        ProviderRecord(name: name, type: type, url: "https://api.example.com", username: "AC1",
                       secretCiphertext: [0, 1, 2, 255], sender: "+15550001", numberPattern: "^\\+1\\d{10}$",
                       encoding: "auto", ratePerSecond: 10.5, maxConcurrency: 4, settings: ["b": "2", "a": "1"],
                       webhookToken: "tok-\(name)", createdAt: t0, updatedAt: t0)
    }

    static func providersCRUD(_ storage: Storage) async throws {
        let created = try await storage.providers.create(provider("main"))
        #expect(created.id > 0)
        #expect(created.secretCiphertext == [0, 1, 2, 255])
        #expect(created.settings == ["a": "1", "b": "2"])
        #expect(created.ratePerSecond == 10.5)
        #expect(created.maxConcurrency == 4)
        #expect(created.isDefault == false)
        #expect(try await storage.providers.provider(id: created.id) == created)
        var changed = created
        changed.name = "renamed"
        changed.secretCiphertext = nil
        changed.ratePerSecond = nil
        let updated = try await storage.providers.update(changed, at: t0.addingTimeInterval(1))
        #expect(updated.name == "renamed")
        #expect(updated.secretCiphertext == nil)
        #expect(updated.ratePerSecond == nil)
        #expect(updated.webhookToken == created.webhookToken)
        _ = try await storage.providers.create(provider("other"))
        do {
            _ = try await storage.providers.create(provider("renamed"))
            Issue.record("duplicate provider name accepted")
        } catch let StoreError.conflict(field, _) {
            #expect(field == "name")
        }
        #expect(try await storage.providers.list().map(\.name) == ["renamed", "other"])
    }

    static func providerDefault(_ storage: Storage) async throws {
        #expect(try await storage.providers.effectiveDefault() == nil)
        let first = try await storage.providers.create(provider("first"))
        let second = try await storage.providers.create(provider("second"))
        #expect(try await storage.providers.effectiveDefault()?.id == first.id)
        try await storage.providers.makeDefault(id: second.id, at: t0)
        #expect(try await storage.providers.effectiveDefault()?.id == second.id)
        try await storage.providers.makeDefault(id: first.id, at: t0)
        let defaults = try await storage.providers.list().filter(\.isDefault)
        #expect(defaults.map(\.id) == [first.id])
        try await storage.providers.makeDefault(id: first.id, at: t0)
        #expect(try await storage.providers.list().filter(\.isDefault).count == 1)
        await #expect(throws: StoreError.notFound("provider 999999")) {
            try await storage.providers.makeDefault(id: 999_999, at: t0)
        }
    }

    static func providerDeleteRefused(_ storage: Storage) async throws {
        let used = try await storage.providers.create(provider("used"))
        let free = try await storage.providers.create(provider("free"))
        try await storage.database.query("""
            INSERT INTO dialers (name, provider_id, schedule, time_zone, created_at, updated_at)
            VALUES ('Bulk MX', \(used.id), '{}', 'UTC', 1, 1)
            """)
        #expect(try await storage.providers.dialerNames(usingProvider: used.id) == ["Bulk MX"])
        do {
            try await storage.providers.delete(id: used.id)
            Issue.record("deleting a provider in use was accepted")
        } catch let StoreError.conflict(field, message) {
            #expect(field == "dialers")
            #expect(message.contains("Bulk MX"))
        }
        #expect(try await storage.providers.provider(id: used.id) != nil)
        try await storage.providers.delete(id: free.id)
        #expect(try await storage.providers.provider(id: free.id) == nil)
        await #expect(throws: StoreError.notFound("provider \(free.id)")) { try await storage.providers.delete(id: free.id) }
    }

    static func inboundDedupe(_ storage: Storage) async throws {
        let p = try await storage.providers.create(provider("in"))
        let message = InboundMessage(providerID: p.id, providerMessageID: "SM1", from: "+15550002", to: "+15550001",
                                     body: "Hola 👋", receivedAt: t0)
        let stored = try #require(try await storage.inbound.record(message))
        #expect(stored.body == "Hola 👋")
        #expect(try await storage.inbound.record(message) == nil)
        var noID = message
        noID.providerMessageID = nil
        #expect(try await storage.inbound.record(noID) != nil)
        #expect(try await storage.inbound.record(noID) != nil)
        #expect(try await storage.inbound.unrouted(limit: 10).count == 3)
        let report = DeliveryReportRecord(providerID: p.id, providerMessageID: "SMout", outcome: "delivered",
                                          reportedAt: t0, receivedAt: t0)
        #expect(try await storage.inbound.record(report) != nil)
        #expect(try await storage.inbound.record(report) == nil)
        var failed = report
        failed.outcome = "failed"
        failed.code = "30003"
        #expect(try await storage.inbound.record(failed) != nil)
        #expect(try await storage.inbound.deliveryReports(providerID: p.id, providerMessageID: "SMout").map(\.outcome)
                == ["delivered", "failed"])
    }

    static let t0 = Date(millisecondsSince1970: 1_780_000_000_000)

    static func migrationsIdempotent(_ storage: Storage) async throws {
        let again = try await storage.migrate()
        #expect(again.isEmpty)
        let rows = try await storage.database.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        #expect(try rows.map { try $0.int("version") } == Migration.all.map { Int64($0.version) })
        #expect(try rows.first?.string("checksum") == Migration.all.first?.checksum(for: storage.database.dialect))
    }

    static func editedMigrationRefused(_ storage: Storage) async throws {
        var edited = Migration.all
        let first = edited[0]
        edited[0] = Migration(version: first.version, name: first.name, statements: first.statements + ["SELECT 1"])
        await #expect(throws: StoreError.self) {
            try await Migrator(database: storage.database).run(migrations: edited)
        }
    }

    static func newerSchemaRefused(_ storage: Storage) async throws {
        try await storage.database.query("""
            INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)
            """)
        do {
            try await storage.migrate()
            Issue.record("a schema newer than the code was accepted")
        } catch let StoreError.migration(message) {
            #expect(message.contains("9999"))
        }
    }

    static func valuesRoundTrip(_ storage: Storage) async throws {
        let text = "Hola 'mundo'; \"quoted\" — ñ €  😀 \\ %_"
        let row = try await storage.database.transaction { tx in
            try await tx.query("""
                INSERT INTO settings (name, value) VALUES (\(text), \(text))
                """)
            return try await tx.queryFirst("SELECT name, value FROM settings WHERE name = \(text)")
        }
        #expect(try row?.string("value") == text)
        let big = Int64(9_007_199_254_740_993)  // not representable as a Double
        let values = try #require(try await storage.database.queryFirst(
            "SELECT \(big) AS n, \(3.25) AS r, \(true) AS b, \(false) AS f"))
        #expect(try values.int("n") == big)
        #expect(try values.double("r") == 3.25)
        #expect(try values.bool("b") == true)
        #expect(try values.bool("f") == false)
        let at = Date(millisecondsSince1970: 1_780_000_000_123)
        let audit = try await storage.audit.append(AuditEntry(
            at: at, actorUserID: nil, actorName: text, action: "x", details: nil))
        #expect(audit.at == at)
        #expect(audit.actorName == text)
        #expect(audit.actorUserID == nil)
        #expect(audit.details == nil)
    }

    static func transactionRollback(_ storage: Storage) async throws {
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await storage.database.transaction { tx in
                try await tx.query("INSERT INTO settings (name, value) VALUES ('a', '1')")
                throw Boom()
            }
        }
        #expect(try await storage.database.query("SELECT name FROM settings WHERE name = 'a'").isEmpty)
        try await storage.database.transaction { tx in
            try await tx.query("INSERT INTO settings (name, value) VALUES ('b', '2')")
        }
        #expect(try await storage.database.query("SELECT name FROM settings WHERE name = 'b'").count == 1)
    }

    static func concurrentTransactions(_ storage: Storage) async throws {
        try await storage.database.query("INSERT INTO settings (name, value) VALUES ('counter', '0')")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await storage.database.transaction { tx in
                        // Read-modify-write: lost updates show if transactions interleave.
                        let row = try await tx.queryFirst(
                            "SELECT value FROM settings WHERE name = 'counter'" + forUpdate(tx.dialect))
                        let value = Int(try row?.string("value") ?? "0") ?? 0
                        try await tx.query("UPDATE settings SET value = \(String(value + 1)) WHERE name = 'counter'")
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await storage.database.queryFirst("SELECT value FROM settings WHERE name = 'counter'")
        #expect(try final?.string("value") == "20")
    }

    static func forUpdate(_ dialect: SQLDialect) -> SQL {
        dialect == .postgres ? " FOR UPDATE" : ""
    }

    static func usersCreateAndFind(_ storage: Storage) async throws {
        let ana = try await storage.users.create(username: "ana", displayName: "Ana Pérez", role: .agent,
                                                 passwordHash: "$2b$04$hash", at: t0)
        #expect(ana.id > 0)
        #expect(ana.role == .agent)
        #expect(ana.disabled == false)
        #expect(ana.createdAt == t0)
        let bob = try await storage.users.create(username: "bob", displayName: "Bob", role: .supervisor,
                                                 passwordHash: "h2", at: t0)
        #expect(try await storage.users.user(id: ana.id) == ana)
        #expect(try await storage.users.user(id: 999_999) == nil)
        let credentials = try await storage.users.credentials(username: "ana")
        #expect(credentials?.user == ana)
        #expect(credentials?.passwordHash == "$2b$04$hash")
        #expect(try await storage.users.credentials(username: "nobody") == nil)
        #expect(try await storage.users.list().map(\.username) == ["ana", "bob"])
        #expect(try await storage.users.count() == 2)
        do {
            _ = try await storage.users.create(username: "ana", displayName: "Other", role: .admin, passwordHash: "x", at: t0)
            Issue.record("a duplicate user name was accepted")
        } catch let StoreError.conflict(field, message) {
            #expect(field == "username")
            #expect(message.contains("ana"))
        }
        #expect(bob.id != ana.id)
    }

    static func usersUpdate(_ storage: Storage) async throws {
        let user = try await storage.users.create(username: "carla", displayName: "Carla", role: .agent, passwordHash: "a", at: t0)
        let later = t0.addingTimeInterval(60)
        let updated = try await storage.users.update(id: user.id, UserChanges(role: .supervisor, disabled: true), at: later)
        #expect(updated.role == .supervisor)
        #expect(updated.disabled)
        #expect(updated.displayName == "Carla")
        #expect(updated.updatedAt == later)
        try await storage.users.setPasswordHash(id: user.id, "b", at: later)
        #expect(try await storage.users.credentials(username: "carla")?.passwordHash == "b")

        // UI language and time zone: set, kept when absent from the changes, cleared with `.some(nil)`.
        #expect(updated.locale == nil && updated.timeZone == nil)
        let chosen = try await storage.users.update(
            id: user.id, UserChanges(locale: "es", timeZone: "America/Montevideo"), at: later)
        #expect(chosen.locale == "es" && chosen.timeZone == "America/Montevideo")
        let kept = try await storage.users.update(id: user.id, UserChanges(displayName: "Carla R."), at: later)
        #expect(kept.locale == "es" && kept.timeZone == "America/Montevideo")
        let cleared = try await storage.users.update(id: user.id, UserChanges(locale: .some(nil)), at: later)
        #expect(cleared.locale == nil && cleared.timeZone == "America/Montevideo")
        #expect(try await storage.users.user(id: user.id)?.locale == nil)
        // Monitor screen (SPEC S3): off until an admin allows it; other changes leave it as it is.
        #expect(cleared.monitorScreenAllowed == false)
        let watched = try await storage.users.update(id: user.id, UserChanges(monitorScreenAllowed: true), at: later)
        #expect(watched.monitorScreenAllowed && watched.locale == nil)
        #expect(try await storage.users.update(id: user.id, UserChanges(displayName: "Carla M."), at: later).monitorScreenAllowed)
        #expect(try await storage.users.user(id: user.id)?.monitorScreenAllowed == true)
        #expect(try await storage.users.update(id: user.id, UserChanges(monitorScreenAllowed: false), at: later).monitorScreenAllowed == false)
        await #expect(throws: StoreError.notFound("user 424242")) {
            _ = try await storage.users.update(id: 424_242, UserChanges(disabled: true), at: later)
        }
        await #expect(throws: StoreError.notFound("user 424242")) {
            try await storage.users.setPasswordHash(id: 424_242, "c", at: later)
        }
    }

    static func sessions(_ storage: Storage) async throws {
        let user = try await storage.users.create(username: "dan", displayName: "Dan", role: .agent, passwordHash: "a", at: t0)
        let other = try await storage.users.create(username: "eve", displayName: "Eve", role: .agent, passwordHash: "a", at: t0)
        for (hash, owner) in [("s1", user.id), ("s2", user.id), ("s3", other.id)] {
            try await storage.sessions.create(Session(
                tokenHash: hash, userID: owner, csrfToken: "csrf-\(hash)", createdAt: t0, lastSeenAt: t0,
                expiresAt: t0.addingTimeInterval(3600), clientAddress: "127.0.0.1", userAgent: nil))
        }
        let s1 = try await storage.sessions.session(tokenHash: "s1", now: t0)
        #expect(s1?.csrfToken == "csrf-s1")
        #expect(s1?.clientAddress == "127.0.0.1")
        #expect(s1?.userAgent == nil)
        #expect(try await storage.sessions.session(tokenHash: "s1", now: t0.addingTimeInterval(3600)) == nil)
        try await storage.sessions.touch(tokenHash: "s1", at: t0.addingTimeInterval(1800), expiresAt: t0.addingTimeInterval(7200))
        #expect(try await storage.sessions.session(tokenHash: "s1", now: t0.addingTimeInterval(3600)) != nil)
        #expect(try await storage.sessions.deleteAll(userID: user.id) == 2)
        #expect(try await storage.sessions.session(tokenHash: "s1", now: t0) == nil)
        #expect(try await storage.sessions.session(tokenHash: "s3", now: t0) != nil)
        #expect(try await storage.sessions.deleteExpired(now: t0.addingTimeInterval(3601)) == 1)
        #expect(try await storage.sessions.session(tokenHash: "s3", now: t0) == nil)
    }

    static func apiKeys(_ storage: Storage) async throws {
        let first = try await storage.apiKeys.create(name: "crm", prefix: "smsk_abc", keyHash: "h1", role: .integration,
                                                     createdBy: nil, at: t0)
        let second = try await storage.apiKeys.create(name: "erp", prefix: "smsk_def", keyHash: "h2", role: .integration,
                                                      createdBy: nil, at: t0)
        #expect(try await storage.apiKeys.activeKey(hash: "h1") == first)
        #expect(try await storage.apiKeys.activeKey(hash: "nope") == nil)
        try await storage.apiKeys.markUsed(id: first.id, at: t0.addingTimeInterval(5))
        #expect(try await storage.apiKeys.activeKey(hash: "h1")?.lastUsedAt == t0.addingTimeInterval(5))
        try await storage.apiKeys.revoke(id: first.id, at: t0.addingTimeInterval(10))
        #expect(try await storage.apiKeys.activeKey(hash: "h1") == nil)
        let list = try await storage.apiKeys.list()
        #expect(list.map(\.id) == [second.id, first.id])
        #expect(list.last?.revokedAt == t0.addingTimeInterval(10))
        await #expect(throws: StoreError.self) { try await storage.apiKeys.revoke(id: 987_654, at: t0) }
    }

    static func loginFailures(_ storage: Storage) async throws {
        let store = storage.loginFailures
        var last = LoginFailures(key: "", count: 0, lastFailureAt: t0)
        for i in 1...5 {
            last = try await store.recordFailure(key: "user:ana", at: t0.addingTimeInterval(Double(i)), resetAfter: 3600)
        }
        #expect(last.count == 5)
        #expect(last.lastFailureAt == t0.addingTimeInterval(5))
        #expect(try await store.failures(key: "user:ana")?.count == 5)
        #expect(try await store.failures(key: "user:bob") == nil)
        let afterQuiet = try await store.recordFailure(key: "user:ana", at: t0.addingTimeInterval(5 + 3601), resetAfter: 3600)
        #expect(afterQuiet.count == 1)
        try await store.reset(key: "user:ana")
        #expect(try await store.failures(key: "user:ana") == nil)
    }

    static func auditLog(_ storage: Storage) async throws {
        for i in 0..<5 {
            try await storage.audit.append(AuditEntry(at: t0.addingTimeInterval(Double(i)), actorUserID: nil,
                                                      actorName: "admin", action: "act\(i)", targetType: "user", targetID: "\(i)"))
        }
        let page1 = try await storage.audit.list(limit: 3, before: nil)
        #expect(page1.map(\.action) == ["act4", "act3", "act2"])
        let page2 = try await storage.audit.list(limit: 3, before: page1.last?.id)
        #expect(page2.map(\.action) == ["act1", "act0"])
        // One target's entries with some actions since a time, oldest first.
        try await storage.audit.append(AuditEntry(at: t0.addingTimeInterval(10), actorUserID: 7, actorName: "sara",
                                                  action: "act1", targetType: "user", targetID: "1"))
        try await storage.audit.append(AuditEntry(at: t0.addingTimeInterval(11), actorUserID: 7, actorName: "sara",
                                                  action: "act9", targetType: "user", targetID: "1"))
        try await storage.audit.append(AuditEntry(at: t0.addingTimeInterval(12), actorUserID: 7, actorName: "sara",
                                                  action: "act1", targetType: "campaign", targetID: "1"))
        let found = try await storage.audit.entries(actions: ["act1", "act2"], targetType: "user", targetID: "1", since: t0)
        #expect(found.map(\.at) == [t0.addingTimeInterval(1), t0.addingTimeInterval(10)])
        #expect(found.last?.actorUserID == 7 && found.last?.actorName == "sara")
        let recent = try await storage.audit.entries(actions: ["act1"], targetType: "user", targetID: "1", since: t0.addingTimeInterval(2))
        #expect(recent.map(\.at) == [t0.addingTimeInterval(10)])
        #expect(try await storage.audit.entries(actions: [], targetType: "user", targetID: "1", since: t0).isEmpty)
    }

    static func schemaTables(_ storage: Storage) async throws {
        let expected = ["agent_chat", "agent_status", "api_keys", "audit_log", "campaign_dids", "campaign_members",
                        "campaign_supervisors", "campaigns", "canned_responses", "conversation_offers", "conversations", "delivery_reports",
                        "dialer_campaigns", "dialers", "dncr", "live_events", "login_failures", "messages",
                        "opt_out_events", "providers", "rate_limits", "schema_migrations", "sessions", "settings", "spool",
                        "spool_events", "users", "webhook_attempts", "webhook_deliveries", "webhooks"]
        let sql: SQL = storage.database.dialect == .sqlite
            ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
        let tables = try await storage.database.query(sql).map { try $0.string("name") }
        #expect(tables == expected)
        // One open conversation per number and campaign (SPEC C10).
        try await storage.database.query("""
            INSERT INTO conversations (campaign_id, client_number, state, opened_at, last_activity_at)
            VALUES (NULL, '+59899000001', 'queued', 1, 1)
            """)
        try await storage.database.query("""
            INSERT INTO campaigns (name, schedule, time_zone, created_at, updated_at) VALUES ('c', '{}', 'UTC', 1, 1)
            """)
        let campaign = try await storage.database.queryFirst("SELECT id FROM campaigns WHERE name = 'c'")?.int("id")
        try await storage.database.query("""
            INSERT INTO conversations (campaign_id, client_number, state, opened_at, last_activity_at)
            VALUES (\(campaign), '+59899000001', 'queued', 1, 1)
            """)
        await #expect(throws: StoreError.self) {
            try await storage.database.query("""
                INSERT INTO conversations (campaign_id, client_number, state, opened_at, last_activity_at)
                VALUES (\(campaign), '+59899000001', 'assigned', 2, 2)
                """)
        }
    }
}
