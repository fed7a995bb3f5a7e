import Foundation

/// What a signed-in principal may do (SPEC roles).
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    /// Configuration and users.
    case admin
    /// Monitoring, bulk sends, DNCR, reports; read-only configuration.
    case supervisor
    /// Own conversations only.
    case agent
    /// An API key: send and read status only.
    case integration

    /// Roles a person can have (integration is for API keys only).
    public static let personRoles: [Role] = [.admin, .supervisor, .agent]

    private var rank: Int {
        switch self {
        case .admin: 0
        case .supervisor: 1
        case .agent: 2
        case .integration: 3
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// A person who signs in to the web UI.
public struct User: Sendable, Equatable, Codable {
    public var id: Int64
    public var username: String
    public var displayName: String
    public var role: Role
    public var disabled: Bool
    public var locale: String?
    public var timeZone: String?
    /// An admin allows supervisors to watch this agent's screen live (SPEC S3 monitor screen).
    public var monitorScreenAllowed: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64, username: String, displayName: String, role: Role, disabled: Bool,
                locale: String? = nil, timeZone: String? = nil, monitorScreenAllowed: Bool = false, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.role = role
        self.disabled = disabled
        self.locale = locale
        self.timeZone = timeZone
        self.monitorScreenAllowed = monitorScreenAllowed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Fields of a user that may change; nil leaves a field as it is. `locale`
/// and `timeZone` are themselves optional: `.some(nil)` clears the preference.
public struct UserChanges: Sendable, Equatable {
    public var displayName: String?
    public var role: Role?
    public var disabled: Bool?
    public var locale: String??
    public var timeZone: String??
    public var monitorScreenAllowed: Bool?

    public init(displayName: String? = nil, role: Role? = nil, disabled: Bool? = nil,
                locale: String?? = nil, timeZone: String?? = nil, monitorScreenAllowed: Bool? = nil) {
        self.displayName = displayName
        self.role = role
        self.disabled = disabled
        self.locale = locale
        self.timeZone = timeZone
        self.monitorScreenAllowed = monitorScreenAllowed
    }
}

/// A browser session. The cookie carries a random token; only its SHA-256
/// hash is stored, so a database leak does not leak live sessions.
public struct Session: Sendable, Equatable {
    public var tokenHash: String
    public var userID: Int64
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date
    public var expiresAt: Date
    public var clientAddress: String?
    public var userAgent: String?

    public init(tokenHash: String, userID: Int64, csrfToken: String, createdAt: Date, lastSeenAt: Date,
                expiresAt: Date, clientAddress: String? = nil, userAgent: String? = nil) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.clientAddress = clientAddress
        self.userAgent = userAgent
    }
}

/// An API key for an integration. The key itself is shown once; only its
/// SHA-256 hash and a short prefix (to recognise it in lists) are stored.
public struct APIKey: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var prefix: String
    public var role: Role
    public var createdBy: Int64?
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(id: Int64, name: String, prefix: String, role: Role, createdBy: Int64?, createdAt: Date,
                lastUsedAt: Date?, revokedAt: Date?) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.role = role
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

/// Failed sign-in attempts counted for one key (a user name or a client address).
public struct LoginFailures: Sendable, Equatable {
    public var key: String
    public var count: Int
    public var lastFailureAt: Date

    public init(key: String, count: Int, lastFailureAt: Date) {
        self.key = key
        self.count = count
        self.lastFailureAt = lastFailureAt
    }
}

/// One line of the audit log: who did what, when.
public struct AuditEntry: Sendable, Equatable {
    public var id: Int64
    public var at: Date
    public var actorUserID: Int64?
    public var actorName: String
    public var action: String
    public var targetType: String?
    public var targetID: String?
    public var details: String?
    public var clientAddress: String?

    public init(id: Int64 = 0, at: Date, actorUserID: Int64?, actorName: String, action: String,
                targetType: String? = nil, targetID: String? = nil, details: String? = nil,
                clientAddress: String? = nil) {
        self.id = id
        self.at = at
        self.actorUserID = actorUserID
        self.actorName = actorName
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.details = details
        self.clientAddress = clientAddress
    }
}
