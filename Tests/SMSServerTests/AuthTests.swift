import Foundation
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("Sign-in, sessions and API keys")
struct AuthTests {
    @Test("first start creates admin once, with a password that signs in")
    func bootstrapAdmin() async throws {
        try await TestApp.with { app, client in
            let accounts = Accounts(storage: app.storage, bcryptCost: 4)
            let password = try #require(try await accounts.bootstrapAdmin())
            #expect(password.count >= 16)
            #expect(try await accounts.bootstrapAdmin() == nil)
            let credential = try await app.login(client, username: "admin", password: password)
            let me = try await client.executeJSON("/api/v1/me", method: .get, as: credential)
            #expect(me.status == .ok)
            #expect((me.json["user"] as? [String: Any])?["role"] as? String == "admin")
            #expect(me.json["csrfToken"] as? String == credential.csrfToken)
        }
    }

    @Test("login sets an HttpOnly SameSite=Strict cookie and returns a CSRF token; the hash is never returned")
    func loginCookie() async throws {
        try await TestApp.with { app, client in
            let (_, password) = try await Accounts(storage: app.storage, bcryptCost: 4)
                .createUser(username: "ana", displayName: "Ana", role: .agent)
            let response = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                         json: ["username": "ana", "password": password])
            #expect(response.status == .ok)
            let cookie = try #require(response.headers[.setCookie])
            #expect(cookie.hasPrefix("smsdesk_session="))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/"))
            #expect((response.json["csrfToken"] as? String)?.count ?? 0 >= 32)
            #expect(!response.text.contains("$2"))
            #expect(!response.text.lowercased().contains("hash"))
            // The stored session holds only a hash of the cookie token.
            let token = String(cookie.dropFirst("smsdesk_session=".count).prefix { $0 != ";" })
            let stored = try await app.storage.database.query("SELECT token_hash FROM sessions")
            #expect(try stored.map { try $0.string("token_hash") } == [Secrets.sha256Hex(token)])
        }
    }

    @Test("a wrong password or unknown user answers 401 invalid_credentials")
    func wrongPassword() async throws {
        try await TestApp.with { app, client in
            _ = try await Accounts(storage: app.storage, bcryptCost: 4).createUser(username: "ana", displayName: nil, role: .agent)
            let wrong = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                     json: ["username": "ana", "password": "nope"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorCode == "invalid_credentials")
            let unknown = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                       json: ["username": "ghost", "password": "nope"])
            #expect(unknown.status == .unauthorized)
            let malformed = try await client.executeJSON("/api/v1/auth/login", method: .post, json: ["username": "ana"])
            #expect(malformed.status == .badRequest)
            #expect(malformed.text.contains("password"))
        }
    }

    @Test("after five failures the sixth attempt is throttled with 429 and Retry-After, even with the right password")
    func throttling() async throws {
        try await TestApp.with { app, client in
            let (_, password) = try await Accounts(storage: app.storage, bcryptCost: 4)
                .createUser(username: "ana", displayName: nil, role: .agent)
            for attempt in 1...5 {
                let response = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                            json: ["username": "ana", "password": "wrong\(attempt)"])
                #expect(response.status == .unauthorized, "attempt \(attempt)")
            }
            let sixth = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                     json: ["username": "ana", "password": password])
            #expect(sixth.status == .tooManyRequests)
            #expect(sixth.errorCode == "too_many_attempts")
            let retryAfter = try #require(sixth.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 30)
            #expect(((sixth.json["error"] as? [String: Any])?["retryAfter"] as? Int) == retryAfter)
            // Another user is not affected.
            _ = try await app.signIn(client, username: "bob", role: .agent)
        }
    }

    @Test("logout ends the session; the cookie no longer works")
    func logout() async throws {
        try await TestApp.with { app, client in
            let (_, credential) = try await app.signIn(client, username: "ana", role: .agent)
            #expect(try await client.executeJSON("/api/v1/me", method: .get, as: credential).status == .ok)
            let out = try await client.executeJSON("/api/v1/auth/logout", method: .post, as: credential)
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie]?.contains("smsdesk_session=;") == true)
            let after = try await client.executeJSON("/api/v1/me", method: .get, as: credential)
            #expect(after.status == .unauthorized)
            #expect(after.errorCode == "unauthenticated")
        }
    }

    @Test("ending all sessions of a user signs them out everywhere; disabling does too and blocks sign-in")
    func endAllSessions() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let (password, agentID): (String, Int64) = try await {
                let (user, password) = try await Accounts(storage: app.storage, bcryptCost: 4)
                    .createUser(username: "ana", displayName: nil, role: .agent)
                return (password, user.id)
            }()
            let phone = try await app.login(client, username: "ana", password: password)
            let laptop = try await app.login(client, username: "ana", password: password)
            let end = try await client.executeJSON("/api/v1/users/\(agentID)/sessions/end", method: .post, as: admin)
            #expect(end.status == .noContent)
            #expect(try await client.executeJSON("/api/v1/me", method: .get, as: phone).status == .unauthorized)
            #expect(try await client.executeJSON("/api/v1/me", method: .get, as: laptop).status == .unauthorized)

            let again = try await app.login(client, username: "ana", password: password)
            let disable = try await client.executeJSON("/api/v1/users/\(agentID)", method: .patch, json: ["disabled": true], as: admin)
            #expect(disable.status == .ok)
            #expect(try await client.executeJSON("/api/v1/me", method: .get, as: again).status == .unauthorized)
            let blocked = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                       json: ["username": "ana", "password": password])
            #expect(blocked.status == .forbidden)
            #expect(blocked.errorCode == "account_disabled")
        }
    }

    @Test("an API key authenticates as integration; a revoked or unknown key gets 401")
    func apiKeys() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/apikeys", method: .post, json: ["name": "crm"], as: admin)
            #expect(created.status == .created)
            let key = try #require(created.json["key"] as? String)
            #expect(key.hasPrefix("smsk_"))
            let id = try #require((created.json["apiKey"] as? [String: Any])?["id"] as? Int)
            let integration = TestCredential(apiKey: key)
            #expect(try await client.executeJSON("/metrics", method: .get, as: integration).status == .ok)
            #expect(try await client.executeJSON("/api/v1/users", method: .get, as: integration).status == .forbidden)
            // The list never shows the key.
            let list = try await client.executeJSON("/api/v1/apikeys", method: .get, as: admin)
            #expect(!list.text.contains(key))
            #expect(list.text.contains(String(key.prefix(12))))
            #expect(try await client.executeJSON("/api/v1/apikeys/\(id)", method: .delete, as: admin).status == .noContent)
            let revoked = try await client.executeJSON("/metrics", method: .get, as: integration)
            #expect(revoked.status == .unauthorized)
            let unknown = try await client.executeJSON("/metrics", method: .get, as: TestCredential(apiKey: "smsk_nope"))
            #expect(unknown.status == .unauthorized)
        }
    }

    @Test("passwords, cookie tokens and API keys never appear in the logs")
    func noSecretsInLogs() async throws {
        try await TestApp.with { app, client in
            let (_, password) = try await Accounts(storage: app.storage, bcryptCost: 4)
                .createUser(username: "ana", displayName: nil, role: .agent)
            _ = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                             json: ["username": "ana", "password": "Wrong-Secret-123"])
            let credential = try await app.login(client, username: "ana", password: password)
            let key = try await app.apiKey()
            _ = try await client.executeJSON("/metrics", method: .get, as: TestCredential(apiKey: key))
            let logs = app.logs.all
            #expect(logs.contains("sign-in failed"), "the failure itself is logged")
            for secret in [password, "Wrong-Secret-123", try #require(credential.cookieToken), try #require(credential.csrfToken), key] {
                #expect(!logs.contains(secret))
            }
        }
    }
}

@Suite("Login throttle rules")
struct LoginThrottleTests {
    let throttle = LoginThrottle()
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("no delay before the fifth failure; then 30 s doubling up to 15 minutes")
    func delays() {
        #expect((0...4).map { throttle.delay(afterFailures: $0) } == [0, 0, 0, 0, 0])
        #expect(throttle.delay(afterFailures: 5) == 30)
        #expect(throttle.delay(afterFailures: 6) == 60)
        #expect(throttle.delay(afterFailures: 7) == 120)
        #expect(throttle.delay(afterFailures: 10) == 900)
        #expect(throttle.delay(afterFailures: 1000) == 900)
    }

    @Test("retry-after counts down from the last failure and ends when failures are forgotten")
    func retryAfter() {
        let record = LoginFailures(key: "user:ana", count: 6, lastFailureAt: t0)
        #expect(throttle.retryAfter(record, now: t0) == 60)
        #expect(throttle.retryAfter(record, now: t0.addingTimeInterval(59.5)) == 1)
        #expect(throttle.retryAfter(record, now: t0.addingTimeInterval(60)) == nil)
        #expect(throttle.retryAfter(LoginFailures(key: "k", count: 4, lastFailureAt: t0), now: t0) == nil)
        #expect(throttle.retryAfter(LoginFailures(key: "k", count: 50, lastFailureAt: t0), now: t0.addingTimeInterval(3600)) == nil)
        #expect(throttle.retryAfter(nil, now: t0) == nil)
    }
}
