import Crypto
import Foundation
import Logging
import SMSCore
@testable import SMSDispatch
import SMSProviders
import SMSStore
import SMSStoreSQLite
import Testing

/// The dialer engine on a throwaway SQLite database: storage, a provider pool
/// whose simulators hand their delivery reports to `DeliveryReportIntake`, a
/// record of every send the adapters were asked to make, and the engine's logs.
final class EngineHarness: Sendable {
    let storage: Storage
    let secrets: SecretBox
    let pool: ProviderPool
    let sends: SendLog
    let logs: LogCapture

    private init(storage: Storage, secrets: SecretBox, pool: ProviderPool, sends: SendLog, logs: LogCapture) {
        self.storage = storage
        self.secrets = secrets
        self.pool = pool
        self.sends = sends
        self.logs = logs
    }

    /// Runs `body` on a fresh engine; stops the simulators and removes the database afterwards.
    static func with(_ body: (EngineHarness) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-dispatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let storage = Storage(database: try SQLiteDatabase(path: dir.appendingPathComponent("test.sqlite").path))
        try await storage.migrate()

        let logs = LogCapture()
        let sends = SendLog()
        let intake = DeliveryReportIntake(storage: storage, logger: logs.logger(label: "reports"))
        var catalog = ProviderCatalog.standard(simulatorSink: { id in ReportSink(providerID: id, intake: intake, logs: logs) })
        // The standard simulator, wrapped so the tests see every message an adapter was asked to send.
        let simulator = try #require(catalog.entries[.simulator])
        catalog.entries[.simulator] = .init(fields: simulator.fields) { config, http, id in
            let adapter = try simulator.make(config, http, id)
            sends.adopt(adapter)
            return RecordingProvider(inner: adapter, providerID: id, log: sends)
        }
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let pool = ProviderPool(storage: storage, secrets: secrets, catalog: catalog, http: ProviderHTTP(client: .shared),
                                requestTimeout: 5, webhookURL: { _, _ in nil })
        let harness = EngineHarness(storage: storage, secrets: secrets, pool: pool, sends: sends, logs: logs)
        do {
            try await body(harness)
        } catch {
            await harness.close()
            throw error
        }
        await harness.close()
    }

    private func close() async {
        await pool.shutdown()
        for adapter in sends.adapters {
            if let simulator = adapter as? SimulatorProvider { await simulator.shutdown() }
        }
        try? await storage.database.close()
    }

    /// Runs a `Dispatcher` (its supervisor loop) while `body` runs, then cancels it and waits for it to end.
    /// Unless `allowingErrors`, the engine must log no error meanwhile.
    func whileDispatching(_ policy: DispatchPolicy, allowingErrors: Bool = false, notice: ConversationDeliveryNotice = .disabled,
                          _ body: () async throws -> Void) async throws {
        let dispatcher = Dispatcher(storage: storage, pool: pool, policy: policy, logger: logs.logger(label: "dispatcher"),
                                    notice: notice)
        let task = Task { await dispatcher.supervise() }
        do {
            try await body()
        } catch {
            task.cancel()
            await task.value
            throw error
        }
        let errors = logs.lines(atLeast: .error)
        #expect(allowingErrors || errors.isEmpty, "the engine logged errors:\n\(errors.joined(separator: "\n"))")
        task.cancel()
        await task.value
    }

    // MARK: - Configuration

    /// A test policy: quick polling and retries, no quiet hours unless given.
    static func policy(claimBatch: Int = 50, lease: TimeInterval = 30, maxAttempts: Int = 5, backoffBase: TimeInterval = 0.05,
                       backoffMax: TimeInterval = 0.2, failoverAfter: Int = 5, failbackAfter: TimeInterval = 300,
                       quietHours: (start: LocalTime, end: LocalTime)? = nil) -> DispatchPolicy {
        DispatchPolicy(claimBatch: claimBatch, lease: lease, maxAttempts: maxAttempts, backoffBase: backoffBase,
                       backoffMax: backoffMax, failoverAfter: failoverAfter, failbackAfter: failbackAfter, defaultConcurrency: 16,
                       quietHoursAllowed: quietHours, idlePause: .milliseconds(20), node: "test-node")
    }

    /// A `Simulator` provider: fast sends and reports unless `settings` say otherwise.
    func simulator(_ name: String, settings: [String: String] = [:], secretSettings: [String: String] = [:],
                   numberPattern: String? = nil) async throws -> ProviderRecord {
        let now = Date()
        let defaults = ["latency_ms": "2", "dlr_delay_ms": "20"]
        return try await storage.providers.create(ProviderRecord(
            name: name, type: ProviderType.simulator.rawValue,
            secretCiphertext: try ProviderSecrets(settings: secretSettings).sealed(with: secrets),
            numberPattern: numberPattern, settings: defaults.merging(settings) { $1 },
            webhookToken: "token-\(name)", createdAt: now, updatedAt: now))
    }

    func campaign(_ name: String, enabled: Bool = true, transactional: Bool = false,
                  timeZone: String = "America/Montevideo") async throws -> CampaignRecord {
        let now = Date()
        return try await storage.campaigns.create(CampaignRecord(
            name: name, enabled: enabled, timeZone: timeZone, schedule: "{}", transactional: transactional,
            createdAt: now, updatedAt: now))
    }

    /// An enabled dialer, always in schedule.
    func dialer(_ name: String, provider: ProviderRecord, fallback: ProviderRecord? = nil, campaigns: [CampaignRecord],
                dialString: String? = nil, intervalMs: Int = 0, dncrCheck: Bool = true) async throws -> DialerRecord {
        let now = Date()
        return try await storage.dialers.create(DialerRecord(
            name: name, providerID: provider.id, fallbackProviderID: fallback?.id, schedule: "{}", timeZone: "UTC",
            dialString: dialString, intervalMs: intervalMs, enabled: true, dncrCheck: dncrCheck,
            campaignIDs: campaigns.map(\.id), createdAt: now, updatedAt: now))
    }

    /// Queues one message per destination; returns the ids in order.
    @discardableResult
    func enqueue(_ campaign: CampaignRecord, _ destinations: [String], priority: Int = 0) async throws -> [Int64] {
        try await storage.spool.enqueue(destinations.enumerated().map { i, destination in
            NewSpoolMessage(campaignID: campaign.id, destination: destination, message: "Mensaje \(i) para \(destination)",
                            priority: priority, source: .csv)
        }, at: Date())
    }

    // MARK: - Reading

    func message(_ id: Int64) async throws -> SpoolMessage {
        try #require(try await storage.spool.message(id: id), "spool message \(id) does not exist")
    }

    func messages(_ ids: [Int64]) async throws -> [SpoolMessage] {
        var result: [SpoolMessage] = []
        for id in ids { result.append(try await message(id)) }
        return result
    }

    /// Waits until every message is in one of `states`; returns them.
    @discardableResult
    func waitUntil(_ ids: [Int64], are states: Set<SpoolState>, timeout: Duration = .seconds(30)) async throws -> [SpoolMessage] {
        try await eventually("messages \(ids.count > 8 ? "(\(ids.count))" : "\(ids)") reach \(states.map(\.rawValue).sorted())",
                             timeout: timeout) {
            let current = try await self.messages(ids)
            return current.allSatisfy { states.contains($0.state) } ? current : nil
        } lastSeen: {
            let current = try await self.messages(ids)
            return Dictionary(grouping: current, by: \.state).mapValues(\.count).description
        }
    }
}

/// Polls `probe` every 20 ms until it returns a value or `timeout` passes (then records an issue and throws).
@discardableResult
func eventually<T>(_ what: String, timeout: Duration = .seconds(30), _ probe: () async throws -> T?,
                   lastSeen: () async throws -> String = { "" }) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await probe() { return value }
        if ContinuousClock.now >= deadline {
            let seen = (try? await lastSeen()) ?? ""
            Issue.record("timed out waiting until \(what)\(seen.isEmpty ? "" : "; last seen: \(seen)")")
            throw TimedOut()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes (then records an issue and throws).
func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool,
             lastSeen: () async throws -> String = { "" }) async throws {
    try await eventually(what, timeout: timeout, { try await condition() ? true : nil }, lastSeen: lastSeen)
}

struct TimedOut: Error {}

/// Forwards the simulator's delivery reports to the intake, as the server's bridge does.
struct ReportSink: SimulatorSink {
    let providerID: Int64
    let intake: DeliveryReportIntake
    let logs: LogCapture

    func simulatorDelivered(_ report: DeliveryReport) async {
        do { try await intake.receive(report, providerID: providerID) } catch {
            logs.append(.error, "delivery report not stored: \(error)")
        }
    }

    func simulatorReceived(_ message: InboundSMS) async {}
}

/// One send an adapter was asked to make.
struct RecordedSend: Sendable {
    var providerID: Int64
    var message: OutgoingSMS
    /// When the adapter was called.
    var at: Date
}

/// Every send the adapters were asked to make, and the adapters themselves (to stop them at the end).
final class SendLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [RecordedSend] = []
    private var made: [any SMSProvider] = []

    func append(_ send: RecordedSend) { lock.withLock { recorded.append(send) } }
    func adopt(_ adapter: any SMSProvider) { lock.withLock { made.append(adapter) } }

    var all: [RecordedSend] { lock.withLock { recorded } }
    var adapters: [any SMSProvider] { lock.withLock { made } }

    /// Sends to `destination`.
    func to(_ destination: String) -> [RecordedSend] { all.filter { $0.message.destination == destination } }
    /// Sends for spool message `id` (the reference the engine gives the adapter).
    func of(_ id: Int64) -> [RecordedSend] { all.filter { $0.message.reference == String(id) } }
}

/// A provider adapter that records each send before handing it to the real one.
struct RecordingProvider: SMSProvider {
    let inner: any SMSProvider
    let providerID: Int64
    let log: SendLog

    var type: ProviderType { inner.type }

    func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        log.append(RecordedSend(providerID: providerID, message: message, at: Date()))
        return try await inner.send(message)
    }

    func verifyWebhook(_ request: WebhookRequest) -> Bool { inner.verifyWebhook(request) }
    func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] { try inner.inboundMessages(in: request) }
    func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] { try inner.deliveryReports(in: request) }
}

/// Collects log lines (level, message, metadata) so tests can wait for and check what the engine logged.
final class LogCapture: @unchecked Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var text: String
        var metadata: [String: String]
    }

    private let lock = NSLock()
    private var captured: [Line] = []

    func append(_ level: Logger.Level, _ text: String, metadata: [String: String] = [:]) {
        lock.withLock { captured.append(Line(level: level, text: text, metadata: metadata)) }
    }

    var all: [Line] { lock.withLock { captured } }

    func lines(atLeast level: Logger.Level) -> [String] {
        all.filter { $0.level >= level }.map { "\($0.level) \($0.text) \($0.metadata)" }
    }

    /// Whether a line with this text and metadata was logged.
    func contains(_ text: String, metadata: [String: String] = [:]) -> Bool {
        all.contains { line in line.text == text && metadata.allSatisfy { line.metadata[$0.key] == $0.value } }
    }

    func count(_ text: String, metadata: [String: String] = [:]) -> Int {
        all.filter { line in line.text == text && metadata.allSatisfy { line.metadata[$0.key] == $0.value } }.count
    }

    func logger(label: String) -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = .debug
        return logger
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(event.level, "\(event.message)", metadata: merged.mapValues { "\($0)" })
        }
    }
}
