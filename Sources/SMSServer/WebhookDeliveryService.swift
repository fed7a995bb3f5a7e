import Crypto
import Foundation
import Logging
import SMSDispatch
import SMSProviders
import SMSStore
import ServiceLifecycle

/// The time the delivery worker goes by: the system clock, or a test's clock that can jump 24 h.
public struct WebhookClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) { self.now = now }

    public static let system = WebhookClock { Date() }
}

/// How outgoing webhooks are delivered (SPEC X3).
public struct WebhookDeliverySettings: Sendable {
    public var clock: WebhookClock
    /// How often the outbox is read while it is empty.
    public var pollInterval: Duration
    /// A receiver's whole answer must arrive within this.
    public var requestTimeout: TimeInterval
    /// The wait after the first failed attempt; it doubles at each failure (± 20 % jitter) up to `maximumRetryDelay`.
    public var firstRetryDelay: TimeInterval
    public var maximumRetryDelay: TimeInterval
    /// Deliveries attempted at once (each of a different webhook).
    public var batch: Int
    /// How long a claimed delivery is this node's; after a crash another node retries it when this runs out.
    public var lease: TimeInterval
    /// This process's name in leases and in the attempt log.
    public var node: String

    public init(clock: WebhookClock = .system, pollInterval: Duration = .seconds(1), requestTimeout: TimeInterval = 10,
                firstRetryDelay: TimeInterval = 5, maximumRetryDelay: TimeInterval = 3600, batch: Int = 32, lease: TimeInterval = 60,
                node: String = DispatchPolicy.defaultNodeName) {
        self.clock = clock
        self.pollInterval = pollInterval
        self.requestTimeout = requestTimeout
        self.firstRetryDelay = firstRetryDelay
        self.maximumRetryDelay = maximumRetryDelay
        self.batch = batch
        self.lease = lease
        self.node = node
    }

    /// The wait before attempt `attempts + 1` after `attempts` failed ones: 5 s, 10 s, 20 s … 1 h, with jitter.
    public func retryDelay(afterAttempts attempts: Int, jitter: Double = Double.random(in: 0.8...1.2)) -> TimeInterval {
        let exponent = Double(min(max(attempts - 1, 0), 30))
        return min(maximumRetryDelay, firstRetryDelay * pow(2, exponent)) * jitter
    }
}

/// `SMSDesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
public enum WebhookSignature {
    public static func header(secret: String, timestamp: Int, body: String) -> String {
        "t=\(timestamp),v1=" + hmac(secret: secret, timestamp: timestamp, body: body)
    }

    public static func hmac(secret: String, timestamp: Int, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// A new secret: 32 random bytes, hex.
    public static func newSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }
}

/// Sends the outbox of outgoing webhooks: each webhook's deliveries in order (its oldest pending one
/// first; the others wait behind it), different webhooks at once, signed, retried with backoff until
/// 24 h after the event. Runs beside the dispatcher on every node; the claim's lease keeps two nodes
/// from sending the same delivery. Nothing else waits on it: producers only write outbox rows.
struct WebhookDeliveryService: Service {
    let storage: Storage
    let secrets: SecretBox
    let http: ProviderHTTP
    let settings: WebhookDeliverySettings
    let logger: Logger

    /// Bytes of an answer kept in the delivery log.
    static let loggedResponseBytes = 2048

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var attempted = 0
            do { attempted = try await deliverDue() } catch {
                logger.warning("could not read the webhook outbox", metadata: ["error": "\(error)"])
            }
            // A full round means more may be due: go on at once.
            if attempted == 0 {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.pollInterval) }
            }
        }
    }

    /// Attempts every delivery due now (at most one per webhook); returns how many it attempted.
    @discardableResult
    func deliverDue() async throws -> Int {
        let now = settings.clock.now()
        let claimed = try await storage.webhooks.claimDue(limit: settings.batch, owner: settings.node,
                                                          leaseUntil: now.addingTimeInterval(settings.lease), now: now)
        guard !claimed.isEmpty else { return 0 }
        var webhooks: [Int64: WebhookRecord] = [:]
        for id in Set(claimed.map(\.webhookID)) { webhooks[id] = try await storage.webhooks.webhook(id: id) }
        await withTaskGroup(of: Void.self) { group in
            for delivery in claimed {
                guard let webhook = webhooks[delivery.webhookID] else { continue }  // deleted meanwhile, with its deliveries
                group.addTask { await attempt(delivery, to: webhook) }
            }
        }
        return claimed.count
    }

    func attempt(_ delivery: WebhookDelivery, to webhook: WebhookRecord) async {
        let metadata: Logger.Metadata = ["webhook": "\(webhook.id)", "delivery": "\(delivery.id)", "event": "\(delivery.event)"]
        let secret: String
        do { secret = try secrets.open(webhook.secretCiphertext) } catch {
            logger.error("cannot decrypt a webhook's secret (another SMSDESK_SECRET_KEY?): not sent", metadata: metadata)
            await record(delivery, status: nil, response: nil, error: "cannot decrypt the webhook's secret", duration: .zero)
            return
        }
        let timestamp = Int(settings.clock.now().timeIntervalSince1970)
        let headers = [
            ("Content-Type", "application/json"), ("User-Agent", "SMSDesk/\(SMSDeskVersion.current)"),
            ("SMSDesk-Event", delivery.event), ("SMSDesk-Delivery", String(delivery.id)), ("SMSDesk-Timestamp", String(timestamp)),
            ("SMSDesk-Signature", WebhookSignature.header(secret: secret, timestamp: timestamp, body: delivery.payload)),
        ]
        let started = ContinuousClock.now
        do {
            let answer = try await http.send(method: .POST, url: webhook.url, headers: headers, body: Array(delivery.payload.utf8),
                                             timeout: settings.requestTimeout)
            let body = String(decoding: answer.body.prefix(Self.loggedResponseBytes), as: UTF8.self)
            await record(delivery, status: answer.status, response: body, error: nil, duration: ContinuousClock.now - started)
        } catch let error as ProviderError {
            await record(delivery, status: nil, response: nil, error: error.text, duration: ContinuousClock.now - started)
        } catch {
            await record(delivery, status: nil, response: nil, error: "\(type(of: error))", duration: ContinuousClock.now - started)
        }
    }

    func record(_ delivery: WebhookDelivery, status: Int?, response: String?, error: String?, duration: Duration) async {
        let at = settings.clock.now()
        let outcome: WebhookAttemptOutcome
        if let status, (200..<300).contains(status) {
            outcome = .delivered
        } else if at >= delivery.expiresAt {
            outcome = .failed
        } else {
            let next = at.addingTimeInterval(settings.retryDelay(afterAttempts: delivery.attempts + 1))
            outcome = .retry(at: min(next, delivery.expiresAt))
        }
        let milliseconds = Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        let attempt = WebhookAttempt(deliveryID: delivery.id, at: at, status: status, response: response, error: error,
                                     durationMilliseconds: milliseconds, node: settings.node)
        let metadata: Logger.Metadata = ["webhook": "\(delivery.webhookID)", "delivery": "\(delivery.id)",
                                         "status": "\(status.map(String.init) ?? error ?? "-")"]
        do {
            if try await storage.webhooks.recordAttempt(attempt, outcome: outcome, owner: settings.node) {
                switch outcome {
                case .delivered: logger.debug("webhook delivered", metadata: metadata)
                case .retry(let when): logger.info("webhook not delivered; retried later",
                                                   metadata: metadata.merging(["retryAt": "\(when)"]) { $1 })
                case .failed: logger.warning("webhook delivery failed: no success within 24 hours of the event", metadata: metadata)
                }
            } else {
                logger.notice("webhook delivery's lease was lost before its outcome was recorded", metadata: metadata)
            }
        } catch {
            logger.error("could not record a webhook attempt; retried when its lease expires",
                         metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
