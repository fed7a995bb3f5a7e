import Foundation
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

/// Who may call each route. A route registered without an entry here, or
/// registered without an access rule at all, fails these tests.
let expectedAccess: [String: Access] = [
    "GET /health": .open,
    "POST /api/v1/auth/login": .open,
    "POST /api/v1/auth/logout": .people,
    "GET /api/v1/me": .people,
    "PUT /api/v1/me/preferences": .people,
    "GET /api/v1/users": .admin,
    "POST /api/v1/users": .admin,
    "PATCH /api/v1/users/{id}": .admin,
    "POST /api/v1/users/{id}/password": .admin,
    "POST /api/v1/users/{id}/sessions/end": .admin,
    "GET /api/v1/apikeys": .admin,
    "POST /api/v1/apikeys": .admin,
    "DELETE /api/v1/apikeys/{id}": .admin,
    "GET /api/v1/webhooks": .admin,
    "POST /api/v1/webhooks": .admin,
    "GET /api/v1/webhooks/{id}": .admin,
    "PATCH /api/v1/webhooks/{id}": .admin,
    "DELETE /api/v1/webhooks/{id}": .admin,
    "POST /api/v1/webhooks/{id}/secret": .admin,
    "POST /api/v1/webhooks/{id}/ping": .admin,
    "GET /api/v1/webhooks/{id}/deliveries": .admin,
    "POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/replay": .admin,
    "GET /metrics": .roles([.admin, .supervisor, .integration]),
    "GET /openapi.json": .anyone,
    "GET /api/v1/provider-types": .staff,
    "GET /api/v1/providers": .staff,
    "GET /api/v1/providers/{id}": .staff,
    "POST /api/v1/providers": .admin,
    "PATCH /api/v1/providers/{id}": .admin,
    "DELETE /api/v1/providers/{id}": .admin,
    "POST /api/v1/providers/{id}/default": .admin,
    "POST /api/v1/providers/{id}/test": .admin,
    "POST /webhooks/{id}/{token}": .providerWebhook,
    "GET /webhooks/{id}/{token}": .providerWebhook,
    "POST /api/v1/messages": .roles([.admin, .supervisor, .integration]),
    "GET /api/v1/messages/{id}": .roles([.admin, .supervisor, .integration]),
    "POST /Integra/resources/SMS/SendSMS": .roles([.admin, .supervisor, .integration]),
    "GET /integra/resources/sms/sendsms/{params}": .roles([.admin, .supervisor, .integration]),
    "GET /api/v1/campaigns": .staff,
    "POST /api/v1/campaigns": .admin,
    "GET /api/v1/campaigns/{id}": .staff,
    "PATCH /api/v1/campaigns/{id}": .admin,
    "DELETE /api/v1/campaigns/{id}": .admin,
    "PUT /api/v1/campaigns/{id}/members": .admin,
    "PUT /api/v1/campaigns/{id}/supervisors": .admin,
    "PUT /api/v1/campaigns/{id}/canned-responses": .admin,
    "GET /api/v1/dialers": .staff,
    "POST /api/v1/dialers": .admin,
    "PATCH /api/v1/dialers/{id}": .admin,
    "DELETE /api/v1/dialers/{id}": .admin,
    "POST /api/v1/dialers/{id}/start": .staff,
    "POST /api/v1/dialers/{id}/finish": .staff,
    "GET /api/v1/dncr": .staff,
    "POST /api/v1/dncr": .staff,
    "DELETE /api/v1/dncr/{number}": .staff,
    "GET /api/v1/dialer-monitor": .staff,
    "POST /api/v1/campaigns/{id}/spool/cancel": .staff,
    "POST /api/v1/spool/unitary": .staff,
    "POST /api/v1/spool/import": .staff,
    "POST /api/v1/dncr/import": .staff,
    "GET /api/v1/spool": .staff,
    "GET /api/v1/inbound": .staff,
    "GET /api/v1/live": .anyone,
    "GET /api/v1/inbox": .people,
    "GET /api/v1/conversations": .staff,
    "POST /api/v1/conversations": .people,
    "GET /api/v1/conversations/{id}": .people,
    "GET /api/v1/conversations/{id}/history": .people,
    "GET /api/v1/search/conversations": .staff,
    "GET /api/v1/search/conversations.csv": .staff,
    "POST /api/v1/conversations/{id}/messages": .people,
    "POST /api/v1/conversations/{id}/accept": .people,
    "POST /api/v1/conversations/{id}/close": .people,
    "POST /api/v1/conversations/{id}/read": .people,
    "GET /api/v1/agent/status": .people,
    "PUT /api/v1/agent/status": .people,
    "GET /api/v1/agent/campaigns": .people,
    "GET /api/v1/scheduled-messages": .people,
    "DELETE /api/v1/scheduled-messages/{id}": .people,
    "GET /api/v1/monitor/campaigns": .staff,
    "GET /api/v1/monitor/campaigns/{id}": .staff,
    "GET /api/v1/monitor/campaigns/{id}/metrics": .staff,
    "GET /api/v1/monitor/agents/{id}": .staff,
    "POST /api/v1/monitor/agents/{id}/pause": .staff,
    "POST /api/v1/monitor/agents/{id}/disconnect": .staff,
    "GET /api/v1/monitor/agents/{id}/chat": .staff,
    "POST /api/v1/monitor/agents/{id}/chat": .staff,
    "POST /api/v1/monitor/agents/{id}/screen": .staff,
    "GET /api/v1/monitor/conversations/{id}": .staff,
    "POST /api/v1/monitor/conversations/{id}/takeover": .staff,
    "GET /api/v1/agent/chat": .roles([.agent]),
    "POST /api/v1/agent/chat": .roles([.agent]),
    "GET /api/v1/agent/screen": .roles([.agent]),
    "POST /api/v1/agent/screen": .roles([.agent]),
    "GET /api/v1/settings/retention": .admin,
    "PUT /api/v1/settings/retention": .admin,
]

func key(_ method: String, _ path: String) -> String { "\(method) \(RouteAudit.normalise(path))" }

@Suite("Route access rules")
struct RouteAccessTests {
    @Test("every registered route was declared with an access rule, and every declared one is registered")
    func everyRouteHasARule() async throws {
        try await TestApp.with { app, _ in
            let report = RouteAudit(registered: app.app.registeredRoutes, declared: app.app.declaredRoutes)
            #expect(report.undeclared.isEmpty, "routes without an access rule: \(report.undeclared)")
            #expect(report.unregistered.isEmpty, "declared but not registered: \(report.unregistered)")
        }
    }

    @Test("the route audit catches a route added without a rule")
    func auditCatchesUndeclaredRoute() {
        let declared = [RouteSpec(method: .get, path: "/api/v1/users", access: .admin, doc: RouteDoc("x", tag: "x"))]
        let registered = [RegisteredRoute(method: "GET", path: "/api/v1/users"),
                          RegisteredRoute(method: "POST", path: "/api/v1/secret")]
        let report = RouteAudit(registered: registered, declared: declared)
        #expect(report.undeclared == [RegisteredRoute(method: "POST", path: "/api/v1/secret")])
    }

    @Test("the access table names exactly the registered routes, with the rule each is declared with")
    func accessTableMatchesRoutes() async throws {
        try await TestApp.with { app, _ in
            let declared = Dictionary(app.app.declaredRoutes.map { (key($0.method.rawValue, $0.path), $0.access) },
                                      uniquingKeysWith: { first, _ in first })
            #expect(Set(declared.keys) == Set(expectedAccess.keys),
                    "routes missing from expectedAccess: \(Set(declared.keys).subtracting(expectedAccess.keys)); stale entries: \(Set(expectedAccess.keys).subtracting(declared.keys))")
            for (route, access) in declared {
                #expect(expectedAccess[route] == access, "\(route) is declared \(access), expected \(String(describing: expectedAccess[route]))")
            }
        }
    }

    @Test("each role gets through exactly the routes its rule allows; others get 401 or 403")
    func everyRoleOnEveryRoute() async throws {
        try await TestApp.with { app, client in
            let target = try await app.storage.users.create(username: "target", displayName: "T", role: .agent,
                                                            passwordHash: "x", at: Date())
            for route in app.app.declaredRoutes {
                for role in [nil] + Role.allCases.map(Optional.some) {
                    let credential = try await credential(for: role, app: app, client: client)
                    let dummyKey = try await app.storage.apiKeys.create(
                        name: "dummy", prefix: "p", keyHash: UUID().uuidString, role: .integration, createdBy: nil, at: Date())
                    let uri = route.path
                        .replacingOccurrences(of: "{id}", with: route.path.contains("apikeys") ? "\(dummyKey.id)" : "\(target.id)")
                        .replacingOccurrences(of: "{token}", with: "not-a-token")
                        .replacingOccurrences(of: "{params}", with: "destination=1&message=x")
                        .replacingOccurrences(of: "{number}", with: "%2B59899000001")
                    let body: [String: Any]? = route.method == .get || route.method == .delete ? nil : [:]
                    let response = try await client.executeJSON(uri, method: route.method, json: body, as: credential)
                    let name = "\(route.method.rawValue) \(route.path) as \(role?.rawValue ?? "anonymous")"
                    if route.access.allows(role) {
                        #expect(response.status != .unauthorized && response.status != .forbidden,
                                "\(name) should be allowed, got \(response.status.code) \(response.text)")
                    } else {
                        let expected: HTTPResponse.Status = role == nil ? .unauthorized : .forbidden
                        #expect(response.status == expected, "\(name) should be \(expected.code), got \(response.status.code)")
                    }
                }
            }
        }
    }

    @Test("a cookie session must send its CSRF token on state-changing requests; API keys need none")
    func csrfRequiredForSessions() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let without = try await client.executeJSON("/api/v1/apikeys", method: .post, json: ["name": "crm"], as: admin, csrf: false)
            #expect(without.status == .forbidden)
            #expect(without.errorCode == "csrf")
            var wrong = admin
            wrong.csrfToken = "not-the-token"
            let mismatched = try await client.executeJSON("/api/v1/apikeys", method: .post, json: ["name": "crm"], as: wrong)
            #expect(mismatched.errorCode == "csrf")
            let with = try await client.executeJSON("/api/v1/apikeys", method: .post, json: ["name": "crm"], as: admin)
            #expect(with.status == .created)
            let reads = try await client.executeJSON("/api/v1/users", method: .get, as: admin, csrf: false)
            #expect(reads.status == .ok)
            let key = try await app.apiKey()
            let metrics = try await client.executeJSON("/metrics", method: .get, as: TestCredential(apiKey: key))
            #expect(metrics.status == .ok)
        }
    }

    func credential(for role: Role?, app: TestApp, client: any TestClientProtocol) async throws -> TestCredential {
        guard let role else { return .anonymous }
        if role == .integration { return TestCredential(apiKey: try await app.apiKey()) }
        let name = "\(role.rawValue)-\(UUID().uuidString.prefix(8).lowercased())"
        return try await app.signIn(client, username: name, role: role).1
    }
}
