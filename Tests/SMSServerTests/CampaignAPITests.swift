import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("Campaigns API")
struct CampaignAPITests {
    static var fullCampaign: [String: Any] { [
        "name": "Cobranzas",
        "enabled": true,
        "serviceLevelPercent": 85.5,
        "strategy": "rrordered",
        "timeZone": "America/Montevideo",
        "schedule": ["timeZone": "America/Montevideo",
                     "weekly": [["day": "monday", "start": "09:00", "end": "18:00"],
                                ["day": "tuesday", "start": "09:00", "end": "18:00"]]],
        "outOfTimeMessage": "Atendemos de lunes a martes, 9 a 18.",
        "maxInteractionsPerAgent": 4,
        "thresholds": ["serviceLevelSeconds": 30, "abandonSeconds": 300, "chatTimeSeconds": 1200, "acdWaitSeconds": 120,
                       "acdQueueLength": 15],
        "offerTimeoutSeconds": 45,
        "optOutKeywords": ["STOP", "BAJA"],
        "optOutAllKeywords": ["STOPALL"],
        "optInKeywords": ["ALTA"],
        "transactional": true,
        "dids": ["+598 99 000 001", "3"],
    ] }

    func errorOf(_ response: JSONTestResponse) -> String { "\(response.status.code) \(response.text)" }

    @Test("an admin creates a campaign with every setting, reads it back, changes some and sees each change audited")
    func createReadUpdate() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/campaigns", method: .post, json: Self.fullCampaign, as: admin)
            #expect(created.status == .created, "\(errorOf(created))")
            let campaign = try #require(created.json["campaign"] as? [String: Any])
            let id = try #require(campaign["id"] as? Int)
            #expect(campaign["serviceLevelPercent"] as? Double == 85.5)
            #expect(campaign["strategy"] as? String == "rrordered")
            #expect((campaign["schedule"] as? [String: Any])?["timeZone"] as? String == "America/Montevideo")
            #expect(campaign["outOfTimeMessage"] as? String == "Atendemos de lunes a martes, 9 a 18.")
            #expect(campaign["maxInteractionsPerAgent"] as? Int == 4)
            #expect((campaign["thresholds"] as? [String: Any])?["acdQueueLength"] as? Int == 15)
            #expect(campaign["offerTimeoutSeconds"] as? Int == 45)
            #expect(campaign["optOutKeywords"] as? [String] == ["STOP", "BAJA"])
            #expect(campaign["optInKeywords"] as? [String] == ["ALTA"])
            #expect(campaign["standardKeywords"] as? Bool == false)
            #expect(campaign["transactional"] as? Bool == true)
            #expect(campaign["dids"] as? [String] == ["+59899000001", "3"])
            #expect(campaign["providerId"] is NSNull)

            let shown = try await client.executeJSON("/api/v1/campaigns/\(id)", method: .get, as: admin)
            #expect((shown.json["campaign"] as? [String: Any])?["name"] as? String == "Cobranzas")

            // A partial change keeps everything else; null clears the schedule and the message.
            let changed = try await client.executeJSON("/api/v1/campaigns/\(id)", method: .patch, json: [
                "strategy": "leastrecent", "enabled": false, "schedule": NSNull(), "outOfTimeMessage": NSNull(),
                "thresholds": ["abandonSeconds": 900], "optOutKeywords": ["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BAJA", "CANCELAR", "ALTO"],
                "optInKeywords": ["START", "ALTA", "UNSTOP"],
            ], as: admin)
            #expect(changed.status == .ok, "\(errorOf(changed))")
            let after = try #require(changed.json["campaign"] as? [String: Any])
            #expect(after["strategy"] as? String == "leastrecent")
            #expect(after["enabled"] as? Bool == false)
            #expect(after["schedule"] is NSNull)
            #expect(after["outOfTimeMessage"] is NSNull)
            #expect((after["thresholds"] as? [String: Any])?["abandonSeconds"] as? Int == 900)
            #expect((after["thresholds"] as? [String: Any])?["acdQueueLength"] as? Int == 15)
            #expect(after["standardKeywords"] as? Bool == true, "the standard lists are stored as 'standard'")
            #expect(after["dids"] as? [String] == ["+59899000001", "3"])
            #expect(after["timeZone"] as? String == "America/Montevideo")
            #expect(try await app.storage.campaigns.campaign(id: Int64(id))?.enabled == false)

            let audit = try await app.storage.audit.list(limit: 50, before: nil)
            #expect(audit.contains { $0.action == "campaign.create" && $0.targetID == String(id) && $0.actorName == "boss" })
            let update = try #require(audit.first { $0.action == "campaign.update" })
            #expect(update.details?.contains("strategy=leastrecent") == true, "\(update.details ?? "")")
            #expect(update.details?.contains("enabled=false") == true)
        }
    }

    @Test("every invalid setting is refused with the field it concerns, and nothing is stored")
    func validationNamesTheField() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let cases: [(String, Any, String)] = [
                ("name", "", "name"),
                ("name", String(repeating: "x", count: 101), "name"),
                ("serviceLevelPercent", 101, "serviceLevelPercent"),
                ("strategy", "roundrobin", "strategy"),
                ("timeZone", "Mars/Olympus", "timeZone"),
                ("schedule", ["timeZone": "UTC", "weekly": [["day": "monday", "start": "18:00", "end": "09:00"]]], "schedule"),
                ("schedule", ["timeZone": "Nowhere/City", "weekly": []], "schedule"),
                ("outOfTimeMessage", String(repeating: "a", count: 1601), "outOfTimeMessage"),
                ("maxInteractionsPerAgent", 0, "maxInteractionsPerAgent"),
                ("offerTimeoutSeconds", 1, "offerTimeoutSeconds"),
                ("thresholds", ["serviceLevelSeconds": 0], "thresholds.serviceLevelSeconds"),
                ("thresholds", ["abandonSeconds": -5], "thresholds.abandonSeconds"),
                ("thresholds", ["chatTimeSeconds": 10_000_000], "thresholds.chatTimeSeconds"),
                ("thresholds", ["acdWaitSeconds": 0], "thresholds.acdWaitSeconds"),
                ("thresholds", ["acdQueueLength": 0], "thresholds.acdQueueLength"),
                ("optOutKeywords", ["STOP", "stop!"], "optOutKeywords"),
                ("optInKeywords", ["BAJA"], "optInKeywords"),
                ("optOutAllKeywords", ["???"], "optOutAllKeywords"),
                ("providerId", 4242, "providerId"),
                ("dids", ["+598 abc"], "dids"),
                ("dids", ["ñandú"], "dids"),
            ]
            for (field, value, expectedField) in cases {
                var body: [String: Any] = ["name": "Valid", "timeZone": "UTC"]
                body[field] = value
                let response = try await client.executeJSON("/api/v1/campaigns", method: .post, json: body, as: admin)
                #expect(response.status == .badRequest, "\(field)=\(value): \(errorOf(response))")
                #expect(response.errorCode == "validation", "\(field)=\(value): \(errorOf(response))")
                #expect(response.errorField == expectedField, "\(field)=\(value): \(errorOf(response))")
            }
            let missingName = try await client.executeJSON("/api/v1/campaigns", method: .post, json: ["timeZone": "UTC"], as: admin)
            #expect(missingName.errorField == "name")
            #expect(try await app.storage.campaigns.list().isEmpty)
        }
    }

    @Test("a duplicate name and a DID another campaign receives on are refused with 409, naming the field")
    func conflicts() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let first = try await client.executeJSON("/api/v1/campaigns", method: .post,
                                                     json: ["name": "Ventas", "timeZone": "UTC", "dids": ["+59899000001"]], as: admin)
            #expect(first.status == .created)
            let second = try await client.executeJSON("/api/v1/campaigns", method: .post,
                                                      json: ["name": "Soporte", "timeZone": "UTC"], as: admin)
            let secondID = try #require((second.json["campaign"] as? [String: Any])?["id"] as? Int)

            let sameName = try await client.executeJSON("/api/v1/campaigns", method: .post, json: ["name": "Ventas"], as: admin)
            #expect(sameName.status == .conflict)
            #expect(sameName.errorField == "name")
            let renamed = try await client.executeJSON("/api/v1/campaigns/\(secondID)", method: .patch, json: ["name": "Ventas"], as: admin)
            #expect(renamed.status == .conflict)
            #expect(renamed.errorField == "name")

            // Written without the +, it is still Ventas's number.
            let takenDID = try await client.executeJSON("/api/v1/campaigns/\(secondID)", method: .patch,
                                                        json: ["dids": ["59899000001"]], as: admin)
            #expect(takenDID.status == .conflict, "\(errorOf(takenDID))")
            #expect(takenDID.errorField == "dids")
            #expect(takenDID.text.contains("Ventas"))
            let newWithTaken = try await client.executeJSON("/api/v1/campaigns", method: .post,
                                                            json: ["name": "Otra", "dids": ["+598 99 000 001"]], as: admin)
            #expect(newWithTaken.status == .conflict)
            #expect(newWithTaken.errorField == "dids")
            #expect(try await app.storage.campaigns.campaign(named: "Otra") == nil)
            #expect(try await app.storage.campaigns.campaign(forDID: "+59899000001")?.name == "Ventas")
        }
    }

    @Test("members are agents in the admin's order with penalties; supervisors are supervisors; both audited")
    func membersAndSupervisors() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let accounts = Accounts(storage: app.storage, bcryptCost: app.config.bcryptCost)
            let ana = try await accounts.createUser(username: "ana", displayName: "Ana", role: .agent).0
            let bob = try await accounts.createUser(username: "bob", displayName: "Bob", role: .agent).0
            let sara = try await accounts.createUser(username: "sara", displayName: "Sara", role: .supervisor).0
            let created = try await client.executeJSON("/api/v1/campaigns", method: .post, json: ["name": "Ventas"], as: admin)
            let id = try #require((created.json["campaign"] as? [String: Any])?["id"] as? Int)

            let set = try await client.executeJSON("/api/v1/campaigns/\(id)/members", method: .put, json: [
                "members": [["userId": bob.id, "penalty": 1], ["userId": ana.id]],
            ], as: admin)
            #expect(set.status == .ok, "\(errorOf(set))")
            let members = (set.json["campaign"] as? [String: Any])?["members"] as? [[String: Any]] ?? []
            #expect(members.map { $0["username"] as? String } == ["bob", "ana"])
            #expect(members.map { $0["penalty"] as? Int } == [1, 0])

            let notAgent = try await client.executeJSON("/api/v1/campaigns/\(id)/members", method: .put, json: [
                "members": [["userId": ana.id], ["userId": sara.id]],
            ], as: admin)
            #expect(notAgent.status == .badRequest)
            #expect(notAgent.errorField == "members[1].userId")
            #expect(notAgent.text.contains("only agents"))
            let twice = try await client.executeJSON("/api/v1/campaigns/\(id)/members", method: .put, json: [
                "members": [["userId": ana.id], ["userId": ana.id]],
            ], as: admin)
            #expect(twice.errorField == "members[1].userId")
            let badPenalty = try await client.executeJSON("/api/v1/campaigns/\(id)/members", method: .put, json: [
                "members": [["userId": ana.id, "penalty": -1]],
            ], as: admin)
            #expect(badPenalty.errorField == "members[0].penalty")
            let nobody = try await client.executeJSON("/api/v1/campaigns/\(id)/members", method: .put, json: [
                "members": [["userId": 99_999]],
            ], as: admin)
            #expect(nobody.errorField == "members[0].userId")
            #expect(try await app.storage.campaigns.details(id: Int64(id))?.members.map(\.user.username) == ["bob", "ana"],
                    "refused changes leave the members as they were")

            let supervisors = try await client.executeJSON("/api/v1/campaigns/\(id)/supervisors", method: .put,
                                                           json: ["supervisorIds": [sara.id]], as: admin)
            #expect(supervisors.status == .ok)
            #expect(((supervisors.json["campaign"] as? [String: Any])?["supervisors"] as? [[String: Any]])?.first?["username"] as? String == "sara")
            let agentAsSupervisor = try await client.executeJSON("/api/v1/campaigns/\(id)/supervisors", method: .put,
                                                                 json: ["supervisorIds": [sara.id, ana.id]], as: admin)
            #expect(agentAsSupervisor.errorField == "supervisorIds[1]")

            let audit = try await app.storage.audit.list(limit: 50, before: nil)
            #expect(audit.first { $0.action == "campaign.members" }?.details == "bob(1), ana(0)")
            #expect(audit.first { $0.action == "campaign.supervisors" }?.details == "sara")
        }
    }

    @Test("canned responses are replaced in order, keeping the ids of the ones kept")
    func cannedResponses() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/campaigns", method: .post, json: ["name": "Ventas"], as: admin)
            let id = try #require((created.json["campaign"] as? [String: Any])?["id"] as? Int)
            let first = try await client.executeJSON("/api/v1/campaigns/\(id)/canned-responses", method: .put, json: [
                "cannedResponses": [["title": "Hola", "body": "Hola, ¿en qué puedo ayudarle?"], ["title": "Chau", "body": "Gracias 🙂"]],
            ], as: admin)
            #expect(first.status == .ok, "\(errorOf(first))")
            let stored = (first.json["campaign"] as? [String: Any])?["cannedResponses"] as? [[String: Any]] ?? []
            #expect(stored.map { $0["title"] as? String } == ["Hola", "Chau"])
            let holaID = try #require(stored.first?["id"] as? Int)

            let second = try await client.executeJSON("/api/v1/campaigns/\(id)/canned-responses", method: .put, json: [
                "cannedResponses": [["title": "Nueva", "body": "Texto"], ["id": holaID, "title": "Hola", "body": "Hola!"]],
            ], as: admin)
            let again = (second.json["campaign"] as? [String: Any])?["cannedResponses"] as? [[String: Any]] ?? []
            #expect(again.map { $0["title"] as? String } == ["Nueva", "Hola"])
            #expect(again.last?["id"] as? Int == holaID)
            #expect(again.last?["body"] as? String == "Hola!")

            let noTitle = try await client.executeJSON("/api/v1/campaigns/\(id)/canned-responses", method: .put, json: [
                "cannedResponses": [["title": " ", "body": "x"]],
            ], as: admin)
            #expect(noTitle.errorField == "cannedResponses[0].title")
            let foreign = try await client.executeJSON("/api/v1/campaigns/\(id)/canned-responses", method: .put, json: [
                "cannedResponses": [["title": "a", "body": "b"], ["id": 424_242, "title": "x", "body": "y"]],
            ], as: admin)
            #expect(foreign.errorField == "cannedResponses[1].id")
            #expect(try await app.storage.campaigns.details(id: Int64(id))?.cannedResponses.count == 2)
            #expect(try await app.storage.audit.list(limit: 50, before: nil).contains { $0.action == "campaign.canned_responses" })
        }
    }

    @Test("delete is refused while a dialer serves the campaign or it has messages; an unused one is deleted")
    func deletePolicy() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let (campaign, _) = try await MessageAPITests.setUp(app)
            let served = try await client.executeJSON("/api/v1/campaigns/\(campaign.id)", method: .delete, as: admin)
            #expect(served.status == .conflict)
            #expect(served.errorCode == "in_use")
            #expect(served.errorField == "dialers")
            #expect(served.text.contains("Masivo"), "the answer names the dialer")

            let spare = try await client.executeJSON("/api/v1/campaigns", method: .post, json: ["name": "Spare", "dids": ["77"]], as: admin)
            let spareID = try #require((spare.json["campaign"] as? [String: Any])?["id"] as? Int)
            let deleted = try await client.executeJSON("/api/v1/campaigns/\(spareID)", method: .delete, as: admin)
            #expect(deleted.status == .noContent, "\(errorOf(deleted))")
            #expect(try await app.storage.campaigns.campaign(id: Int64(spareID)) == nil)
            #expect(try await app.storage.audit.list(limit: 50, before: nil).contains {
                $0.action == "campaign.delete" && $0.targetID == String(spareID)
            })
            let again = try await client.executeJSON("/api/v1/campaigns/\(spareID)", method: .delete, as: admin)
            #expect(again.status == .notFound)
        }
    }

    @Test("supervisors read campaigns but cannot change them; agents cannot read them")
    func roles() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let (_, agent) = try await app.signIn(client, username: "agent1", role: .agent)
            let created = try await client.executeJSON("/api/v1/campaigns", method: .post, json: ["name": "Ventas"], as: admin)
            let id = try #require((created.json["campaign"] as? [String: Any])?["id"] as? Int)
            let list = try await client.executeJSON("/api/v1/campaigns", method: .get, as: supervisor)
            #expect((list.json["campaigns"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Ventas"])
            let change = try await client.executeJSON("/api/v1/campaigns/\(id)", method: .patch, json: ["enabled": false], as: supervisor)
            #expect(change.status == .forbidden)
            let agentRead = try await client.executeJSON("/api/v1/campaigns/\(id)", method: .get, as: agent)
            #expect(agentRead.status == .forbidden)
        }
    }
}
