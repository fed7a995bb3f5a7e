import Foundation
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("User administration API")
struct UserAdminTests {
    @Test("create returns the password once; the user can sign in with it; the list never shows it")
    func createUser() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/users", method: .post,
                                                       json: ["username": "maria", "role": "supervisor", "displayName": "María"],
                                                       as: admin)
            #expect(created.status == .created)
            let password = try #require(created.json["password"] as? String)
            let user = try #require(created.json["user"] as? [String: Any])
            #expect(user["role"] as? String == "supervisor")
            #expect(user["displayName"] as? String == "María")
            _ = try await app.login(client, username: "maria", password: password)
            let list = try await client.executeJSON("/api/v1/users", method: .get, as: admin)
            #expect(!list.text.contains(password))
            #expect(!list.text.contains("$2"))
            let names = (list.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String }
            #expect(names == ["boss", "maria"])
            let hash = try #require(try await app.storage.users.credentials(username: "maria")?.passwordHash)
            #expect(hash.hasPrefix("$2"))
            #expect(!hash.contains(password))
        }
    }

    @Test("bad input is refused with the field named; a taken name is 409")
    func validation() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let cases: [([String: Any], String, Int)] = [
                (["username": "Ab", "role": "agent"], "username", 400),
                (["username": "has space", "role": "agent"], "username", 400),
                (["username": "UPPER", "role": "agent"], "username", 400),
                (["username": "ok.name", "role": "integration"], "role", 400),
                (["username": "ok.name", "role": "root"], "role", 400),
                (["username": "boss", "role": "agent"], "username", 409),
            ]
            for (body, field, status) in cases {
                let response = try await client.executeJSON("/api/v1/users", method: .post, json: body, as: admin)
                #expect(Int(response.status.code) == status, "\(body)")
                #expect(response.errorField == field, "\(body): \(response.text)")
            }
            let missing = try await client.executeJSON("/api/v1/users", method: .post, json: ["role": "agent"], as: admin)
            #expect(missing.status == .badRequest)
            #expect(missing.text.contains("username"))
        }
    }

    @Test("role change and reset password; an admin cannot disable or demote themselves")
    func updates() async throws {
        try await TestApp.with { app, client in
            let (me, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let (agent, agentSession) = try await app.signIn(client, username: "ana", role: .agent)
            let promoted = try await client.executeJSON("/api/v1/users/\(agent.id)", method: .patch, json: ["role": "supervisor"], as: admin)
            #expect((promoted.json["user"] as? [String: Any])?["role"] as? String == "supervisor")
            let reset = try await client.executeJSON("/api/v1/users/\(agent.id)/password", method: .post, as: admin)
            let newPassword = try #require(reset.json["password"] as? String)
            #expect(try await client.executeJSON("/api/v1/me", method: .get, as: agentSession).status == .unauthorized)
            _ = try await app.login(client, username: "ana", password: newPassword)
            let selfDisable = try await client.executeJSON("/api/v1/users/\(me.id)", method: .patch, json: ["disabled": true], as: admin)
            #expect(selfDisable.status == .badRequest)
            #expect(selfDisable.errorField == "disabled")
            let selfDemote = try await client.executeJSON("/api/v1/users/\(me.id)", method: .patch, json: ["role": "agent"], as: admin)
            #expect(selfDemote.errorField == "role")
            let missing = try await client.executeJSON("/api/v1/users/999999", method: .patch, json: ["role": "agent"], as: admin)
            #expect(missing.status == .notFound)
            let audit = try await app.storage.audit.list(limit: 50, before: nil).map(\.action)
            #expect(audit.contains("user.update"))
            #expect(audit.contains("user.reset_password"))
        }
    }
}
