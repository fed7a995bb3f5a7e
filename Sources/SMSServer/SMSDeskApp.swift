import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import AsyncHTTPClient
import Prometheus
import SMSConversations
import SMSDispatch
import SMSLive
import SMSProviders
import SMSStore
import ServiceLifecycle

/// What the application needs besides its configuration and storage.
public struct AppDependencies: Sendable {
    /// Encrypts provider secrets at rest.
    public var secrets: SecretBox
    /// The one shared client for outgoing requests to providers.
    public var httpClient: HTTPClient
    /// The provider types this build speaks; nil: every adapter, with the
    /// in-process simulator wired to the inbound pipeline.
    public var catalog: ProviderCatalog?
    /// How outgoing webhooks are delivered (its clock is also the API's for webhook times); nil: this
    /// process delivers none (another node does).
    public var webhookDelivery: WebhookDeliverySettings?

    public init(secrets: SecretBox, httpClient: HTTPClient, catalog: ProviderCatalog? = nil,
                webhookDelivery: WebhookDeliverySettings? = WebhookDeliverySettings()) {
        self.secrets = secrets
        self.httpClient = httpClient
        self.catalog = catalog
        self.webhookDelivery = webhookDelivery
    }

    /// The outgoing HTTP client of a server: pooled connections, the configured
    /// connect and read timeouts, and no redirects (a provider's answer is
    /// never fetched from another host).
    public static func makeHTTPClient(config: AppConfig) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(Int64(config.providerConnectTimeout * 1000)),
                           read: .milliseconds(Int64(config.providerRequestTimeout * 1000))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// The URLs providers call us at.
struct WebhookURLs: Sendable {
    let publicURL: String?

    func path(_ id: Int64, _ token: String) -> String { "/webhooks/\(id)/\(token)" }

    /// The absolute URL, known only when the public address is configured.
    func absolute(_ id: Int64, _ token: String) -> String? {
        guard var base = publicURL, !base.isEmpty else { return nil }
        if base.hasSuffix("/") { base.removeLast() }
        return base + path(id, token)
    }
}

/// The built server: the Hummingbird application plus what tests inspect.
public struct SMSDeskApp: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    /// Every route the router received, declared or not.
    public let registeredRoutes: [RegisteredRoute]
    /// Every route declared through `APIRoutes`, with its access rule.
    public let declaredRoutes: [RouteSpec]
    public let storage: Storage
    /// The live event bus (what the browsers' WebSockets carry).
    public let events: EventBus

    /// Builds the application on an open `storage`; called by `serve` and by tests alike.
    /// `onListening` runs once the server accepts connections, with the port it listens on.
    public static func build(config: AppConfig, storage: Storage, dependencies: AppDependencies, logger: Logger,
                             registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                             onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> SMSDeskApp {
        let recorder = RecordingRouter(router: Router(context: AppRequestContext.self))
        recorder.add(middleware: RequestMetricsMiddleware(registry: registry))
        recorder.add(middleware: SecurityHeadersMiddleware())
        recorder.add(middleware: ErrorMiddleware())
        let authentication = AuthenticationMiddleware(storage: storage, sessionIdleTimeout: config.sessionIdleTimeout)
        recorder.add(middleware: authentication)

        let routes = APIRoutes(recorder: recorder)
        let accounts = Accounts(storage: storage, bcryptCost: config.bcryptCost)
        let document = NIOLockedValueBox(Data())
        try await AuthController(storage: storage, config: config).addRoutes(to: routes)
        APIKeyController(storage: storage, accounts: accounts).addRoutes(to: routes)
        let urls = WebhookURLs(publicURL: config.publicURL)
        let events = try await EventBus(store: storage.liveEvents, transport: storage.liveEventTransport(logger: logger))
        let coalescer = LiveEventCoalescer(bus: events, logger: logger)
        let progress = DialerProgress(coalescer: coalescer)
        let live = LiveController(bus: events, authentication: authentication, publicURL: config.publicURL)
        live.addRoutes(to: routes)
        let router = ConversationRouter(storage: storage, events: ConversationEvents(bus: events, storage: storage, logger: logger),
                                        logger: logger)
        let inbound = InboundPipeline(storage: storage, router: router, logger: logger)
        let conversationEvents = ConversationEvents(bus: events, storage: storage, logger: logger)
        UserController(storage: storage, events: conversationEvents, accounts: accounts).addRoutes(to: routes)
        let notice = ConversationDeliveryNotice { await conversationEvents.deliveryChanged(spoolIDs: $0) }
        let reports = DeliveryReportIntake(storage: storage, logger: logger, progress: progress, notice: notice)
        let catalog = dependencies.catalog ?? .standard(simulatorSink: { id in
            SimulatorBridge(providerID: id, inbound: inbound, reports: reports, logger: logger)
        })
        let pool = ProviderPool(
            storage: storage, secrets: dependencies.secrets, catalog: catalog,
            http: ProviderHTTP(client: dependencies.httpClient), requestTimeout: config.providerRequestTimeout,
            webhookURL: { urls.absolute($0, $1) })
        ProviderController(storage: storage, catalog: catalog, pool: pool, secrets: dependencies.secrets,
                           webhookURL: { urls.absolute($0, $1) ?? urls.path($0, $1) }).addRoutes(to: routes)
        WebhookController(storage: storage, pool: pool, inbound: inbound, reports: reports,
                          publicURL: config.publicURL).addRoutes(to: routes)
        OutgoingWebhookController(storage: storage, secrets: dependencies.secrets,
                                  clock: dependencies.webhookDelivery?.clock ?? .system).addRoutes(to: routes)
        let messages = MessageController(storage: storage, intake: SpoolIntake(storage: storage), progress: progress)
        messages.addRoutes(to: routes)
        SpoolController(storage: storage, messages: messages, dataDirectory: config.dataDirectory, progress: progress).addRoutes(to: routes)
        DialerController(storage: storage, progress: progress).addRoutes(to: routes)
        CampaignController(storage: storage).addRoutes(to: routes)
        let inbox = Inbox(storage: storage, router: router, intake: SpoolIntake(storage: storage))
        ConversationController(storage: storage, inbox: inbox).addRoutes(to: routes)
        SearchController(storage: storage).addRoutes(to: routes)
        AgentController(storage: storage, inbox: inbox).addRoutes(to: routes)
        MonitorController(storage: storage, inbox: inbox).addRoutes(to: routes)
        OperationsController(storage: storage, registry: registry, openAPI: { document.withLockedValue { $0 } }).addRoutes(to: routes)
        RetentionController(storage: storage).addRoutes(to: routes)
        let openAPI = try OpenAPIDocument.build(routes: routes.declared, version: SMSDeskVersion.current)
        document.withLockedValue { $0 = openAPI }

        // Added after every route, so it serves only requests that no route matched.
        recorder.add(middleware: FileMiddleware<AppRequestContext, LocalFileSystem>(
            WebAssets.folder, cacheControl: .init([(MediaType(type: .any), [.noCache])]), searchForIndexHtml: true, logger: logger))

        let application = Application(
            router: recorder,
            server: .http1WebSocketUpgrade(webSocketRouter: live.webSocketRouter()),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "SMSDesk"),
            services: [SessionSweeper(storage: storage, logger: logger), ProviderPoolShutdown(pool: pool),
                       events, coalescer, LiveEventPruner(store: storage.liveEvents, logger: logger),
                       DailyRetention(retention: Retention(storage: storage, secrets: dependencies.secrets, logger: logger),
                                      logger: logger),
                       OfferTimeouts(router: router, logger: logger),
                       ProviderPoller(storage: storage, pool: pool, inbound: inbound, reports: reports,
                                      interval: .seconds(config.pollInterval), logger: logger)]
                + (config.dispatch.map { [Dispatcher(storage: storage, pool: pool, policy: $0, logger: logger, progress: progress,
                                                                notice: notice)] } ?? [])
                + (dependencies.webhookDelivery.map { [WebhookDeliveryService(
                    storage: storage, secrets: dependencies.secrets, http: ProviderHTTP(client: dependencies.httpClient), settings: $0,
                    logger: logger)] } ?? [])
                + (config.demo ? [DemoTraffic(storage: storage, inbox: inbox, inbound: inbound, logger: logger)] : []),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? config.port) },
            logger: logger)
        return SMSDeskApp(application: application, registeredRoutes: recorder.registered,
                          declaredRoutes: routes.declared, storage: storage, events: events)
    }
}

/// Where the web UI's static files are: the `Web` resource folder of this module.
enum WebAssets {
    static var folder: String {
        Bundle.module.resourceURL?.appendingPathComponent("Web").path
            ?? Bundle.module.bundleURL.appendingPathComponent("Web").path
    }
}

/// Deletes expired sessions every ten minutes.
struct SessionSweeper: Service {
    let storage: Storage
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let removed = try await storage.sessions.deleteExpired(now: Date())
                if removed > 0 { logger.debug("removed expired sessions", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("could not remove expired sessions", metadata: ["error": "\(error)"])
            }
            try? await sleepUntilNextSweep()
        }
    }

    private func sleepUntilNextSweep() async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(600)) }
    }
}

/// Hands what the in-process simulator produces to the same entry points a
/// real provider's webhook reaches.
struct SimulatorBridge: SimulatorSink {
    let providerID: Int64
    let inbound: InboundPipeline
    let reports: DeliveryReportIntake
    let logger: Logger

    func simulatorDelivered(_ report: DeliveryReport) async {
        do { try await reports.receive(report, providerID: providerID) } catch {
            logger.warning("simulator delivery report not stored", metadata: ["error": "\(error)"])
        }
    }

    func simulatorReceived(_ message: InboundSMS) async {
        do { _ = try await inbound.receive(message, providerID: providerID) } catch {
            logger.warning("simulator reply not stored", metadata: ["error": "\(error)"])
        }
    }
}

/// Stops the provider adapters' background work when the server shuts down.
struct ProviderPoolShutdown: Service {
    let pool: ProviderPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}
