import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Counts of the webhook worker.
public struct WebhookStats: Sendable, Equatable {
    /// Jobs (a delivery report or an inbound message) taken into the queue.
    public var enqueued = 0
    /// Jobs refused because the queue was full.
    public var dropped = 0
    /// Jobs taken out of the queue and turned into calls.
    public var dispatched = 0
    /// Calls our server answered with 2xx.
    public var posted = 0
    /// Calls given up after every retry.
    public var failed = 0
    /// Extra attempts made.
    public var retried = 0

    /// Jobs still waiting in the queue.
    public var pending: Int { enqueued - dispatched }
}

/// Posts delivery reports and inbound messages to our server from a bounded
/// queue, never on the path that answers sends: a full queue drops the job and
/// counts it; a failed post is retried a few times with a doubling wait.
final class WebhookPoster: Service, Sendable {
    enum Job: Sendable {
        case deliveryReport(AcceptedMessage)
        case inbound(InboundMessage)
    }

    private struct Entry: Sendable {
        var job: Job
        var due: ContinuousClock.Instant
    }

    private let stream: AsyncStream<Entry>
    private let continuation: AsyncStream<Entry>.Continuation
    private let counters = NIOLockedValueBox(WebhookStats())
    private let dialect: any WireDialect
    private let reportTarget: WebhookTarget?
    private let inboundTarget: WebhookTarget?
    private let concurrency: Int
    private let retries: Int
    private let retryDelay: Duration
    private let logger: Logger

    init(options: SimulatorOptions, dialect: any WireDialect, logger: Logger) {
        (stream, continuation) = AsyncStream.makeStream(of: Entry.self,
                                                        bufferingPolicy: .bufferingOldest(max(1, options.webhookQueueCapacity)))
        self.dialect = dialect
        func target(_ url: String?) -> WebhookTarget? {
            url.map {
                WebhookTarget(url: $0, method: options.webhookMethod, secret: options.secret,
                              signatureSecret: options.signatureSecret, username: options.username)
            }
        }
        reportTarget = target(options.deliveryReportURL ?? options.webhookURL)
        inboundTarget = target(options.webhookURL)
        concurrency = max(1, options.webhookConcurrency)
        retries = max(0, options.webhookRetries)
        retryDelay = options.webhookRetryDelay
        self.logger = logger
    }

    var postsInbound: Bool { inboundTarget != nil }

    var stats: WebhookStats { counters.withLockedValue { $0 } }

    func resetStats() {
        counters.withLockedValue { stats in
            let pending = stats.pending
            stats = WebhookStats()
            stats.enqueued = pending
        }
    }

    /// Queues a job to be posted after `delay`; false (and counted) when the queue is full.
    @discardableResult
    func enqueue(_ job: Job, after delay: Duration) -> Bool {
        switch job {
        case .deliveryReport: if reportTarget == nil { return true }
        case .inbound: if inboundTarget == nil { return true }
        }
        switch continuation.yield(Entry(job: job, due: .now + delay)) {
        case .enqueued:
            counters.withLockedValue { $0.enqueued += 1 }
            return true
        case .dropped, .terminated:
            counters.withLockedValue { $0.dropped += 1 }
            return false
        @unknown default:
            return false
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.work()
        }
    }

    private func work() async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await entry in stream {
                if entry.due > .now {
                    try? await Task.sleep(until: entry.due, clock: .continuous)
                }
                if Task.isCancelled { break }
                let calls = self.calls(for: entry.job)
                counters.withLockedValue { $0.dispatched += 1 }
                for call in calls {
                    if inFlight >= concurrency {
                        await group.next()
                        inFlight -= 1
                    }
                    group.addTask { await self.post(call) }
                    inFlight += 1
                }
            }
        }
    }

    private func calls(for job: Job) -> [WebhookCall] {
        switch job {
        case .deliveryReport(let message):
            reportTarget.map { dialect.deliveryReportCalls(for: message, target: $0) } ?? []
        case .inbound(let message):
            inboundTarget.map { dialect.inboundCalls(for: message, target: $0) } ?? []
        }
    }

    private func post(_ call: WebhookCall) async {
        var request = HTTPClientRequest(url: call.url)
        request.method = call.method == "GET" ? .GET : .POST
        for (name, value) in call.headers { request.headers.add(name: name, value: value) }
        if !call.body.isEmpty { request.body = .bytes(call.body) }
        for attempt in 0...retries {
            if attempt > 0 {
                counters.withLockedValue { $0.retried += 1 }
                do { try await Task.sleep(for: retryDelay * (1 << (attempt - 1))) } catch { return }
            }
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 20)
                if (200..<300).contains(Int(response.status.code)) {
                    counters.withLockedValue { $0.posted += 1 }
                    return
                }
                logger.debug("webhook answered \(response.status.code)", metadata: ["url": "\(Self.withoutQuery(call.url))", "attempt": "\(attempt + 1)"])
            } catch {
                if Task.isCancelled { return }
                logger.debug("webhook post failed", metadata: ["url": "\(Self.withoutQuery(call.url))", "error": "\(error)", "attempt": "\(attempt + 1)"])
            }
        }
        counters.withLockedValue { $0.failed += 1 }
        logger.warning("webhook given up", metadata: ["url": "\(Self.withoutQuery(call.url))", "attempts": "\(retries + 1)"])
    }

    /// The URL without its query string, which may hold a secret token.
    static func withoutQuery(_ url: String) -> String {
        url.firstIndex(of: "?").map { String(url[..<$0]) } ?? url
    }
}
