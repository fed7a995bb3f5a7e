import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import SMSServer
import SMSStore
import Testing

/// One WebSocket client connection to `/api/v1/live`: records every text message, sends what it is given.
final class LiveSocketClient: Sendable {
    let received = NIOLockedValueBox<[String]>([])
    /// How the connection ended, for failure messages.
    let ending = NIOLockedValueBox<String?>(nil)
    private let outgoing: AsyncStream<String>
    private let send: AsyncStream<String>.Continuation
    private let task = NIOLockedValueBox<Task<WebSocketCloseFrame?, any Error>?>(nil)

    init() { (outgoing, send) = AsyncStream.makeStream() }

    /// Connects to the server on 127.0.0.1:`port`; the connection runs until `drop()` or the server closes it.
    static func connect(port: Int, after: Int64? = nil, credential: TestCredential, origin: String? = nil) -> LiveSocketClient {
        let client = LiveSocketClient()
        var fields = credential.headers(csrf: false)
        if let origin { fields[.origin] = origin }
        let headers = fields
        let path = "/api/v1/live" + (after.map { "?after=\($0)" } ?? "")
        let outgoing = client.outgoing
        let received = client.received
        let ending = client.ending
        client.task.withLockedValue {
            $0 = Task {
                do {
                    let close = try await WebSocketClient.connect(
                    url: "ws://127.0.0.1:\(port)\(path)", configuration: .init(additionalHeaders: headers),
                    logger: Logger(label: "test.ws")
                ) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in outgoing { try await outbound.write(.text(text)) }
                        }
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let text) = message { received.withLockedValue { $0.append(text) } }
                        }
                        group.cancelAll()
                    }
                    }
                    ending.withLockedValue { $0 = "closed: \(String(describing: close))" }
                    return close
                } catch {
                    ending.withLockedValue { $0 = "failed: \(error)" }
                    throw error
                }
            }
        }
        return client
    }

    func write(_ text: String) { send.yield(text) }

    /// Drops the connection from the client's side.
    func drop() async {
        let task = task.withLockedValue { $0 }
        task?.cancel()
        _ = try? await task?.value
    }

    /// How the connection ended: the server's close frame, or the error (e.g. a refused upgrade).
    func result(within seconds: Double = 20) async throws -> Result<WebSocketCloseFrame?, any Error> {
        let task = try #require(task.withLockedValue { $0 })
        return try await withThrowingTaskGroup(of: Result<WebSocketCloseFrame?, any Error>?.self) { group in
            group.addTask { await task.result }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return try #require(first, "the connection did not end within \(seconds) s")
        }
    }

    var messages: [[String: Any]] {
        received.withLockedValue { $0 }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// Event messages received so far.
    var events: [[String: Any]] { messages.filter { $0["type"] as? String == "event" } }
    var eventSeqs: [Int64] { events.compactMap { ($0["seq"] as? NSNumber)?.int64Value } }

    /// Polls until `condition` holds over the messages received, failing after `seconds`.
    func waitUntil(_ what: String, within seconds: Double = 20,
                   _ condition: ([[String: Any]]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition(messages) {
            guard ContinuousClock.now < deadline else {
                Issue.record("""
                    timed out waiting for \(what); received \(received.withLockedValue { $0 }); \
                    connection \(ending.withLockedValue { $0 } ?? "open")
                    """)
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The first message (hello or resync).
    func waitForStart() async throws -> [String: Any] {
        try await waitUntil("hello") { !$0.isEmpty }
        return messages[0]
    }
}

extension Dictionary where Key == String, Value == Any {
    var seq: Int64? { (self["seq"] as? NSNumber)?.int64Value }
}

@Suite("Live events over WebSocket")
struct LiveSocketTests {
    struct Counter: Encodable { var n: Int }

    @Test("a signed-in supervisor's socket receives an event published after it connected")
    func receivesEvent() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let socket = LiveSocketClient.connect(port: port, credential: supervisor)
            let hello = try await socket.waitForStart()
            #expect(hello["type"] as? String == "hello")
            let event = try await app.app.events.publish(topic: "test.counter", audience: .staff, data: Counter(n: 7))
            try await socket.waitUntil("the event") { _ in !socket.events.isEmpty }
            let received = try #require(socket.events.first)
            #expect(received.seq == event.seq)
            #expect(received["topic"] as? String == "test.counter")
            #expect((received["data"] as? [String: Any])?["n"] as? Int == 7)
            #expect((received["at"] as? String).flatMap { try? Date($0, strategy: .iso8601) } != nil)
            await socket.drop()
        }
    }

    @Test("a client that reconnects with its last sequence number gets exactly the events it missed, in order, once")
    func catchUpAfterDroppedConnection() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let bus = app.app.events
            let first = LiveSocketClient.connect(port: port, credential: supervisor)
            _ = try await first.waitForStart()
            let seen = try await bus.publish(topic: "test.counter", audience: .staff, data: Counter(n: 0))
            try await first.waitUntil("the first event") { _ in first.eventSeqs == [seen.seq] }
            await first.drop()

            var missed: [Int64] = []
            for n in 1...5 {
                missed.append(try await bus.publish(topic: "test.counter", audience: .staff, data: Counter(n: n)).seq)
            }
            let second = LiveSocketClient.connect(port: port, after: seen.seq, credential: supervisor)
            let hello = try await second.waitForStart()
            #expect(hello["type"] as? String == "hello" && hello.seq == seen.seq)
            try await second.waitUntil("the missed events") { _ in second.events.count >= missed.count }
            // A marker published now arrives after them: nothing else came in between.
            let marker = try await bus.publish(topic: "test.marker", audience: .staff, data: Counter(n: 99))
            try await second.waitUntil("the marker") { _ in second.eventSeqs.last == marker.seq }
            #expect(second.eventSeqs == missed + [marker.seq])
            #expect(second.events.prefix(missed.count).compactMap { ($0["data"] as? [String: Any])?["n"] as? Int } == [1, 2, 3, 4, 5])
            await second.drop()
        }
    }

    @Test("an agent's socket does not carry admin+supervisor events")
    func agentDoesNotSeeStaffEvents() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (agentUser, agent) = try await app.signIn(client, username: "ana", role: .agent)
            let socket = LiveSocketClient.connect(port: port, credential: agent)
            _ = try await socket.waitForStart()
            let bus = app.app.events
            try await bus.publish(topic: "dialer.progress", audience: .staff, data: Counter(n: 1))
            try await bus.publish(topic: "other.user", audience: .users([agentUser.id + 1000]), data: Counter(n: 2))
            let own = try await bus.publish(topic: "own", audience: .users([agentUser.id]), data: Counter(n: 3))
            let all = try await bus.publish(topic: "all", audience: .everyone, data: Counter(n: 4))
            try await socket.waitUntil("the visible events") { _ in socket.eventSeqs.last == all.seq }
            #expect(socket.eventSeqs == [own.seq, all.seq])
            #expect(socket.events.map { $0["topic"] as? String } == ["own", "all"])
            await socket.drop()
        }
    }

    @Test("an upgrade without a session or API key gets no socket; a plain GET gets 401, or 426 when signed in")
    func unauthenticatedUpgradeRefused() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let anonymous = LiveSocketClient.connect(port: port, credential: .anonymous)
            let outcome = try await anonymous.result()
            #expect(throws: WebSocketClientError.webSocketUpgradeFailed) { try outcome.get() }
            #expect(anonymous.received.withLockedValue { $0 }.isEmpty)

            let plain = try await client.executeJSON("/api/v1/live", method: .get)
            #expect(plain.status == .unauthorized)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let signedIn = try await client.executeJSON("/api/v1/live", method: .get, as: supervisor)
            #expect(signedIn.status == .upgradeRequired)
            #expect(signedIn.headers[.upgrade] == "websocket")

            // An API key opens one too.
            let key = try await app.apiKey()
            let integration = LiveSocketClient.connect(port: port, credential: TestCredential(apiKey: key))
            #expect(try await integration.waitForStart()["type"] as? String == "hello")
            await integration.drop()

            // What the upgrade request itself gets (on a new connection, as an upgrade must be its first request).
            #expect(try await Self.upgradeStatus(port: port, headers: Self.upgradeHeaders) == .badRequest)
        }
    }

    @Test("an upgrade from another site's page is refused even with a valid session cookie")
    func crossOriginUpgradeRefused() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let evil = LiveSocketClient.connect(port: port, credential: supervisor, origin: "http://evil.example")
            let outcome = try await evil.result()
            #expect(throws: WebSocketClientError.webSocketUpgradeFailed) { try outcome.get() }

            var headers = supervisor.headers(csrf: false)
            headers[.origin] = "http://evil.example"
            let plain = try await client.executeJSON("/api/v1/live", method: .get, as: supervisor)
            #expect(plain.status == .upgradeRequired)
            let crossSite = try await client.execute(uri: "/api/v1/live", method: .get, headers: headers) { $0.status }
            #expect(crossSite == .forbidden)

            // The same page's own origin is accepted.
            let own = LiveSocketClient.connect(port: port, credential: supervisor, origin: "http://127.0.0.1:\(port)")
            #expect(try await own.waitForStart()["type"] as? String == "hello")
            await own.drop()

            for field in Self.upgradeHeaders { headers[field.name] = field.value }
            #expect(try await Self.upgradeStatus(port: port, headers: headers) == .badRequest)
        }
    }

    @Test("after sign-out the socket is closed at the next check (the client's ping)")
    func socketClosesWhenSessionEnds() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let socket = LiveSocketClient.connect(port: port, credential: supervisor)
            _ = try await socket.waitForStart()
            socket.write(#"{"type":"ping"}"#)
            try await socket.waitUntil("pong") { $0.contains { $0["type"] as? String == "pong" } }
            let logout = try await client.executeJSON("/api/v1/auth/logout", method: .post, as: supervisor)
            #expect(logout.status == .noContent)
            socket.write(#"{"type":"ping"}"#)
            let closed = try await socket.result().get()
            #expect(closed?.closeCode == .unknown(4001))
        }
    }

    @Test("an admin ending a user's sessions closes that user's socket at once, without waiting for a check")
    func endingSessionsClosesSocketsAtOnce() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
            let (agent, agentCredential) = try await app.signIn(client, username: "ana", role: .agent)
            let socket = LiveSocketClient.connect(port: port, credential: agentCredential)
            _ = try await socket.waitForStart()
            let ended = try await client.executeJSON("/api/v1/users/\(agent.id)/sessions/end", method: .post, as: admin)
            #expect(ended.status == .noContent, "\(ended.text)")
            // No ping from the client: only the session.ended event can close it this soon (the check runs every 15 s).
            let closed = try await socket.result(within: 10).get()
            #expect(closed?.closeCode == .unknown(4001))
        }
    }

    @Test("a client whose sequence number is older than the events kept is told to resync")
    func resyncAfterPruning() async throws {
        try await TestApp.with(live: true) { app, client in
            let port = try #require(client.port)
            let (_, supervisor) = try await app.signIn(client, username: "sup", role: .supervisor)
            let bus = app.app.events
            let old = Date().addingTimeInterval(-7200)
            try await bus.publish([NewLiveEvent(at: old, topic: "old", audience: .staff), NewLiveEvent(at: old, topic: "old", audience: .staff)])
            let kept = try await bus.publish(topic: "kept", audience: .staff, data: Counter(n: 1))
            try await app.storage.liveEvents.deleteOlder(than: Date().addingTimeInterval(-3600))
            let socket = LiveSocketClient.connect(port: port, after: 0, credential: supervisor)
            let start = try await socket.waitForStart()
            #expect(start["type"] as? String == "resync" && start.seq == kept.seq)
            let next = try await bus.publish(topic: "next", audience: .staff, data: Counter(n: 2))
            try await socket.waitUntil("the next event") { _ in socket.eventSeqs == [next.seq] }
            await socket.drop()
        }
    }

    /// The status answering a WebSocket upgrade request sent as the first request of a new connection.
    static func upgradeStatus(port: Int, headers: HTTPFields) async throws -> HTTPResponse.Status {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { connection in
            try await connection.get("/api/v1/live", headers: headers).status
        }
    }

    static let upgradeHeaders: HTTPFields = [
        .connection: "Upgrade", .upgrade: "websocket", .secWebSocketVersion: "13",
        .secWebSocketKey: "dGhlIHNhbXBsZSBub25jZQ==",
    ]
}
