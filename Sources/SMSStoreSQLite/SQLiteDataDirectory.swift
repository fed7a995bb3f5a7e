import Foundation
import GRDB
import SMSStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The data directory of the embedded database: the SQLite file, its lock file, and the online backup and
/// the restore of that file (`smsdesk backup` / `smsdesk restore`).
///
/// A running server holds a shared `flock` on `smsdesk.lock` for its whole life; a restore takes it exclusively,
/// so it refuses while any server runs on the directory, and a server refuses to start during a restore.
public struct SQLiteDataDirectory: Sendable {
    public static let databaseFileName = "smsdesk.sqlite"
    public static let lockFileName = "smsdesk.lock"

    public let path: String

    public init(path: String) { self.path = path }

    public var databasePath: String { member(Self.databaseFileName) }
    public var lockPath: String { member(Self.lockFileName) }

    func member(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    // MARK: lock

    /// The lock `serve` holds while it runs (shared: several processes may serve, none may restore).
    public func holdServerLock() throws -> DataDirectoryLock {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard let lock = try DataDirectoryLock(path: lockPath, exclusive: false) else {
            throw SQLiteBackupError.restoreRunning(path)
        }
        return lock
    }

    /// The lock a restore holds: refused while a server runs on the directory.
    public func holdRestoreLock() throws -> DataDirectoryLock {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard let lock = try DataDirectoryLock(path: lockPath, exclusive: true) else {
            throw SQLiteBackupError.serverRunning(path)
        }
        return lock
    }

    // MARK: backup

    /// Copies the live database to `destination` with SQLite's online backup (a consistent snapshot even while a
    /// server writes), through a temporary file renamed into place once synced, then checks the copy.
    public func backup(to destination: String) async throws -> SQLiteFileSummary {
        guard FileManager.default.fileExists(atPath: databasePath) else { throw SQLiteBackupError.noDatabase(databasePath) }
        let temporary = destination + ".tmp-\(getpid())"
        Self.removeDatabaseFiles(temporary)
        do {
            let database = try SQLiteDatabase(path: databasePath)
            do {
                try await database.backup(to: temporary)
                try await database.close()
            } catch {
                try? await database.close()
                throw error
            }
            try Self.sync(temporary)
            try Self.rename(temporary, destination)
        } catch {
            Self.removeDatabaseFiles(temporary)
            throw error
        }
        return try Self.inspect(destination)
    }

    // MARK: restore

    /// What a restore did.
    public struct RestoreOutcome: Sendable {
        /// The restored database as installed (after migrations).
        public var summary: SQLiteFileSummary
        /// Where the database it replaced was kept, if there was one.
        public var previous: String?
        /// Migrations applied to the restored copy (it came from an older version).
        public var appliedMigrations: [Int]
        /// What happened to the secret key, for the operator.
        public var notes: [String]
    }

    /// Installs the backup `file` as this directory's database: refused while a server runs here, when `file` is not
    /// an intact SMSDesk database of this version or older, or (without `force`) when a database is already here.
    /// The current database is kept as `smsdesk.sqlite.bak-<timestamp>`; the copy is migrated, synced and renamed
    /// into place, so a crash at any point leaves either the old or the new database, whole.
    public func restore(from file: String, force: Bool, now: Date = Date()) async throws -> RestoreOutcome {
        let fm = FileManager.default
        guard fm.fileExists(atPath: file) else { throw SQLiteBackupError.noFile(file) }
        let lock = try holdRestoreLock()
        defer { lock.release() }
        if fm.fileExists(atPath: databasePath), !force { throw SQLiteBackupError.databaseExists(databasePath) }

        let stamp = Self.stamp(now)
        let staging = member("\(Self.databaseFileName).restore-\(stamp)")
        Self.removeDatabaseFiles(staging)
        var applied: [Int] = []
        do {
            try fm.copyItem(atPath: file, toPath: staging)
            _ = try Self.inspect(staging, reportedAs: file, requireKnownSchema: true)
            let database = try SQLiteDatabase(path: staging)
            do {
                applied = try await Migrator(database: database).run(now: now).map(\.version)
                // Everything into the main file, so it can be moved alone.
                try await database.query("PRAGMA wal_checkpoint(TRUNCATE)")
                try await database.close()
            } catch {
                try? await database.close()
                throw error
            }
            for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: staging + suffix) }
            try Self.sync(staging)
        } catch let error as SQLiteBackupError {
            Self.removeDatabaseFiles(staging)
            throw error
        } catch let error as StoreError {
            Self.removeDatabaseFiles(staging)
            throw SQLiteBackupError.unusable(file, "\(error)")
        } catch {
            Self.removeDatabaseFiles(staging)
            throw error
        }

        var previous: String?
        if fm.fileExists(atPath: databasePath) {
            let kept = databasePath + ".bak-\(stamp)"
            try await keepCurrentDatabase(as: kept)
            previous = kept
        }
        try Self.rename(staging, databasePath)
        var outcome = RestoreOutcome(summary: try Self.inspect(databasePath), previous: previous, appliedMigrations: applied, notes: [])
        outcome.notes = try installSecretKey(from: file + ".key")
        return outcome
    }

    /// Moves the current database (and, when it cannot be checkpointed, its WAL with it, named so SQLite pairs them)
    /// out of the way; a stale `-wal` or `-shm` must never meet the restored file.
    private func keepCurrentDatabase(as kept: String) async throws {
        let fm = FileManager.default
        var checkpointed = false
        if let database = try? SQLiteDatabase(path: databasePath) {
            checkpointed = (try? await database.query("PRAGMA wal_checkpoint(TRUNCATE)")) != nil
            try? await database.close()
        }
        try Self.rename(databasePath, kept)
        let wal = databasePath + "-wal"
        if fm.fileExists(atPath: wal) {
            let size = (try? fm.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0
            if checkpointed || size == 0 { try fm.removeItem(atPath: wal) } else { try Self.rename(wal, kept + "-wal") }
        }
        try? fm.removeItem(atPath: databasePath + "-shm")
    }

    /// The backup's `FILE.key`, if any, becomes this directory's `secret.key` when it has none.
    private func installSecretKey(from keyFile: String) throws -> [String] {
        let fm = FileManager.default
        guard let key = fm.contents(atPath: keyFile) else { return [] }
        let target = member("secret.key")
        if let current = fm.contents(atPath: target) {
            if current == key { return ["\(target) already holds the backup's secret key"] }
            return ["\(target) is not the key of the backup (\(keyFile)): provider secrets restored cannot be read with it; "
                    + "stop the server and replace \(target) with \(keyFile) (keep the old one aside), or set SMSDESK_SECRET_KEY"]
        }
        guard fm.createFile(atPath: target, contents: key, attributes: [.posixPermissions: 0o600]) else {
            throw SQLiteBackupError.io("cannot write \(target)")
        }
        return ["secret key installed from \(keyFile) as \(target) (mode 0600)"]
    }

    // MARK: inspection

    /// Checks that `path` is an intact SMSDesk database and summarises it. `reportedAs` names the file in errors;
    /// with `requireKnownSchema` a schema newer than this program is refused.
    public static func inspect(_ path: String, reportedAs name: String? = nil, requireKnownSchema: Bool = false) throws
        -> SQLiteFileSummary {
        let name = name ?? path
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        do {
            let queue = try DatabaseQueue(path: path)
            defer { try? queue.close() }
            return try queue.read { db -> SQLiteFileSummary in
                let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                guard problems == ["ok"] else {
                    throw SQLiteBackupError.corrupt(name, problems.prefix(5).joined(separator: "; "))
                }
                guard try db.tableExists("schema_migrations") else { throw SQLiteBackupError.notSMSDesk(name) }
                let version = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM schema_migrations") ?? 0
                let known = Migration.all.map(\.version).max() ?? 0
                if requireKnownSchema, version > known { throw SQLiteBackupError.newerSchema(name, version, known) }
                for table in ["spool", "messages", "conversations"] where try !db.tableExists(table) {
                    throw SQLiteBackupError.notSMSDesk(name)
                }
                func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
                return SQLiteFileSummary(path: path, bytes: bytes, schemaVersion: version, spoolMessages: try count("spool"),
                                         conversationMessages: try count("messages"), conversations: try count("conversations"))
            }
        } catch let error as SQLiteBackupError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            throw SQLiteBackupError.notSQLite(name)
        } catch {
            throw SQLiteBackupError.unusable(name, "\(error)")
        }
    }

    // MARK: files

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    static func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Flushes a file to disk.
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SQLiteBackupError.io("cannot open \(path) to sync it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SQLiteBackupError.io("cannot sync \(path)") }
    }

    /// Renames atomically, then syncs the folder so the new name survives a crash.
    static func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw SQLiteBackupError.io("cannot rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
        let folder = (to as NSString).deletingLastPathComponent
        let fd = open(folder.isEmpty ? "." : folder, O_RDONLY)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}

/// What a database file holds, as `smsdesk backup` and `restore` report it.
public struct SQLiteFileSummary: Sendable, Equatable {
    public var path: String
    public var bytes: Int
    public var schemaVersion: Int
    /// Outgoing messages (the spool).
    public var spoolMessages: Int
    /// Messages of conversations (inbound and replies).
    public var conversationMessages: Int
    public var conversations: Int
}

/// A refused backup or restore, with a message for the operator.
public enum SQLiteBackupError: Error, Equatable, CustomStringConvertible {
    case noDatabase(String)
    case noFile(String)
    case notSQLite(String)
    case notSMSDesk(String)
    case corrupt(String, String)
    case newerSchema(String, Int, Int)
    case unusable(String, String)
    case serverRunning(String)
    case restoreRunning(String)
    case databaseExists(String)
    case io(String)

    public var description: String {
        switch self {
        case .noDatabase(let path): "there is no database at \(path)"
        case .noFile(let path): "\(path) does not exist"
        case .notSQLite(let path): "\(path) is not an SQLite database"
        case .notSMSDesk(let path): "\(path) is an SQLite database but not an SMSDesk one (no schema_migrations, spool, messages and conversations tables)"
        case .corrupt(let path, let problems): "\(path) fails SQLite's integrity check: \(problems)"
        case .newerSchema(let path, let version, let known):
            "\(path) has schema version \(version), newer than this smsdesk knows (\(known)): restore it with a newer smsdesk"
        case .unusable(let path, let why): "\(path) cannot be used: \(why)"
        case .serverRunning(let dir):
            "a server is running on \(dir) (it holds \((dir as NSString).appendingPathComponent(SQLiteDataDirectory.lockFileName))): stop it first"
        case .restoreRunning(let dir): "a restore is running on \(dir); start the server when it has finished"
        case .databaseExists(let path):
            "\(path) already exists; pass --force to replace it (it is kept as \((path as NSString).lastPathComponent).bak-<timestamp>)"
        case .io(let message): message
        }
    }
}

/// An `flock` on the data directory's lock file, released when dropped (or by the kernel when the process dies).
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock without waiting; nil when another process holds it in a conflicting mode.
    init?(path: String, exclusive: Bool) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SQLiteBackupError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        descriptor = fd
    }

    /// Releases the lock now (also done when the lock is dropped).
    public func release() { _ = flock(descriptor, LOCK_UN) }

    deinit { close(descriptor) }
}
