import Foundation
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("Health, metrics, OpenAPI and static files")
struct OperationsTests {
    @Test("/health answers 200 with version and a reachable database, without signing in")
    func health() async throws {
        try await TestApp.with { _, client in
            let response = try await client.executeJSON("/health", method: .get)
            #expect(response.status == .ok)
            #expect(response.json["status"] as? String == "ok")
            #expect(response.json["version"] as? String == SMSDeskVersion.current)
            let database = response.json["database"] as? [String: Any]
            #expect(database?["reachable"] as? Bool == true)
            #expect(database?["backend"] as? String == "sqlite")
        }
    }

    @Test("/metrics counts requests by route and status and has latency histograms")
    func metrics() async throws {
        try await TestApp.with { app, client in
            for _ in 0..<3 { _ = try await client.executeJSON("/health", method: .get) }
            let key = try await app.apiKey()
            let response = try await client.executeJSON("/metrics", method: .get, as: TestCredential(apiKey: key))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(response.text.contains(#"smsdesk_http_requests_total{method="GET",route="/health",status="200"} 3"#))
            #expect(response.text.contains("smsdesk_http_request_duration_seconds_bucket"))
            // The database's gauges: every spool state, open conversations and agents.
            #expect(response.text.contains("# TYPE smsdesk_spool_messages gauge"))
            #expect(response.text.contains(#"smsdesk_spool_messages{state="to_process"} 0"#))
            #expect(response.text.contains(#"smsdesk_open_conversations{state="queued"} 0"#))
            #expect(response.text.contains(#"smsdesk_agents{status="offline"} 0"#))
        }
    }

    @Test("/openapi.json describes exactly the registered routes, with their methods")
    func openAPIMatchesRoutes() async throws {
        try await TestApp.with { app, client in
            let key = try await app.apiKey()
            let response = try await client.executeJSON("/openapi.json", method: .get, as: TestCredential(apiKey: key))
            #expect(response.status == .ok)
            #expect(response.json["openapi"] as? String == "3.0.3")
            let paths = try #require(response.json["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, operations) in paths {
                for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let registered = Set(app.app.registeredRoutes.map { "\($0.method) \(RouteAudit.normalise($0.path))" })
            #expect(documented == registered)
            let login = try #require(paths["/api/v1/auth/login"]?["post"] as? [String: Any])
            #expect(login["requestBody"] != nil)
            let patch = try #require(paths["/api/v1/users/{id}"]?["patch"] as? [String: Any])
            #expect((patch["parameters"] as? [[String: Any]])?.first?["name"] as? String == "id")
        }
    }

    @Test("the web UI is served at / with a strict Content-Security-Policy")
    func staticFiles() async throws {
        try await TestApp.with { _, client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                let html = response.body.getString(at: 0, length: response.body.readableBytes) ?? ""
                #expect(html.contains("SMSDesk"))
            }
            let missing = try await client.executeJSON("/no/such/file.js", method: .get)
            #expect(missing.status == .notFound)
        }
    }
}
