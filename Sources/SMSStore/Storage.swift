import Foundation

/// Every store of SMSDesk over one database. Both backends share these SQL
/// implementations; only connection handling, migrations' DDL and the few
/// statements whose semantics differ are backend-specific.
public struct Storage: Sendable {
    public let database: any SQLDatabase
    public let users: any UserStore
    public let sessions: any SessionStore
    public let apiKeys: any APIKeyStore
    public let loginFailures: any LoginFailureStore
    public let audit: any AuditStore
    public let providers: any ProviderStore
    public let inbound: any InboundStore
    public let spool: any SpoolStore
    public let dncr: any DNCRStore
    public let campaigns: any CampaignStore
    public let dialers: any DialerStore
    public let settings: any SettingsStore
    public let liveEvents: any LiveEventStore
    public let conversations: any ConversationStore
    public let supervision: any SupervisionStore
    public let rateLimits: any RateLimitStore
    public let operations: any OperationsStore
    public let webhooks: any WebhookStore
    public let retention: any RetentionStore

    public init(database: any SQLDatabase) {
        self.database = database
        users = SQLUserStore(db: database)
        sessions = SQLSessionStore(db: database)
        apiKeys = SQLAPIKeyStore(db: database)
        loginFailures = SQLLoginFailureStore(db: database)
        audit = SQLAuditStore(db: database)
        providers = SQLProviderStore(db: database)
        inbound = SQLInboundStore(db: database)
        let webhookStore = SQLWebhookStore(db: database)
        webhooks = webhookStore
        spool = SQLSpoolStore(db: database, outbox: webhookStore)
        dncr = SQLDNCRStore(db: database)
        campaigns = SQLCampaignStore(db: database)
        dialers = SQLDialerStore(db: database)
        settings = SQLSettingsStore(db: database)
        liveEvents = SQLLiveEventStore(db: database)
        conversations = SQLConversationStore(db: database)
        supervision = SQLSupervisionStore(db: database)
        rateLimits = SQLRateLimitStore(db: database)
        operations = SQLOperationsStore(db: database)
        retention = SQLRetentionStore(db: database)
    }

    /// Brings the schema up to date; see `Migrator`.
    @discardableResult
    public func migrate(now: Date = Date()) async throws -> [Migration] {
        try await Migrator(database: database).run(now: now)
    }
}
