import Foundation

/// Every provider type this build speaks: its configuration fields and how to
/// make its adapter.
public struct ProviderCatalog: Sendable {
    public struct Entry: Sendable {
        public var fields: ProviderFieldSchema
        public var make: @Sendable (ProviderConfig, ProviderHTTP, _ providerID: Int64) throws -> any SMSProvider

        public init(fields: ProviderFieldSchema,
                    make: @escaping @Sendable (ProviderConfig, ProviderHTTP, Int64) throws -> any SMSProvider) {
            self.fields = fields
            self.make = make
        }
    }

    public var entries: [ProviderType: Entry]

    public init(entries: [ProviderType: Entry]) { self.entries = entries }

    /// The types in the order the admin form lists them.
    public var types: [ProviderType] { ProviderType.allCases.filter { entries[$0] != nil } }

    public func fields(for type: ProviderType) -> ProviderFieldSchema? { entries[type]?.fields }

    /// The adapter for a stored provider's configuration.
    public func make(_ config: ProviderConfig, http: ProviderHTTP, providerID: Int64) throws -> any SMSProvider {
        guard let entry = entries[config.type] else {
            throw ProviderError(.permanent, code: "unsupported_type", text: "provider type \(config.type.rawValue) is not available")
        }
        return try entry.make(config, http, providerID)
    }
}

extension ProviderCatalog {
    /// Every adapter of this build. `simulatorSink` gives the in-process
    /// simulator of a provider (by id) where to hand its delivery reports and
    /// automatic replies; without one it produces none.
    public static func standard(simulatorSink: @escaping @Sendable (Int64) -> (any SimulatorSink)? = { _ in nil }) -> ProviderCatalog {
        var entries: [ProviderType: Entry] = [
            .twilio: Entry(fields: TwilioProvider.fields) { config, http, _ in try TwilioProvider(config: config, http: http) },
            .nexmo: Entry(fields: NexmoProvider.fields) { config, http, _ in try NexmoProvider(config: config, http: http) },
            .infobip: Entry(fields: InfobipProvider.fields) { config, http, _ in try InfobipProvider(config: config, http: http) },
            .smsMasivo: Entry(fields: SMSMasivoProvider.fields) { config, http, _ in try SMSMasivoProvider(config: config, http: http) },
            .dinstarWeb: Entry(fields: DinstarProvider.fields) { config, http, _ in try DinstarProvider(config: config, http: http) },
            .simulator: Entry(fields: SimulatorProvider.fields) { config, http, id in
                try SimulatorProvider(config: config, http: http, sink: simulatorSink(id))
            },
        ]
        for type in [ProviderType.urlSMS, .urlSMSAuth, .urlSMSPost, .urlPostSMSAuth, .quality, .gmg] {
            if let fields = GenericURLProvider.fields(for: type) {
                entries[type] = Entry(fields: fields) { config, http, _ in try GenericURLProvider(config: config, http: http) }
            }
        }
        return ProviderCatalog(entries: entries)
    }
}
