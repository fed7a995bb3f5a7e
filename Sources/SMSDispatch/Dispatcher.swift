import Foundation
import Logging
import SMSCore
import SMSProviders
import SMSStore
import ServiceLifecycle

/// The dialer engine (SPEC D4, D10, D11): for every enabled dialer inside its
/// schedule it claims batches of due messages of the campaigns it serves,
/// checks each against the DNCR and opt-outs, the provider's number pattern
/// and the recipient's quiet hours, sends the rest paced by the dialer's
/// interval and the provider's rate limit, rotating gateway ports, and
/// records every outcome of a batch in one transaction.
///
/// Crash policy (at-least-once): a message is `sending` only under a lease.
/// If the process dies, the lease expires and the message is queued again
/// and resent, flagged `possible_duplicate`; at most the messages in flight
/// at the crash (one claim batch per dialer) can be sent twice.
public struct Dispatcher: Service {
    let storage: Storage
    let pool: ProviderPool
    let policy: DispatchPolicy
    let logger: Logger
    /// Live `dialer.progress` events for the monitor.
    let progress: DialerProgress
    /// State changes of conversation messages, for the agents' pages.
    let notice: ConversationDeliveryNotice

    public init(storage: Storage, pool: ProviderPool, policy: DispatchPolicy, logger: Logger, progress: DialerProgress = .disabled,
                notice: ConversationDeliveryNotice = .disabled) {
        self.storage = storage
        self.pool = pool
        self.policy = policy
        self.logger = logger
        self.progress = progress
        self.notice = notice
    }

    public func run() async throws {
        // On graceful shutdown the supervisor is cancelled; it stops its workers and waits for them.
        await cancelWhenGracefulShutdown { await self.supervise() }
    }

    /// Keeps one worker per enabled dialer running, restarting it when its configuration changes,
    /// and returns expired leases to the queue.
    func supervise() async {
        var workers: [Int64: (updatedAt: Date, task: Task<Void, Never>)] = [:]
        defer { for worker in workers.values { worker.task.cancel() } }
        // Conversation traffic has its own sender, whatever the dialers do.
        let conversations = ConversationSender(storage: storage, pool: pool, policy: policy, logger: logger, progress: progress,
                                               notice: notice)
        let conversationTask = Task { await conversations.run() }
        defer { conversationTask.cancel() }
        var lastRecovery = ContinuousClock.now - .seconds(3600)
        while !Task.isCancelled {
            do {
                if ContinuousClock.now - lastRecovery > .seconds(max(1, policy.lease / 4)) {
                    let recovered = try await storage.spool.recoverExpiredLeases(now: Date(), node: policy.node)
                    if recovered > 0 {
                        logger.warning("messages of expired leases queued again as possible duplicates", metadata: ["count": "\(recovered)"])
                        await progress.changed(reason: "recovered")
                    }
                    lastRecovery = .now
                }
                let dialers = try await storage.dialers.list().filter(\.enabled)
                let wanted = Dictionary(uniqueKeysWithValues: dialers.map { ($0.id, $0) })
                for (id, worker) in workers where wanted[id]?.updatedAt != worker.updatedAt {
                    worker.task.cancel()
                    workers[id] = nil
                }
                for dialer in dialers where workers[dialer.id] == nil {
                    let worker = DialerWorker(dialer: dialer, storage: storage, pool: pool, policy: policy, logger: logger,
                                              progress: progress, notice: notice)
                    // The task is owned here: cancelled when the dialer changes or stops, and when this loop ends.
                    workers[dialer.id] = (dialer.updatedAt, Task { await worker.run() })
                }
            } catch is CancellationError {
                break  // stopping: not an error
            } catch {
                if Task.isCancelled { break }
                logger.error("dispatcher cannot read dialers", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
        for worker in workers.values {
            worker.task.cancel()
            await worker.task.value
        }
        workers = [:]
        conversationTask.cancel()
        await conversationTask.value
    }
}

/// Sends the messages of one dialer.
struct DialerWorker: Sendable {
    let dialer: DialerRecord
    let storage: Storage
    let pool: ProviderPool
    let policy: DispatchPolicy
    let logger: Logger
    let progress: DialerProgress
    let notice: ConversationDeliveryNotice

    /// The dialer recorded on sent messages; nil for the conversation channel (`ConversationSender`), which is no dialer.
    var dialerID: Int64? { dialer.id > 0 ? dialer.id : nil }

    func run() async {
        var logger = self.logger
        logger[metadataKey: "dialer"] = "\(dialer.id)"
        let schedule = DialerSchedule.parse(dialer.schedule)
        // Shared limits (several nodes on PostgreSQL) are reserved per batch in `process`; local ones live here.
        let shared = policy.sharedRateLimits ?? (storage.database.dialect == .postgres)
        let interval = dialer.intervalMs > 0 && !shared ? TokenBucket(rate: 1000 / Double(dialer.intervalMs), burst: 1) : nil
        var state = RuntimeState(portCursor: dialer.portCursor, failoverActive: dialer.failoverActive,
                                 consecutiveFailures: dialer.consecutiveFailures,
                                 failoverSince: dialer.failoverActive ? .now : nil)
        var buckets: [Int64: TokenBucket] = [:]
        logger.info("dialer started", metadata: ["name": "\(dialer.name)"])
        while !Task.isCancelled {
            do {
                guard let schedule else {
                    logger.error("dialer schedule is not valid; not sending")
                    try await Task.sleep(for: .seconds(30))
                    continue
                }
                let now = Date()
                if !schedule.isOpen(at: now) {
                    let next = schedule.nextOpening(after: now) ?? now.addingTimeInterval(3600)
                    try await Task.sleep(for: .seconds(min(30, max(1, next.timeIntervalSince(now)))))
                    continue
                }
                if state.failoverActive, let since = state.failoverSince, since.duration(to: .now) >= .seconds(policy.failbackAfter) {
                    state.failoverActive = false
                    state.failoverSince = nil
                    state.consecutiveFailures = 0
                    logger.notice("trying the primary provider again: dialer switched back from its fallback",
                                  metadata: ["provider": "\(dialer.providerID)", "fallback": "\(dialer.fallbackProviderID ?? 0)"])
                    let (dialers, dialerID) = (storage.dialers, dialer.id)
                    try await dialers.saveRuntime(id: dialerID, portCursor: state.portCursor, failoverActive: false,
                                                  consecutiveFailures: 0, at: Date())
                }
                let campaigns = try await storage.campaigns.list().filter { $0.enabled && dialer.campaignIDs.contains($0.id) }
                // Each claim has its own owner, so that an answer arriving after the claim's lease expired
                // (and the message was queued again) is refused, even on the same node.
                let node = "\(policy.node)#\(UInt32.random(in: 0...UInt32.max))"
                let batch = try await storage.spool.claim(
                    campaignIDs: campaigns.map(\.id), scope: .bulk, limit: policy.claimBatch, owner: node,
                    leaseUntil: now.addingTimeInterval(policy.lease), now: now)
                if batch.isEmpty {
                    try await Task.sleep(for: policy.idlePause)
                    continue
                }
                // From here the batch is claimed: whatever happens, every message of it gets an outcome, so none is
                // left `sending` (to be resent later as a possible duplicate) when the worker stops or fails.
                let spool = storage.spool
                let outcomes: [SpoolOutcome]
                do {
                    let providerID = state.failoverActive ? (dialer.fallbackProviderID ?? dialer.providerID) : dialer.providerID
                    guard let (provider, adapter) = try await pool.adapter(id: providerID) else {
                        throw DispatchError.providerMissing(providerID)
                    }
                    if !shared, provider.ratePerSecond != nil, buckets[provider.id] == nil {
                        buckets[provider.id] = TokenBucket(rate: provider.ratePerSecond ?? 1, burst: max(1, provider.ratePerSecond ?? 1))
                    }
                    outcomes = try await process(
                        batch, campaigns: Dictionary(uniqueKeysWithValues: campaigns.map { ($0.id, $0) }), provider: provider,
                        adapter: adapter, pacing: [interval, buckets[provider.id]].compactMap { $0 },
                        sharedLimits: shared ? sharedLimits(provider) : [], state: &state, logger: logger)
                } catch {
                    // `process` throws only before sending anything: give the whole batch back, not counted as an attempt.
                    let reason = error is CancellationError ? "not sent: the dialer stopped" : "not sent: \(error)"
                    let released = batch.map { SpoolOutcome.retry(id: $0.id, at: now, code: nil, text: reason, countsAsAttempt: false) }
                    _ = try? await Task { try await spool.record(released, owner: node, at: Date()) }.value
                    throw error
                }
                // Outcomes already happened at the provider: record them even if this task is being cancelled.
                _ = try await Task { try await spool.record(outcomes, owner: node, at: Date()) }.value
                let dialers = storage.dialers
                let (dialerID, saved) = (dialer.id, state)
                try await Task {
                    try await dialers.saveRuntime(id: dialerID, portCursor: saved.portCursor, failoverActive: saved.failoverActive,
                                                  consecutiveFailures: saved.consecutiveFailures, at: Date())
                }.value
                await progress.changed(dialerID: dialer.id, reason: "sent")
                await notice.changed(batch)
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }  // an error caused by stopping (a cancelled query) is not a failure
                logger.error("dialer batch failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(2))
            }
        }
        logger.info("dialer stopped", metadata: ["name": "\(dialer.name)"])
    }

    struct RuntimeState {
        var portCursor: Int
        var failoverActive: Bool
        var consecutiveFailures: Int
        /// When this worker last moved to the fallback (or started on it).
        var failoverSince: ContinuousClock.Instant?
    }

    enum DispatchError: Error, CustomStringConvertible {
        case providerMissing(Int64)
        var description: String {
            switch self { case .providerMissing(let id): "provider \(id) of the dialer does not exist" }
        }
    }

    /// A limit kept in the database and shared by every node: its name in `rate_limits`, rate and burst.
    struct SharedLimit: Sendable, Equatable {
        let name: String
        let rate: Double
        let burst: Double
    }

    /// The shared limits a send through `provider` by this dialer is under: the provider's rate (the
    /// provider's, not the node's) and the dialer's interval.
    func sharedLimits(_ provider: ProviderRecord) -> [SharedLimit] {
        // The dialer's interval first: a provider slot is taken last, right before the send, so it is not used late.
        var limits: [SharedLimit] = []
        if dialer.intervalMs > 0 {
            limits.append(SharedLimit(name: "dialer:\(dialer.id)", rate: 1000 / Double(dialer.intervalMs), burst: 1))
        }
        if let rate = provider.ratePerSecond, rate > 0 {
            limits.append(SharedLimit(name: "provider:\(provider.id)", rate: rate, burst: max(1, rate)))
        }
        return limits
    }

    /// Decides and sends one claimed batch; returns what became of each message.
    func process(_ batch: [SpoolMessage], campaigns: [Int64: CampaignRecord], provider: ProviderRecord,
                 adapter: any SMSProvider, pacing localPacing: [any Pacer], sharedLimits: [SharedLimit] = [],
                 state: inout RuntimeState, logger: Logger) async throws -> [SpoolOutcome] {
        var outcomes: [SpoolOutcome] = []
        var toSend: [SpoolMessage] = []
        let now = Date()

        var blocked: [Int64: [String: String]] = [:]
        if dialer.dncrCheck {
            for (campaignID, messages) in Dictionary(grouping: batch, by: \.campaignID) {
                blocked[campaignID] = try await storage.dncr.blocked(messages.map(\.destination), campaignID: campaignID)
            }
        }
        let pattern = try provider.numberPattern.flatMap { $0.isEmpty ? nil : try NumberPattern($0) }
        for message in batch {
            if let reason = blocked[message.campaignID]?[message.destination], !SpoolSource.bypassesDNCR(message.source) {
                outcomes.append(.blocked(id: message.id, reason: reason))
            } else if let pattern, !pattern.matches(message.destination) {
                outcomes.append(.invalid(id: message.id, reason: "does not match the provider's number pattern \(provider.numberPattern ?? "")"))
            } else if let allowedAt = quietUntil(message, campaign: campaigns[message.campaignID], now: now) {
                outcomes.append(.retry(id: message.id, at: allowedAt, code: nil, text: "quiet hours in the recipient's time zone",
                                       countsAsAttempt: false))
            } else {
                toSend.append(message)
            }
        }

        var ports: PortRotation?
        if let text = dialer.dialString, !text.isEmpty, let dialString = try? DialString(text) {
            ports = PortRotation(dialString, position: state.portCursor)
        }
        var planned: [(SpoolMessage, Int?)] = []
        for message in toSend {
            planned.append((message, ports?.next()))
        }
        state.portCursor = ports?.position ?? state.portCursor
        // A shared slot later than half the lease is not waited for: with many nodes sharing a slow provider the
        // batch would outlive its lease (and be resent by another node); its rest is given back instead.
        let slotDeadline = ContinuousClock.now + .seconds(policy.lease / 2)
        let pacing: [any Pacer] = localPacing + sharedLimits.map {
            SharedRatePacer(store: storage.rateLimits, name: $0.name, rate: $0.rate, burst: $0.burst, planned: planned.count,
                            deadline: slotDeadline)
        }

        let concurrency = max(1, provider.maxConcurrency ?? policy.defaultConcurrency)
        let providerID = provider.id
        let dialerID = self.dialerID
        let sender = provider.sender
        // When the worker is cancelled (dialer stopped or changed, shutdown) no further message is sent; those sent
        // already are completed, not cancelled (the provider may have them), and recorded; the rest are given back.
        let (results, unsent, unsentReason) = await withTaskGroup(of: (SpoolMessage, Result<SendReceipt, ProviderError>).self) { group in
            var results: [(SpoolMessage, Result<SendReceipt, ProviderError>)] = []
            var unsent: [SpoolMessage] = []
            var unsentReason = "not sent: the dialer stopped"
            var iterator = planned.makeIterator()
            var running = 0
            func launch() async -> Bool {
                guard let (message, port) = iterator.next() else { return false }
                do {
                    try Task.checkCancellation()
                    for bucket in pacing { try await bucket.take() }
                } catch {
                    if error is SharedRatePacer.PastDeadline {
                        unsentReason = "not sent yet: the shared rate limit (provider's rate or dialer's interval) has no slot soon enough"
                    } else if !(error is CancellationError) {
                        unsentReason = "not sent: \(error)"
                    }
                    unsent.append(message)
                    while let (rest, _) = iterator.next() { unsent.append(rest) }
                    return false
                }
                group.addTask {
                    // An unstructured task does not inherit the worker's cancellation.
                    await Task {
                        let sms = OutgoingSMS(reference: String(message.id), destination: message.destination, text: message.message,
                                              sender: sender, port: port)
                        do {
                            return (message, .success(try await adapter.send(sms)))
                        } catch let error as ProviderError {
                            return (message, .failure(error))
                        } catch {
                            return (message, .failure(ProviderError(.retryable, code: "internal", text: "\(error)")))
                        }
                    }.value
                }
                return true
            }
            while running < concurrency, await launch() { running += 1 }
            while let result = await group.next() {
                results.append(result)
                if await launch() == false { running -= 1 }
            }
            return (results, unsent, unsentReason)
        }
        for message in unsent {
            outcomes.append(.retry(id: message.id, at: now, code: nil, text: unsentReason, countsAsAttempt: false))
        }

        for (message, result) in results {
            switch result {
            case .success(let receipt):
                state.consecutiveFailures = 0
                outcomes.append(.sent(id: message.id, dialerID: dialerID, providerID: providerID,
                                      providerMessageID: receipt.providerMessageID, port: nil))
            case .failure(let error) where error.kind == .permanent:
                outcomes.append(.failed(id: message.id, providerID: providerID, code: error.code, text: error.text))
            case .failure(let error):
                state.consecutiveFailures += 1
                if message.attempts >= policy.maxAttempts {
                    outcomes.append(.failed(id: message.id, providerID: providerID, code: error.code,
                                            text: "retries exhausted after \(message.attempts) attempts: \(error.text)"))
                } else {
                    let wait = policy.backoff(afterAttempt: message.attempts, random: Double.random(in: 0..<1))
                    outcomes.append(.retry(id: message.id, at: Date().addingTimeInterval(wait), code: error.code, text: error.text,
                                           countsAsAttempt: true))
                }
            }
        }
        // Record the port each message went out on.
        let portByID = Dictionary(uniqueKeysWithValues: planned.compactMap { m, p in p.map { (m.id, $0) } })
        outcomes = outcomes.map { outcome in
            if case .sent(let id, let d, let p, let mid, _) = outcome { return .sent(id: id, dialerID: d, providerID: p, providerMessageID: mid, port: portByID[id]) }
            return outcome
        }
        if !state.failoverActive, dialer.fallbackProviderID != nil, state.consecutiveFailures >= policy.failoverAfter {
            state.failoverActive = true
            state.failoverSince = .now
            state.consecutiveFailures = 0
            logger.warning("provider keeps failing: dialer switched to its fallback provider",
                           metadata: ["provider": "\(dialer.providerID)", "fallback": "\(dialer.fallbackProviderID ?? 0)"])
        }
        return outcomes
    }

    /// When a message due in the recipient's quiet hours may go, or nil if it may go now.
    func quietUntil(_ message: SpoolMessage, campaign: CampaignRecord?, now: Date) -> Date? {
        guard let allowed = policy.quietHoursAllowed, campaign?.transactional != true,
              !SpoolSource.bypassesQuietHours(message.source) else { return nil }
        let zone = (try? PhoneNumber(e164: message.destination))?.defaultTimeZoneIdentifier ?? campaign?.timeZone ?? "UTC"
        guard let range = try? TimeRange(start: allowed.start, end: allowed.end),
              let window = try? Schedule(timeZone: zone, weekly: Weekday.allCases.map { WeeklyRange($0, range) }) else { return nil }
        return window.isOpen(at: now) ? nil : window.nextOpening(after: now)
    }

}

/// How dialer schedules are stored.
public enum DialerSchedule {
    /// A stored schedule; empty text or `{}` means always open; nil when it does not parse.
    public static func parse(_ text: String) -> Schedule? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed == "{}" { return .alwaysOpen }
        return try? JSONDecoder().decode(Schedule.self, from: Data(trimmed.utf8))
    }
}
