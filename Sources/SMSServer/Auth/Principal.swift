import Logging
import SMSStore

/// Who is making a request: a signed-in person (cookie session) or an integration (API key).
public struct Principal: Sendable {
    public enum Credential: Sendable {
        /// A browser session; `csrfToken` must accompany state-changing requests.
        case session(tokenHash: String, csrfToken: String)
        case apiKey(id: Int64)
    }

    public var role: Role
    /// The user for a session; nil for an API key.
    public var user: User?
    public var apiKeyName: String?
    public var credential: Credential

    /// A name for logs and the audit trail.
    public var displayName: String {
        if let user { return user.username }
        return "apikey:\(apiKeyName ?? "?")"
    }

    public var userID: Int64? { user?.id }

    /// The log metadata value: `user:ID` or `apikey:ID` (never a name or a secret).
    var logValue: Logger.MetadataValue {
        switch credential {
        case .apiKey(let id): "apikey:\(id)"
        case .session: "user:\(user?.id ?? 0)"
        }
    }
}
