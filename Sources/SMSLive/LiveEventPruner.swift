import Foundation
import Logging
import SMSStore
import ServiceLifecycle

/// Deletes live events older than `retention` every `interval`. A client that
/// reconnects with a sequence number older than what is kept gets `resync`
/// and reloads its data instead of catching up.
public struct LiveEventPruner: Service {
    let store: any LiveEventStore
    let retention: TimeInterval
    let interval: Duration
    let logger: Logger

    public init(store: any LiveEventStore, retention: TimeInterval = 3600, interval: Duration = .seconds(300), logger: Logger) {
        self.store = store
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let removed = try await store.deleteOlder(than: Date().addingTimeInterval(-retention))
                if removed > 0 { logger.debug("pruned live events", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("could not prune live events", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
