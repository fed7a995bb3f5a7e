import Foundation
import Hummingbird
import SMSStore

/// The session cookie's name and attributes.
enum SessionCookie {
    static let name = "smsdesk_session"

    static func make(token: String, secure: Bool) -> Cookie {
        Cookie(name: name, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func expired(secure: Bool) -> Cookie {
        Cookie(name: name, value: "", expires: Date(timeIntervalSince1970: 0), path: "/", secure: secure,
               httpOnly: true, sameSite: .strict)
    }
}

/// Finds who is calling: `Authorization: Bearer <API key>` or the session
/// cookie. It never refuses a request itself (except a bad bearer key):
/// `AccessMiddleware` decides per route.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let storage: Storage
    let sessionIdleTimeout: TimeInterval

    static let legacyGetPrefix = "/integra/resources/sms/sendsms/"

    /// Activity is written back at most this often per session or key.
    static let touchInterval: TimeInterval = 60

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let principal = try await principal(for: request) {
            context.principal = principal
            context.logger[metadataKey: "principal"] = principal.logValue
        }
        return try await next(request, context)
    }

    /// Who sent `request`, or nil for nobody (no credential, or an unknown or expired session).
    /// Throws 401 for a bad bearer key. Also used to authenticate WebSocket upgrades.
    func principal(for request: Request) async throws -> Principal? {
        let now = Date()
        var authorization = request.headers[.authorization]
        // The legacy GET send carries everything in its last path segment; old clients that cannot
        // send headers may put the API key there as key=….
        if authorization == nil, request.uri.path.hasPrefix(Self.legacyGetPrefix),
           let key = FormFields(String(request.uri.path.dropFirst(Self.legacyGetPrefix.count)))["key"] {
            authorization = "Bearer " + key
        }
        if let authorization {
            guard authorization.lowercased().hasPrefix("bearer ") else {
                throw APIError(status: .unauthorized, code: "unauthenticated", message: "Authorization must be 'Bearer <API key>'")
            }
            let key = String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            guard let apiKey = try await storage.apiKeys.activeKey(hash: Secrets.sha256Hex(key)) else {
                throw APIError(status: .unauthorized, code: "unauthenticated", message: "unknown or revoked API key")
            }
            if apiKey.lastUsedAt.map({ now.timeIntervalSince($0) >= Self.touchInterval }) ?? true {
                try await storage.apiKeys.markUsed(id: apiKey.id, at: now)
            }
            return Principal(role: apiKey.role, user: nil, apiKeyName: apiKey.name, credential: .apiKey(id: apiKey.id))
        } else if let token = request.cookies[SessionCookie.name]?.value, !token.isEmpty {
            let hash = Secrets.sha256Hex(token)
            if let session = try await storage.sessions.session(tokenHash: hash, now: now),
               let user = try await storage.users.user(id: session.userID), !user.disabled {
                if now.timeIntervalSince(session.lastSeenAt) >= Self.touchInterval {
                    try await storage.sessions.touch(tokenHash: hash, at: now, expiresAt: now.addingTimeInterval(sessionIdleTimeout))
                }
                return Principal(role: user.role, user: user, apiKeyName: nil,
                                 credential: .session(tokenHash: hash, csrfToken: session.csrfToken))
            }
        }
        return nil
    }
}
