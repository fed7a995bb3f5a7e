import Foundation
import SMSCore
import SMSStore
import Testing

/// Campaign cases of the conformance suite (SPEC C1-C9, D8).
enum CampaignCases {
    static let all: [ConformanceCase] = [
        .init(name: "campaigns: every setting round-trips through create and update", run: settingsRoundTrip),
        .init(name: "campaigns: DIDs are unique across campaigns in any written form, and route by DID", run: dids),
        .init(name: "campaigns: members keep the admin's order and penalties", run: members),
        .init(name: "campaigns: supervisors and canned responses are replaced as a whole", run: supervisorsAndCanned),
        .init(name: "campaigns: delete is refused while a dialer or history refers to the campaign", run: deleteRefused),
    ]

    static let t0 = Date(millisecondsSince1970: 1_790_000_000_000)

    static func user(_ storage: Storage, _ name: String, _ role: Role = .agent) async throws -> User {
        try await storage.users.create(username: name, displayName: name.capitalized, role: role, passwordHash: "x", at: t0)
    }

    static func settingsRoundTrip(_ storage: Storage) async throws {
        let plain = try await storage.campaigns.create(CampaignRecord(name: "Plain", timeZone: "UTC", schedule: "{}",
                                                                      createdAt: t0, updatedAt: t0))
        #expect(plain.strategy == .ringall)
        #expect(plain.serviceLevelPercent == 80)
        #expect(plain.thresholds == CampaignThresholds())
        #expect(plain.keywords == nil)
        #expect(plain.effectiveKeywords == .standard)
        #expect(plain.outOfTimeMessage == nil)

        let keywords = try OptOutKeywords(optOut: ["BASTA", "STOP"], optOutAll: ["STOPALL"], optIn: ["VUELVO"])
        let schedule = String(decoding: try JSONEncoder().encode(
            try Schedule(timeZone: "America/Montevideo", weekly: [try WeeklyRange(.monday, "09:00", "18:00")])), as: UTF8.self)
        let provider = try await storage.providers.create(ProviderRecord(name: "p", type: "Simulator", webhookToken: "t",
                                                                          createdAt: t0, updatedAt: t0))
        let full = CampaignRecord(
            name: "Cobranzas", enabled: false, serviceLevelPercent: 92.5, strategy: .wrandom, timeZone: "America/Montevideo",
            schedule: schedule, outOfTimeMessage: "Volvemos el lunes", maxInteractionsPerAgent: 7,
            thresholds: CampaignThresholds(serviceLevelSeconds: 30, abandonSeconds: 400, chatTimeSeconds: 900, acdWaitSeconds: 120,
                                           acdQueueLength: 25),
            offerTimeoutSeconds: 45, keywords: keywords, transactional: true, providerID: provider.id, createdAt: t0, updatedAt: t0)
        let created = try await storage.campaigns.create(full)
        var expected = full
        expected.id = created.id
        #expect(created == expected)
        #expect(try await storage.campaigns.campaign(id: created.id) == expected)
        #expect(try await storage.campaigns.campaign(named: "Cobranzas") == expected)

        var changed = created
        changed.name = "Cobranzas MX"
        changed.strategy = .rrordered
        changed.keywords = nil
        changed.outOfTimeMessage = nil
        changed.providerID = nil
        changed.thresholds.acdQueueLength = 3
        changed.roundRobinCursor = 99  // runtime state: update leaves it alone
        let t1 = t0.addingTimeInterval(60)
        let updated = try await storage.campaigns.update(changed, dids: nil, at: t1)
        #expect(updated.name == "Cobranzas MX")
        #expect(updated.strategy == .rrordered)
        #expect(updated.keywords == nil)
        #expect(updated.outOfTimeMessage == nil)
        #expect(updated.providerID == nil)
        #expect(updated.thresholds.acdQueueLength == 3)
        #expect(updated.roundRobinCursor == 0)
        #expect(updated.updatedAt == t1)
        #expect(updated.createdAt == t0)
        #expect(try await storage.campaigns.list().map(\.name) == ["Cobranzas MX", "Plain"])

        var clash = updated
        clash.name = "Plain"
        await #expect(throws: StoreError.conflict(field: "name", message: "a campaign named \"Plain\" already exists")) {
            _ = try await storage.campaigns.update(clash, dids: nil, at: t1)
        }
        await #expect(throws: StoreError.conflict(field: "name", message: "a campaign named \"Plain\" already exists")) {
            _ = try await storage.campaigns.create(CampaignRecord(name: "Plain", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0))
        }
        var missing = updated
        missing.id = 999_999
        await #expect(throws: StoreError.notFound("campaign 999999")) {
            _ = try await storage.campaigns.update(missing, dids: nil, at: t1)
        }
    }

    static func dids(_ storage: Storage) async throws {
        #expect(CampaignDID.normalized(" +598 (99) 000-001 ") == "+59899000001")
        #expect(CampaignDID.normalized("3") == "3")
        #expect(CampaignDID.normalized("Simulator") == "SIMULATOR")
        #expect(CampaignDID.normalized("+ABC") == nil)
        #expect(CampaignDID.normalized("1+2") == nil)
        #expect(CampaignDID.normalized("") == nil)
        #expect(CampaignDID.normalized(String(repeating: "9", count: 33)) == nil)

        let a = try await storage.campaigns.create(
            CampaignRecord(name: "A", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0), dids: ["+59899000001", "3"])
        let b = try await storage.campaigns.create(CampaignRecord(name: "B", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0))
        #expect(try await storage.campaigns.details(id: a.id)?.dids == ["+59899000001", "3"])

        // Inbound routing: the provider may send the number with or without +.
        #expect(try await storage.campaigns.campaign(forDID: "59899000001")?.id == a.id)
        #expect(try await storage.campaigns.campaign(forDID: "+598 99 000 001")?.id == a.id)
        #expect(try await storage.campaigns.campaign(forDID: "3")?.id == a.id)
        #expect(try await storage.campaigns.campaign(forDID: "4") == nil)
        #expect(try await storage.campaigns.campaign(forDID: "not a did!") == nil)

        // Another campaign cannot take a DID of A, whichever way it is written; nothing of B changes.
        do {
            _ = try await storage.campaigns.update(b, dids: ["+1555000111", "59899000001"], at: t0)
            Issue.record("a DID of another campaign was accepted")
        } catch let StoreError.conflict(field, message) {
            #expect(field == "dids")
            #expect(message.contains("\"A\""), "\(message)")
        }
        #expect(try await storage.campaigns.details(id: b.id)?.dids == [])
        do {
            _ = try await storage.campaigns.create(CampaignRecord(name: "C", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0),
                                                   dids: ["3"])
            Issue.record("a port of another campaign was accepted")
        } catch let StoreError.conflict(field, _) {
            #expect(field == "dids")
        }
        #expect(try await storage.campaigns.campaign(named: "C") == nil, "a refused create leaves no campaign behind")

        // A campaign may keep its own DIDs, written the other way, and give one up for another campaign to take.
        _ = try await storage.campaigns.update(a, dids: ["59899000001"], at: t0)
        #expect(try await storage.campaigns.details(id: a.id)?.dids == ["59899000001"])
        _ = try await storage.campaigns.update(b, dids: ["3", "3", "+1555000111"], at: t0)
        #expect(try await storage.campaigns.details(id: b.id)?.dids == ["+1555000111", "3"])
        #expect(try await storage.campaigns.campaign(forDID: "3")?.id == b.id)
        // nil keeps the DIDs; an empty list removes them.
        _ = try await storage.campaigns.update(b, dids: nil, at: t0)
        #expect(try await storage.campaigns.details(id: b.id)?.dids.count == 2)
        _ = try await storage.campaigns.update(b, dids: [], at: t0)
        #expect(try await storage.campaigns.details(id: b.id)?.dids == [])
    }

    static func members(_ storage: Storage) async throws {
        let c = try await storage.campaigns.create(CampaignRecord(name: "Ventas", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0))
        let ana = try await user(storage, "ana")
        let bob = try await user(storage, "bob")
        let eva = try await user(storage, "eva")
        try await storage.campaigns.setMembers(campaignID: c.id, [(eva.id, 2), (ana.id, 0), (bob.id, 1), (ana.id, 5)],
                                               at: t0.addingTimeInterval(5))
        let details = try #require(try await storage.campaigns.details(id: c.id))
        #expect(details.members.map(\.user.username) == ["eva", "ana", "bob"], "admin's order; a repeated agent counts once")
        #expect(details.members.map(\.penalty) == [2, 0, 1])
        #expect(details.members.map(\.position) == [0, 1, 2])
        #expect(details.members.first?.user == CampaignUser(userID: eva.id, username: "eva", displayName: "Eva", role: .agent))
        #expect(details.campaign.updatedAt == t0.addingTimeInterval(5))

        // Reordering keeps when each agent last ended a conversation here (leastrecent reads it).
        try await storage.database.query("""
            UPDATE campaign_members SET last_ended_at = 1234 WHERE campaign_id = \(c.id) AND user_id = \(bob.id)
            """)
        try await storage.campaigns.setMembers(campaignID: c.id, [(bob.id, 0), (eva.id, 0)], at: t0)
        #expect(try await storage.campaigns.details(id: c.id)?.members.map(\.user.username) == ["bob", "eva"])
        let kept = try await storage.database.queryFirst("""
            SELECT last_ended_at FROM campaign_members WHERE campaign_id = \(c.id) AND user_id = \(bob.id)
            """)
        #expect(try kept?.optionalInt("last_ended_at") == 1234)

        try await storage.campaigns.setMembers(campaignID: c.id, [], at: t0)
        #expect(try await storage.campaigns.details(id: c.id)?.members == [])
        await #expect(throws: StoreError.notFound("campaign 999999")) {
            try await storage.campaigns.setMembers(campaignID: 999_999, [(ana.id, 0)], at: t0)
        }
    }

    static func supervisorsAndCanned(_ storage: Storage) async throws {
        let c = try await storage.campaigns.create(CampaignRecord(name: "Soporte", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0))
        let other = try await storage.campaigns.create(CampaignRecord(name: "Otra", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0))
        let sara = try await user(storage, "sara", .supervisor)
        let tom = try await user(storage, "tom", .supervisor)
        try await storage.campaigns.setSupervisors(campaignID: c.id, [tom.id, sara.id, tom.id], at: t0)
        #expect(try await storage.campaigns.details(id: c.id)?.supervisors.map(\.username) == ["sara", "tom"])
        try await storage.campaigns.setSupervisors(campaignID: c.id, [sara.id], at: t0)
        #expect(try await storage.campaigns.details(id: c.id)?.supervisors.map(\.username) == ["sara"])

        let first = try await storage.campaigns.setCannedResponses(campaignID: c.id, [
            CannedResponse(title: "Hola", body: "Hola, ¿en qué puedo ayudarle?"),
            CannedResponse(title: "Chau", body: "Gracias por escribirnos 🙂"),
        ], at: t0)
        #expect(first.map(\.title) == ["Hola", "Chau"])
        #expect(first.allSatisfy { $0.id > 0 })
        _ = try await storage.campaigns.setCannedResponses(campaignID: other.id, [CannedResponse(title: "x", body: "y")], at: t0)

        // Reorder, edit one, drop one, add one: kept ids stay.
        let second = try await storage.campaigns.setCannedResponses(campaignID: c.id, [
            CannedResponse(title: "Nuevo", body: "Texto nuevo"),
            CannedResponse(id: first[0].id, title: "Hola!", body: "Hola"),
        ], at: t0)
        let stored = try #require(try await storage.campaigns.details(id: c.id)).cannedResponses
        #expect(stored == second)
        #expect(stored.map(\.title) == ["Nuevo", "Hola!"])
        #expect(stored[1].id == first[0].id)
        #expect(!stored.contains { $0.id == first[1].id })
        #expect(try await storage.campaigns.details(id: other.id)?.cannedResponses.count == 1, "another campaign's are untouched")

        // An id of another campaign's response is refused, and nothing changes.
        let foreign = try #require(try await storage.campaigns.details(id: other.id)?.cannedResponses.first)
        await #expect(throws: StoreError.self) {
            try await storage.campaigns.setCannedResponses(campaignID: c.id, [foreign], at: t0)
        }
        #expect(try await storage.campaigns.details(id: c.id)?.cannedResponses == second)

        let all = try await storage.campaigns.listDetails()
        #expect(all.map(\.campaign.name) == ["Otra", "Soporte"])
        #expect(all[1].supervisors.map(\.username) == ["sara"])
        #expect(all[1].cannedResponses == second)
    }

    static func deleteRefused(_ storage: Storage) async throws {
        let served = try await storage.campaigns.create(CampaignRecord(name: "Served", timeZone: "UTC", schedule: "{}",
                                                                       createdAt: t0, updatedAt: t0))
        let used = try await storage.campaigns.create(CampaignRecord(name: "Used", timeZone: "UTC", schedule: "{}",
                                                                     createdAt: t0, updatedAt: t0))
        let unused = try await storage.campaigns.create(
            CampaignRecord(name: "Unused", timeZone: "UTC", schedule: "{}", createdAt: t0, updatedAt: t0), dids: ["+59899111222"])
        let provider = try await storage.providers.create(ProviderRecord(name: "p", type: "Simulator", webhookToken: "t",
                                                                          createdAt: t0, updatedAt: t0))
        _ = try await storage.dialers.create(DialerRecord(name: "Bulk", providerID: provider.id, schedule: "{}", timeZone: "UTC",
                                                          campaignIDs: [served.id], createdAt: t0, updatedAt: t0))
        #expect(try await storage.campaigns.dialerNames(servingCampaign: served.id) == ["Bulk"])
        do {
            try await storage.campaigns.delete(id: served.id)
            Issue.record("a campaign a dialer serves was deleted")
        } catch let StoreError.conflict(field, message) {
            #expect(field == "dialers")
            #expect(message.contains("Bulk"))
        }

        try await storage.database.query("""
            INSERT INTO spool (campaign_id, destination, message, state, source, created_at, updated_at)
            VALUES (\(used.id), '+59899000001', 'Hola', 'to_process', 'api', 1, 1)
            """)
        do {
            try await storage.campaigns.delete(id: used.id)
            Issue.record("a campaign with messages was deleted")
        } catch let StoreError.conflict(field, message) {
            #expect(field == "history")
            #expect(message.contains("queued or sent messages"), "\(message)")
            #expect(message.contains("disable"))
        }

        let agent = try await user(storage, "ana")
        try await storage.campaigns.setMembers(campaignID: unused.id, [(agent.id, 0)], at: t0)
        _ = try await storage.campaigns.setCannedResponses(campaignID: unused.id, [CannedResponse(title: "a", body: "b")], at: t0)
        _ = try await storage.dncr.add([DNCREntry(number: "+59899000009", campaignID: unused.id, source: "manual", createdAt: t0)])
        try await storage.campaigns.delete(id: unused.id)
        #expect(try await storage.campaigns.campaign(id: unused.id) == nil)
        #expect(try await storage.campaigns.campaign(forDID: "+59899111222") == nil, "its DIDs are free again")
        #expect(try await storage.dncr.list(number: "+59899000009", limit: 10).isEmpty, "its own DNCR entries go with it")
        #expect(try await storage.database.queryFirst("SELECT COUNT(*) AS n FROM canned_responses")?.int("n") == 0)
        #expect(try await storage.campaigns.list().map(\.name) == ["Served", "Used"])
        await #expect(throws: StoreError.notFound("campaign \(unused.id)")) {
            try await storage.campaigns.delete(id: unused.id)
        }
    }
}
