import ArgumentParser
import Foundation
import Logging
import SMSSimulator

/// `smsdesk simulate`: a fake SMS provider speaking a real provider's wire protocol.
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a fake SMS provider that speaks a real provider's wire protocol.",
        discussion: """
            Answers sends as the provider would (same paths, credentials, success and error shapes), \
            records what it receives (GET /_sim/messages, GET /_sim/stats, POST /_sim/reset), \
            and, with --webhook, posts delivery reports and auto-replies in the provider's webhook format \
            (POST /_sim/inbound {"from","to","text"} sends an inbound message now). \
            Destinations ending in --fail-suffix get the provider's permanent error, in --retry-suffix its \
            retryable error, in --undelivered-suffix an undelivered report.
            """)

    @Option(help: "twilio, nexmo (vonage), infobip, dinstar, smsmasivo or generic.")
    var type: String

    @Option(help: "Port to listen on (0: any free port, printed when ready).")
    var port: Int

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "URL to post delivery reports and inbound messages to.")
    var webhook: String?

    @Option(name: .customLong("dlr-webhook"), help: "URL for delivery reports when it differs from --webhook.")
    var dlrWebhook: String?

    @Option(name: .customLong("webhook-method"), help: "post or get, for providers that can do either (nexmo, generic).")
    var webhookMethod = "post"

    @Option(help: "Account to require: Twilio AccountSid, Vonage api_key, gateway user (env SMSDESK_SIM_USERNAME).")
    var username: String?

    @Option(help: "Secret to require: Twilio AuthToken, Vonage api_secret, Infobip or SMS Masivos API key, gateway password (env SMSDESK_SIM_SECRET).")
    var secret: String?

    @Option(name: .customLong("signature-secret"), help: "Vonage signature secret: sign webhooks with it (env SMSDESK_SIM_SIGNATURE_SECRET).")
    var signatureSecret: String?

    @Option(name: .customLong("fail-suffix"), help: "Destinations ending in this get the permanent error (\"\" disables).")
    var failSuffix = "999"

    @Option(name: .customLong("retry-suffix"), help: "Destinations ending in this get the retryable error (\"\" disables).")
    var retrySuffix = "998"

    @Option(name: .customLong("undelivered-suffix"), help: "Destinations ending in this are accepted, then reported undelivered.")
    var undeliveredSuffix = "997"

    @Option(name: .customLong("latency-ms"), help: "Milliseconds to wait before answering each send.")
    var latencyMilliseconds = 0

    @Option(name: .customLong("dlr-delay-ms"), help: "Milliseconds between accepting a message and its delivery report.")
    var reportDelayMilliseconds = 500

    @Option(name: .customLong("auto-reply"), help: "Answer every accepted message from its destination with this text.")
    var autoReply: String?

    @Option(name: .customLong("own-number"), help: "Number inbound messages go to when the send had no sender.")
    var ownNumber = "+15550100000"

    @Option(help: "Append one JSON line per received message to this file.")
    var record: String?

    @Option(name: .customLong("max-records"), help: "Messages kept in memory for /_sim/messages.")
    var maxRecords = 100_000

    @Option(name: .customLong("webhook-queue"), help: "Webhooks waiting at most; beyond it they are dropped and counted.")
    var webhookQueue = 10_000

    @Option(name: .customLong("webhook-concurrency"), help: "Webhook posts in flight at once.")
    var webhookConcurrency = 8

    @Option(name: .customLong("webhook-retries"), help: "Further attempts after a failed webhook post.")
    var webhookRetries = 3

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        let options = try options()
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        var logger = Logger(label: "smsdesk.simulator")
        logger.logLevel = level
        let server = try SimulatorServer.build(options: options, logger: logger) { host, port in
            say("simulator (\(options.type)) listening on http://\(host):\(port)")
        }
        try await server.application.runService()
    }

    /// Flags win over the environment.
    func options() throws -> SimulatorOptions {
        guard let type = SimulatorType(name: type) else {
            throw ValidationError("--type must be one of \(SimulatorType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard let method = WebhookMethod(rawValue: webhookMethod.lowercased()) else {
            throw ValidationError("--webhook-method must be post or get")
        }
        for url in [webhook, dlrWebhook].compactMap({ $0 }) {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw ValidationError("webhook URL '\(url)' is not an http(s) URL")
            }
        }
        guard latencyMilliseconds >= 0, reportDelayMilliseconds >= 0 else {
            throw ValidationError("--latency-ms and --dlr-delay-ms must not be negative")
        }
        let env = ProcessInfo.processInfo.environment
        var options = SimulatorOptions(type: type)
        options.host = host
        options.port = port
        options.webhookURL = webhook
        options.deliveryReportURL = dlrWebhook
        options.webhookMethod = method
        options.username = username ?? env["SMSDESK_SIM_USERNAME"].flatMap { $0.isEmpty ? nil : $0 }
        options.secret = secret ?? env["SMSDESK_SIM_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        options.signatureSecret = signatureSecret ?? env["SMSDESK_SIM_SIGNATURE_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        options.failSuffix = failSuffix
        options.retrySuffix = retrySuffix
        options.undeliveredSuffix = undeliveredSuffix
        options.latency = .milliseconds(latencyMilliseconds)
        options.deliveryReportDelay = .milliseconds(reportDelayMilliseconds)
        options.autoReply = autoReply
        options.ownNumber = ownNumber
        options.recordFile = record
        options.maxRecords = maxRecords
        options.webhookQueueCapacity = webhookQueue
        options.webhookConcurrency = webhookConcurrency
        options.webhookRetries = webhookRetries
        return options
    }
}
