import Foundation
import Logging
import SMSConversations
import SMSDispatch
import SMSProviders
import SMSStore
import ServiceLifecycle

/// Polls the providers that do not push (Dinstar gateways, SPEC P7): their
/// incoming messages go to the inbound pipeline, their delivery results to
/// the delivery-report intake. Where a poll stopped is stored, so a restart
/// or another node continues from there.
struct ProviderPoller: Service {
    let storage: Storage
    let pool: ProviderPool
    let inbound: InboundPipeline
    let reports: DeliveryReportIntake
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await pollAll()
                try? await Task.sleep(for: interval)
            }
        }
    }

    func pollAll() async {
        guard let providers = try? await storage.providers.list() else { return }
        for record in providers {
            do {
                guard let adapter = try await pool.adapter(for: record) as? any PollingSMSProvider else { continue }
                let cursorName = "poll.inbound.\(record.id)"
                let cursor = try await storage.settings.value(cursorName)
                let (messages, next) = try await adapter.pollInbound(after: cursor)
                for message in messages { _ = try await inbound.receive(message, providerID: record.id) }
                if let next, next != cursor { try await storage.settings.set(cursorName, next) }
                let awaiting = try await storage.spool.awaitingReports(
                    providerID: record.id, since: Date().addingTimeInterval(-3 * 86400), limit: 500)
                if !awaiting.isEmpty {
                    for report in try await adapter.pollDeliveryReports(for: awaiting) {
                        try await reports.receive(report, providerID: record.id)
                    }
                }
            } catch {
                logger.warning("provider poll failed", metadata: ["provider": "\(record.id)", "error": "\(error)"])
            }
        }
    }
}
