import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSCore
import SMSServer
import SMSStore
import Testing

/// Two campaigns with history, their people, and one supervisor per scope.
///
/// Ventas: v1 +59899111222 (client at t0, Ana's reply `=cmd…` at t0+60 s that fails, the client's `@SUM(A1)` at
/// t0+120 s); v2 +59899333444 (client at t0+8 days). Cobros: k1 +59899111229 (client `-2+3` at t0+1 day, Carla's
/// reply `+1 cmd` 60 s later). Sara supervises Cobros only; Nora supervises nothing.
struct SearchFixture {
    static let t0 = Date(timeIntervalSince1970: 1_772_409_600)  // 2026-03-02T00:00:00Z, a Monday
    static func at(days: Double = 0, seconds: Double = 0) -> Date { t0.addingTimeInterval(days * 86_400 + seconds) }

    let app: TestApp
    let client: any TestClientProtocol
    let ventas: CampaignRecord
    let cobros: CampaignRecord
    let v1: Int64, v2: Int64, k1: Int64
    let ana: (user: User, credential: TestCredential)
    let admin: TestCredential
    let sara: TestCredential
    let saraID: Int64
    let nora: TestCredential

    static func make(_ app: TestApp, _ client: any TestClientProtocol) async throws -> SearchFixture {
        let storage = app.storage
        let ventas = try await storage.campaigns.create(CampaignRecord(name: "Ventas", timeZone: "UTC", schedule: "{}", createdAt: t0,
                                                                       updatedAt: t0), dids: ["+59820000001"])
        let cobros = try await storage.campaigns.create(CampaignRecord(name: "Cobros", timeZone: "UTC", schedule: "{}", createdAt: t0,
                                                                       updatedAt: t0), dids: ["+59820000002"])
        let ana = try await app.signIn(client, username: "ana", role: .agent)
        let carla = try await app.signIn(client, username: "carla", role: .agent)
        try await storage.campaigns.setMembers(campaignID: ventas.id, [(ana.0.id, 0)], at: t0)
        try await storage.campaigns.setMembers(campaignID: cobros.id, [(carla.0.id, 0)], at: t0)
        let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
        let (saraUser, sara) = try await app.signIn(client, username: "sara", role: .supervisor)
        let (_, nora) = try await app.signIn(client, username: "nora", role: .supervisor)
        try await storage.campaigns.setSupervisors(campaignID: cobros.id, [saraUser.id], at: t0)

        func inbound(_ campaign: CampaignRecord, from: String, _ text: String, at: Date) async throws -> Int64 {
            let message = InboundMessage(providerID: 1, providerMessageID: UUID().uuidString, from: from, to: "+5982000000\(campaign.id)",
                                         body: text, receivedAt: at)
            let outcome = try await storage.conversations.ingest(message, routing: .conversation(campaignID: campaign.id, outOfTimeReply: nil),
                                                                 at: at)
            guard case .conversation(_, let conversation, _, _, _) = outcome else { throw SearchTestError.notRouted }
            return conversation.id
        }
        func reply(_ campaign: CampaignRecord, _ agent: User, to number: String, _ text: String, at: Date) async throws -> SentReply {
            let message = NewSpoolMessage(campaignID: campaign.id, destination: number, message: text, priority: 100, source: .agent,
                                          createdBy: agent.id)
            return try await storage.conversations.start(campaignID: campaign.id, clientNumber: number, agentID: agent.id,
                                                         requireMembership: true, message: message, at: at)
        }
        let v1 = try await inbound(ventas, from: "+59899111222", "hola", at: t0)
        let anaReply = try await reply(ventas, ana.0, to: "+59899111222", "=cmd|' /C calc'!A0", at: at(seconds: 60))
        _ = try await inbound(ventas, from: "+59899111222", "@SUM(A1)", at: at(seconds: 120))
        let k1 = try await inbound(cobros, from: "+59899111229", "-2+3", at: at(days: 1))
        _ = try await reply(cobros, carla.0, to: "+59899111229", "+1 cmd", at: at(days: 1, seconds: 60))
        let v2 = try await inbound(ventas, from: "+59899333444", "buenas", at: at(days: 8))
        // Ana's reply fails at the provider.
        let spoolID = try #require(anaReply.message.delivery?.spoolID)
        let claimedAt = at(seconds: 61)
        _ = try await storage.spool.claim(campaignIDs: [ventas.id], limit: 10, owner: "n", leaseUntil: claimedAt.addingTimeInterval(60),
                                          now: claimedAt)
        try await storage.spool.record([.failed(id: spoolID, providerID: nil, code: "30006", text: "landline")], owner: "n", at: claimedAt)
        return SearchFixture(app: app, client: client, ventas: ventas, cobros: cobros, v1: v1, v2: v2, k1: k1,
                             ana: (ana.0, ana.1), admin: admin, sara: sara, saraID: saraUser.id, nora: nora)
    }

    func get(_ uri: String, as credential: TestCredential) async throws -> JSONTestResponse {
        try await client.executeJSON(uri, method: .get, as: credential)
    }

    /// The ids a search answers, and its `nextBeforeId`.
    func search(_ query: String, as credential: TestCredential) async throws -> (ids: [Int64], next: Int64?) {
        let response = try await get("/api/v1/search/conversations?" + query, as: credential)
        #expect(response.status == .ok, "\(query): \(response.status) \(response.text)")
        let ids = (response.json["conversations"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? Int).map(Int64.init) }
        return (ids, (response.json["nextBeforeId"] as? Int).map(Int64.init))
    }

    /// The CSV export's rows (header first), split into cells.
    func export(_ query: String, as credential: TestCredential) async throws -> (response: JSONTestResponse, rows: [[String]]) {
        let response = try await get("/api/v1/search/conversations.csv?" + query, as: credential)
        let lines = response.text.components(separatedBy: "\r\n")
        #expect(lines.last == "", "every row ends with CRLF")
        return (response, lines.dropLast().map { $0.components(separatedBy: ";") })
    }

    static func iso(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}

enum SearchTestError: Error { case notRouted }

@Suite("Conversation search API")
struct SearchAPITests {
    @Test("an admin searches by campaign, week and part of the number, pages with nextBeforeId and opens the thread with delivery states")
    func adminSearch() async throws {
        try await TestApp.with { app, client in
            let f = try await SearchFixture.make(app, client)
            let week = "from=\(SearchFixture.iso(SearchFixture.t0))&to=\(SearchFixture.iso(SearchFixture.at(days: 7)))"
            let typical = try await f.search("campaignId=\(f.ventas.id)&\(week)&number=111%20222", as: f.admin)
            #expect(typical.ids == [f.v1] && typical.next == nil)
            #expect(try await f.search("\(week)&number=%2B598%2099111", as: f.admin).ids == [f.k1, f.v1])
            #expect(try await f.search("number=333", as: f.admin).ids == [f.v2])
            #expect(try await f.search("agentId=\(f.ana.user.id)", as: f.admin).ids == [f.v1])
            #expect(try await f.search("from=\(SearchFixture.iso(SearchFixture.at(days: 7)))", as: f.admin).ids == [f.v2])

            let full = try await f.get("/api/v1/search/conversations?campaignId=\(f.ventas.id)", as: f.admin)
            let first = try #require((full.json["conversations"] as? [[String: Any]])?.last)
            #expect(Set(first.keys) == ConversationAPITests.conversationKeys)
            #expect(first["clientNumber"] as? String == "+59899111222" && first["campaignName"] as? String == "Ventas")
            #expect(first["agentName"] as? String == "ana")
            #expect(full.json.keys.contains("nextBeforeId") && full.json["nextBeforeId"] is NSNull)

            // Pages of one: newest first, each `nextBeforeId` leads to the next; the last says there is none.
            var seen: [Int64] = []
            var before: Int64?
            repeat {
                let page = try await f.search("limit=1" + (before.map { "&beforeId=\($0)" } ?? ""), as: f.admin)
                seen += page.ids
                before = page.next
            } while before != nil && seen.count < 10
            #expect(seen == [f.v2, f.k1, f.v1])

            // A result opens read-only with every message and its delivery state.
            let thread = try await f.get("/api/v1/conversations/\(f.v1)", as: f.admin)
            #expect(thread.status == .ok)
            let messages = try #require(thread.json["messages"] as? [[String: Any]])
            #expect(messages.map { $0["state"] as? String } == ["received", "failed", "received"])
            #expect(messages[1]["reason"] as? String == "30006: landline")
        }
    }

    @Test("search values that do not fit name their field; agents may not search")
    func validation() async throws {
        try await TestApp.with { app, client in
            let f = try await SearchFixture.make(app, client)
            let bad: [(String, String)] = [
                ("from=yesterday", "from"), ("to=2026-03-02", "to"),
                ("from=\(SearchFixture.iso(SearchFixture.at(days: 2)))&to=\(SearchFixture.iso(SearchFixture.at(days: 1)))", "to"),
                ("number=--", "number"), ("number=\(String(repeating: "1", count: 33))", "number"), ("campaignId=ventas", "campaignId"),
                ("agentId=x", "agentId"), ("limit=0", "limit"), ("limit=201", "limit"), ("beforeId=z", "beforeId"),
            ]
            for (query, field) in bad {
                let response = try await f.get("/api/v1/search/conversations?" + query, as: f.admin)
                #expect(response.status == .badRequest && response.errorCode == "validation" && response.errorField == field,
                        "\(query): \(response.status) \(response.text)")
            }
            let csv = try await f.get("/api/v1/search/conversations.csv?from=yesterday", as: f.admin)
            #expect(csv.status == .badRequest && csv.errorField == "from")
            let fractional = "from=2026-03-02T00:00:00.000Z&to=2026-03-02T03:00:01%2B03:00"
            #expect(try await f.search(fractional, as: f.admin).ids == [f.v1], "an offset and fractional seconds are accepted")
            #expect(try await f.get("/api/v1/search/conversations", as: f.ana.credential).status == .forbidden)
            #expect(try await f.get("/api/v1/search/conversations.csv", as: f.ana.credential).status == .forbidden)
        }
    }

    @Test("a supervisor sees only the campaigns assigned to them: another campaign is 403, its threads 404; no campaign: nothing")
    func supervisorScope() async throws {
        try await TestApp.with { app, client in
            let f = try await SearchFixture.make(app, client)
            // Sara supervises Cobros.
            #expect(try await f.search("", as: f.sara).ids == [f.k1])
            #expect(try await f.search("number=111", as: f.sara).ids == [f.k1])
            #expect(try await f.search("campaignId=\(f.cobros.id)", as: f.sara).ids == [f.k1])
            let other = try await f.get("/api/v1/search/conversations?campaignId=\(f.ventas.id)", as: f.sara)
            #expect(other.status == .forbidden && other.errorField == "campaignId")
            #expect(try await f.get("/api/v1/search/conversations.csv?campaignId=\(f.ventas.id)", as: f.sara).status == .forbidden)
            let csv = try await f.export("", as: f.sara)
            #expect(csv.rows.dropFirst().map { $0[0] } == [String(f.k1), String(f.k1)])

            // The thread and the other conversation routes follow the same scope.
            #expect(try await f.get("/api/v1/conversations/\(f.k1)", as: f.sara).status == .ok)
            #expect(try await f.get("/api/v1/conversations/\(f.v1)", as: f.sara).status == .notFound)
            #expect(try await f.get("/api/v1/conversations/\(f.v1)/history", as: f.sara).status == .notFound)
            let close = try await client.executeJSON("/api/v1/conversations/\(f.v2)/close", method: .post, json: [:], as: f.sara)
            #expect(close.status == .notFound)
            #expect(try await app.storage.conversations.conversation(id: f.v2)?.state == .queued, "still open")
            let listed = try await f.get("/api/v1/conversations", as: f.sara)
            #expect((listed.json["conversations"] as? [[String: Any]])?.map { $0["id"] as? Int } == [Int(f.k1)])
            #expect(try await f.get("/api/v1/conversations?campaignId=\(f.ventas.id)", as: f.sara).status == .forbidden)
            let anasInbox = try await f.get("/api/v1/inbox?agentId=\(f.ana.user.id)", as: f.sara)
            #expect((anasInbox.json["conversations"] as? [Any])?.isEmpty == true, "Ana's conversation is in Ventas")

            // Nora supervises no campaign: she finds nothing and opens nothing.
            #expect(try await f.search("", as: f.nora).ids.isEmpty)
            #expect(try await f.search("from=\(SearchFixture.iso(SearchFixture.t0))", as: f.nora).ids.isEmpty)
            #expect(try await f.export("", as: f.nora).rows.count == 1, "the header only")
            #expect(try await f.get("/api/v1/conversations/\(f.k1)", as: f.nora).status == .notFound)

            // Assigned to Ventas too, Sara sees both.
            try await app.storage.campaigns.setSupervisors(campaignID: f.ventas.id, [f.saraID], at: Date())
            #expect(try await f.search("", as: f.sara).ids == [f.v2, f.k1, f.v1])
            #expect(try await f.get("/api/v1/conversations/\(f.v1)", as: f.sara).status == .ok)
            // Admins see every campaign.
            #expect(try await f.search("", as: f.admin).ids == [f.v2, f.k1, f.v1])
        }
    }

    @Test("the CSV export has one row per message with its delivery state; no cell can start a spreadsheet formula")
    func csvExport() async throws {
        try await TestApp.with { app, client in
            let f = try await SearchFixture.make(app, client)
            let (response, rows) = try await f.export("", as: f.admin)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(response.headers[.contentDisposition] == "attachment; filename=\"conversations.csv\"")
            #expect(rows.first == ["conversation_id", "message_id", "date", "campaign", "client_number", "agent", "direction", "text",
                                   "state", "reason"])
            let body = Array(rows.dropFirst())
            // Conversations newest first, each one's messages oldest first.
            #expect(body.map { $0[0] } == [f.v2, f.k1, f.k1, f.v1, f.v1, f.v1].map(String.init))
            let reply = try #require(body.first { $0[7].contains("cmd|") })
            #expect(reply == [String(f.v1), reply[1], "2026-03-02T00:01:00Z", "Ventas", "'+59899111222", "ana", "out",
                              "'=cmd|' /C calc'!A0", "failed", "30006: landline"])
            #expect(body.map { $0[7] } == ["buenas", "'-2+3", "'+1 cmd", "hola", "'=cmd|' /C calc'!A0", "'@SUM(A1)"])
            #expect(body.map { $0[8] } == ["received", "received", "queued", "received", "failed", "received"])
            for row in body {
                #expect(row.count == 10, "\(row)")
                for cell in row { #expect(!["=", "+", "-", "@"].contains(cell.first.map(String.init) ?? ""), "\(cell)") }
            }
            // The same filters as the search.
            let filtered = try await f.export("campaignId=\(f.ventas.id)&number=333", as: f.admin)
            #expect(filtered.rows.dropFirst().map { $0[0] } == [String(f.v2)])
            // Exports are audited with their filters.
            let audit = try await app.storage.audit.list(limit: 5, before: nil)
            #expect(audit.first?.action == "search.export" && audit.first?.details == "campaign=\(f.ventas.id) number=333")
        }
    }

    @Test("the export reads page after page: 450 conversations come out once each, newest first")
    func exportPages() async throws {
        try await TestApp.with { app, client in
            let f = try await SearchFixture.make(app, client)
            var ids: [Int64] = []
            for i in 0..<450 {
                let at = SearchFixture.at(days: 20, seconds: Double(i))
                let message = InboundMessage(providerID: 1, providerMessageID: "p\(i)", from: "+5989800\(String(format: "%04d", i))",
                                             to: "+59820000001", body: "mensaje \(i)", receivedAt: at)
                let outcome = try await app.storage.conversations.ingest(
                    message, routing: .conversation(campaignID: f.ventas.id, outOfTimeReply: nil), at: at)
                guard case .conversation(_, let conversation, _, _, _) = outcome else { throw SearchTestError.notRouted }
                ids.append(conversation.id)
            }
            let (_, rows) = try await f.export("number=5989800", as: f.admin)
            #expect(rows.dropFirst().map { Int64($0[0]) } == ids.reversed().map { Optional($0) })
            #expect(rows.dropFirst().map { $0[7] } == (0..<450).reversed().map { "mensaje \($0)" })
        }
    }
}
