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

/// Loads a bulk file into the spool in one streaming pass: every line is
/// validated and counted, and — unless it is a dry run — written in the same
/// pass inside one transaction. A structural error anywhere stops the writing
/// (reading goes on, so every bad line is listed) and rolls the transaction
/// back, so a refused file leaves nothing behind. Memory does not grow with
/// the file's size (beyond 8–16 bytes a row for spotting duplicates).
public struct SpoolImport: Sendable {
    let storage: Storage
    let intake: SpoolIntake
    /// Bytes read from the file at a time.
    static let chunkSize = 1 << 20
    /// Rows checked against the DNCR, and inserted, at a time.
    let batchSize: Int
    /// Numbers on a campaign's DNCR (with the all-campaigns entries) up to which they are read once, when the
    /// campaign first appears in the file; larger registers are looked up batch by batch.
    let dncrSnapshotLimit: Int

    public init(storage: Storage, batchSize: Int = 2000, dncrSnapshotLimit: Int = 200_000) {
        self.storage = storage
        intake = SpoolIntake(storage: storage)
        self.batchSize = max(1, batchSize)
        self.dncrSnapshotLimit = dncrSnapshotLimit
    }

    /// Progress: the pass (always 1 now that reading and writing are one pass), bytes read so far, of the file's total.
    public typealias Progress = @Sendable (_ pass: Int, _ bytesRead: Int64, _ totalBytes: Int64) -> Void

    /// Thrown inside the import transaction to roll it back when the file turned out to be refused.
    struct Refused: Error {}

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
        if dryRun {
            return try await read(path: path, total: total, report: report, createdBy: createdBy, progress: progress,
                                  writes: false, insert: { _ in })
        }
        let outcome = Outcome()
        let blank = report
        do {
            let queued = try await storage.spool.enqueueAll(at: now) { insert in
                let result = try await read(path: path, total: total, report: blank, createdBy: createdBy,
                                            progress: progress, writes: true, insert: insert)
                await outcome.set(result)
                if result.refused { throw Refused() }
            }
            report = await outcome.report ?? report
            report.queued = queued
        } catch is Refused {
            report = await outcome.report ?? report
        }
        return report
    }

    /// Holds the report built inside the transaction's closure.
    actor Outcome {
        var report: SpoolImportReport?
        func set(_ report: SpoolImportReport) { self.report = report }
    }

    /// Batches handed to the database ahead of the one being written, so it never waits for the reader.
    static let writesAhead = 2

    /// Reads, validates and counts the whole file; while no line has failed, hands rows to `insert` in
    /// batches. Reading runs ahead while earlier batches are written (strictly one after another, in file
    /// order), so parsing and the database use both cores.
    func read(path: String, total: Int64, report start: SpoolImportReport, createdBy: Int64?, progress: Progress,
              writes: Bool, insert: @Sendable ([NewSpoolMessage]) async throws -> Void) async throws -> SpoolImportReport {
        try await withoutActuallyEscaping(insert) { insert in
            try await withThrowingTaskGroup(of: Void.self, returning: SpoolImportReport.self) { group in
                let order = WriteOrder()
                var queued = 0
                var outstanding = 0
                let report = try await scan(path: path, total: total, report: start, createdBy: createdBy,
                                            progress: progress, writes: writes) { batch in
                    if outstanding > Self.writesAhead {
                        try await group.next()
                        outstanding -= 1
                    }
                    let turn = queued
                    group.addTask { try await order.write(turn) { try await insert(batch) } }
                    queued += 1
                    outstanding += 1
                }
                try await group.waitForAll()
                return report
            }
        }
    }

    /// Runs writes one at a time in the order of their turns, whichever task gets there first; after a
    /// failed write the later ones are skipped (the transaction is rolled back anyway).
    actor WriteOrder {
        private var next = 0
        private var failed = false
        private var waiting: [Int: CheckedContinuation<Void, Never>] = [:]

        func write(_ turn: Int, _ body: @Sendable () async throws -> Void) async throws {
            if turn != next { await withCheckedContinuation { waiting[turn] = $0 } }
            defer {
                next = turn + 1
                waiting.removeValue(forKey: next)?.resume()
            }
            guard !failed else { return }
            do {
                try await body()
            } catch {
                failed = true
                throw error
            }
        }
    }

    func scan(path: String, total: Int64, report start: SpoolImportReport, createdBy: Int64?, progress: Progress,
              writes: Bool, insert: ([NewSpoolMessage]) async throws -> Void) async throws -> SpoolImportReport {
        var report = start
        var campaigns = CampaignCache(storage: storage, intake: intake, dncrSnapshotLimit: dncrSnapshotLimit)
        var summary = SpoolCSVSummary()
        var pending: [(SpoolCSVRow, CampaignCache.Entry)] = []
        pending.reserveCapacity(batchSize)
        var batch: [NewSpoolMessage] = []
        batch.reserveCapacity(batchSize)
        var csv = SpoolCSV()
        var unknownCampaigns: [SpoolImportReport.Issue] = []
        let encoder = JSONEncoder()
        /// Writing stops at the first bad line: the transaction will be rolled back anyway.
        func writing() -> Bool { writes && csv.issues.isEmpty && unknownCampaigns.isEmpty }
        func flush() async throws {
            guard !pending.isEmpty else { return }
            // Campaigns whose DNCR was too large to load at the start are looked up batch by batch.
            var blocked: [Int64: [String: String]] = [:]
            for (campaignID, group) in Dictionary(grouping: pending.filter { $0.1.blocked == nil }, by: { $0.1.campaign.id }) {
                blocked[campaignID] = try await storage.dncr.blocked(group.map(\.0.destination), campaignID: campaignID)
            }
            let write = writing()
            for (row, entry) in pending {
                let reason = (entry.blocked ?? blocked[entry.campaign.id])?[row.destination]
                let optedOut = reason?.hasPrefix("opted out") ?? false
                let added = summary.add(row, numberIsValid: entry.pattern.map { $0.0.matches(row.destination) } ?? true,
                                        blockedByDNCR: reason != nil && !optedOut, optedOut: optedOut)
                guard write else { continue }
                batch.append(SpoolIntake.message(
                    campaignID: entry.campaign.id, destination: row.destination, text: row.message, priority: row.priority,
                    source: .csv, pattern: entry.pattern, createdBy: createdBy,
                    extra: row.extra.isEmpty ? nil : String(decoding: try encoder.encode(row.extra), as: UTF8.self),
                    analysis: added.analysis))
            }
            pending.removeAll(keepingCapacity: true)
            if write, !batch.isEmpty { try await insert(batch) }
            batch.removeAll(keepingCapacity: true)
        }
        func take(_ row: SpoolCSVRow) async throws {
            if let entry = try await campaigns.entry(row.campaign) {
                pending.append((row, entry))
                if pending.count >= batchSize { try await flush() }
            } else if unknownCampaigns.count < 100_000 {
                unknownCampaigns.append(.init(line: row.line, field: "campaign", reason: "campaign \"\(row.campaign)\" does not exist"))
            }
        }
        try await Self.stream(path: path, total: total, pass: 1, progress: progress) { chunk in
            csv.feed(chunk)
            while let row = csv.next() { try await take(row) }
        }
        csv.finish()
        while let row = csv.next() { try await take(row) }
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
        report.refused = !report.issues.isEmpty
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

    /// Campaigns by name, with the number pattern that applies to each and, unless it is very large, the
    /// campaign's DNCR.
    struct CampaignCache {
        /// A class, so rows waiting for their batch share one entry instead of each copying the campaign.
        final class Entry: Sendable {
            let campaign: CampaignRecord
            let pattern: (NumberPattern, String)?
            let blocked: [String: String]?

            init(campaign: CampaignRecord, pattern: (NumberPattern, String)?, blocked: [String: String]?) {
                self.campaign = campaign
                self.pattern = pattern
                self.blocked = blocked
            }
        }
        let storage: Storage
        let intake: SpoolIntake
        let dncrSnapshotLimit: Int
        var entries: [String: Entry?] = [:]
        /// The last name looked up (rows of a file mostly repeat one campaign).
        var last: (name: String, entry: Entry?)?

        mutating func entry(_ name: String) async throws -> Entry? {
            if let last, last.name == name { return last.entry }
            let entry: Entry?
            if let known = entries[name] {
                entry = known
            } else if let campaign = try await storage.campaigns.campaign(named: name) {
                entry = Entry(campaign: campaign, pattern: try await intake.numberPattern(for: campaign),
                              blocked: try await storage.dncr.blockedNumbers(campaignID: campaign.id, limit: dncrSnapshotLimit))
            } else {
                entry = nil
            }
            entries[name] = entry
            last = (name, entry)
            return entry
        }
    }
}
