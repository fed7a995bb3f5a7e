import Foundation
import Hummingbird
import SMSConversations
import SMSStore

/// The admin's user management: list, create, change role, disable, reset
/// password, end sessions. Every change is written to the audit log.
struct UserController {
    let storage: Storage
    /// Tells the ended sessions' live sockets to close at once (`session.ended`).
    var events: ConversationEvents = .disabled
    let accounts: Accounts

    struct CreateRequest: Decodable {
        var username: String
        var role: String
        var displayName: String?
    }

    struct UpdateRequest: Decodable {
        var role: String?
        var displayName: String?
        var disabled: Bool?
        /// Absent: unchanged; null: cleared (follow the browser).
        var locale: String??
        var timeZone: String??
        var monitorScreenAllowed: Bool?

        enum CodingKeys: String, CodingKey { case role, displayName, disabled, locale, timeZone, monitorScreenAllowed }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            role = try c.decodeIfPresent(String.self, forKey: .role)
            displayName = try c.decodeIfPresent(String.self, forKey: .displayName)
            disabled = try c.decodeIfPresent(Bool.self, forKey: .disabled)
            locale = try c.decodeClearable(String.self, forKey: .locale)
            timeZone = try c.decodeClearable(String.self, forKey: .timeZone)
            monitorScreenAllowed = try c.decodeIfPresent(Bool.self, forKey: .monitorScreenAllowed)
        }
    }

    struct UserList: Encodable, Sendable { var users: [UserDTO] }
    struct UserEnvelope: Encodable, Sendable { var user: UserDTO }
    struct CreatedUser: Encodable, Sendable {
        var user: UserDTO
        var password: String
    }
    struct NewPassword: Encodable, Sendable { var password: String }

    func addRoutes(to routes: APIRoutes) {
        let admin = routes.group(.admin)
        admin.on(.get, "/api/v1/users", RouteDoc("List users", tag: "users",
            response: .object([("users", .array(UserDTO.schema))], required: ["users"])), use: list)
        admin.on(.post, "/api/v1/users", RouteDoc("Create a user; the generated password is in the answer, once", tag: "users",
            request: .object([("username", .string()), ("role", .enumeration(Role.personRoles.map(\.rawValue))),
                              ("displayName", .string())], required: ["username", "role"]),
            status: 201, response: .object([("user", UserDTO.schema), ("password", .string())], required: ["user", "password"])),
            use: create)
        admin.on(.patch, "/api/v1/users/{id}", RouteDoc(
            "Change a user's role, display name, disabled flag, UI language or time zone (null clears those two), or whether "
                + "supervisors may watch their screen (monitorScreenAllowed, SPEC S3)", tag: "users",
            request: .object([("role", .string()), ("displayName", .string()), ("disabled", .boolean), ("monitorScreenAllowed", .boolean),
                              ("locale", .nullable(.enumeration(UserPreferences.languages))),
                              ("timeZone", .nullable(.string(description: "IANA time zone")))], required: []),
            response: .object([("user", UserDTO.schema)], required: ["user"])), use: update)
        admin.on(.post, "/api/v1/users/{id}/password", RouteDoc(
            "Reset a user's password (ends their sessions); the new password is in the answer, once", tag: "users",
            response: .object([("password", .string())], required: ["password"])), use: resetPassword)
        admin.on(.post, "/api/v1/users/{id}/sessions/end", RouteDoc("End all sessions of a user", tag: "users", status: 204),
                 use: endSessions)
    }

    static func role(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text), Role.personRoles.contains(role) else {
            throw APIError.validation(field: "role", "role must be admin, supervisor or agent")
        }
        return role
    }

    static func id(_ context: AppRequestContext) throws -> Int64 {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.validation(field: "id", "user id must be a number")
        }
        return id
    }

    func audit(_ context: AppRequestContext, _ action: String, user: Int64, details: String? = nil) async throws {
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: action,
            targetType: "user", targetID: String(user), details: details, clientAddress: context.clientAddress))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<UserList> {
        JSONResponse(UserList(users: try await storage.users.list().map(UserDTO.init)))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CreatedUser> {
        let body = try await request.decodeJSON(CreateRequest.self, context: context)
        let role = try Self.role(body.role)
        let displayName = body.displayName?.trimmingCharacters(in: .whitespaces)
        let (user, password) = try await accounts.createUser(
            username: body.username, displayName: displayName?.isEmpty == false ? displayName : nil, role: role)
        try await audit(context, "user.create", user: user.id, details: "role=\(role.rawValue)")
        return JSONResponse(CreatedUser(user: UserDTO(user), password: password), status: .created)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<UserEnvelope> {
        let id = try Self.id(context)
        let body = try await request.decodeJSON(UpdateRequest.self, context: context)
        let (_, me) = try context.requireUser()
        var changes = UserChanges()
        if let role = body.role { changes.role = try Self.role(role) }
        if let name = body.displayName {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard (1...100).contains(trimmed.count) else {
                throw APIError.validation(field: "displayName", "display name must have 1 to 100 characters")
            }
            changes.displayName = trimmed
        }
        changes.disabled = body.disabled
        changes.monitorScreenAllowed = body.monitorScreenAllowed
        if let locale = body.locale { changes.locale = .some(try UserPreferences.checkedLocale(locale)) }
        if let timeZone = body.timeZone { changes.timeZone = .some(try UserPreferences.checkedTimeZone(timeZone)) }
        if id == me.id {
            if changes.disabled == true {
                throw APIError.validation(field: "disabled", "you cannot disable your own account")
            }
            if let role = changes.role, role != .admin {
                throw APIError.validation(field: "role", "you cannot remove your own admin role")
            }
        }
        let user = try await storage.users.update(id: id, changes, at: Date())
        if changes.disabled == true {
            try await storage.sessions.deleteAll(userID: id)
            await events.sessionEnded(of: id, at: Date())
        }
        var details: [String] = []
        if let role = changes.role { details.append("role=\(role.rawValue)") }
        if let disabled = changes.disabled { details.append("disabled=\(disabled)") }
        if let allowed = changes.monitorScreenAllowed { details.append("monitorScreenAllowed=\(allowed)") }
        if changes.displayName != nil { details.append("displayName changed") }
        if let locale = changes.locale { details.append("locale=\(locale ?? "null")") }
        if let timeZone = changes.timeZone { details.append("timeZone=\(timeZone ?? "null")") }
        try await audit(context, "user.update", user: id, details: details.joined(separator: " "))
        return JSONResponse(UserEnvelope(user: UserDTO(user)))
    }

    @Sendable func resetPassword(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<NewPassword> {
        let id = try Self.id(context)
        let password = try await accounts.resetPassword(userID: id)
        await events.sessionEnded(of: id, at: Date())
        try await audit(context, "user.reset_password", user: id)
        return JSONResponse(NewPassword(password: password))
    }

    @Sendable func endSessions(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        let id = try Self.id(context)
        guard try await storage.users.user(id: id) != nil else { throw APIError.notFound("user \(id) does not exist") }
        let ended = try await storage.sessions.deleteAll(userID: id)
        await events.sessionEnded(of: id, at: Date())
        try await audit(context, "user.end_sessions", user: id, details: "ended=\(ended)")
        return NoContent()
    }
}
