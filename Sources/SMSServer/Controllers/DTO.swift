import Foundation
import Hummingbird
import SMSStore

/// A user as the API shows it (never with the password hash).
struct UserDTO: Codable, Sendable {
    var id: Int64
    var username: String
    var displayName: String
    var role: String
    var disabled: Bool
    /// The web UI language the user chose (`en`, `es`, `it`); nil: follow the browser.
    var locale: String?
    /// The IANA time zone the UI shows times in; nil: the browser's.
    var timeZone: String?
    /// An admin allows supervisors to watch this agent's screen live (SPEC S3).
    var monitorScreenAllowed: Bool
    var createdAt: Date

    init(_ user: User) {
        id = user.id
        username = user.username
        displayName = user.displayName
        role = user.role.rawValue
        disabled = user.disabled
        locale = user.locale
        timeZone = user.timeZone
        monitorScreenAllowed = user.monitorScreenAllowed
        createdAt = user.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, username, displayName, role, disabled, locale, timeZone, monitorScreenAllowed, createdAt
    }

    /// Written by hand so that an unset preference is an explicit `null`, not a missing key.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(username, forKey: .username)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(role, forKey: .role)
        try c.encode(disabled, forKey: .disabled)
        try c.encode(locale, forKey: .locale)
        try c.encode(timeZone, forKey: .timeZone)
        try c.encode(monitorScreenAllowed, forKey: .monitorScreenAllowed)
        try c.encode(createdAt, forKey: .createdAt)
    }

    static let schema = JSONSchema.object([
        ("id", .integer), ("username", .string()), ("displayName", .string()),
        ("role", .enumeration(Role.personRoles.map(\.rawValue))), ("disabled", .boolean),
        ("locale", .nullable(.enumeration(UserPreferences.languages))),
        ("timeZone", .nullable(.string(description: "IANA time zone, e.g. America/Montevideo"))),
        ("monitorScreenAllowed", .boolean), ("createdAt", .string(format: "date-time")),
    ], required: ["id", "username", "displayName", "role", "disabled", "locale", "timeZone", "monitorScreenAllowed", "createdAt"])
}

/// An API key as the API shows it (never the key or its hash).
struct APIKeyDTO: Codable, Sendable {
    var id: Int64
    var name: String
    var prefix: String
    var createdAt: Date
    var lastUsedAt: Date?
    var revokedAt: Date?

    init(_ key: APIKey) {
        id = key.id
        name = key.name
        prefix = key.prefix
        createdAt = key.createdAt
        lastUsedAt = key.lastUsedAt
        revokedAt = key.revokedAt
    }

    // Nulls are written out so clients see every field.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(prefix, forKey: .prefix)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastUsedAt, forKey: .lastUsedAt)
        try c.encode(revokedAt, forKey: .revokedAt)
    }

    static let schema = JSONSchema.object([
        ("id", .integer), ("name", .string()), ("prefix", .string()),
        ("createdAt", .string(format: "date-time")), ("lastUsedAt", .nullable(.string(format: "date-time"))),
        ("revokedAt", .nullable(.string(format: "date-time"))),
    ], required: ["id", "name", "prefix", "createdAt", "lastUsedAt", "revokedAt"])
}

extension Request {
    /// Decodes a JSON body, answering 400 with the offending field when it does not fit.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: AppRequestContext) async throws -> T {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw ErrorMiddleware.invalidBody(error)
        } catch {
            // A value that decodes but is not valid (e.g. a schedule whose range is reversed).
            throw APIError.badRequest("request body is not valid: \(error)")
        }
    }
}

/// Answers an empty 204.
struct NoContent: ResponseGenerator {
    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .noContent)
    }
}

/// Encodes a value as JSON with ISO-8601 dates and a chosen status.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var value: Value
    var cookies: [Cookie] = []

    init(_ value: Value, status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) {
        self.value = value
        self.status = status
        self.cookies = cookies
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        var response = Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }
}
