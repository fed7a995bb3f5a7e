import Foundation
import Logging
import SMSCore
import SMSProviders
import SMSStore

/// The live adapters of the configured providers, built from their stored
/// records (secrets decrypted here, nowhere else) and rebuilt when a record
/// changes. Stateful adapters (the simulator's pending reports) live as long
/// as their entry.
public actor ProviderPool {
    private let storage: Storage
    private let secrets: SecretBox
    private let catalog: ProviderCatalog
    private let http: ProviderHTTP
    private let requestTimeout: TimeInterval
    /// Builds the public webhook URL of a provider from its id and token.
    private let webhookURL: @Sendable (Int64, String) -> String?
    private var adapters: [Int64: (updatedAt: Date, adapter: any SMSProvider)] = [:]
    /// Adapters replaced by a newer configuration, stopped at shutdown (a simulator may still owe reports).
    private var retired: [any SMSProvider] = []

    public init(storage: Storage, secrets: SecretBox, catalog: ProviderCatalog, http: ProviderHTTP,
                requestTimeout: TimeInterval, webhookURL: @escaping @Sendable (Int64, String) -> String?) {
        self.storage = storage
        self.secrets = secrets
        self.catalog = catalog
        self.http = http
        self.requestTimeout = requestTimeout
        self.webhookURL = webhookURL
    }

    /// The adapter for a provider as it is stored now.
    public func adapter(for record: ProviderRecord) throws -> any SMSProvider {
        if let cached = adapters[record.id], cached.updatedAt == record.updatedAt { return cached.adapter }
        let adapter = try catalog.make(try config(for: record), http: http, providerID: record.id)
        if let replaced = adapters.updateValue((record.updatedAt, adapter), forKey: record.id)?.adapter {
            retired.append(replaced)
        }
        return adapter
    }

    /// The adapter for provider `id`, or nil when there is no such provider.
    public func adapter(id: Int64) async throws -> (ProviderRecord, any SMSProvider)? {
        guard let record = try await storage.providers.provider(id: id) else { return nil }
        return (record, try adapter(for: record))
    }

    /// The adapter configuration of a stored provider, with its secrets decrypted.
    public func config(for record: ProviderRecord) throws -> ProviderConfig {
        guard let type = ProviderType(rawValue: record.type) else {
            throw ProviderError(.permanent, code: "unsupported_type", text: "unknown provider type \(record.type)")
        }
        let opened = try ProviderSecrets.open(record.secretCiphertext, with: secrets)
        return ProviderConfig(
            type: type, url: record.url, username: record.username, secret: opened.secret, sender: record.sender,
            ports: record.ports, numberPattern: record.numberPattern,
            encoding: SMSEncodingSetting(rawValue: record.encoding) ?? .auto,
            settings: record.settings.merging(opened.settings) { _, secret in secret },
            webhookURL: webhookURL(record.id, record.webhookToken), timeout: requestTimeout)
    }

    /// Forgets a provider's adapter (after it was deleted).
    public func forget(id: Int64) {
        if let adapter = adapters.removeValue(forKey: id)?.adapter { retired.append(adapter) }
    }

    /// Stops adapters that own background work (the simulator's pending reports and replies).
    public func shutdown() async {
        let all = adapters.values.map(\.adapter) + retired
        adapters = [:]
        retired = []
        for adapter in all {
            if let simulator = adapter as? SimulatorProvider { await simulator.shutdown() }
        }
    }
}
