import Foundation
import SMSCore
import SMSStore

/// Loads a do-not-contact file (`number;campaign;`, empty campaign = all
/// campaigns; SPEC D7) in one transaction, or refuses it whole with every
/// bad line listed.
public struct DNCRImport: Sendable {
    let storage: Storage

    public init(storage: Storage) { self.storage = storage }

    public struct Report: Sendable, Codable, Equatable {
        public var rows = 0
        public var added = 0
        public var alreadyListed = 0
        public var refused = false
        public var issues: [SpoolImportReport.Issue] = []
    }

    public func run(path: String, createdBy: Int64?, now: Date = Date()) async throws -> Report {
        var report = Report()
        var csv = DNCRCSV()
        var entries: [DNCREntry] = []
        var campaigns: [String: Int64?] = [:]
        func take(_ row: DNCRCSVRow) async throws {
            report.rows += 1
            var campaignID: Int64?
            if let name = row.campaign {
                if campaigns[name] == nil { campaigns[name] = try await storage.campaigns.campaign(named: name)?.id }
                guard let id = campaigns[name] ?? nil else {
                    report.issues.append(.init(line: row.line, field: "campaign", reason: "campaign \"\(name)\" does not exist"))
                    return
                }
                campaignID = id
            }
            entries.append(DNCREntry(number: row.number, campaignID: campaignID, source: "import", createdBy: createdBy, createdAt: now))
        }
        try await SpoolImport.stream(path: path, total: 0, pass: 1, progress: { _, _, _ in }) { chunk in
            csv.feed(chunk)
            while let row = csv.next() { try await take(row) }
        }
        csv.finish()
        while let row = csv.next() { try await take(row) }
        report.issues = (csv.issues.map { .init(line: $0.line, field: $0.field?.description, reason: $0.problem.description) }
            + report.issues).sorted { $0.line < $1.line }
        if !report.issues.isEmpty {
            report.refused = true
            return report
        }
        report.added = try await storage.dncr.add(entries)
        report.alreadyListed = entries.count - report.added
        return report
    }
}
