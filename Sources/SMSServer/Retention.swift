import Foundation
import Logging
import SMSStore
import ServiceLifecycle

/// Applies the stored retention policy: used by the daily run of the server and by `smsdesk retention`.
public struct Retention: Sendable {
    let storage: Storage
    let pseudonym: NumberPseudonym
    let logger: Logger
    /// Rows per transaction: small enough that no other writer waits long on SQLite's single write lock.
    var batchSize: Int = 500

    /// The purpose the pseudonym key is derived for from the secret key; never change it (numbers would stop matching).
    static let keyPurpose = "smsdesk retention number pseudonym v1"

    public init(storage: Storage, secrets: SecretBox, logger: Logger, batchSize: Int = 500) {
        self.storage = storage
        self.pseudonym = NumberPseudonym(key: secrets.derivedKey(purpose: Self.keyPurpose))
        self.logger = logger
        self.batchSize = batchSize
    }

    /// Runs the stored policy at `now` (with `dryRun`, only counts); logs and audits what a real run changed.
    @discardableResult
    public func run(now: Date = Date(), dryRun: Bool = false, actor: String = "retention") async throws -> RetentionReport {
        let policy = try await storage.retention.policy()
        let report = try await storage.retention.apply(policy, now: now, pseudonym: pseudonym, batchSize: batchSize, dryRun: dryRun)
        guard !dryRun, let cutoff = report.cutoff else { return report }
        let summary = "mode=\(policy.mode.rawValue) days=\(policy.days ?? 0) cutoff=\(Self.iso(cutoff)) \(report.countsSummary)"
        logger.notice("retention run", metadata: [
            "mode": "\(policy.mode.rawValue)", "days": "\(policy.days ?? 0)", "cutoff": "\(Self.iso(cutoff))",
            "spool": "\(report.spool)", "spool_events": "\(report.spoolEvents)", "conversations": "\(report.conversations)",
            "messages": "\(report.messages)", "delivery_reports": "\(report.deliveryReports)",
            "webhook_deliveries": "\(report.webhookDeliveries)",
        ])
        try await storage.audit.append(AuditEntry(at: now, actorUserID: nil, actorName: actor, action: "retention.run",
                                                  targetType: "retention", targetID: nil, details: summary))
        try await storage.retention.recordReport(report)
        return report
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }
}

/// Runs retention once a day (UTC) on one node of the cluster: every node tries, the first to claim the day's row in
/// `settings` runs it. With `keep` (the default) it does nothing.
struct DailyRetention: Service {
    let retention: Retention
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = Date()
            do {
                if try await retention.storage.retention.policy().mode != .keep,
                   try await retention.storage.retention.claimDailyRun(day: Self.day(now)) {
                    try await retention.run(now: now)
                }
            } catch {
                logger.error("retention run failed", metadata: ["error": "\(error)"])
            }
            // Looks again within the hour: a policy set during the day runs the same day, and a new day is noticed.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(Self.recheck(now))) }
        }
    }

    /// `YYYY-MM-DD` in UTC.
    static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// Seconds until the next look: an hour, or just past midnight UTC when that comes first.
    static func recheck(_ now: Date) -> Double {
        let secondsIntoDay = now.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400)
        return min(3600, 86_400 - secondsIntoDay + 5)
    }
}
