import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import Prometheus
import SMSStore
import ServiceLifecycle

/// The built server: the Hummingbird application plus what tests inspect.
public struct SMSDeskApp: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    /// Every route the router received, declared or not.
    public let registeredRoutes: [RegisteredRoute]
    /// Every route declared through `APIRoutes`, with its access rule.
    public let declaredRoutes: [RouteSpec]
    public let storage: Storage

    /// Builds the application on an open `storage`; called by `serve` and by tests alike.
    public static func build(config: AppConfig, storage: Storage, logger: Logger,
                             registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) async throws -> SMSDeskApp {
        let recorder = RecordingRouter(router: Router(context: AppRequestContext.self))
        recorder.add(middleware: RequestMetricsMiddleware(registry: registry))
        recorder.add(middleware: SecurityHeadersMiddleware())
        recorder.add(middleware: ErrorMiddleware())
        recorder.add(middleware: AuthenticationMiddleware(storage: storage, sessionIdleTimeout: config.sessionIdleTimeout))

        let routes = APIRoutes(recorder: recorder)
        let accounts = Accounts(storage: storage, bcryptCost: config.bcryptCost)
        let document = NIOLockedValueBox(Data())
        try await AuthController(storage: storage, config: config).addRoutes(to: routes)
        UserController(storage: storage, accounts: accounts).addRoutes(to: routes)
        APIKeyController(storage: storage, accounts: accounts).addRoutes(to: routes)
        OperationsController(storage: storage, registry: registry, openAPI: { document.withLockedValue { $0 } }).addRoutes(to: routes)
        let openAPI = try OpenAPIDocument.build(routes: routes.declared, version: SMSDeskVersion.current)
        document.withLockedValue { $0 = openAPI }

        // Added after every route, so it serves only requests that no route matched.
        recorder.add(middleware: FileMiddleware<AppRequestContext, LocalFileSystem>(
            WebAssets.folder, cacheControl: .init([(MediaType(type: .any), [.noCache])]), searchForIndexHtml: true, logger: logger))

        let application = Application(
            router: recorder,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "SMSDesk"),
            services: [SessionSweeper(storage: storage, logger: logger)],
            logger: logger)
        return SMSDeskApp(application: application, registeredRoutes: recorder.registered,
                          declaredRoutes: routes.declared, storage: storage)
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
