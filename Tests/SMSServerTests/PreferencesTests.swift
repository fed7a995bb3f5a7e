import Foundation
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("Per-user UI language and time zone")
struct PreferencesTests {
    @Test("GET /me shows null preferences at first; PUT /me/preferences saves them, GET /me returns them, null clears them")
    func roundTrip() async throws {
        try await TestApp.with { app, client in
            let (user, agent) = try await app.signIn(client, username: "ana", role: .agent)
            let before = try await client.executeJSON("/api/v1/me", method: .get, as: agent)
            let unset = try #require(before.json["user"] as? [String: Any])
            #expect(unset.keys.contains("locale") && unset["locale"] is NSNull, "\(before.text)")
            #expect(unset.keys.contains("timeZone") && unset["timeZone"] is NSNull, "\(before.text)")

            let saved = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                                     json: ["locale": "es", "timeZone": "America/Montevideo"], as: agent)
            #expect(saved.status == .ok, "\(saved.text)")
            #expect((saved.json["user"] as? [String: Any])?["locale"] as? String == "es")
            let me = try #require(try await client.executeJSON("/api/v1/me", method: .get, as: agent).json["user"] as? [String: Any])
            #expect(me["locale"] as? String == "es")
            #expect(me["timeZone"] as? String == "America/Montevideo")
            let stored = try #require(try await app.storage.users.user(id: user.id))
            #expect(stored.locale == "es" && stored.timeZone == "America/Montevideo")

            let italian = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                                       json: ["locale": "it", "timeZone": NSNull()], as: agent)
            #expect(italian.status == .ok, "\(italian.text)")
            let after = try #require(try await app.storage.users.user(id: user.id))
            #expect(after.locale == "it")
            #expect(after.timeZone == nil)

            _ = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                             json: ["locale": NSNull(), "timeZone": "UTC"], as: agent)
            let cleared = try #require(try await app.storage.users.user(id: user.id))
            #expect(cleared.locale == nil)
            #expect(cleared.timeZone == "UTC")
        }
    }

    @Test("an unknown locale or time zone is a 400 naming the field, and nothing is saved")
    func validation() async throws {
        try await TestApp.with { app, client in
            let (user, supervisor) = try await app.signIn(client, username: "sofia", role: .supervisor)
            let cases: [([String: Any], String)] = [
                (["locale": "fr", "timeZone": "Europe/Rome"], "locale"),
                (["locale": "ES", "timeZone": NSNull()], "locale"),
                (["locale": "", "timeZone": NSNull()], "locale"),
                (["locale": "es", "timeZone": "Mars/Olympus_Mons"], "timeZone"),
                (["locale": "es", "timeZone": ""], "timeZone"),
                (["locale": NSNull(), "timeZone": "Europe/Nowhere"], "timeZone"),
                (["locale": NSNull(), "timeZone": "GMT+5"], "timeZone"),
                (["locale": "it", "timeZone": "america/montevideo"], "timeZone"),
            ]
            for (body, field) in cases {
                let response = try await client.executeJSON("/api/v1/me/preferences", method: .put, json: body, as: supervisor)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            let stored = try #require(try await app.storage.users.user(id: user.id))
            #expect(stored.locale == nil && stored.timeZone == nil)

            // Current and older IANA names are both taken as written (browsers list either).
            for zone in ["Asia/Kolkata", "Asia/Calcutta", "UTC", "America/Argentina/Buenos_Aires"] {
                let ok = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                                      json: ["locale": "es", "timeZone": zone], as: supervisor)
                #expect(ok.status == .ok, "\(zone): \(ok.text)")
                #expect(try await app.storage.users.user(id: user.id)?.timeZone == zone)
            }
        }
    }

    @Test("a user changes only their own preferences; every role may; an API key or no session may not")
    func onlyOwn() async throws {
        try await TestApp.with { app, client in
            let (admin, adminSession) = try await app.signIn(client, username: "boss", role: .admin)
            let (agent, agentSession) = try await app.signIn(client, username: "ana", role: .agent)
            let response = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                                        json: ["locale": "es", "timeZone": "Europe/Madrid"], as: agentSession)
            #expect(response.status == .ok)
            #expect(try await app.storage.users.user(id: agent.id)?.locale == "es")
            #expect(try await app.storage.users.user(id: admin.id)?.locale == nil)
            #expect(try await app.storage.users.user(id: admin.id)?.timeZone == nil)
            let adminMe = try await client.executeJSON("/api/v1/me", method: .get, as: adminSession)
            #expect((adminMe.json["user"] as? [String: Any])?["locale"] is NSNull)

            _ = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                             json: ["locale": "it", "timeZone": NSNull()], as: adminSession)
            #expect(try await app.storage.users.user(id: admin.id)?.locale == "it")
            #expect(try await app.storage.users.user(id: agent.id)?.locale == "es")

            let anonymous = try await client.executeJSON("/api/v1/me/preferences", method: .put, json: ["locale": "en"])
            #expect(anonymous.status == .unauthorized)
            let noCSRF = try await client.executeJSON("/api/v1/me/preferences", method: .put,
                                                      json: ["locale": "en"], as: agentSession, csrf: false)
            #expect(noCSRF.status == .forbidden)
            #expect(try await app.storage.users.user(id: agent.id)?.locale == "es")
        }
    }

    @Test("an admin sets another user's language and time zone through PATCH /users/{id}; null clears, absent keeps")
    func adminSetsPreferences() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let (agent, _) = try await app.signIn(client, username: "ana", role: .agent)
            let set = try await client.executeJSON("/api/v1/users/\(agent.id)", method: .patch,
                                                   json: ["locale": "es", "timeZone": "America/Santiago"], as: admin)
            #expect(set.status == .ok, "\(set.text)")
            #expect((set.json["user"] as? [String: Any])?["timeZone"] as? String == "America/Santiago")
            _ = try await client.executeJSON("/api/v1/users/\(agent.id)", method: .patch, json: ["displayName": "Ana"], as: admin)
            let kept = try #require(try await app.storage.users.user(id: agent.id))
            #expect(kept.locale == "es" && kept.timeZone == "America/Santiago")
            _ = try await client.executeJSON("/api/v1/users/\(agent.id)", method: .patch, json: ["locale": NSNull()], as: admin)
            let cleared = try #require(try await app.storage.users.user(id: agent.id))
            #expect(cleared.locale == nil && cleared.timeZone == "America/Santiago")
            let bad = try await client.executeJSON("/api/v1/users/\(agent.id)", method: .patch,
                                                   json: ["timeZone": "Nowhere/City"], as: admin)
            #expect(bad.status == .badRequest)
            #expect(bad.errorField == "timeZone")
        }
    }
}
