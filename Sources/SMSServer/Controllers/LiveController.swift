import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import SMSConversations
import SMSLive
import SMSStore

/// The browser's live connection (one WebSocket per page): `GET /api/v1/live?after=SEQ`.
///
/// Authentication is the session cookie (browsers cannot set headers on a
/// WebSocket) or `Authorization: Bearer <API key>`; an upgrade whose `Origin`
/// is not this server's is refused (cross-site WebSocket hijacking). A refused
/// upgrade gets no socket: hummingbird-websocket answers it `400` and closes
/// the connection. A plain `GET` goes through the API's access rules and gets
/// `426 Upgrade Required` when allowed.
///
/// Server → client, one JSON object per text message:
/// - `{"type":"hello","seq":N}` first: events after N follow;
/// - `{"type":"resync","seq":N}` first instead, when the events after the
///   client's `after` are no longer kept (or `after` is not of this
///   database): reload the data, then events after N follow;
/// - `{"type":"event","seq":N,"topic":"dialer.progress","at":"ISO 8601","data":{…}}`,
///   in strictly increasing `seq`, only those the principal's audience allows;
/// - `{"type":"pong"}` answering the client's `{"type":"ping"}`.
///
/// The server also sends WebSocket pings (and drops a peer that does not
/// answer), re-checks the session every `sessionCheck`, on each client
/// ping and at once on a `session.ended` event for its person (close code
/// 4001 when it ended; that event is not forwarded), and drops a client that falls more
/// than `bufferLimit` events behind (close code 4008, or the connection is
/// closed when its writes no longer progress): it reconnects with its last
/// `seq` and catches up from the store.
struct LiveController {
    static let path = "/api/v1/live"
    static let access = Access.anyone
    /// Close codes (private range 4000–4999).
    static let sessionEndedCode: UInt16 = 4001
    static let tooSlowCode: UInt16 = 4008

    let bus: EventBus
    let authentication: AuthenticationMiddleware
    /// `SMSDESK_PUBLIC_URL`: its origin is accepted besides the request's own host.
    let publicURL: String?
    var sessionCheck: Duration = .seconds(15)
    var bufferLimit = 1000

    func addRoutes(to routes: APIRoutes) {
        routes.group(Self.access).on(.get, Self.path, RouteDoc(
            "Live events over a WebSocket (?after=SEQ resumes after the last event seen); a request that is not a WebSocket upgrade gets 426",
            tag: "live", status: 101), use: notUpgraded)
    }

    /// What the API router answers for this path: the upgrade itself is served by `webSocketRouter()`.
    @Sendable func notUpgraded(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard Self.sameOrigin(request, publicURL: publicURL) else { throw Self.crossOrigin }
        var response = try APIError(status: .upgradeRequired, code: "upgrade_required",
                                    message: "open this address as a WebSocket").response(from: request, context: context)
        response.headers[.upgrade] = "websocket"
        return response
    }

    static let crossOrigin = APIError(status: .forbidden, code: "cross_origin", message: "the request's Origin is not this server")

    // MARK: the WebSocket

    /// The router that decides WebSocket upgrades (used by the HTTP server, beside the API router).
    func webSocketRouter() -> Router<LiveSocketContext> {
        let router = Router(context: LiveSocketContext.self)
        router.add(middleware: LiveSocketAuthentication(authentication: authentication))
        router.ws(RouterPath(Self.path), shouldUpgrade: { request, context in
            guard Self.sameOrigin(request, publicURL: publicURL) else {
                context.logger.notice("live upgrade refused: cross-origin", metadata: ["origin": "\(request.headers[values: .origin])"])
                return .dontUpgrade
            }
            guard let principal = context.principal, Self.access.allows(principal.role) else { return .dontUpgrade }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            try await serve(inbound: inbound, outbound: outbound, context: context)
        })
        return router
    }

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
               context: WebSocketRouterContext<LiveSocketContext>) async throws {
        guard let principal = context.requestContext.principal else { return }
        let request = context.request
        let logger = context.logger
        let after = request.uri.queryParameters["after"].flatMap { Int64(String($0)) }
        let subscription = try await bus.subscribe(
            after: after, viewer: LiveViewer(role: principal.role, userID: principal.userID), bufferLimit: bufferLimit)
        // A client that stopped reading blocks our writes: drop the connection, it will catch up when it returns.
        let channel = context.requestContext.channel
        subscription.onOverflow { channel.close(promise: nil) }
        logger.debug("live socket opened", metadata: ["after": "\(after.map(String.init) ?? "-")", "start": "\(subscription.startSeq)"])
        do {
            try await outbound.write(.text(LiveMessage.start(seq: subscription.startSeq, resync: subscription.resync)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await event in subscription {
                            // Someone ended this person's sessions (e.g. a supervisor's disconnect): close at once
                            // if this socket's session is one of them, without waiting for the periodic check.
                            if event.topic == ConversationEvents.sessionEnded {
                                guard await stillSignedIn(request, as: principal) else {
                                    logger.debug("live socket closed: the session was ended")
                                    try await outbound.close(.unknown(Self.sessionEndedCode), reason: "session ended")
                                    return
                                }
                                continue
                            }
                            try await outbound.write(.text(LiveMessage.event(event)))
                        }
                    } catch LiveSubscriptionError.tooSlow {
                        logger.notice("live socket too slow: closed")
                        try await outbound.close(.unknown(Self.tooSlowCode), reason: "too slow")
                    }
                }
                group.addTask {
                    for try await message in inbound.messages(maxSize: 4096) {
                        guard case .text(let text) = message, LiveMessage.isPing(text) else { continue }
                        guard await stillSignedIn(request, as: principal) else {
                            try await outbound.close(.unknown(Self.sessionEndedCode), reason: "session ended")
                            return
                        }
                        try await outbound.write(.text(LiveMessage.pong))
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: sessionCheck)
                        guard await stillSignedIn(request, as: principal) else {
                            logger.debug("live socket closed: the session ended")
                            try await outbound.close(.unknown(Self.sessionEndedCode), reason: "session ended")
                            return
                        }
                    }
                }
                // The first to finish (client gone, session ended, subscription over) ends the others.
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            await subscription.close()
            throw error
        }
        await subscription.close()
    }

    /// Whether the upgrade request's credential still holds, with the same role.
    func stillSignedIn(_ request: Request, as principal: Principal) async -> Bool {
        guard let current = try? await authentication.principal(for: request) else { return false }
        return current.role == principal.role
    }

    /// Whether every `Origin` of the request names this server: the request's own host and port, or
    /// those of the configured public URL. Requests without one are not from a browser page and pass,
    /// as do `ws:`/`wss:` origins, which WebSocket client libraries send and no page can have.
    static func sameOrigin(_ request: Request, publicURL: String?) -> Bool {
        var allowed: Set<String> = []
        if let host = request.head.authority?.lowercased() {
            allowed.insert(host)
            // `Host: example.com:80` is the page `http://example.com`.
            if let colon = host.lastIndex(of: ":"), ["80", "443"].contains(host[host.index(after: colon)...]) {
                allowed.insert(String(host[..<colon]))
            }
        }
        if let publicURL, let url = URLComponents(string: publicURL), let own = Self.hostAndPort(url) { allowed.insert(own) }
        return request.headers[values: .origin].allSatisfy { origin in
            guard let url = URLComponents(string: origin), let scheme = url.scheme?.lowercased() else { return false }
            if scheme == "ws" || scheme == "wss" { return true }
            return Self.hostAndPort(url).map(allowed.contains) ?? false
        }
    }

    /// `host[:port]` of an origin such as `https://sms.example.com`, a default port left out.
    static func hostAndPort(_ url: URLComponents) -> String? {
        guard let host = url.host?.lowercased(), !host.isEmpty else { return nil }
        let defaultPort = url.scheme?.lowercased() == "https" ? 443 : 80
        if let port = url.port, port != defaultPort { return "\(host):\(port)" }
        return host
    }
}

/// Per-upgrade state of the WebSocket router: who asked, and the connection to drop if needed.
struct LiveSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<LiveSocketContext>
    let channel: any Channel
    var principal: Principal?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// Finds the principal of an upgrade request with the API's authentication.
struct LiveSocketAuthentication: RouterMiddleware {
    typealias Context = LiveSocketContext
    let authentication: AuthenticationMiddleware

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = try await authentication.principal(for: request)
        if let principal = context.principal { context.logger[metadataKey: "principal"] = principal.logValue }
        return try await next(request, context)
    }
}

/// The JSON text of the socket's messages.
enum LiveMessage {
    static let pong = #"{"type":"pong"}"#

    static func start(seq: Int64, resync: Bool) -> String {
        #"{"type":"\#(resync ? "resync" : "hello")","seq":\#(seq)}"#
    }

    /// The stored payload is a JSON object written by `NewLiveEvent(topic:audience:data:)`: spliced as is.
    static func event(_ event: LiveEvent) -> String {
        let at = event.at.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        return #"{"type":"event","seq":\#(event.seq),"topic":\#(quoted(event.topic)),"at":"\#(at)","data":\#(event.payload)}"#
    }

    static func quoted(_ text: String) -> String {
        (try? JSONEncoder().encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    static func isPing(_ text: String) -> Bool {
        struct Message: Decodable { var type: String }
        return (try? JSONDecoder().decode(Message.self, from: Data(text.utf8)))?.type == "ping"
    }
}
