import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import SMSServer
import SMSStore
import SMSStoreSQLite
import Testing

/// A signed-in principal for tests: cookie token and CSRF token, or an API key.
struct TestCredential: Sendable {
    var cookieToken: String?
    var csrfToken: String?
    var apiKey: String?

    static let anonymous = TestCredential()

    func headers(csrf: Bool = true) -> HTTPFields {
        var headers = HTTPFields()
        if let cookieToken { headers[.cookie] = "smsdesk_session=\(cookieToken)" }
        if let csrfToken, csrf { headers[HTTPField.Name("X-CSRF-Token")!] = csrfToken }
        if let apiKey { headers[.authorization] = "Bearer \(apiKey)" }
        return headers
    }
}

/// Collects log lines so tests can check that no secret is ever logged.
final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    var all: String { lines.withLockedValue { $0.joined(separator: "\n") } }
    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }

    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in CaptureHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    struct CaptureHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(all)")
        }
    }
}

/// Builds the real application on a throwaway SQLite database and drives it
/// through Hummingbird's router test client.
struct TestApp: Sendable {
    let app: SMSDeskApp
    let storage: Storage
    let config: AppConfig
    let logs: LogCapture
    let secrets: SecretBox

    /// `live`: a real server on 127.0.0.1 and an ephemeral port (`client.port`), e.g. for WebSockets.
    static func with(publicURL: String? = nil, live: Bool = false,
                     _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-app-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = AppConfig(dataDirectory: dir.path, host: "127.0.0.1", port: 0, bcryptCost: 4, publicURL: publicURL, dispatch: nil)
        let logs = LogCapture()
        let storage = try await Storage.open(config: config, logger: logs.logger())
        let secrets = SecretBox(key: SymmetricKey(size: .bits256))
        let dependencies = AppDependencies(secrets: secrets, httpClient: .shared)
        let app = try await SMSDeskApp.build(config: config, storage: storage, dependencies: dependencies, logger: logs.logger())
        let testApp = TestApp(app: app, storage: storage, config: config, logs: logs, secrets: secrets)
        do {
            try await app.application.test(live ? .live : .router) { client in try await body(testApp, client) }
        } catch {
            try? await storage.database.close()
            throw error
        }
        try await storage.database.close()
    }

    /// Creates a user and signs them in through the API; returns the user and their credential.
    func signIn(_ client: any TestClientProtocol, username: String, role: Role) async throws -> (User, TestCredential) {
        let (user, password) = try await Accounts(storage: storage, bcryptCost: config.bcryptCost)
            .createUser(username: username, displayName: nil, role: role)
        let credential = try await login(client, username: username, password: password)
        return (user, credential)
    }

    func login(_ client: any TestClientProtocol, username: String, password: String) async throws -> TestCredential {
        let response = try await client.executeJSON("/api/v1/auth/login", method: .post,
                                                    json: ["username": username, "password": password])
        #expect(response.status == .ok, "login of \(username) failed: \(response.text)")
        let cookie = try #require(response.headers[.setCookie])
        let token = try #require(cookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
        let csrf = try #require(response.json["csrfToken"] as? String)
        return TestCredential(cookieToken: String(token), csrfToken: csrf)
    }

    func apiKey() async throws -> String {
        try await Accounts(storage: storage, bcryptCost: config.bcryptCost).createAPIKey(name: "test", createdBy: nil).1
    }
}

struct JSONTestResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
}

extension TestClientProtocol {
    func executeJSON(_ uri: String, method: HTTPRequest.Method, json: [String: Any]? = nil,
                     as credential: TestCredential = .anonymous, csrf: Bool = true) async throws -> JSONTestResponse {
        var headers = credential.headers(csrf: csrf)
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body) { response in
            JSONTestResponse(status: response.status, headers: response.headers,
                             text: response.body.getString(at: 0, length: response.body.readableBytes) ?? "")
        }
    }
}

/// A tiny HTTP server on 127.0.0.1 for tests of outgoing provider requests:
/// answers every request with `answer` and records its Authorization header.
enum LocalHTTPServer {
    struct Received: Sendable {
        var path: String
        var authorization: String?
    }

    final class Log: Sendable {
        let entries = NIOLockedValueBox<[Received]>([])
        var count: Int { entries.withLockedValue { $0.count } }
        var first: Received? { entries.withLockedValue { $0.first } }
    }

    static func with(answer: String, _ body: @Sendable (String, Log) async throws -> Void) async throws {
        let log = Log()
        let router = Router()
        router.get("/send") { request, _ -> String in
            log.entries.withLockedValue {
                $0.append(Received(path: request.uri.path, authorization: request.headers[.authorization]))
            }
            return answer
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            guard let port = client.port else { throw TestError.noPort }
            try await body("http://127.0.0.1:\(port)", log)
        }
    }

    enum TestError: Error { case noPort }
}
