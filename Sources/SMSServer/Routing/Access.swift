import HTTPTypes
import Hummingbird
import SMSStore

/// Who may call a route. Every route is registered with one of these through
/// `APIRoutes`; the route-role test fails for a route registered without one.
public enum Access: Sendable, Equatable, CustomStringConvertible {
    /// Anyone, signed in or not (health, login).
    case open
    /// Signed in with one of these roles (a session or an API key).
    case roles(Set<Role>)
    /// A provider's webhook: no session; the request's signature or URL token is checked instead.
    case providerWebhook

    public static let admin = Access.roles([.admin])
    public static let staff = Access.roles([.admin, .supervisor])
    public static let people = Access.roles([.admin, .supervisor, .agent])
    public static let anyone = Access.roles(Set(Role.allCases))

    /// Whether a principal with `role` (nil: not signed in) passes.
    public func allows(_ role: Role?) -> Bool {
        switch self {
        case .open, .providerWebhook: return true
        case .roles(let roles): return role.map(roles.contains) ?? false
        }
    }

    public var description: String {
        switch self {
        case .open: "open"
        case .providerWebhook: "provider webhook"
        case .roles(let roles): roles.sorted().map(\.rawValue).joined(separator: ", ")
        }
    }
}

/// Enforces a group's `Access` rule: 401 without a principal, 403 for another
/// role, and 403 `csrf` for a state-changing request from a cookie session
/// without the session's `X-CSRF-Token` header.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let access: Access

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard case .roles(let roles) = access else { return try await next(request, context) }
        guard let principal = context.principal else { throw APIError.unauthenticated }
        guard roles.contains(principal.role) else { throw APIError.forbidden }
        if case .session(_, let csrfToken) = principal.credential, !Self.safeMethods.contains(request.method) {
            guard let sent = request.headers[.csrfToken], Secrets.constantTimeEquals(sent, csrfToken) else {
                throw APIError.csrf
            }
        }
        return try await next(request, context)
    }

    static let safeMethods: Set<HTTPRequest.Method> = [.get, .head, .options]
}

extension HTTPField.Name {
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
}
