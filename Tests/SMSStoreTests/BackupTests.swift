import Foundation
import SMSStore
import SMSStoreSQLite
import Testing

/// `smsdesk backup` / `restore` on the embedded database (issue 8 item 4).
@Suite("SQLite backup and restore")
struct BackupTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-backup-\(UUID().uuidString)").path

    func folder(_ name: String) throws -> SQLiteDataDirectory {
        let path = (root as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return SQLiteDataDirectory(path: path)
    }

    func open(_ directory: SQLiteDataDirectory) async throws -> Storage {
        let storage = Storage(database: try SQLiteDatabase(path: directory.databasePath))
        try await storage.migrate()
        return storage
    }

    /// Opens a new database in `directory` with the campaign its messages belong to.
    func create(_ directory: SQLiteDataDirectory) async throws -> (Storage, campaign: Int64) {
        let storage = try await open(directory)
        let campaign = try await storage.campaigns.create(
            CampaignRecord(name: "Cobros", timeZone: "UTC", schedule: "{}", createdAt: Self.t0, updatedAt: Self.t0), dids: [])
        return (storage, campaign.id)
    }

    static let t0 = Date(millisecondsSince1970: 1_780_000_000_000)

    static func messages(_ prefix: String, _ count: Int, campaign: Int64) -> [NewSpoolMessage] {
        (0..<count).map { NewSpoolMessage(campaignID: campaign, destination: "+5989900\(String(format: "%04d", $0))", message: "\(prefix) \($0) ñ",
                                          source: .api) }
    }

    @Test("a backup taken while another task keeps writing holds every message committed before it, whole transactions only, and restores into a fresh data dir")
    func backupWhileWriting() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let live = try folder("live")
        let (storage, campaign) = try await create(live)
        var committed: [Int64: String] = [:]
        for round in 0..<20 {
            let batch = Self.messages("before \(round)", 10, campaign: campaign)
            for (id, message) in zip(try await storage.spool.enqueue(batch, at: Self.t0), batch) { committed[id] = message.message }
        }
        // Another writer keeps committing transactions of 7 messages until told to stop.
        let stop = StopFlag()
        let writer = Task {
            var written = 0
            while await !stop.raised {
                _ = try await storage.spool.enqueue(Self.messages("during", 7, campaign: campaign), at: Self.t0)
                written += 7
            }
            return written
        }
        try await Task.sleep(for: .milliseconds(50))
        let file = (try folder("backups").path as NSString).appendingPathComponent("smsdesk-backup.sqlite")
        let summary = try await live.backup(to: file)
        await stop.raise()
        let writtenDuring = try await writer.value
        #expect(writtenDuring > 0, "the writer ran during the backup")
        #expect(summary.schemaVersion == Migration.all.map(\.version).max())
        #expect(summary.spoolMessages >= committed.count)
        #expect((summary.spoolMessages - committed.count) % 7 == 0, "a transaction is in the backup whole or not at all")
        #expect(summary.bytes > 0)
        #expect(!FileManager.default.fileExists(atPath: file + "-wal"), "the backup is one file")
        try await storage.database.close()

        let fresh = try folder("fresh")
        let outcome = try await fresh.restore(from: file, force: false)
        #expect(outcome.previous == nil)
        #expect(outcome.summary.spoolMessages == summary.spoolMessages)
        let restored = try await open(fresh)
        for (id, text) in committed {
            let message = try await restored.spool.message(id: id)
            #expect(message?.message == text, "message \(id)")
        }
        try await restored.database.close()
    }

    @Test("restore refuses a file that is not SQLite, an SQLite file of another program, and a newer schema, each with a clear error; nothing is installed")
    func restoreRefusals() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let target = try folder("target")
        let files = try folder("files")
        let text = (files.path as NSString).appendingPathComponent("notes.txt")
        try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: text))
        await #expect(throws: SQLiteBackupError.notSQLite(text)) { try await target.restore(from: text, force: false) }

        let foreign = (files.path as NSString).appendingPathComponent("other.sqlite")
        let other = try SQLiteDatabase(path: foreign)
        try await other.query("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)")
        try await other.close()
        await #expect(throws: SQLiteBackupError.notSMSDesk(foreign)) { try await target.restore(from: foreign, force: false) }

        let source = try folder("source")
        let storage = try await open(source)
        try await storage.database.query("""
            INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)
            """)
        try await storage.database.close()
        let future = (files.path as NSString).appendingPathComponent("future.sqlite")
        _ = try await source.backup(to: future)
        let known = Migration.all.map(\.version).max() ?? 0
        do {
            _ = try await target.restore(from: future, force: false)
            Issue.record("a newer schema was restored")
        } catch let error as SQLiteBackupError {
            #expect(error == .newerSchema(future, 9999, known))
            #expect(error.description.contains("9999") && error.description.contains("newer"))
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: target.path).filter { $0 != SQLiteDataDirectory.lockFileName }
        #expect(left.isEmpty, "a refused restore leaves nothing behind: \(left)")
    }

    @Test("restore refuses while a server holds the data dir, needs --force over a database, keeps the old one (WAL included) and installs the secret key")
    func restoreOverExisting() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = try folder("source")
        let (storage, campaign) = try await create(source)
        let ids = try await storage.spool.enqueue(Self.messages("backed up", 3, campaign: campaign), at: Self.t0)
        try await storage.database.close()
        let file = (try folder("files").path as NSString).appendingPathComponent("b.sqlite")
        _ = try await source.backup(to: file)
        try Data("a2V5\n".utf8).write(to: URL(fileURLWithPath: file + ".key"))

        let target = try folder("target")
        let (current, other) = try await create(target)
        let oldIDs = try await current.spool.enqueue(Self.messages("current", 5, campaign: other), at: Self.t0)
        // A "server" still running: its database open with writes in its WAL, and the data dir's lock held.
        let server = try target.holdServerLock()
        await #expect(throws: SQLiteBackupError.serverRunning(target.path)) { try await target.restore(from: file, force: true) }
        #expect(throws: SQLiteBackupError.self) { try target.holdRestoreLock() }
        server.release()
        try await current.database.close()

        await #expect(throws: SQLiteBackupError.databaseExists(target.databasePath)) { try await target.restore(from: file, force: false) }
        let outcome = try await target.restore(from: file, force: true, now: Self.t0)
        let kept = try #require(outcome.previous)
        #expect(kept.hasPrefix(target.databasePath + ".bak-"))
        #expect(!FileManager.default.fileExists(atPath: target.databasePath + "-wal"), "no stale WAL meets the restored file")
        let previous = Storage(database: try SQLiteDatabase(path: kept))
        #expect(try await previous.spool.message(id: oldIDs[4])?.message == "current 4 ñ", "the replaced database is kept whole")
        try await previous.database.close()
        let restored = try await open(target)
        #expect(try await restored.spool.message(id: ids[2])?.message == "backed up 2 ñ")
        #expect(try await restored.spool.message(id: oldIDs[4]) == nil)
        try await restored.database.close()

        let keyPath = (target.path as NSString).appendingPathComponent("secret.key")
        #expect(FileManager.default.contents(atPath: keyPath) == Data("a2V5\n".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(outcome.notes.first?.contains("installed") == true)
        // A server can start again once the restore is over.
        _ = try target.holdServerLock()
    }
}

/// Tells the writer task to stop after its current transaction (cancelling it would abandon one midway).
actor StopFlag {
    private(set) var raised = false
    func raise() { raised = true }
}
