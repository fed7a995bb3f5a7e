import Foundation
import Hummingbird
import Logging
import SMSStore

/// Sign-in, sign-out and "who am I".
struct AuthController {
    let storage: Storage
    let config: AppConfig

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct LoginResponse: Encodable, Sendable {
        var csrfToken: String
        var user: UserDTO
    }

    /// A bcrypt hash of a random password, checked when the user does not
    /// exist so that the answer takes as long as for a real user.
    let decoyHash: String

    init(storage: Storage, config: AppConfig) async throws {
        self.storage = storage
        self.config = config
        decoyHash = try await Secrets.hashPassword(Secrets.generatePassword(), cost: config.bcryptCost)
    }

    func addRoutes(to routes: APIRoutes) {
        let loginResponse = JSONSchema.object([("csrfToken", .string()), ("user", UserDTO.schema)], required: ["csrfToken", "user"])
        routes.group(.open).on(.post, "/api/v1/auth/login", RouteDoc(
            "Sign in with user name and password; sets the session cookie", tag: "auth",
            request: .object([("username", .string()), ("password", .string())], required: ["username", "password"]),
            response: loginResponse), use: login)
        let people = routes.group(.people)
        people.on(.post, "/api/v1/auth/logout", RouteDoc("End this session", tag: "auth", status: 204), use: logout)
        people.on(.get, "/api/v1/me", RouteDoc("The signed-in user and the session's CSRF token", tag: "auth",
                                               response: loginResponse), use: me)
        people.on(.put, "/api/v1/me/preferences", RouteDoc(
            "Set the signed-in user's web UI language and time zone (null: follow the browser)", tag: "auth",
            request: .object([("locale", .nullable(.enumeration(UserPreferences.languages))),
                              ("timeZone", .nullable(.string(description: "IANA time zone, e.g. Europe/Madrid")))],
                             required: []),
            response: .object([("user", UserDTO.schema)], required: ["user"])), use: setPreferences)
    }

    struct PreferencesRequest: Decodable {
        var locale: String?
        var timeZone: String?
    }

    struct UserEnvelope: Encodable, Sendable { var user: UserDTO }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<LoginResponse> {
        let body = try await request.decodeJSON(LoginRequest.self, context: context)
        let now = Date()
        let username = body.username.trimmingCharacters(in: .whitespaces).lowercased()
        let keys = ["user:\(username)"] + (context.clientAddress.map { ["address:\($0)"] } ?? [])
        let throttle = config.loginThrottle

        var wait: Int?
        for key in keys {
            if let seconds = throttle.retryAfter(try await storage.loginFailures.failures(key: key), now: now) {
                wait = max(wait ?? 0, seconds)
            }
        }
        if let wait {
            context.logger.notice("sign-in throttled", metadata: ["username": "\(username)", "retryAfter": "\(wait)"])
            throw APIError(status: .tooManyRequests, code: "too_many_attempts",
                           message: "too many failed sign-in attempts; try again in \(wait) seconds", retryAfter: wait)
        }

        let found = try await storage.users.credentials(username: username)
        let valid = try await Secrets.verifyPassword(body.password, hash: found?.passwordHash ?? decoyHash)
        guard let found, valid else {
            for key in keys {
                _ = try await storage.loginFailures.recordFailure(key: key, at: now, resetAfter: throttle.forgetAfter)
            }
            context.logger.notice("sign-in failed", metadata: ["username": "\(username)", "address": "\(context.clientAddress ?? "-")"])
            throw APIError(status: .unauthorized, code: "invalid_credentials", message: "wrong user name or password")
        }
        guard !found.user.disabled else {
            throw APIError(status: .forbidden, code: "account_disabled", message: "this account is disabled")
        }
        try await storage.loginFailures.reset(key: "user:\(username)")

        let token = Secrets.randomToken()
        let csrf = Secrets.randomToken()
        try await storage.sessions.create(Session(
            tokenHash: Secrets.sha256Hex(token), userID: found.user.id, csrfToken: csrf, createdAt: now, lastSeenAt: now,
            expiresAt: now.addingTimeInterval(config.sessionIdleTimeout), clientAddress: context.clientAddress,
            userAgent: request.headers[.userAgent].map { String($0.prefix(300)) }))
        try await storage.audit.append(AuditEntry(
            at: now, actorUserID: found.user.id, actorName: found.user.username, action: "auth.login",
            clientAddress: context.clientAddress))
        context.logger.info("signed in", metadata: ["user": "\(found.user.id)"])
        return JSONResponse(LoginResponse(csrfToken: csrf, user: UserDTO(found.user)),
                            cookies: [SessionCookie.make(token: token, secure: config.secureCookies)])
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        if case .session(let tokenHash, _) = principal.credential {
            try await storage.sessions.delete(tokenHash: tokenHash)
        }
        var response = Response(status: .noContent)
        response.setCookie(SessionCookie.expired(secure: config.secureCookies))
        return response
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<LoginResponse> {
        let (principal, user) = try context.requireUser()
        guard case .session(_, let csrf) = principal.credential else { throw APIError.forbidden }
        return JSONResponse(LoginResponse(csrfToken: csrf, user: UserDTO(user)))
    }

    /// Saves the caller's own preferences: a missing or null field clears that preference.
    @Sendable func setPreferences(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<UserEnvelope> {
        let (_, user) = try context.requireUser()
        let body = try await request.decodeJSON(PreferencesRequest.self, context: context)
        let preferences = try UserPreferences(locale: body.locale, timeZone: body.timeZone)
        let updated = try await storage.users.update(
            id: user.id, UserChanges(locale: .some(preferences.locale), timeZone: .some(preferences.timeZone)), at: Date())
        return JSONResponse(UserEnvelope(user: UserDTO(updated)))
    }
}
