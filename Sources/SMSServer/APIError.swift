import Foundation
import Hummingbird

/// An error answered to an API client as
/// `{"error": {"code", "message", "field"?, "retryAfter"?}}`.
public struct APIError: HTTPResponseError, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    public var retryAfter: Int?

    public init(status: HTTPResponse.Status, code: String, message: String, field: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    public static func validation(field: String, _ message: String) -> APIError {
        APIError(status: .badRequest, code: "validation", message: message, field: field)
    }
    public static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_request", message: message)
    }
    public static func conflict(field: String, _ message: String) -> APIError {
        APIError(status: .conflict, code: "conflict", message: message, field: field)
    }
    public static func notFound(_ message: String) -> APIError {
        APIError(status: .notFound, code: "not_found", message: message)
    }
    public static let unauthenticated = APIError(status: .unauthorized, code: "unauthenticated", message: "sign in first")
    public static let forbidden = APIError(status: .forbidden, code: "forbidden", message: "your role may not do this")
    public static let csrf = APIError(
        status: .forbidden, code: "csrf", message: "missing or wrong X-CSRF-Token header for a session request")

    struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var field: String?
            var retryAfter: Int?
        }
        var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(code: code, message: message, field: field, retryAfter: retryAfter))
        let data = try JSONEncoder().encode(body)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
