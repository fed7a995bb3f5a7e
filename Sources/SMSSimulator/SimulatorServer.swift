import Hummingbird
import Logging

/// The built simulator: a Hummingbird application speaking one provider's
/// wire protocol, plus what tests inspect.
public struct SimulatorServer: Sendable {
    public let application: Application<RouterResponder<BasicRequestContext>>
    /// Everything received, also served at `GET /_sim/messages`.
    public let recorder: Recorder
    let simulation: Simulation

    /// Builds the application; called by `smsdesk simulate` and by tests alike.
    /// `onReady` runs once the server listens, with the port it got (useful with port 0).
    public static func build(options: SimulatorOptions, logger: Logger,
                             onReady: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in })
        throws -> SimulatorServer
    {
        let recorder = try Recorder(maxRecords: options.maxRecords, file: options.recordFile)
        let dialect = options.type.makeDialect(options: options)
        let hasWebhook = options.webhookURL != nil || options.deliveryReportURL != nil
        let poster = hasWebhook ? WebhookPoster(options: options, dialect: dialect, logger: logger) : nil
        let simulation = Simulation(options: options, recorder: recorder, dialect: dialect, poster: poster)

        let router = Router()
        dialect.addRoutes(to: router, simulation: simulation)
        SimulatorControl(simulation: simulation).addRoutes(to: router.group("_sim"))

        let application = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port)),
            services: poster.map { [$0] } ?? [],
            onServerRunning: { channel in
                await onReady(options.host, channel.localAddress?.port ?? options.port)
            },
            logger: logger)
        return SimulatorServer(application: application, recorder: recorder, simulation: simulation)
    }

    /// Counts of the webhook worker (zero when no webhook is configured).
    public var webhookStats: WebhookStats {
        simulation.poster?.stats ?? WebhookStats()
    }
}
