import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

/// The bulk import (SPEC D5, D9): one streaming pass that writes while it validates, and leaves nothing
/// behind when the file is refused, however far into the file the bad line is.
@Suite("Spool import")
struct ImportTests {
    static let t0 = Date(millisecondsSince1970: 1_790_000_000_000)

    func file(_ lines: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID().uuidString).csv").path
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func campaign(_ h: EngineHarness) async throws -> CampaignRecord {
        try await h.storage.campaigns.create(CampaignRecord(name: "Cobranzas", timeZone: "America/Montevideo", schedule: "{}",
                                                            createdAt: Self.t0, updatedAt: Self.t0))
    }

    @Test("a bad line after several written batches rolls the whole file back, and every bad line is listed")
    func lateBadLineRollsBack() async throws {
        try await EngineHarness.with { h in
            let c = try await campaign(h)
            // Well past SpoolImport.batchSize, so batches were already written when line 4,502 is read.
            var lines = (0..<4500).map { "Cobranzas;\(uy($0));Hola \($0);0" }
            lines.append("Cobranzas;\(uy(9000));;0")
            lines += (4501..<5000).map { "Cobranzas;\(uy($0));Hola \($0);0" }
            lines.append("Nope;\(uy(9001));Hola;0")
            let path = try file(lines)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let report = try await SpoolImport(storage: h.storage).run(path: path, fileName: "lote.csv", dryRun: false, createdBy: nil)
            #expect(report.refused)
            #expect(report.queued == 0)
            #expect(report.issues.map(\.line) == [4501, 5001])
            #expect(report.issues.map(\.field) == ["message", "campaign"])
            #expect(try await h.storage.spool.counts(campaignID: c.id).byState.isEmpty)
            #expect(try await h.storage.spool.list(SpoolFilter(campaignID: c.id), limit: 10, beforeID: nil).isEmpty)
        }
    }

    @Test("a good file is written in one pass: every row queued in file order, with its history, counted like the dry run")
    func goodFileIsQueued() async throws {
        try await EngineHarness.with { h in
            let c = try await campaign(h)
            var lines = ["campaign;destination;message;priority"]
            lines += (0..<5000).map { "Cobranzas;\(uy($0));Hola {\($0)};\($0 % 3)" }
            lines.append("Cobranzas;\(uy(1));Hola {1};1")  // a duplicate: loaded, and counted
            lines.append("Cobranzas;\(uy(7));Olá ✓;0")     // UCS-2
            let path = try file(lines)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let dry = try await SpoolImport(storage: h.storage).run(path: path, fileName: "lote.csv", dryRun: true, createdBy: nil)
            #expect(try await h.storage.spool.counts(campaignID: c.id).byState.isEmpty)
            let report = try await SpoolImport(storage: h.storage).run(path: path, fileName: "lote.csv", dryRun: false, createdBy: nil)
            #expect(!report.refused)
            #expect(report.queued == 5002)
            #expect(report.rows == dry.rows && report.duplicates == dry.duplicates && report.segments == dry.segments)
            #expect(report.duplicates == 1)
            #expect(report.encodings == ["GSM-7": 5001, "UCS-2": 1])
            #expect(try await h.storage.spool.counts(campaignID: c.id)[.toProcess] == 5002)
            let first = try #require(try await h.storage.spool.list(SpoolFilter(campaignID: c.id), limit: 6000, beforeID: nil).min { $0.id < $1.id })
            #expect(first.destination == uy(0))
            #expect(first.message == "Hola {0}")
            #expect(first.segments == 1)
            #expect(first.encoding == "GSM-7")
            let history = try await h.storage.spool.history(id: first.id)
            #expect(history.map(\.to) == [.toProcess])
            #expect(history.first?.reason == "queued (csv)")
        }
    }

    @Test("batches are written strictly in file order while the next ones are read", arguments: [1, 7, 50, 2000])
    func fileOrderAcrossBatches(batchSize: Int) async throws {
        try await EngineHarness.with { h in
            let c = try await campaign(h)
            let lines = (0..<1500).map { "Cobranzas;\(uy($0));Hola \($0);\($0 % 4)" }
            let path = try file(lines)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let report = try await SpoolImport(storage: h.storage, batchSize: batchSize)
                .run(path: path, fileName: "lote.csv", dryRun: false, createdBy: nil)
            #expect(report.queued == 1500)
            let stored = try await h.storage.spool.list(SpoolFilter(campaignID: c.id), limit: 2000, beforeID: nil).sorted { $0.id < $1.id }
            #expect(stored.map(\.destination) == (0..<1500).map(uy))
            #expect(stored.map(\.priority) == (0..<1500).map { $0 % 4 })
        }
    }

    @Test("DNCR and opt-out hits are counted the same whether the register is read once or batch by batch")
    func dncrSnapshotOrBatches() async throws {
        try await EngineHarness.with { h in
            let c = try await campaign(h)
            try await h.storage.dncr.add([
                DNCREntry(number: uy(3), campaignID: nil, source: "manual", createdAt: Self.t0),
                DNCREntry(number: uy(10), campaignID: c.id, source: "import", createdAt: Self.t0),
                DNCREntry(number: uy(11), campaignID: c.id, source: "opt_out", reason: "BAJA", createdAt: Self.t0),
                DNCREntry(number: uy(12), campaignID: c.id + 1000, source: "manual", createdAt: Self.t0),  // another campaign's
            ])
            let path = try file((0..<50).map { "Cobranzas;\(uy($0));Hola \($0);0" })
            defer { try? FileManager.default.removeItem(atPath: path) }
            var reports: [SpoolImportReport] = []
            for limit in [200_000, 3, 0] {  // the whole register fits; it does not (looked up per batch of 8)
                reports.append(try await SpoolImport(storage: h.storage, batchSize: 8, dncrSnapshotLimit: limit)
                    .run(path: path, fileName: "lote.csv", dryRun: true, createdBy: nil))
            }
            for report in reports {
                #expect(report.blockedByDNCR == 2)
                #expect(report.optedOut == 1)
                #expect(report.toSend == 47)
            }
        }
    }
}
