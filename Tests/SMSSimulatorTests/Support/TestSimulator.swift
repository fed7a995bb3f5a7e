import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing

@testable import SMSSimulator

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A simulator running on 127.0.0.1 and a free port, for the length of a test.
struct RunningSimulator: Sendable {
    let baseURL: String
    let server: SimulatorServer

    /// Starts a simulator with `options` (always on 127.0.0.1, port 0), runs `body`, stops it.
    static func with<T: Sendable>(_ options: SimulatorOptions,
                                  _ body: @Sendable (RunningSimulator) async throws -> T) async throws -> T {
        var options = options
        options.host = "127.0.0.1"
        options.port = 0
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = try SimulatorServer.build(options: options, logger: quietLogger) { _, port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let application = server.application
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await application.runService(gracefulShutdownSignals: [])
            }
            var port = 0
            for await value in ports { port = value }
            guard port > 0 else {
                group.cancelAll()
                try await group.waitForAll()
                throw TestFailure("the simulator did not start")
            }
            do {
                let result = try await body(RunningSimulator(baseURL: "http://127.0.0.1:\(port)", server: server))
                group.cancelAll()
                try? await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    func send(_ request: FixtureRequest) async throws -> HTTPAnswer {
        try await HTTPAnswer.fetch(baseURL + request.target, method: request.method, headers: request.headers,
                                   body: request.body.bytes, contentType: request.body.contentType)
    }

    func get(_ path: String) async throws -> HTTPAnswer {
        try await HTTPAnswer.fetch(baseURL + path, method: "GET")
    }

    func post(_ path: String, json: String = "") async throws -> HTTPAnswer {
        try await HTTPAnswer.fetch(baseURL + path, method: "POST", body: Array(json.utf8), contentType: "application/json")
    }
}

extension FixtureBody {
    var contentType: String? {
        switch self {
        case .none: nil
        case .form: "application/x-www-form-urlencoded"
        case .json: "application/json"
        case .text: "text/plain"
        }
    }
}

/// An HTTP answer, read whole.
struct HTTPAnswer: Sendable {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSONValue? { JSONValue.parse(body) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    static func fetch(_ url: String, method: String, headers: [String: String] = [:], body: [UInt8] = [],
                      contentType: String? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let contentType, !request.headers.contains(name: "Content-Type") {
            request.headers.add(name: "Content-Type", value: contentType)
        }
        if !body.isEmpty { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let collected = try await response.body.collect(upTo: 16 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                          body: Array(collected.readableBytesView))
    }
}

/// A request our "server" received from the simulator.
struct ReceivedWebhook: Sendable {
    let method: String
    let path: String
    let query: String?
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSONValue? { JSONValue.parse(body) }
    var form: [(String, String)] { FormEncoding.decode(text) }
    var queryFields: [(String, String)] { FormEncoding.decode(query ?? "") }

    func field(_ name: String) -> String? {
        (form + queryFields).first { $0.0 == name }?.1
    }
}

/// A tiny local server standing in for SMSDesk's webhook endpoint: records
/// every request and answers with `status(n)` for the n-th one (from 1).
final class WebhookReceiver: Sendable {
    private let box = LockedBox<[ReceivedWebhook]>([])
    private let status: @Sendable (Int) -> Int

    init(status: @escaping @Sendable (Int) -> Int = { _ in 200 }) {
        self.status = status
    }

    var requests: [ReceivedWebhook] { box.value }

    /// Waits until `count` requests arrived (or the timeout passes) and returns them.
    func wait(for count: Int, timeout: Duration = .seconds(5)) async throws -> [ReceivedWebhook] {
        let deadline = ContinuousClock.now + timeout
        while requests.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return requests
    }

    /// Runs `body` with the receiver's base URL (`http://127.0.0.1:PORT`).
    static func with<T: Sendable>(status: @escaping @Sendable (Int) -> Int = { _ in 200 },
                                  _ body: @Sendable (String, WebhookReceiver) async throws -> T) async throws -> T {
        let receiver = WebhookReceiver(status: status)
        let router = Router()
        router.add(middleware: Recording(receiver: receiver))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await application.runService(gracefulShutdownSignals: [])
            }
            var port = 0
            for await value in ports { port = value }
            do {
                let result = try await body("http://127.0.0.1:\(port)", receiver)
                group.cancelAll()
                try? await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                throw error
            }
        }
    }

    struct Recording: RouterMiddleware {
        typealias Context = BasicRequestContext
        let receiver: WebhookReceiver

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let body = try await request.body.collect(upTo: 1 << 20)
            let received = ReceivedWebhook(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
                headers: request.headers.map { ($0.name.rawName, $0.value) }, body: Array(body.readableBytesView))
            let count = receiver.box.withValue { list in
                list.append(received)
                return list.count
            }
            return Response(status: .init(code: receiver.status(count)))
        }
    }
}

/// A value shared between the test and the servers it runs.
final class LockedBox<Value: Sendable>: Sendable {
    private let lock = NSLock()
    // Guarded by `lock`: every access goes through `withValue`.
    nonisolated(unsafe) private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value { withValue { $0 } }

    func withValue<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&stored)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
