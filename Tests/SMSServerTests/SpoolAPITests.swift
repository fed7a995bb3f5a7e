import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("Bulk upload, DNCR upload, monitor and reports")
struct SpoolAPITests {
    func upload(_ client: any TestClientProtocol, _ uri: String, _ csv: String, as credential: TestCredential) async throws -> JSONTestResponse {
        var headers = credential.headers()
        headers[.contentType] = "text/csv"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: csv)) { response in
            JSONTestResponse(status: response.status, headers: response.headers,
                             text: response.body.getString(at: 0, length: response.body.readableBytes) ?? "")
        }
    }

    @Test("a file with bad lines is refused whole, every bad line listed; a good one is queued and counted by the monitor")
    func uploadAndMonitor() async throws {
        try await TestApp.with { app, client in
            let (campaign, _) = try await MessageAPITests.setUp(app)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let bad = "Cobranzas;+59899000001;Hola;1\nNope;+59899000002;Hola;1\nCobranzas;+59899000003;;1\nCobranzas;+59899000004;Hola;x\n"
            let refused = try await upload(client, "/api/v1/spool/import?fileName=lote1.csv", bad, as: supervisor)
            #expect(refused.status == .unprocessableContent)
            let issues = (refused.json["report"] as? [String: Any])?["issues"] as? [[String: Any]] ?? []
            #expect(issues.map { $0["line"] as? Int ?? 0 } == [2, 3, 4])
            #expect(issues.map { $0["field"] as? String ?? "" } == ["campaign", "message", "priority"])
            #expect(try await app.storage.spool.counts(campaignID: campaign.id).byState.isEmpty)

            let good = "campaign;destination;message;priority\nCobranzas;+59899000001;Hola;1\nCobranzas;099000002;Hola;1\nCobranzas;+59899000001;Hola;1\n"
            let dry = try await upload(client, "/api/v1/spool/import?fileName=lote2.csv&dryRun=true", good, as: supervisor)
            let dryReport = try #require(dry.json["report"] as? [String: Any])
            #expect(dryReport["rows"] as? Int == 3)
            #expect(dryReport["invalid"] as? Int == 1)
            #expect(dryReport["duplicates"] as? Int == 1)
            #expect(dryReport["queued"] as? Int == 0)
            #expect(try await app.storage.spool.counts(campaignID: campaign.id).byState.isEmpty)

            let queued = try await upload(client, "/api/v1/spool/import?fileName=lote2.csv", good, as: supervisor)
            #expect((queued.json["report"] as? [String: Any])?["queued"] as? Int == 3)
            let monitor = try await client.executeJSON("/api/v1/dialer-monitor", method: .get, as: supervisor)
            let entry = try #require((monitor.json["campaigns"] as? [[String: Any]])?.first { $0["campaign"] as? String == "Cobranzas" })
            #expect(entry["notProcessed"] as? Int == 2)
            #expect(entry["other"] as? Int == 1)
            #expect(entry["active"] as? Bool == false)

            let badName = try await upload(client, "/api/v1/spool/import?fileName=lote%20final.csv", good, as: supervisor)
            #expect(badName.status == .unprocessableContent)
        }
    }

    @Test("DNCR upload, delete unprocessed, reports with filters and a CSV export that cannot run formulas")
    func dncrCancelReports() async throws {
        try await TestApp.with { app, client in
            let (campaign, _) = try await MessageAPITests.setUp(app)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let dncr = try await upload(client, "/api/v1/dncr/import", "+59899000009;Cobranzas;\n+59899000008;;\n", as: supervisor)
            #expect((dncr.json["report"] as? [String: Any])?["added"] as? Int == 2)
            let refusedDNCR = try await upload(client, "/api/v1/dncr/import", "+59899000007;Nope;\n", as: supervisor)
            #expect(refusedDNCR.status == .unprocessableContent)
            let loaded = try await upload(client, "/api/v1/spool/import?fileName=a.csv",
                                          "Cobranzas;+59899000001;\"=HYPERLINK(\"\"x\"\")\";1\nCobranzas;+59899000002;Hola;1\n", as: supervisor)
            #expect(loaded.status == .ok, "\(loaded.text)")
            let list = try await client.executeJSON("/api/v1/spool?campaignId=\(campaign.id)&number=000002", method: .get, as: supervisor)
            #expect((list.json["messages"] as? [[String: Any]])?.count == 1)
            let csv = try await client.execute(uri: "/api/v1/spool?campaignId=\(campaign.id)&format=csv", method: .get,
                                               headers: supervisor.headers()) { response in
                response.body.getString(at: 0, length: response.body.readableBytes) ?? ""
            }
            #expect(csv.contains("'=HYPERLINK"))
            let cancelled = try await client.executeJSON("/api/v1/campaigns/\(campaign.id)/spool/cancel", method: .post, as: supervisor)
            #expect(cancelled.json["cancelled"] as? Int == 2)
            #expect(try await app.storage.spool.counts(campaignID: campaign.id)[.cancelled] == 2)
        }
    }
}
