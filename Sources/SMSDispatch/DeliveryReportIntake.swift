import Foundation
import Logging
import SMSProviders
import SMSStore

/// Where every delivery report arrives (webhook, poll or simulator): recorded
/// once per provider, message id and outcome, whatever a provider retries.
public struct DeliveryReportIntake: Sendable {
    let storage: Storage
    let logger: Logger
    /// Live `dialer.progress` events: a report moves a message to delivered or failed.
    let progress: DialerProgress
    /// Delivery states of conversation messages, for the agents' pages (SPEC A6).
    let notice: ConversationDeliveryNotice

    public init(storage: Storage, logger: Logger, progress: DialerProgress = .disabled,
                notice: ConversationDeliveryNotice = .disabled) {
        self.storage = storage
        self.logger = logger
        self.progress = progress
        self.notice = notice
    }

    /// Records the report; false when it was a repeat.
    @discardableResult
    public func receive(_ report: DeliveryReport, providerID: Int64, at now: Date = Date()) async throws -> Bool {
        let record = DeliveryReportRecord(
            providerID: providerID, providerMessageID: report.providerMessageID, outcome: report.outcome.rawValue,
            code: report.code, detail: report.text, reportedAt: report.at, receivedAt: now)
        let stored = try await storage.inbound.record(record) != nil
        if stored, report.outcome != .pending {
            // A report for a message whose send is not yet recorded is applied when it is (SpoolStore.record).
            try await storage.spool.applyDeliveryReport(
                providerID: providerID, providerMessageID: report.providerMessageID, delivered: report.outcome == .delivered,
                code: report.code, text: report.text, at: report.at)
            await progress.changed(reason: "report")
            if notice.isEnabled,
               let message = try await storage.spool.message(providerID: providerID, providerMessageID: report.providerMessageID) {
                await notice.changed([message])
            }
        }
        if stored {
            logger.debug("delivery report", metadata: ["provider": "\(providerID)", "id": "\(report.providerMessageID)",
                                                       "outcome": "\(report.outcome.rawValue)"])
        }
        return stored
    }
}
