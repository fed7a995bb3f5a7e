import Foundation
import Logging
import ServiceLifecycle

/// Runs the clock of routing: every `interval` it returns expired offers to the queue and offers them
/// to the next member (SPEC C9), and every `sweepEvery` ticks it serves every waiting queue, which
/// catches capacity freed in ways that have no trigger of their own (an agent signing in, a member
/// added to a campaign, a node that stopped between storing a message and assigning it).
/// Several nodes may run it at once: each step is one guarded transaction.
public struct OfferTimeouts: Service {
    let router: ConversationRouter
    let interval: Duration
    let sweepEvery: Int
    let logger: Logger

    public init(router: ConversationRouter, interval: Duration = .seconds(1), sweepEvery: Int = 5, logger: Logger) {
        self.router = router
        self.interval = interval
        self.sweepEvery = max(1, sweepEvery)
        self.logger = logger
    }

    public func run() async throws {
        var tick = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await router.expireOffers(at: Date())
                if tick % sweepEvery == 0 { try await router.assignEveryQueue(at: Date()) }
            } catch {
                logger.error("routing timer failed; retrying", metadata: ["error": "\(error)"])
            }
            tick += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
