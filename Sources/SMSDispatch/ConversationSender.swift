import Foundation
import Logging
import SMSProviders
import SMSStore

/// Sends conversation traffic: agents' replies, out-of-time replies and
/// opt-out confirmations. They do not wait for a dialer: a campaign that no
/// dialer serves, or whose dialers are outside their hours, still answers
/// its clients. Each message goes through its campaign's provider (else the
/// provider of a dialer serving the campaign, else the default provider),
/// with the same checks as bulk sends: DNCR and opt-outs (the opt-out
/// confirmation excepted), the provider's number pattern, and quiet hours
/// for agents' replies (automatic answers to a client go at once). Claims
/// are leased like a dialer's, so the crash policy is the same.
struct ConversationSender: Sendable {
    let storage: Storage
    let pool: ProviderPool
    let policy: DispatchPolicy
    let logger: Logger
    let progress: DialerProgress
    let notice: ConversationDeliveryNotice

    func run() async {
        var logger = self.logger
        logger[metadataKey: "sender"] = "conversations"
        while !Task.isCancelled {
            do {
                if try await sendOneBatch(logger: logger) == 0 { try await Task.sleep(for: policy.idlePause) }
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.error("conversation batch failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// Claims and sends one batch; returns how many messages it claimed.
    func sendOneBatch(logger: Logger) async throws -> Int {
        let campaigns = try await storage.campaigns.list()
        guard !campaigns.isEmpty else { return 0 }
        let now = Date()
        let owner = "\(policy.node)#\(UInt32.random(in: 0...UInt32.max))"
        let batch = try await storage.spool.claim(
            campaignIDs: campaigns.map(\.id), scope: .conversations, limit: policy.claimBatch, owner: owner,
            leaseUntil: now.addingTimeInterval(policy.lease), now: now)
        guard !batch.isEmpty else { return 0 }
        let byID = Dictionary(uniqueKeysWithValues: campaigns.map { ($0.id, $0) })
        let dialers = try await storage.dialers.list()
        let spool = storage.spool
        var outcomes: [SpoolOutcome] = []
        for (providerID, messages) in try await groupByProvider(batch, campaigns: byID, dialers: dialers) {
            do {
                guard let providerID, let (provider, adapter) = try await pool.adapter(id: providerID) else {
                    outcomes += messages.map {
                        .failed(id: $0.id, providerID: nil, code: "no_provider",
                                text: "no provider to send it: the campaign has none and there is no default provider")
                    }
                    continue
                }
                // The conversation channel behaves as a dialer with no schedule, port rotation or fallback.
                let channel = DialerRecord(id: 0, name: "conversations", providerID: provider.id, schedule: "{}", timeZone: "UTC",
                                           enabled: true, dncrCheck: true, createdAt: now, updatedAt: now)
                let worker = DialerWorker(dialer: channel, storage: storage, pool: pool, policy: policy, logger: logger,
                                          progress: progress, notice: notice)
                var state = DialerWorker.RuntimeState(portCursor: 0, failoverActive: false, consecutiveFailures: 0)
                outcomes += try await worker.process(messages, campaigns: byID, provider: provider, adapter: adapter, pacing: [],
                                                     state: &state, logger: logger)
            } catch {
                let reason = error is CancellationError ? "not sent: the sender stopped" : "not sent: \(error)"
                outcomes += messages.map { .retry(id: $0.id, at: now, code: nil, text: reason, countsAsAttempt: false) }
            }
        }
        // Outcomes already happened at the provider: record them even if this task is being cancelled.
        let recorded = outcomes
        _ = try await Task { try await spool.record(recorded, owner: owner, at: Date()) }.value
        await notice.changed(batch)
        for campaignID in Set(batch.map(\.campaignID)) { await progress.changed(campaignID: campaignID, reason: "sent") }
        return batch.count
    }

    /// The provider each message goes through: its campaign's, else that of an enabled dialer serving the
    /// campaign, else the default provider (nil when there is none).
    func groupByProvider(_ batch: [SpoolMessage], campaigns: [Int64: CampaignRecord], dialers: [DialerRecord]) async throws
        -> [(Int64?, [SpoolMessage])] {
        var defaultProvider: Int64??
        var groups: [Int64?: [SpoolMessage]] = [:]
        for message in batch {
            var providerID = campaigns[message.campaignID]?.providerID
                ?? dialers.first { $0.enabled && $0.campaignIDs.contains(message.campaignID) }?.providerID
            if providerID == nil {
                if defaultProvider == nil { defaultProvider = .some(try await storage.providers.effectiveDefault()?.id) }
                providerID = defaultProvider ?? nil
            }
            groups[providerID, default: []].append(message)
        }
        return groups.map { ($0.key, $0.value) }
    }
}
