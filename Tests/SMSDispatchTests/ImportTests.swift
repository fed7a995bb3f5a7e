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
}
