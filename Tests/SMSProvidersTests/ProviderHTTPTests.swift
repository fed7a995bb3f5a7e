import AsyncHTTPClient
import Foundation
import SMSProviders
import Testing

@Suite("Provider HTTP transport")
struct ProviderHTTPTests {
    @Test("a refused connection is a retryable transport error")
    func refused() async throws {
        let port = try RawTCPServer.closedPort()
        let http = ProviderHTTP(client: .shared)
        do {
            _ = try await http.send(method: .GET, url: "http://127.0.0.1:\(port)/x", timeout: 2)
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .retryable)
            #expect(error.code == "transport")
        }
    }

    @Test("no answer within the timeout is a retryable timeout")
    func timeout() async throws {
        try await MockHTTPServer.with(respond: { _ in MockResponse(status: 200, delay: .seconds(3)) }) { base, _ in
            do {
                _ = try await ProviderHTTP(client: .shared).send(method: .GET, url: base + "/slow", timeout: 0.5)
                Issue.record("no error")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
                #expect(error.code == "timeout")
            }
        }
    }

    @Test("a truncated answer is a retryable transport error")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{\"sid\":".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            do {
                let response = try await ProviderHTTP(client: .shared).send(method: .GET, url: base + "/", timeout: 2)
                Issue.record("no error, got \(response.status)")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
            }
        }
    }

    @Test("statuses 408, 425, 429 and 5xx are retryable; other failures permanent")
    func statusKinds() {
        #expect([408, 425, 429, 500, 502, 503].allSatisfy { ProviderHTTP.kind(ofFailureStatus: $0) == .retryable })
        #expect([400, 401, 403, 404, 409, 422].allSatisfy { ProviderHTTP.kind(ofFailureStatus: $0) == .permanent })
    }
}
