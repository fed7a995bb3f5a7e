import Foundation
import Hummingbird

/// What a route does, for `/openapi.json`.
public struct RouteDoc: Sendable {
    public var summary: String
    public var tag: String
    public var requestBody: JSONSchema?
    public var responseStatus: Int
    public var response: JSONSchema?

    public init(_ summary: String, tag: String, request: JSONSchema? = nil, status: Int = 200, response: JSONSchema? = nil) {
        self.summary = summary
        self.tag = tag
        self.requestBody = request
        self.responseStatus = status
        self.response = response
    }
}

/// A route as declared: method, path, who may call it, and its description.
public struct RouteSpec: Sendable {
    public var method: HTTPRequest.Method
    public var path: String
    public var access: Access
    public var doc: RouteDoc

    public init(method: HTTPRequest.Method, path: String, access: Access, doc: RouteDoc) {
        self.method = method
        self.path = path
        self.access = access
        self.doc = doc
    }
}

/// A route as the router received it, whether or not it was declared.
public struct RegisteredRoute: Sendable, Hashable {
    public var method: String
    public var path: String

    public init(method: String, path: String) {
        self.method = method
        self.path = path
    }
}

/// Wraps the router so that every registration is recorded, including one
/// that bypasses `APIRoutes`: the route-role test compares the two lists.
final class RecordingRouter: RouterMethods, HTTPResponderBuilder {
    typealias Context = AppRequestContext
    let router: Router<AppRequestContext>
    private(set) var registered: [RegisteredRoute] = []

    init(router: Router<AppRequestContext>) { self.router = router }

    @discardableResult
    func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        registered.append(RegisteredRoute(method: method.rawValue, path: path.description))
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult
    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        router.add(middleware: middleware)
        return self
    }

    func buildResponder() -> RouterResponder<AppRequestContext> { router.buildResponder() }
}

/// The one way to add API routes: each group carries an `Access` rule,
/// enforced by `AccessMiddleware` and recorded with the route's description.
final class APIRoutes {
    let recorder: RecordingRouter
    private(set) var declared: [RouteSpec] = []

    init(recorder: RecordingRouter) { self.recorder = recorder }

    func group(_ access: Access) -> AccessGroup {
        AccessGroup(access: access, group: recorder.group().add(middleware: AccessMiddleware(access: access)), routes: self)
    }

    fileprivate func declare(_ spec: RouteSpec) { declared.append(spec) }
}

/// Routes that share an access rule.
struct AccessGroup {
    let access: Access
    let group: RouterGroup<AppRequestContext>
    let routes: APIRoutes

    func on<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method, _ path: String, _ doc: RouteDoc,
        use handler: @Sendable @escaping (Request, AppRequestContext) async throws -> Output
    ) {
        routes.declare(RouteSpec(method: method, path: path, access: access, doc: doc))
        group.on(RouterPath(path), method: method, use: handler)
    }
}

/// Compares the routes the router received with the declared ones.
public struct RouteAudit: Sendable {
    /// Registered without an access rule.
    public let undeclared: [RegisteredRoute]
    /// Declared but never registered.
    public let unregistered: [RegisteredRoute]

    public init(registered: [RegisteredRoute], declared: [RouteSpec]) {
        let registeredSet = Set(registered.map { RegisteredRoute(method: $0.method, path: Self.normalise($0.path)) })
        let declaredSet = Set(declared.map { RegisteredRoute(method: $0.method.rawValue, path: Self.normalise($0.path)) })
        undeclared = registered.filter { !declaredSet.contains(RegisteredRoute(method: $0.method, path: Self.normalise($0.path))) }
        unregistered = declaredSet.subtracting(registeredSet).sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    /// `/a/:id/` and `/a/{id}` name the same route.
    public static func normalise(_ path: String) -> String {
        let segments = path.split(separator: "/").map { segment -> String in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }
        return "/" + segments.joined(separator: "/")
    }
}
