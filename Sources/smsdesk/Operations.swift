import ArgumentParser
import Foundation
import SMSServer
import SMSStore
import SMSStoreSQLite

extension AppConfig {
    /// On SQLite, the data directory's shared server lock (see `SQLiteDataDirectory`); nil on PostgreSQL.
    func holdServerLock() throws -> DataDirectoryLock? {
        guard databaseURL == nil else { return nil }
        do {
            return try SQLiteDataDirectory(path: dataDirectory).holdServerLock()
        } catch let error as SQLiteBackupError {
            throw CLIError("\(error)")
        }
    }
}

/// `smsdesk backup FILE`: an online copy of the embedded database, checked and summarised.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the embedded SQLite database to FILE while the server keeps running, then check the copy.",
        discussion: """
            The copy is written to a temporary file, synced, renamed to FILE (replacing it) and checked with SQLite's \
            integrity check. Provider secrets inside are encrypted with the secret key (SMSDESK_SECRET_KEY or secret.key \
            in the data dir): keep that key too, e.g. with --include-secret-key. With a PostgreSQL database this prints \
            the pg_dump and pg_restore commands to use instead.
            """)

    @Argument(help: "The backup file to write.") var file: String
    @Flag(name: .customLong("include-secret-key"), help: "Also write the secret key to FILE.key (mode 0600).")
    var includeSecretKey = false
    @OptionGroup var storageOptions: StorageOptions

    func run() async throws {
        let config = try storageOptions.config()
        if let url = config.databaseURL { throw CLIError(PostgresBackupAdvice(url: url, file: file).text) }
        let directory = SQLiteDataDirectory(path: config.dataDirectory)
        let summary: SQLiteFileSummary
        do {
            summary = try await directory.backup(to: file)
        } catch let error as SQLiteBackupError {
            throw CLIError("backup failed: \(error)")
        }
        say("backup written to \(file)")
        say("  size: \(ByteCountFormatter.string(fromByteCount: Int64(summary.bytes), countStyle: .file)) (\(summary.bytes) bytes)")
        say("  integrity check: ok")
        say("  schema version: \(summary.schemaVersion)")
        say("  spool messages: \(summary.spoolMessages), conversation messages: \(summary.conversationMessages), "
            + "conversations: \(summary.conversations)")
        let keyFile = (config.dataDirectory as NSString).appendingPathComponent("secret.key")
        let keySource = config.secretKey?.isEmpty == false ? "SMSDESK_SECRET_KEY" : keyFile
        guard includeSecretKey else {
            say("provider secrets in the backup are encrypted with the secret key (\(keySource)): keep it apart from the "
                + "backup, or run again with --include-secret-key to write \(file).key (mode 0600)")
            return
        }
        guard config.secretKey?.isEmpty == false || FileManager.default.fileExists(atPath: keyFile) else {
            say("no secret key exists yet (\(keyFile)): no provider secret is stored, nothing to keep")
            return
        }
        let secrets = try SecretBox.load(base64: config.secretKey, dataDirectory: config.dataDirectory)
        try writePrivately(secrets.exportedBase64 + "\n", to: file + ".key")
        say("secret key (from \(keySource)) written to \(file).key (mode 0600): store it as safely as the backup; "
            + "`smsdesk restore` installs it when the data dir has none")
    }

    /// Writes `text` to `path` readable by its owner only, through a temporary file renamed into place.
    func writePrivately(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: temporary)
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CLIError("cannot write \(path)")
        }
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CLIError("cannot write \(path)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
}

/// `smsdesk restore FILE`: installs a backup as the data dir's database.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install a backup FILE as the data dir's database (the server must be stopped).",
        discussion: """
            FILE must be an intact SMSDesk database of this version or older. The current database is kept as \
            smsdesk.sqlite.bak-<timestamp>; the copy is migrated, synced and renamed into place. FILE.key, when \
            present, becomes the data dir's secret.key if it has none.
            """)

    @Argument(help: "A file written by `smsdesk backup`.") var file: String
    @Flag(help: "Replace the data dir's existing database (it is kept as smsdesk.sqlite.bak-<timestamp>).") var force = false
    @OptionGroup var storageOptions: StorageOptions

    func run() async throws {
        let config = try storageOptions.config()
        if let url = config.databaseURL { throw CLIError(PostgresBackupAdvice(url: url, file: file).text) }
        let directory = SQLiteDataDirectory(path: config.dataDirectory)
        let outcome: SQLiteDataDirectory.RestoreOutcome
        do {
            outcome = try await directory.restore(from: file, force: force)
        } catch let error as SQLiteBackupError {
            throw CLIError("restore refused: \(error)")
        }
        say("restored \(file) into \(directory.databasePath)")
        if let previous = outcome.previous { say("  previous database kept as \(previous)") }
        say("  schema version: \(outcome.summary.schemaVersion)"
            + (outcome.appliedMigrations.isEmpty ? "" : " (migrated: \(outcome.appliedMigrations.map(String.init).joined(separator: ", ")))"))
        say("  spool messages: \(outcome.summary.spoolMessages), conversation messages: \(outcome.summary.conversationMessages), "
            + "conversations: \(outcome.summary.conversations)")
        for note in outcome.notes { say(note) }
    }
}

/// What to use instead of `smsdesk backup`/`restore` on PostgreSQL. The password is never printed.
struct PostgresBackupAdvice {
    let url: String
    let file: String

    var text: String {
        var components = URLComponents(string: url)
        let hadPassword = components?.password != nil
        components?.password = nil
        let safeURL = components?.string ?? "<your database URL>"
        return """
            this configuration uses PostgreSQL: smsdesk backup and restore handle the embedded SQLite database only. \
            Use PostgreSQL's tools\(hadPassword ? " (give the password with PGPASSWORD or ~/.pgpass)" : ""):
              back up (while serving):   pg_dump --format=custom --no-owner --file='\(file)' '\(safeURL)'
              restore (nodes stopped):   pg_restore --clean --if-exists --no-owner --dbname='\(safeURL)' '\(file)'
            then start smsdesk serve (it migrates). Keep SMSDESK_SECRET_KEY with the dump: provider secrets are encrypted with it.
            """
    }
}

/// `smsdesk retention`: applies the retention setting now, as the server does once a day.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Apply the retention setting now (the server does it daily); --dry-run only counts.")

    @Flag(name: .customLong("dry-run"), help: "Count what would be deleted or anonymised; change nothing.") var dryRun = false
    @OptionGroup var storageOptions: StorageOptions

    func run() async throws {
        try await storageOptions.withStorage { config, storage in
            let policy = try await storage.retention.policy()
            guard let days = policy.days, policy.mode != .keep else {
                say("retention: keep everything (the default); nothing to do. Set it with PUT /api/v1/settings/retention")
                return
            }
            let secrets = try SecretBox.load(base64: config.secretKey, dataDirectory: config.dataDirectory)
            let retention = Retention(storage: storage, secrets: secrets, logger: storageOptions.logger(config, label: "smsdesk.retention"))
            let report = try await retention.run(dryRun: dryRun, actor: "cli")
            let verb = policy.mode == .delete ? "delete" : "anonymise"
            let cutoff = report.cutoff.map { $0.formatted(.iso8601) } ?? "-"
            say("\(dryRun ? "would \(verb)" : verb + "d") what is older than \(days) days (before \(cutoff)):")
            say("  spool messages: \(report.spool)" + (policy.mode == .delete ? ", their state history: \(report.spoolEvents)" : ""))
            say("  conversations: \(report.conversations), conversation messages: \(report.messages)")
            say("  delivery reports: \(report.deliveryReports)")
            say("  webhook deliveries: \(report.webhookDeliveries)")
        }
    }
}
