import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A provider's HTTP answer, read whole.
public struct ProviderHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The body as a JSON object, or nil when it is not one.
    public var jsonObject: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// Sends requests to providers through AsyncHTTPClient and classifies what
/// went wrong on the way: every transport failure (refused, reset, timeout,
/// truncated body) is retryable, since the provider may not have seen it.
public struct ProviderHTTP: Sendable {
    public let client: HTTPClient
    /// Largest answer read from a provider.
    public static let maximumBody = 1 << 20

    public init(client: HTTPClient) { self.client = client }

    public func send(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     timeout: TimeInterval) async throws -> ProviderHTTPResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = TimeAmount.milliseconds(Int64(timeout * 1000))
        do {
            let response = try await client.execute(request, timeout: deadline)
            let buffer = try await response.body.collect(upTo: Self.maximumBody)
            return ProviderHTTPResponse(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw ProviderError(.retryable, code: "timeout", text: "no answer from \(Self.host(url)) within \(Int(timeout)) s")
        } catch let error as NIOTooManyBytesError {
            throw ProviderError(.retryable, code: "body_too_large", text: "answer larger than \(error.maxBytes ?? Self.maximumBody) bytes")
        } catch {
            throw ProviderError(.retryable, code: "transport", text: "cannot reach \(Self.host(url)): \(Self.describe(error))")
        }
    }

    /// The retryable/permanent class of an HTTP status that is not a success:
    /// 408, 425, 429 and 5xx are retryable; other statuses are permanent.
    public static func kind(ofFailureStatus status: Int) -> ProviderError.Kind {
        (status == 408 || status == 425 || status == 429 || status >= 500) ? .retryable : .permanent
    }

    /// `Basic base64(user:password)`.
    public static func basicAuthorization(user: String, password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func host(_ url: String) -> String { URLComponents(string: url)?.host ?? "the provider" }

    static func describe(_ error: any Error) -> String {
        // Never include the request: its URL or body may carry credentials.
        if let error = error as? HTTPClientError { return "\(error)" }
        if let error = error as? IOError { return "connection failed (\(error.description))" }
        return String(describing: type(of: error))
    }
}
