import Foundation
import Hummingbird
import SMSStore

/// Turns every error into the API's JSON error shape. Store errors map to
/// statuses; anything unexpected is logged and answered as a bare 500 that
/// leaks no internals.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            throw APIError(status: error.status, code: Self.code(for: error.status), message: error.body ?? error.status.reasonPhrase)
        } catch let error as ConversationError {
            throw error.apiError
        } catch let error as StoreError {
            switch error {
            case .conflict(let field, let message): throw APIError.conflict(field: field, message)
            case .notFound(let what): throw APIError.notFound("\(what) not found")
            default:
                context.logger.error("storage error", metadata: ["error": "\(error)", "path": "\(Self.loggable(request.uri.path))"])
                throw APIError(status: .internalServerError, code: "internal", message: "internal error")
            }
        } catch let error as DecodingError {
            throw APIError.badRequest("request body is not valid: \(Self.describe(error))")
        } catch is CancellationError {
            throw APIError(status: .serviceUnavailable, code: "unavailable", message: "the server is shutting down")
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(Self.loggable(request.uri.path))"])
            throw APIError(status: .internalServerError, code: "internal", message: "internal error")
        }
    }

    /// A path fit for logs: webhook tokens and the legacy send's parameters (which may hold an API key) are cut.
    static func loggable(_ path: String) -> String {
        if path.hasPrefix(AuthenticationMiddleware.legacyGetPrefix) { return AuthenticationMiddleware.legacyGetPrefix + "…" }
        if path.hasPrefix("/webhooks/") { return path.split(separator: "/").prefix(2).map { "/" + $0 }.joined() + "/…" }
        return path
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "invalid_request"
        case 401: "unauthenticated"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 413: "too_large"
        case 429: "too_many_requests"
        default: status.code >= 500 ? "internal" : "error"
        }
    }

    /// Names the field a decoding error is about, without echoing the body.
    /// The JSON path of the field a decoding error is about (`to`, `schedule.weekly.0.start`); nil for the body itself.
    static func field(of error: DecodingError) -> String? {
        let path: [any CodingKey]
        switch error {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        @unknown default: path = []
        }
        return path.isEmpty ? nil : path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    /// A 400 for a JSON body that does not decode, naming the field.
    static func invalidBody(_ error: DecodingError) -> APIError {
        APIError(status: .badRequest, code: "invalid_request", message: "request body is not valid: \(describe(error))",
                 field: field(of: error))
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map(\.stringValue).joined(separator: ".")
            return p.isEmpty ? "body" : "field \(p)"
        }
        switch error {
        case .keyNotFound(let key, let context):
            let prefix = context.codingPath.map(\.stringValue) + [key.stringValue]
            return "field \(prefix.joined(separator: ".")) is required"
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) must not be null"
        case .dataCorrupted(let context): return "\(path(context)) is not valid JSON"
        @unknown default: return "invalid JSON"
        }
    }
}
