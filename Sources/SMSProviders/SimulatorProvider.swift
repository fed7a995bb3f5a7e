import Foundation

/// Where the simulator hands what a real provider would push to our webhook.
public protocol SimulatorSink: Sendable {
    func simulatorDelivered(_ report: DeliveryReport) async
    func simulatorReceived(_ message: InboundSMS) async
}

/// The in-process `Simulator` provider (SPEC P1): no network; it "sends" after
/// a latency, fails by configured ratios, and later hands delivery reports and
/// optional automatic replies to a `SimulatorSink`.
///
/// Settings (all optional, `docs/generic-providers.md`): `latency_ms` (100),
/// `retryable_ratio` (0), `permanent_ratio` (0), `undelivered_ratio` (0),
/// `dlr_delay_ms` (1000), `auto_reply` (none), `reply_delay_ms` (2000),
/// `fail_suffix` (none), `seed` (random). With a seed, the sequence of
/// outcomes and message ids is the same on every run for the same sequence of
/// sends.
///
/// Reports and replies are delivered by tasks the simulator owns; `shutdown()`
/// cancels the pending ones and waits for them.
public struct SimulatorProvider: SMSProvider {
    public let type = ProviderType.simulator

    /// A setting the simulator cannot use, naming it.
    public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
        /// `settings.<key>`.
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { "\(field): \(message)" }
    }

    /// The simulator's behaviour, read from `ProviderConfig.settings`.
    public struct Behaviour: Sendable, Equatable {
        public var latency: Duration
        /// Share of sends failing with a retryable `SIM_RETRY` error.
        public var retryableRatio: Double
        /// Share of sends failing with a permanent `SIM_PERM` error.
        public var permanentRatio: Double
        /// Share of accepted messages whose delivery report says failed (`SIM_UNDELIV`).
        public var undeliveredRatio: Double
        public var reportDelay: Duration
        /// Text of an automatic reply from the destination, if any.
        public var autoReply: String?
        public var replyDelay: Duration
        /// Destinations ending in this suffix fail permanently.
        public var failSuffix: String?
        public var seed: UInt64?

        public init(settings: [String: String]) throws {
            func value(_ key: String) -> String? {
                guard let text = settings[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
                return text
            }
            func milliseconds(_ key: String, default fallback: Int) throws -> Duration {
                guard let text = value(key) else { return .milliseconds(fallback) }
                guard let ms = Int(text), ms >= 0 else {
                    throw ConfigurationError(field: "settings.\(key)", message: "must be a whole number of milliseconds ≥ 0, not '\(text)'")
                }
                return .milliseconds(ms)
            }
            func ratio(_ key: String) throws -> Double {
                guard let text = value(key) else { return 0 }
                guard let ratio = Double(text), (0...1).contains(ratio) else {
                    throw ConfigurationError(field: "settings.\(key)", message: "must be a number from 0 to 1, not '\(text)'")
                }
                return ratio
            }
            latency = try milliseconds("latency_ms", default: 100)
            retryableRatio = try ratio("retryable_ratio")
            permanentRatio = try ratio("permanent_ratio")
            guard retryableRatio + permanentRatio <= 1 else {
                throw ConfigurationError(field: "settings.permanent_ratio", message: "retryable_ratio + permanent_ratio must not exceed 1")
            }
            undeliveredRatio = try ratio("undelivered_ratio")
            reportDelay = try milliseconds("dlr_delay_ms", default: 1000)
            autoReply = settings["auto_reply"].flatMap { $0.isEmpty ? nil : $0 }
            replyDelay = try milliseconds("reply_delay_ms", default: 2000)
            failSuffix = value("fail_suffix")
            if let text = value("seed") {
                guard let seed = UInt64(text) else {
                    throw ConfigurationError(field: "settings.seed", message: "must be a whole number ≥ 0, not '\(text)'")
                }
                self.seed = seed
            } else {
                seed = nil
            }
        }
    }

    public static let fields = ProviderFieldSchema(
        type: .simulator,
        entries: [
            .init(.sender, required: false, label: "SMS From", help: "the number automatic replies are addressed to"),
            .init(.numberPattern, required: false, label: "Number validation (regular expression)"),
            .init(.encoding, required: false, label: "SMS encoding"),
        ],
        settings: [
            .init("latency_ms", required: false, label: "Latency (ms)", help: "time each send takes; default 100"),
            .init("retryable_ratio", required: false, label: "Retryable failure ratio", help: "0 to 1; fails with SIM_RETRY"),
            .init("permanent_ratio", required: false, label: "Permanent failure ratio", help: "0 to 1; fails with SIM_PERM"),
            .init("undelivered_ratio", required: false, label: "Undelivered ratio",
                  help: "0 to 1 of accepted messages whose report says failed (SIM_UNDELIV)"),
            .init("dlr_delay_ms", required: false, label: "Delivery report delay (ms)", help: "default 1000"),
            .init("auto_reply", required: false, label: "Automatic reply text", help: "empty: no reply"),
            .init("reply_delay_ms", required: false, label: "Automatic reply delay (ms)", help: "default 2000"),
            .init("fail_suffix", required: false, label: "Failing number suffix",
                  help: "destinations ending in it fail permanently (SIM_PERM)"),
            .init("seed", required: false, label: "Random seed", help: "makes outcomes and ids repeatable"),
        ],
        note: "An in-process provider for trying the system without spending money: nothing leaves the server.")

    public let behaviour: Behaviour
    private let config: ProviderConfig
    private let sink: (any SimulatorSink)?
    private let engine: Engine

    /// A simulator handing its reports and replies to `sink` (none are produced without one).
    public init(config: ProviderConfig, http: ProviderHTTP, sink: (any SimulatorSink)?) throws {
        behaviour = try Behaviour(settings: config.settings)
        self.config = config
        self.sink = sink
        engine = Engine(seed: behaviour.seed ?? UInt64.random(in: .min ... .max))
    }

    /// A simulator without a sink: it sends, but produces no reports or replies.
    public init(config: ProviderConfig, http: ProviderHTTP) throws {
        try self.init(config: config, http: http, sink: nil)
    }

    public func send(_ message: OutgoingSMS) async throws -> SendReceipt {
        // Decide first, so the outcome depends only on the order of sends, not on timing.
        let draw = try await engine.draw()
        do {
            try await Task.sleep(for: behaviour.latency)
        } catch {
            throw ProviderError(.retryable, code: "SIM_CANCELLED", text: "the send was cancelled")
        }
        if let suffix = behaviour.failSuffix, message.destination.hasSuffix(suffix) {
            throw ProviderError(.permanent, code: "SIM_PERM", text: "simulated permanent failure: destination ends in \(suffix)")
        }
        if draw.outcome < behaviour.permanentRatio {
            throw ProviderError(.permanent, code: "SIM_PERM", text: "simulated permanent failure")
        }
        if draw.outcome < behaviour.permanentRatio + behaviour.retryableRatio {
            throw ProviderError(.retryable, code: "SIM_RETRY", text: "simulated temporary failure")
        }
        let id = draw.messageID
        if let sink {
            let delivered = draw.delivery >= behaviour.undeliveredRatio
            try await engine.schedule(after: behaviour.reportDelay) {
                // Dated when it is handed over (the moment of "delivery"), not when the message was accepted.
                let report = DeliveryReport(
                    providerMessageID: id, outcome: delivered ? .delivered : .failed,
                    code: delivered ? nil : "SIM_UNDELIV", text: delivered ? "delivered" : "simulated delivery failure", at: Date())
                await sink.simulatorDelivered(report)
            }
            if let reply = behaviour.autoReply {
                let inbound = InboundSMS(
                    providerMessageID: id + "-reply", from: message.destination,
                    to: message.sender ?? config.sender ?? "SIMULATOR", text: reply, receivedAt: Date())
                try await engine.schedule(after: behaviour.replyDelay) { await sink.simulatorReceived(inbound) }
            }
        }
        return SendReceipt(providerMessageID: id, rawResponse: #"{"id":"\#(id)","status":"accepted"}"#)
    }

    /// Cancels the reports and replies not yet delivered and waits for their
    /// tasks to end; later sends fail with a retryable `SIM_SHUTDOWN`.
    public func shutdown() async { await engine.shutdown() }

    /// Number of reports and replies waiting to be delivered.
    public func pendingDeliveries() async -> Int { await engine.pendingCount }

    /// False: the simulator never calls a webhook (it uses the sink), so no
    /// request to its webhook URL comes from it.
    public func verifyWebhook(_ request: WebhookRequest) -> Bool { false }
    public func inboundMessages(in request: WebhookRequest) throws -> [InboundSMS] { [] }
    public func deliveryReports(in request: WebhookRequest) throws -> [DeliveryReport] { [] }
}

extension SimulatorProvider {
    /// The random source and the delivery tasks, shared by copies of the provider.
    actor Engine {
        struct Draw {
            /// Uniform in [0, 1): decides the send's outcome.
            var outcome: Double
            /// Uniform in [0, 1): decides the delivery report's outcome.
            var delivery: Double
            var messageID: String
        }

        private var random: SplitMix64
        private var tasks: [Int: Task<Void, Never>] = [:]
        private var nextTask = 0
        private var isShutDown = false

        init(seed: UInt64) { random = SplitMix64(seed: seed) }

        var pendingCount: Int { tasks.count }

        func draw() throws -> Draw {
            guard !isShutDown else { throw ProviderError(.retryable, code: "SIM_SHUTDOWN", text: "the simulator is shut down") }
            let outcome = random.nextUnit()
            let delivery = random.nextUnit()
            return Draw(outcome: outcome, delivery: delivery, messageID: "SIM-" + Self.hex(random.next()))
        }

        /// Runs `work` after `delay` in a task this engine owns, unless shut down first.
        func schedule(after delay: Duration, _ work: @escaping @Sendable () async -> Void) throws {
            guard !isShutDown else { throw ProviderError(.retryable, code: "SIM_SHUTDOWN", text: "the simulator is shut down") }
            let key = nextTask
            nextTask += 1
            // The task is isolated to this actor (it uses `self`), so it cannot
            // finish before it is recorded below; it removes itself when done.
            tasks[key] = Task {
                if (try? await Task.sleep(for: delay)) != nil { await work() }
                self.tasks[key] = nil
            }
        }

        func shutdown() async {
            isShutDown = true
            let pending = Array(tasks.values)
            for task in pending { task.cancel() }
            for task in pending { await task.value }
        }

        private static func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
    }

    /// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, seedable generator;
    /// the same seed gives the same sequence on every platform.
    struct SplitMix64: RandomNumberGenerator {
        private var state: UInt64
        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// Uniform in [0, 1) with 53 random bits.
        mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
    }
}
