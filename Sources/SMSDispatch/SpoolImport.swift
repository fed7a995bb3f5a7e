import Foundation
import SMSCore
import SMSStore

/// What a bulk file did, or would do in a dry run (SPEC D5, D9).
public struct SpoolImportReport: Sendable, Codable, Equatable {
    /// A problem with one line of the file.
    public struct Issue: Sendable, Codable, Equatable, CustomStringConvertible {
        public var line: Int
        public var field: String?
        public var reason: String
        public var description: String { "line \(line)\(field.map { ", \($0)" } ?? ""): \(reason)" }
    }

    public var fileName: String
    public var dryRun: Bool
    /// True when the file was refused whole because of `issues`.
    public var refused: Bool
    public var issues: [Issue]
    public var rows = 0
    public var valid = 0
    /// Numbers failing the provider's pattern: loaded as `invalid`.
    public var invalid = 0
    public var duplicates = 0
    public var blockedByDNCR = 0
    public var optedOut = 0
    public var toSend = 0
    public var segments = 0
    public var encodings: [String: Int] = [:]
    public var campaigns: [String: Int] = [:]
    /// Messages written to the spool (0 in a dry run or when refused).
    public var queued = 0
}

/// Loads a bulk file into the spool: a first pass validates every line (a
/// structural error anywhere refuses the whole file, every bad line listed)
/// and counts what the file would do; a second pass, unless it is a dry run,
/// writes all rows in one transaction. Both passes stream the file, so
/// memory does not grow with its size (beyond 8–16 bytes a row for spotting
/// duplicates).
public struct SpoolImport: Sendable {
    let storage: Storage
    let intake: SpoolIntake
    /// Bytes read from the file at a time.
    static let chunkSize = 1 << 20
    /// Rows checked against the DNCR, and inserted, at a time.
    static let batchSize = 2000

    public init(storage: Storage) {
        self.storage = storage
        intake = SpoolIntake(storage: storage)
    }

    /// Progress of a pass: which pass (1 validates, 2 writes), bytes read so far, of the file's total.
    public typealias Progress = @Sendable (_ pass: Int, _ bytesRead: Int64, _ totalBytes: Int64) -> Void

    public func run(path: String, fileName: String, dryRun: Bool, createdBy: Int64?, now: Date = Date(),
                    progress: Progress = { _, _, _ in }) async throws -> SpoolImportReport {
        var report = SpoolImportReport(fileName: fileName, dryRun: dryRun, refused: false, issues: [])
        do {
            try SpoolCSV.validateFileName(fileName)
        } catch {
            report.issues.append(.init(line: 0, field: "file", reason: error.description))
            report.refused = true
            return report
        }
        let total = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0

        // Pass 1: validate and count.
        var campaigns = CampaignCache(storage: storage, intake: intake)
        var summary = SpoolCSVSummary()
        var pending: [(SpoolCSVRow, CampaignCache.Entry)] = []
        var csv = SpoolCSV()
        var unknownCampaigns: [SpoolImportReport.Issue] = []
        func flush() async throws {
            guard !pending.isEmpty else { return }
            for (campaignID, group) in Dictionary(grouping: pending, by: { $0.1.campaign.id }) {
                let blocked = try await storage.dncr.blocked(group.map(\.0.destination), campaignID: campaignID)
                for (row, entry) in group {
                    let reason = blocked[row.destination]
                    summary.add(row, numberIsValid: entry.pattern.map { $0.0.matches(row.destination) } ?? true,
                                blockedByDNCR: reason != nil && !(reason?.hasPrefix("opted out") ?? false),
                                optedOut: reason?.hasPrefix("opted out") ?? false)
                }
            }
            pending.removeAll(keepingCapacity: true)
        }
        try await Self.stream(path: path, total: total, pass: 1, progress: progress) { chunk in
            csv.feed(chunk)
            while let row = csv.next() {
                if let entry = try await campaigns.entry(row.campaign) {
                    pending.append((row, entry))
                    if pending.count >= Self.batchSize { try await flush() }
                } else if unknownCampaigns.count < 100_000 {
                    unknownCampaigns.append(.init(line: row.line, field: "campaign", reason: "campaign \"\(row.campaign)\" does not exist"))
                }
            }
        }
        csv.finish()
        while let row = csv.next() {
            if let entry = try await campaigns.entry(row.campaign) { pending.append((row, entry)) } else {
                unknownCampaigns.append(.init(line: row.line, field: "campaign", reason: "campaign \"\(row.campaign)\" does not exist"))
            }
        }
        try await flush()

        report.issues = (csv.issues.map { .init(line: $0.line, field: $0.field?.description, reason: $0.problem.description) }
            + unknownCampaigns).sorted { $0.line < $1.line }
        report.rows = summary.rows + unknownCampaigns.count
        report.valid = summary.valid
        report.invalid = summary.invalid
        report.duplicates = summary.duplicates
        report.blockedByDNCR = summary.blockedByDNCR
        report.optedOut = summary.optedOut
        report.toSend = summary.toSend
        report.segments = summary.segments
        report.encodings = Dictionary(uniqueKeysWithValues: summary.encodings.map { ($0.key.rawValue, $0.value) })
        report.campaigns = summary.campaigns
        if !report.issues.isEmpty {
            report.refused = true
            return report
        }
        if dryRun { return report }

        // Pass 2: write every row in one transaction.
        let cache = campaigns.entries
        report.queued = try await storage.spool.enqueueAll(at: now) { insert in
            var csv = SpoolCSV()
            var batch: [NewSpoolMessage] = []
            batch.reserveCapacity(Self.batchSize)
            // Bulk files usually repeat one text: analyse it once.
            var last: (text: String, analysis: SMSAnalysis)?
            func add(_ row: SpoolCSVRow) async throws {
                guard let entry = cache[row.campaign] ?? nil else { return }
                let analysis = last?.text == row.message ? last!.analysis : SMSText.analyze(row.message)
                last = (row.message, analysis)
                batch.append(SpoolIntake.message(
                    campaignID: entry.campaign.id, destination: row.destination, text: row.message, priority: row.priority,
                    source: .csv, pattern: entry.pattern, createdBy: createdBy,
                    extra: row.extra.isEmpty ? nil : String(decoding: try JSONEncoder().encode(row.extra), as: UTF8.self),
                    analysis: analysis))
                if batch.count >= Self.batchSize {
                    try await insert(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try await Self.stream(path: path, total: total, pass: 2, progress: progress) { chunk in
                csv.feed(chunk)
                while let row = csv.next() { try await add(row) }
            }
            csv.finish()
            while let row = csv.next() { try await add(row) }
            if !batch.isEmpty { try await insert(batch) }
        }
        return report
    }

    /// Reads the file in chunks.
    static func stream(path: String, total: Int64, pass: Int, progress: Progress,
                       _ body: (Data) async throws -> Void) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var read: Int64 = 0
        while true {
            let chunk = try handle.read(upToCount: chunkSize) ?? Data()
            if chunk.isEmpty { break }
            read += Int64(chunk.count)
            try await body(chunk)
            progress(pass, read, total)
        }
    }

    /// Campaigns by name, with the number pattern that applies to each.
    struct CampaignCache {
        struct Entry: Sendable {
            var campaign: CampaignRecord
            var pattern: (NumberPattern, String)?
        }
        let storage: Storage
        let intake: SpoolIntake
        var entries: [String: Entry?] = [:]

        mutating func entry(_ name: String) async throws -> Entry? {
            if let known = entries[name] { return known }
            var entry: Entry?
            if let campaign = try await storage.campaigns.campaign(named: name) {
                entry = Entry(campaign: campaign, pattern: try await intake.numberPattern(for: campaign))
            }
            entries[name] = entry
            return entry
        }
    }
}
