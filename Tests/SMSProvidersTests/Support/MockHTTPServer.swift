import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// A request as the mock provider received it.
struct RecordedRequest: Sendable {
    var method: String
    var path: String
    var query: String?
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
    var text: String { String(decoding: body, as: UTF8.self) }
    var queryPairs: [(String, String)] { FormCoding.decode(query ?? "") }
    var formFields: [(String, String)] { FormCoding.decode(text) }
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
}

/// What the mock answers.
struct MockResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    /// Wait this long before answering (to provoke client timeouts).
    var delay: Duration = .zero

    static func fixture(_ exchange: Exchange) -> MockResponse {
        MockResponse(status: exchange.responseStatus, headers: exchange.responseHeaders.map { ($0.key, $0.value) },
                     body: exchange.responseBody.bytes)
    }

    static func text(_ status: Int, _ text: String, contentType: String = "text/plain") -> MockResponse {
        MockResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}

/// A local HTTP server on 127.0.0.1 and an ephemeral port that answers each
/// request with `respond` and records what it received.
final class MockHTTPServer: Sendable {
    private let recorded = NIOLockedValueBox<[RecordedRequest]>([])
    var requests: [RecordedRequest] { recorded.withLockedValue { $0 } }

    /// Runs `body` with the base URL (`http://127.0.0.1:PORT`) of a server answering with `respond`.
    static func with<T: Sendable>(
        respond: @escaping @Sendable (RecordedRequest) async -> MockResponse,
        _ body: @Sendable (String, MockHTTPServer) async throws -> T
    ) async throws -> T {
        let server = MockHTTPServer()
        let router = Router()
        router.add(middleware: CatchAll(server: server, respond: respond))
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "mock", factory: { _ in SwiftLogNoOpLogHandler() }))
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "mock", factory: { _ in SwiftLogNoOpLogHandler() })))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var port = 0
            for await p in portStream { port = p }
            do {
                let result = try await body("http://127.0.0.1:\(port)", server)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    struct CatchAll: RouterMiddleware {
        typealias Context = BasicRequestContext
        let server: MockHTTPServer
        let respond: @Sendable (RecordedRequest) async -> MockResponse

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let body = try await request.body.collect(upTo: 1 << 20)
            let recorded = RecordedRequest(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
                headers: request.headers.map { ($0.name.rawName, $0.value) }, body: Array(body.readableBytesView))
            server.recorded.withLockedValue { $0.append(recorded) }
            let answer = await respond(recorded)
            if answer.delay > .zero { try? await Task.sleep(for: answer.delay) }
            var headers = HTTPFields()
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
            return Response(status: .init(code: answer.status), headers: headers,
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
    }
}

/// A TCP server that answers every connection with fixed raw bytes and closes
/// it: for truncated or malformed HTTP answers.
enum RawTCPServer {
    static func with<T: Sendable>(answer: [UInt8], _ body: @Sendable (String) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer(bytes: answer)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        do {
            let result = try await body("http://127.0.0.1:\(port)")
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    final class Answer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes: [UInt8]
        init(bytes: [UInt8]) { self.bytes = bytes }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// A port on 127.0.0.1 where nothing listens (for "connection refused").
    ///
    /// The port stays bound (never listening) for the rest of the test process: connections to it
    /// are refused, and no server of a test running in parallel can take it over meanwhile.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PortError.socket }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PortError.socket }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw PortError.socket }
        heldSockets.withLockedValue { $0.append(fd) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    enum PortError: Error { case socket }

    /// Sockets kept bound so their ports stay refused (closed when the test process exits).
    static let heldSockets = NIOLockedValueBox<[Int32]>([])
}

/// Compares a recorded request with a fixture's: method, path, query,
/// the named headers (exactly) and the body fields (form pairs or JSON value).
func expectRequest(_ recorded: RecordedRequest?, matches exchange: Exchange,
                   headers names: [String] = ["Authorization", "Content-Type"],
                   sourceLocation: SourceLocation = #_sourceLocation) {
    guard let recorded else {
        Issue.record("no request reached the mock for \(exchange.id)", sourceLocation: sourceLocation)
        return
    }
    #expect(recorded.method == exchange.method, "\(exchange.id): method", sourceLocation: sourceLocation)
    #expect(recorded.path == exchange.path, "\(exchange.id): path", sourceLocation: sourceLocation)
    let wantQuery = exchange.query
    #expect(recorded.queryPairs.map { "\($0.0)=\($0.1)" } == wantQuery.map { "\($0.0)=\($0.1)" },
            "\(exchange.id): query", sourceLocation: sourceLocation)
    for name in names {
        let want = exchange.requestHeaders.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
        guard let want else { continue }
        let got = recorded.header(name)
        // Content types are compared without parameters such as charset.
        if name.lowercased() == "content-type" {
            #expect(got?.split(separator: ";").first.map(String.init) == want.split(separator: ";").first.map(String.init),
                    "\(exchange.id): header \(name)", sourceLocation: sourceLocation)
        } else {
            #expect(got == want, "\(exchange.id): header \(name)", sourceLocation: sourceLocation)
        }
    }
    switch exchange.requestBody {
    case .none:
        #expect(recorded.body.isEmpty, "\(exchange.id): body should be empty", sourceLocation: sourceLocation)
    case .form(let fields, _):
        let got = recorded.formFields.map { "\($0.0)=\($0.1)" }.sorted()
        #expect(got == fields.map { "\($0.0)=\($0.1)" }.sorted(), "\(exchange.id): form fields", sourceLocation: sourceLocation)
    case .json(let want):
        let got = recorded.json.map { NSDictionaryOrArray($0) }
        #expect(got == NSDictionaryOrArray(want), "\(exchange.id): JSON body \(recorded.text)", sourceLocation: sourceLocation)
    case .text(let want):
        #expect(recorded.text == want, "\(exchange.id): text body", sourceLocation: sourceLocation)
    }
}

/// JSON values compared structurally.
struct NSDictionaryOrArray: Equatable {
    let value: NSObject
    init(_ any: Any) { value = (any as? NSObject) ?? NSNull() }
    static func == (a: Self, b: Self) -> Bool { a.value.isEqual(b.value) }
}
