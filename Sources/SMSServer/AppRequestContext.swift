import Hummingbird
import SMSStore
import Logging
import NIOCore

/// Per-request state: the authenticated principal and the client's address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthenticationMiddleware` when the request carries a valid session or API key.
    public var principal: Principal?
    /// The peer address of the connection (no proxy headers are trusted).
    public let clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The principal, or 401.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthenticated }
        return principal
    }

    /// The signed-in person, or 401 (API keys have no user).
    public func requireUser() throws -> (Principal, SMSStore.User) {
        let principal = try requirePrincipal()
        guard let user = principal.user else { throw APIError.forbidden }
        return (principal, user)
    }
}

