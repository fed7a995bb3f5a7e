import Foundation
import Logging
import SMSStore
import ServiceLifecycle

/// Limits high-rate producers (a dialer recording outcomes, a storm of
/// delivery reports) to one event per key and interval, e.g. one
/// `dialer.progress` per dialer every 500 ms.
///
/// The first event of a key is published at once; one arriving within the
/// interval after it waits until the interval has passed and is then
/// published, replaced by any later event of the same key meanwhile. So the
/// last change is never lost, only merged. The waiting ones are published by
/// `run()` (a `Service`), and all of them at graceful shutdown.
public actor LiveEventCoalescer: Service {
    let bus: EventBus
    let interval: Duration
    let logger: Logger
    private var lastPublished: [String: ContinuousClock.Instant] = [:]
    private var waiting: [String: (event: NewLiveEvent, due: ContinuousClock.Instant)] = [:]
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation

    public init(bus: EventBus, interval: Duration = .milliseconds(500), logger: Logger) {
        self.bus = bus
        self.interval = interval
        self.logger = logger
        (wakeups, wakeup) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Publishes `event` now, or merges it into the one waiting for `key`. Never throws: a failure
    /// to store an event is logged (the page still has its last data, and reloads on reconnect).
    public func publish(key: String, _ event: NewLiveEvent) async {
        if waiting[key] != nil {
            waiting[key]?.event = event
            return
        }
        let now = ContinuousClock.now
        if let last = lastPublished[key], now - last < interval {
            waiting[key] = (event, last + interval)
            wakeup.yield()
            return
        }
        lastPublished[key] = now
        await send(event)
    }

    /// Publishes waiting events when due, until cancelled or shut down; then publishes what still waits.
    public nonisolated func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in self.wakeups {
                while let due = await self.nextDue() {
                    do { try await Task.sleep(until: due, clock: .continuous) } catch { return }
                    await self.publishDue(now: .now)
                }
            }
        }
        await publishDue(now: nil)
    }

    private func nextDue() -> ContinuousClock.Instant? { waiting.values.map(\.due).min() }

    /// Publishes the waiting events due at `now` (nil: all of them).
    private func publishDue(now: ContinuousClock.Instant?) async {
        let due = waiting.filter { entry in now.map { entry.value.due <= $0 } ?? true }
        for (key, entry) in due.sorted(by: { $0.value.due < $1.value.due }) {
            waiting[key] = nil
            lastPublished[key] = .now
            await send(entry.event)
        }
        // Forget keys that have been quiet for a while.
        let stale = ContinuousClock.now - interval * 4
        lastPublished = lastPublished.filter { $0.value > stale || waiting[$0.key] != nil }
    }

    private func send(_ event: NewLiveEvent) async {
        do { try await bus.publish([event]) } catch {
            logger.warning("live event not stored", metadata: ["topic": "\(event.topic)", "error": "\(error)"])
        }
    }
}
