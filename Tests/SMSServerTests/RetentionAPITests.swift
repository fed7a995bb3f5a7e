import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import SMSServer
import SMSStore
import Testing

@Suite("Retention setting and runs")
struct RetentionAPITests {
    @Test("admins read and change the retention setting; bad input names the field; other roles are refused; changes are audited")
    func settingsRoundTrip() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let initial = try await client.executeJSON("/api/v1/settings/retention", method: .get, as: admin)
            #expect(initial.status == .ok)
            #expect(initial.json["mode"] as? String == "keep")
            #expect(initial.json["days"] == nil || initial.json["days"] is NSNull)

            for (body, field) in [(["mode": "shred", "days": 3] as [String: Any], "mode"), (["days": 3], "mode"),
                                  (["mode": "delete"], "days"), (["mode": "anonymise", "days": 0], "days"),
                                  (["mode": "anonymise", "days": 100_000], "days")] {
                let refused = try await client.executeJSON("/api/v1/settings/retention", method: .put, json: body, as: admin)
                #expect(refused.status == .badRequest, "\(body)")
                #expect(refused.errorField == field, "\(body): \(refused.text)")
            }
            let forbidden = try await client.executeJSON("/api/v1/settings/retention", method: .put,
                                                         json: ["mode": "delete", "days": 30], as: supervisor)
            #expect(forbidden.status == .forbidden)

            let changed = try await client.executeJSON("/api/v1/settings/retention", method: .put,
                                                       json: ["mode": "anonymise", "days": 90], as: admin)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["mode"] as? String == "anonymise")
            #expect(changed.json["days"] as? Int == 90)
            #expect(try await app.storage.retention.policy() == RetentionPolicy(mode: .anonymise, days: 90))
            let audit = try await app.storage.audit.list(limit: 10, before: nil)
            #expect(audit.contains { $0.action == "retention.update" && $0.details == "mode=anonymise days=90" })
        }
    }

    @Test("the daily run: two nodes start it at once, one runs it (once for the day), and it deletes what is old")
    func dailyRunOncePerDay() async throws {
        try await TestApp.with { app, _ in
            let now = Date()
            let campaign = try await app.storage.campaigns.create(
                CampaignRecord(name: "Ventas", timeZone: "UTC", schedule: "{}", createdAt: now, updatedAt: now), dids: [])
            let id = try #require(try await app.storage.spool.enqueue([
                NewSpoolMessage(campaignID: campaign.id, destination: "+59899000001", message: "viejo", source: .api)], at: now).first)
            let old = now.addingTimeInterval(-10 * 86_400)
            try await app.storage.database.query("UPDATE spool SET state = 'sent', created_at = \(old) WHERE id = \(id)")
            try await app.storage.retention.setPolicy(RetentionPolicy(mode: .delete, days: 7))
            let retention = Retention(storage: app.storage, secrets: app.secrets, logger: app.logs.logger())
            let nodes = (0..<2).map { _ in Task { try await DailyRetention(retention: retention, logger: app.logs.logger()).run() } }
            defer { nodes.forEach { $0.cancel() } }
            let deadline = ContinuousClock.now + .seconds(20)
            while try await app.storage.retention.lastReport() == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await app.storage.spool.message(id: id) == nil)
            let runs = try await app.storage.audit.list(limit: 50, before: nil).filter { $0.action == "retention.run" }
            #expect(runs.count == 1, "one node ran it: \(runs)")
            #expect(try await !app.storage.retention.claimDailyRun(day: DailyRetention.day(now)), "today is claimed")
        }
    }

    @Test("a run deletes what is older than the cutoff, logs the counts and cutoff, audits them and shows them as the last run")
    func runLogsAndAudits() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
            let now = Date()
            let campaign = try await app.storage.campaigns.create(
                CampaignRecord(name: "Ventas", timeZone: "UTC", schedule: "{}", createdAt: now, updatedAt: now), dids: [])
            let ids = try await app.storage.spool.enqueue([
                NewSpoolMessage(campaignID: campaign.id, destination: "+59899000001", message: "viejo", source: .api),
                NewSpoolMessage(campaignID: campaign.id, destination: "+59899000002", message: "nuevo", source: .api),
            ], at: now)
            let old = now.addingTimeInterval(-40 * 86_400)
            try await app.storage.database.query("UPDATE spool SET state = 'delivered', created_at = \(old) WHERE id = \(ids[0])")
            try await app.storage.database.query("UPDATE spool SET state = 'delivered' WHERE id = \(ids[1])")
            try await app.storage.retention.setPolicy(RetentionPolicy(mode: .delete, days: 30))

            let retention = Retention(storage: app.storage, secrets: app.secrets, logger: app.logs.logger(), batchSize: 1)
            let dry = try await retention.run(now: now, dryRun: true)
            #expect(dry.spool == 1)
            #expect(try await app.storage.spool.message(id: ids[0]) != nil, "a dry run deletes nothing")
            let report = try await retention.run(now: now)
            #expect(report.spool == 1 && report.spoolEvents >= 1)
            #expect(try await app.storage.spool.message(id: ids[0]) == nil)
            #expect(try await app.storage.spool.message(id: ids[1])?.message == "nuevo")
            let logged = app.logs.all.split(separator: "\n").filter { $0.contains("retention run") }
            #expect(logged.count == 1 && logged[0].contains(#""spool": 1"#) && logged[0].contains(#""cutoff": "#), "\(logged)")
            let audit = try await app.storage.audit.list(limit: 10, before: nil)
            #expect(audit.contains { $0.action == "retention.run" && ($0.details ?? "").contains("spool=1") && ($0.details ?? "").contains("mode=delete") })
            let shown = try await client.executeJSON("/api/v1/settings/retention", method: .get, as: admin)
            let lastRun = try #require(shown.json["lastRun"] as? [String: Any], "\(shown.text)")
            #expect(lastRun["spool"] as? Int == 1)
            #expect(lastRun["mode"] as? String == "delete")
        }
    }
}
