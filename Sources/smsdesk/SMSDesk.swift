import ArgumentParser
import Foundation
import Logging
import SMSServer
import SMSCore
import SMSDispatch
import SMSStore

@main
struct SMSDesk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smsdesk",
        abstract: "SMSDesk: an SMS contact center in one binary.",
        version: SMSDeskVersion.current,
        subcommands: [Serve.self, Migrate.self, UserCommand.self, APIKeyCommand.self, ImportCommand.self, Simulate.self,
                      Backup.self, Restore.self, RetentionCommand.self])

    /// Logs go to standard error for every command, keeping standard output for the command's own answer.
    static func main() async {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        await main(nil)
    }
}

/// Where the data lives; shared by every command that opens the database.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Folder for the embedded SQLite database (env SMSDESK_DATA_DIR).")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"),
            help: "PostgreSQL URL, postgres://user:password@host:port/db (env SMSDESK_DATABASE_URL); default: SQLite in the data dir.")
    var databaseURL: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env SMSDESK_LOG_LEVEL).")
    var logLevel: String?

    /// Flags win over the environment, which wins over defaults.
    func config() throws -> AppConfig {
        let env = ProcessInfo.processInfo.environment
        var config = AppConfig()
        config.dataDirectory = dataDirectory ?? env["SMSDESK_DATA_DIR"] ?? config.dataDirectory
        config.databaseURL = databaseURL ?? env["SMSDESK_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let level = logLevel ?? env["SMSDESK_LOG_LEVEL"] {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ValidationError("unknown log level '\(level)'")
            }
            config.logLevel = parsed
        }
        config.secretKey = env["SMSDESK_SECRET_KEY"]
        config.dispatch = try Self.dispatchPolicy(env)
        for (name, apply) in [("SMSDESK_PROVIDER_CONNECT_TIMEOUT", { (v: Double) in config.providerConnectTimeout = v }),
                              ("SMSDESK_PROVIDER_TIMEOUT", { config.providerRequestTimeout = $0 }),
                              ("SMSDESK_POLL_INTERVAL", { config.pollInterval = $0 })] as [(String, (Double) -> Void)] {
            guard let text = env[name] else { continue }
            guard let value = Double(text), value > 0 else { throw ValidationError("\(name) must be a number of seconds above 0") }
            apply(value)
        }
        if let cost = env["SMSDESK_BCRYPT_COST"] {
            guard let value = UInt8(cost), (4...31).contains(value) else {
                throw ValidationError("SMSDESK_BCRYPT_COST must be a number from 4 to 31")
            }
            config.bcryptCost = value
        }
        return config
    }

    /// The dialer engine's settings from the environment; nil when `SMSDESK_DISPATCH=off`.
    static func dispatchPolicy(_ env: [String: String]) throws -> DispatchPolicy? {
        if env["SMSDESK_DISPATCH"] == "off" { return nil }
        var policy = DispatchPolicy()
        if let text = env["SMSDESK_DISPATCH_BATCH"] {
            guard let value = Int(text), (1...5000).contains(value) else { throw ValidationError("SMSDESK_DISPATCH_BATCH must be 1 to 5000") }
            policy.claimBatch = value
        }
        if let text = env["SMSDESK_DISPATCH_LEASE_SECONDS"] {
            guard let value = Double(text), value >= 1 else { throw ValidationError("SMSDESK_DISPATCH_LEASE_SECONDS must be at least 1") }
            policy.lease = value
        }
        if let text = env["SMSDESK_DISPATCH_MAX_ATTEMPTS"] {
            guard let value = Int(text), value >= 1 else { throw ValidationError("SMSDESK_DISPATCH_MAX_ATTEMPTS must be at least 1") }
            policy.maxAttempts = value
        }
        if let text = env["SMSDESK_QUIET_HOURS"] {
            if text == "off" { policy.quietHoursAllowed = nil } else {
                let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let start = try? LocalTime(parts[0]), let end = try? LocalTime(parts[1]), start < end else {
                    throw ValidationError("SMSDESK_QUIET_HOURS must be off or the allowed local hours like 08:00-21:00")
                }
                policy.quietHoursAllowed = (start, end)
            }
        }
        return policy
    }

    /// Opens the configured database, runs `body`, and closes the database whatever happens.
    func withStorage<T>(_ body: (AppConfig, Storage) async throws -> T) async throws -> T {
        let config = try config()
        let storage = try await Storage.open(config: config, logger: logger(config))
        do {
            let result = try await body(config, storage)
            try await storage.database.close()
            return result
        } catch {
            try? await storage.database.close()
            throw error
        }
    }

    func logger(_ config: AppConfig, label: String = "smsdesk") -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = config.logLevel
        return logger
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server.")

    @OptionGroup var storageOptions: StorageOptions

    @Option(help: "Address to listen on (env SMSDESK_HOST).")
    var host: String?

    @Option(help: "Port to listen on (env SMSDESK_PORT).")
    var port: Int?

    @Flag(name: .customLong("secure-cookies"), help: "Mark session cookies Secure (when served over HTTPS).")
    var secureCookies = false

    @Option(name: .customLong("public-url"),
            help: "Address providers reach this server at, e.g. https://sms.example.com (env SMSDESK_PUBLIC_URL); used for webhook URLs and signatures.")
    var publicURL: String?

    @Flag(help: "Set up a demo contact center on an empty data dir (simulator provider, campaign, dialer, three agents, a supervisor) and run simulated traffic (env SMSDESK_DEMO=1).")
    var demo = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var config = try storageOptions.config()
        config.demo = demo || env["SMSDESK_DEMO"] == "1"
        config.host = host ?? env["SMSDESK_HOST"] ?? config.host
        if let port = port ?? env["SMSDESK_PORT"].flatMap(Int.init) {
            guard (0...65535).contains(port) else { throw ValidationError("port must be 0 to 65535") }
            config.port = port
        }
        config.secureCookies = secureCookies || env["SMSDESK_SECURE_COOKIES"] == "1"
        config.publicURL = publicURL ?? env["SMSDESK_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
        let logger = storageOptions.logger(config)
        let secrets = try SecretBox.load(base64: config.secretKey, dataDirectory: config.dataDirectory)
        // Held while serving (the kernel drops it if the process dies): `smsdesk restore` refuses while it is held.
        let dataDirectoryLock = try config.holdServerLock()
        defer { dataDirectoryLock?.release() }
        let storage = try await Storage.open(config: config, logger: logger)
        if let password = try await Accounts(storage: storage, bcryptCost: config.bcryptCost).bootstrapAdmin() {
            say("admin password: \(password)")
            say("(shown once: sign in as admin and keep it safe)")
        }
        if config.demo {
            do {
                if let accounts = try await Demo.install(storage: storage, accounts: Accounts(storage: storage, bcryptCost: config.bcryptCost)) {
                    say("demo: simulator provider, campaign \"\(Demo.campaignName)\" (DID \(Demo.did)), dialer and users created")
                    for account in accounts {
                        let note = Demo.simulatedAgents.contains(account.username) ? " (simulated: answers by itself)" : ""
                        say("demo \(account.role.rawValue) \(account.username) password: \(account.password)\(note)")
                    }
                } else {
                    say("demo: resuming the demo traffic on this data dir")
                }
            } catch let error as Demo.NotEmpty {
                try? await storage.database.close()
                throw CLIError(error.description)
            }
        }
        let httpClient = AppDependencies.makeHTTPClient(config: config)
        do {
            let backend = storage.database.dialect.rawValue
            let host = config.host
            let app = try await SMSDeskApp.build(
                config: config, storage: storage, dependencies: AppDependencies(secrets: secrets, httpClient: httpClient),
                logger: logger, onListening: { port in
                    say("SMSDesk \(SMSDeskVersion.current) listening on http://\(host):\(port) (\(backend))")
                })
            try await app.application.runService()
        } catch {
            try? await httpClient.shutdown()
            try? await storage.database.close()
            throw error
        }
        try await httpClient.shutdown()
        try await storage.database.close()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database schema up to date and exit.")
    @OptionGroup var storageOptions: StorageOptions

    func run() async throws {
        try await storageOptions.withStorage { _, storage in
            let version = try await storage.database.queryFirst("SELECT MAX(version) AS v FROM schema_migrations")?.int("v") ?? 0
            say("schema version \(version) (\(storage.database.dialect.rawValue))")
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print a generated password.")
        @Argument(help: "User name (3–32 of a-z 0-9 . _ -).") var name: String
        @Option(help: "admin, supervisor or agent.") var role: String
        @Option(name: .customLong("display-name"), help: "Name shown in the UI.") var displayName: String?
        @OptionGroup var storageOptions: StorageOptions

        func run() async throws {
            guard let role = Role(rawValue: role), Role.personRoles.contains(role) else {
                throw ValidationError("--role must be admin, supervisor or agent")
            }
            do {
                try await storageOptions.withStorage { config, storage in
                let (user, password) = try await Accounts(storage: storage, bcryptCost: config.bcryptCost)
                    .createUser(username: name, displayName: displayName, role: role)
                try await storage.audit.append(AuditEntry(at: Date(), actorUserID: nil, actorName: "cli", action: "user.create",
                                                          targetType: "user", targetID: String(user.id), details: "role=\(role.rawValue)"))
                say("user \(user.username) (\(user.role.rawValue)) created")
                say("password: \(password)")
                }
            } catch let error as APIError {
                throw CLIError(error.message)
            }
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apikey", abstract: "Manage API keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key for an integration and print it once.")
        @Argument(help: "A name for the integration.") var name: String
        @OptionGroup var storageOptions: StorageOptions

        func run() async throws {
            do {
                try await storageOptions.withStorage { config, storage in
                let (apiKey, key) = try await Accounts(storage: storage, bcryptCost: config.bcryptCost)
                    .createAPIKey(name: name, createdBy: nil)
                try await storage.audit.append(AuditEntry(at: Date(), actorUserID: nil, actorName: "cli", action: "apikey.create",
                                                          targetType: "apikey", targetID: String(apiKey.id), details: "name=\(apiKey.name)"))
                say("API key \(apiKey.name) created (id \(apiKey.id))")
                say("key: \(key)")
                say("(shown once: send it as 'Authorization: Bearer <key>')")
                }
            } catch let error as APIError {
                throw CLIError(error.message)
            }
        }
    }
}

/// Writes one line of the command's own output, unbuffered, so a process
/// reading the server's stdout (an operator's script, the browser tests) sees
/// it at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A refusal of the command's input that needs no usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
