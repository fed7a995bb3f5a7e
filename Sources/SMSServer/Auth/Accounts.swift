import Foundation
import SMSStore

/// Account operations shared by the HTTP API and the CLI.
public struct Accounts: Sendable {
    public let storage: Storage
    public let bcryptCost: UInt8

    public init(storage: Storage, bcryptCost: UInt8) {
        self.storage = storage
        self.bcryptCost = bcryptCost
    }

    /// User names: 3–32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit.
    public static func validateUsername(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard (3...32).contains(name.count) else {
            throw APIError.validation(field: "username", "user name must have 3 to 32 characters")
        }
        guard name.allSatisfy({ allowed.contains($0) }) else {
            throw APIError.validation(field: "username", "user name may only contain a-z, 0-9, '.', '_' and '-' (lower case)")
        }
        guard let first = name.first, first.isLetter || first.isNumber else {
            throw APIError.validation(field: "username", "user name must start with a letter or a digit")
        }
    }

    /// Creates a person with a generated password, returned once.
    public func createUser(username: String, displayName: String?, role: Role, at now: Date = Date()) async throws -> (User, String) {
        try Self.validateUsername(username)
        guard Role.personRoles.contains(role) else {
            throw APIError.validation(field: "role", "role must be admin, supervisor or agent")
        }
        let password = Secrets.generatePassword()
        let hash = try await Secrets.hashPassword(password, cost: bcryptCost)
        do {
            let user = try await storage.users.create(
                username: username, displayName: displayName ?? username, role: role, passwordHash: hash, at: now)
            return (user, password)
        } catch let StoreError.conflict(_, message) {
            throw APIError.conflict(field: "username", message)
        }
    }

    /// On a database with no users, creates `admin` with a random password and
    /// returns it (to be shown once); nil when users exist.
    public func bootstrapAdmin(at now: Date = Date()) async throws -> String? {
        guard try await storage.users.count() == 0 else { return nil }
        do {
            let (_, password) = try await createUser(username: "admin", displayName: "Administrator", role: .admin, at: now)
            try await storage.audit.append(AuditEntry(at: now, actorUserID: nil, actorName: "system", action: "user.bootstrap_admin",
                                                      targetType: "user", targetID: "admin"))
            return password
        } catch let error as APIError where error.code == "conflict" {
            return nil  // another node created it first
        }
    }

    /// Sets a new generated password and ends the user's sessions; returns the password once.
    public func resetPassword(userID: Int64, at now: Date = Date()) async throws -> String {
        let password = Secrets.generatePassword()
        let hash = try await Secrets.hashPassword(password, cost: bcryptCost)
        do {
            try await storage.users.setPasswordHash(id: userID, hash, at: now)
        } catch StoreError.notFound {
            throw APIError.notFound("user \(userID) does not exist")
        }
        try await storage.sessions.deleteAll(userID: userID)
        return password
    }

    /// Creates an API key for an integration; the key is returned once.
    public func createAPIKey(name: String, createdBy: Int64?, at now: Date = Date()) async throws -> (APIKey, String) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(trimmed.count) else {
            throw APIError.validation(field: "name", "API key name must have 1 to 100 characters")
        }
        let key = "smsk_" + Secrets.randomToken(length: 40)
        let apiKey = try await storage.apiKeys.create(
            name: trimmed, prefix: String(key.prefix(12)), keyHash: Secrets.sha256Hex(key), role: .integration,
            createdBy: createdBy, at: now)
        return (apiKey, key)
    }
}
