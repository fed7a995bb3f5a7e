import AsyncHTTPClient
import Foundation
import SMSCore
import SMSProviders
import Testing

@Suite("HTTP Digest authentication")
struct DigestAuthTests {
    /// The fixture's challenge, as the gateway sends it.
    static func fixtureChallenge() throws -> DigestChallenge {
        let exchange = try FixtureFile("dinstar").exchange("auth.digest_challenge")
        let header = try #require(exchange.responseHeaders["WWW-Authenticate"])
        return try #require(AuthenticationChallenge.parse(header).compactMap(DigestChallenge.init).first)
    }

    @Test("the fixture's WWW-Authenticate parses to realm, qop, nonce and opaque with MD5")
    func parsesFixtureChallenge() throws {
        #expect(try Self.fixtureChallenge() == DigestChallenge(
            realm: "Web Server", nonce: "0ef4291683b2e29974c078f47dc910f7", opaque: "5ccc069c403ebaf9f0171e9517f40e41",
            algorithm: .md5, qop: ["auth"], stale: false))
    }

    @Test("every Authorization header of the fixture is reproduced exactly from its challenge, uri and cnonce",
          arguments: ["send_sms.accepted", "send_sms.template_batch", "send_sms.rejected_400", "query_sms_result",
                      "query_sms_deliver_status", "query_incoming_sms", "query_sms_queue", "stop_sms"])
    func reproducesFixtureHeaders(_ id: String) throws {
        let exchange = try FixtureFile("dinstar").exchange(id)
        let want = try #require(exchange.requestHeaders["Authorization"])
        let sent = try #require(AuthenticationChallenge.parse(want).first).parameters
        let got = DigestAuth.authorization(
            challenge: try Self.fixtureChallenge(), method: exchange.method, uri: try #require(sent["uri"]),
            username: "admin", password: "admin", cnonce: "UGO58uRk", nonceCount: 1)
        #expect(got == want)
    }

    @Test("a one-character change of password, nonce, uri or cnonce changes the response")
    func oneCharacterChangeFails() throws {
        let challenge = try Self.fixtureChallenge()
        func response(password: String = "admin", nonce: String? = nil, uri: String = "/api/send_sms",
                      cnonce: String = "UGO58uRk") -> String {
            var c = challenge
            if let nonce { c.nonce = nonce }
            return DigestAuth.response(challenge: c, method: "POST", uri: uri, username: "admin", password: password,
                                       cnonce: cnonce, nonceCount: 1)
        }
        #expect(response() == "b9f8dcd33686e5bb6dbeefc1add4e9ca")
        #expect(response(password: "admin1") != response())
        #expect(response(nonce: "1ef4291683b2e29974c078f47dc910f7") != response())
        #expect(response(uri: "/api/send_smS") != response())
        #expect(response(cnonce: "UGO58uRK") != response())
    }

    @Test("RFC 2617 §3.5 example (Mufasa, qop=auth, MD5)")
    func rfc2617Vector() {
        let challenge = DigestChallenge(realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                                        opaque: "5ccc069c403ebaf9f0171e9517f40e41", qop: ["auth", "auth-int"])
        #expect(DigestAuth.response(challenge: challenge, method: "GET", uri: "/dir/index.html", username: "Mufasa",
                                    password: "Circle Of Life", cnonce: "0a4f113b", nonceCount: 1)
            == "6629fae49393a05397450978507c4ef1")
    }

    @Test("RFC 7616 §3.9.1 examples (MD5 and SHA-256)")
    func rfc7616Vectors() {
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
        for (algorithm, want) in [(DigestChallenge.Algorithm.md5, "8ca523f5e9506fed4657c9700eebdbec"),
                                  (.sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")] {
            let challenge = DigestChallenge(realm: "http-auth@example.org", nonce: nonce,
                                            opaque: "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", algorithm: algorithm)
            #expect(DigestAuth.response(challenge: challenge, method: "GET", uri: "/dir/index.html", username: "Mufasa",
                                        password: "Circle of Life", cnonce: cnonce, nonceCount: 1) == want)
        }
    }

    @Test("MD5-sess, auth-int and RFC 2069 (no qop) responses match independently computed values")
    func otherModes() {
        let base = DigestChallenge(realm: "testrealm@host.com", nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093")
        func response(_ challenge: DigestChallenge, method: String = "GET", nc: Int = 1, body: [UInt8] = []) -> String {
            DigestAuth.response(challenge: challenge, method: method, uri: "/dir/index.html", username: "Mufasa",
                                password: "Circle Of Life", cnonce: "0a4f113b", nonceCount: nc, body: body)
        }
        var session = base
        session.algorithm = .md5Session
        #expect(response(session) == "8e3825c57e897f5a0dec6c2d4e5059d0")
        var integrity = base
        integrity.qop = ["auth-int"]
        #expect(response(integrity, method: "POST", nc: 2, body: Array(#"{"a":1}"#.utf8)) == "9fb8d29b247be2bf9e41deac1a4dc7d6")
        var legacy = base
        legacy.qop = []
        #expect(response(legacy) == "670fd8c2df070c60b045671b8b24ff02")
        let header = DigestAuth.authorization(challenge: legacy, method: "GET", uri: "/dir/index.html", username: "Mufasa",
                                              password: "Circle Of Life", cnonce: "0a4f113b", nonceCount: 1)
        #expect(!header.contains("qop=") && !header.contains("nc=") && !header.contains("cnonce="))
    }

    @Test("WWW-Authenticate with several challenges, escaped quotes and commas in values")
    func parsesSeveralChallenges() throws {
        let challenges = AuthenticationChallenge.parse(
            #"Basic realm="a, b", Digest realm="say \"hi\"", qop="auth,auth-int", nonce=abc, algorithm=SHA-256, stale=TRUE"#)
        #expect(challenges.map(\.scheme) == ["Basic", "Digest"])
        #expect(challenges.first?.parameters == ["realm": "a, b"])
        let digest = try #require(challenges.compactMap(DigestChallenge.init).first)
        #expect(digest == DigestChallenge(realm: #"say "hi""#, nonce: "abc", algorithm: .sha256, qop: ["auth", "auth-int"],
                                          stale: true))
        #expect(AuthenticationChallenge.parse(#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#)
            .compactMap(DigestChallenge.init).isEmpty)
    }

    @Test("a quoted username is escaped; a query string is part of the digest uri")
    func escapingAndTarget() {
        let header = DigestAuth.authorization(challenge: DigestChallenge(realm: "r", nonce: "n"), method: "GET", uri: "/",
                                              username: #"a"b\c"#, password: "p", cnonce: "c", nonceCount: 1)
        #expect(header.contains(#"username="a\"b\\c""#))
        #expect(DigestAuth.requestTarget(of: "http://gw:8080/api/query_incoming_sms?flag=all&incoming_sms_id=4")
            == "/api/query_incoming_sms?flag=all&incoming_sms_id=4")
        #expect(DigestAuth.requestTarget(of: "http://gw") == "/")
    }
}

@Suite("Dinstar provider")
struct DinstarProviderTests {
    static let nonce = "0ef4291683b2e29974c078f47dc910f7"
    static let opaque = "5ccc069c403ebaf9f0171e9517f40e41"

    static func provider(url: String, password: String = "admin", ports: String? = nil,
                         encoding: SMSEncodingSetting = .auto, settings: [String: String] = ["time_zone": "UTC"],
                         timeout: TimeInterval = 5) throws -> DinstarProvider {
        try DinstarProvider(
            config: ProviderConfig(type: .dinstarWeb, url: url, username: "admin", secret: password, ports: ports,
                                   encoding: encoding, settings: settings, timeout: timeout),
            http: ProviderHTTP(client: .shared))
    }

    /// The parameters of a Digest `Authorization` header.
    static func digestParameters(_ header: String?) -> [String: String]? {
        guard let header, let first = AuthenticationChallenge.parse(header).first, first.scheme == "Digest" else { return nil }
        return first.parameters
    }

    /// Whether `request` carries a correct Digest answer to the fixture's challenge (user admin/admin) for its own method and target.
    static func isAuthenticated(_ request: RecordedRequest, nonce: String = nonce) -> Bool {
        guard let sent = digestParameters(request.header("Authorization")), sent["username"] == "admin",
              sent["realm"] == "Web Server", sent["nonce"] == nonce, sent["opaque"] == opaque, sent["qop"] == "auth",
              let cnonce = sent["cnonce"], let nc = sent["nc"].flatMap({ Int($0, radix: 16) })
        else { return false }
        let target = request.path + (request.query.map { "?" + $0 } ?? "")
        guard sent["uri"] == target else { return false }
        let challenge = DigestChallenge(realm: "Web Server", nonce: nonce, opaque: opaque)
        return sent["response"] == DigestAuth.response(challenge: challenge, method: request.method, uri: target,
                                                        username: "admin", password: "admin", cnonce: cnonce, nonceCount: nc)
    }

    /// A gateway that challenges like the fixture and answers each correctly authenticated request with `answer`.
    static func gateway(_ answer: @escaping @Sendable (RecordedRequest) -> MockResponse) throws
        -> @Sendable (RecordedRequest) async -> MockResponse
    {
        let challenge = MockResponse.fixture(try FixtureFile("dinstar").exchange("auth.digest_challenge"))
        return { request in isAuthenticated(request) ? answer(request) : challenge }
    }

    static func fixtureAnswer(_ id: String) throws -> MockResponse { .fixture(try FixtureFile("dinstar").exchange(id)) }

    static func json(_ text: String) -> MockResponse { .text(200, text, contentType: "application/json") }

    /// Sends `message` through a Digest-protected mock gateway; the result and every request it received.
    static func send(_ message: OutgoingSMS, answer: MockResponse, ports: String? = nil, encoding: SMSEncodingSetting = .auto)
        async throws -> (Result<SendReceipt, ProviderError>, [RecordedRequest])
    {
        try await MockHTTPServer.with(respond: try gateway { _ in answer }) { base, server in
            let provider = try Self.provider(url: base, ports: ports, encoding: encoding)
            do {
                return (.success(try await provider.send(message)), server.requests)
            } catch let error as ProviderError {
                return (.failure(error), server.requests)
            }
        }
    }

    static func webhookRequest(_ exchange: Exchange) -> WebhookRequest {
        WebhookRequest(method: exchange.method, url: exchange.fullURL ?? "https://desk.example.com\(exchange.path)?token=t",
                       headers: exchange.requestHeaders.map { (name: $0.key, value: $0.value) },
                       body: exchange.requestBody.bytes)
    }

    static func jsonRequest(_ json: String) -> WebhookRequest {
        WebhookRequest(method: "POST", url: "https://desk.example.com/webhooks/dinstar?token=t",
                       headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    static func utc(_ text: String) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text)!
    }

    // MARK: Authentication

    @Test("the first request goes without credentials, gets the Digest challenge and is repeated with a correct answer")
    func digestHandshake() async throws {
        let file = try FixtureFile("dinstar")
        let challengeExchange = try file.exchange("auth.digest_challenge")
        let accepted = try file.exchange("send_sms.accepted")
        let message = OutgoingSMS(reference: "1001", destination: "5215512345678", text: "Su ticket 4711 fue actualizado", port: 0)
        let (result, requests) = try await Self.send(message, answer: .fixture(accepted), encoding: .ucs2)
        #expect(requests.count == 2)
        // The unauthenticated first try (the fixture's body there is a shorter example).
        #expect(requests.first?.header("Authorization") == nil)
        #expect(requests.first?.method == challengeExchange.method)
        #expect(requests.first?.path == challengeExchange.path)
        // The answer to the challenge: the fixture's header but for the client's own cnonce.
        let retry = try #require(requests.last)
        #expect(Self.isAuthenticated(retry))
        var want = try #require(Self.digestParameters(accepted.requestHeaders["Authorization"]))
        var got = try #require(Self.digestParameters(retry.header("Authorization")))
        for key in ["cnonce", "response"] {
            want[key] = nil
            got[key] = nil
        }
        #expect(got == want)
        #expect(requests.first?.body == retry.body)
        #expect(try result.get().providerMessageID == "1001")
    }

    @Test("later requests reuse the challenge without a new round trip, counting nc up")
    func reusesChallenge() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let requests = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, server in
            let provider = try Self.provider(url: base)
            for reference in ["1", "2", "3"] {
                _ = try await provider.send(OutgoingSMS(reference: reference, destination: "5215512345678", text: "hola"))
            }
            return server.requests
        }
        #expect(requests.count == 4)
        #expect(requests.dropFirst().allSatisfy { Self.isAuthenticated($0) })
        #expect(requests.dropFirst().map { Self.digestParameters($0.header("Authorization"))?["nc"] }
            == ["00000001", "00000002", "00000003"])
    }

    @Test("an expired nonce is answered once more with the gateway's new challenge")
    func newNonce() async throws {
        actor Nonce {
            var value = DinstarProviderTests.nonce
            func set(_ new: String) { value = new }
        }
        let nonce = Nonce()
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let requests = try await MockHTTPServer.with(respond: { request in
            let current = await nonce.value
            if Self.isAuthenticated(request, nonce: current) { return answer }
            return MockResponse(status: 401, headers: [(
                "WWW-Authenticate",
                #"Digest realm="Web Server", qop="auth", nonce="\#(current)", opaque="\#(Self.opaque)", stale=true"#)])
        }) { base, server in
            let provider = try Self.provider(url: base)
            _ = try await provider.send(OutgoingSMS(reference: "1", destination: "5215512345678", text: "hola"))
            await nonce.set("ffff291683b2e29974c078f47dc910f7")
            _ = try await provider.send(OutgoingSMS(reference: "2", destination: "5215512345678", text: "hola"))
            return server.requests
        }
        #expect(requests.count == 4)
        #expect(Self.isAuthenticated(requests[3], nonce: "ffff291683b2e29974c078f47dc910f7"))
    }

    @Test("a gateway that asks for Basic gets Basic, then preemptively")
    func basicChallenge() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let basic = "Basic " + Data("admin:admin".utf8).base64EncodedString()
        let requests = try await MockHTTPServer.with(respond: { request in
            request.header("Authorization") == basic
                ? answer : MockResponse(status: 401, headers: [("WWW-Authenticate", #"Basic realm="Web Server""#)])
        }) { base, server in
            let provider = try Self.provider(url: base)
            _ = try await provider.send(OutgoingSMS(reference: "1", destination: "5215512345678", text: "hola"))
            _ = try await provider.send(OutgoingSMS(reference: "2", destination: "5215512345678", text: "hola"))
            return server.requests
        }
        #expect(requests.map { $0.header("Authorization") } == [nil, basic, basic])
    }

    @Test("a wrong password is a permanent 401 after exactly one retry")
    func wrongPassword() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let (result, count) = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, server in
            let provider = try Self.provider(url: base, password: "nimda")
            do {
                _ = try await provider.send(OutgoingSMS(reference: "1", destination: "5215512345678", text: "hola"))
                return (ProviderError?.none, server.requests.count)
            } catch let error as ProviderError {
                return (error, server.requests.count)
            }
        }
        #expect(count == 2)
        #expect(result?.kind == .permanent)
        #expect(result?.code == "401")
        #expect(result?.text.contains("nimda") == false)
    }

    // MARK: Sending

    @Test("send_sms carries text, number, numeric user_id, port, encoding and status report; 202 is accepted with the user_id")
    func sendAccepted() async throws {
        let exchange = try FixtureFile("dinstar").exchange("send_sms.accepted")
        let message = OutgoingSMS(reference: "1001", destination: "5215512345678", text: "Su ticket 4711 fue actualizado", port: 0)
        let answer = MockResponse.fixture(exchange)
        let (result, requests) = try await Self.send(message, answer: answer, encoding: .ucs2)
        expectRequest(requests.last, matches: exchange, headers: ["Content-Type"])
        let receipt = try result.get()
        #expect(receipt.providerMessageID == "1001")
        #expect(receipt.rawResponse == String(decoding: answer.body, as: UTF8.self))
        #expect(receipt.rawResponse.contains("\"task_id\":1284"))
    }

    @Test("without a port from the dialer the configured dial string's ports are sent; the dialer's port wins")
    func ports() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let plain = OutgoingSMS(reference: "1", destination: "5215512345678", text: "hola")
        let (_, configured) = try await Self.send(plain, answer: answer, ports: "0.2,5")
        #expect((configured.last?.json as? [String: Any])?["port"] as? [Int] == [0, 1, 2, 5])
        var chosen = plain
        chosen.port = 7
        let (_, dialer) = try await Self.send(chosen, answer: answer, ports: "0.2,5")
        #expect((dialer.last?.json as? [String: Any])?["port"] as? [Int] == [7])
        let (_, none) = try await Self.send(plain, answer: answer)
        #expect((none.last?.json as? [String: Any])?["port"] == nil)
    }

    @Test("encoding follows the SMSCore analysis: gsm-7bit for GSM text, unicode otherwise")
    func encoding() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        for (text, want) in [("¿Qué tal? Niño", "gsm-7bit"), ("¿Dónde está?", "unicode")] {
            let (_, requests) = try await Self.send(OutgoingSMS(reference: "1", destination: "1", text: text), answer: answer)
            #expect((requests.last?.json as? [String: Any])?["encoding"] as? String == want)
        }
    }

    @Test("a text GSM-7 cannot carry is refused without a request when the provider is set to GSM-7")
    func gsm7Refused() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let (result, requests) = try await Self.send(OutgoingSMS(reference: "1", destination: "1", text: "¿Dónde?"),
                                                     answer: answer, encoding: .gsm7)
        #expect(requests.isEmpty)
        guard case .failure(let error) = result else {
            Issue.record("sent a text GSM-7 cannot carry")
            return
        }
        #expect(error.kind == .permanent)
        #expect(error.code == "encoding")
    }

    @Test("the template-batch answer (202, task 2) is read as accepted")
    func templateBatchAnswer() async throws {
        // The fixture's request is a two-recipient #param# batch, which a single message never produces.
        let answer = try Self.fixtureAnswer("send_sms.template_batch")
        let (result, _) = try await Self.send(OutgoingSMS(reference: "2", destination: "10086", text: "bj"), answer: answer)
        #expect(try result.get().providerMessageID == "2")
    }

    @Test("error_code 400 on HTTP 200 is permanent")
    func rejected400() async throws {
        let exchange = try FixtureFile("dinstar").exchange("send_sms.rejected_400")
        let (result, requests) = try await Self.send(OutgoingSMS(reference: "1", destination: "1", text: "x"),
                                                     answer: .fixture(exchange))
        #expect(requests.last?.path == exchange.path)
        #expect(result == .failure(ProviderError(.permanent, code: "400", text: "error_code 400: bad request")))
    }

    @Test("send error codes: port trouble and gateway errors retryable, bad requests permanent",
          arguments: [(503, ProviderError.Kind.retryable), (550, .retryable), (486, .retryable), (500, .retryable),
                      (413, .permanent), (403, .permanent), (404, .permanent)])
    func errorCodes(_ code: Int, _ kind: ProviderError.Kind) async throws {
        let (result, _) = try await Self.send(OutgoingSMS(reference: "1", destination: "1", text: "x"),
                                              answer: Self.json(#"{"error_code":\#(code),"sn":"x"}"#))
        guard case .failure(let error) = result else {
            Issue.record("accepted error_code \(code)")
            return
        }
        #expect(error.kind == kind)
        #expect(error.code == "\(code)")
    }

    @Test("an answer without error_code is retryable on 200 and 502, permanent on 403",
          arguments: [(200, ProviderError.Kind.retryable, "unexpected_answer"), (502, .retryable, "502"), (403, .permanent, "403")])
    func unexpectedAnswer(_ status: Int, _ kind: ProviderError.Kind, _ code: String) async throws {
        let (result, _) = try await Self.send(OutgoingSMS(reference: "1", destination: "1", text: "x"),
                                              answer: .text(status, "<html>Login</html>", contentType: "text/html"))
        guard case .failure(let error) = result else {
            Issue.record("accepted an answer without error_code")
            return
        }
        #expect(error.kind == kind)
        #expect(error.code == code)
    }

    @Test("no answer within the timeout is retryable")
    func timeout() async throws {
        let error = try await MockHTTPServer.with(respond: { _ in MockResponse(status: 200, delay: .seconds(2)) }) { base, _ in
            do {
                _ = try await Self.provider(url: base, timeout: 0.3).send(OutgoingSMS(reference: "1", destination: "1", text: "x"))
                return ProviderError?.none
            } catch let error as ProviderError {
                return error
            }
        }
        #expect(error?.kind == .retryable)
        #expect(error?.code == "timeout")
    }

    @Test("a refused connection is retryable")
    func refused() async throws {
        let port = try RawTCPServer.closedPort()
        do {
            _ = try await Self.provider(url: "http://127.0.0.1:\(port)").send(OutgoingSMS(reference: "1", destination: "1", text: "x"))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .retryable)
            #expect(error.code == "transport")
        }
    }

    @Test("a truncated answer is retryable")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 200 Data follows\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{\"error_code\":2".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            do {
                _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "1", text: "x"))
                Issue.record("accepted a truncated answer")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
            }
        }
    }

    @Test("a numeric reference is the user_id; any other gets a stable 31-bit number")
    func userIDs() {
        #expect(DinstarProvider.userID(forReference: "1001") == 1001)
        #expect(DinstarProvider.userID(forReference: "2147483647") == 2_147_483_647)
        let hashed = DinstarProvider.userID(forReference: "spool-abc")
        #expect(hashed == DinstarProvider.userID(forReference: "spool-abc"))
        #expect(hashed != DinstarProvider.userID(forReference: "spool-abd"))
        #expect((0...Int(Int32.max)).contains(hashed))
        #expect((0...Int(Int32.max)).contains(DinstarProvider.userID(forReference: "2147483648")))
        #expect(DinstarProvider.userID(forReference: "2147483648") != 2_147_483_648)
    }

    // MARK: Queue and stop

    @Test("stop_sms sends the task id; 404 is a permanent not-found")
    func stopTask() async throws {
        let exchange = try FixtureFile("dinstar").exchange("stop_sms")
        let ok = MockResponse.fixture(exchange)
        let requests = try await MockHTTPServer.with(respond: try Self.gateway { _ in ok }) { base, server in
            try await Self.provider(url: base).stopTask(1284)
            return server.requests
        }
        expectRequest(requests.last, matches: exchange, headers: ["Content-Type"])
        let missing = Self.json(#"{"error_code":404}"#)
        _ = try await MockHTTPServer.with(respond: try Self.gateway { _ in missing }) { base, _ in
            await #expect(throws: ProviderError(.permanent, code: "404", text: "error_code 404: task 9 not found")) {
                try await Self.provider(url: base).stopTask(9)
            }
        }
    }

    @Test("query_sms_queue gives the queue length")
    func queue() async throws {
        let exchange = try FixtureFile("dinstar").exchange("query_sms_queue")
        let answer = MockResponse.fixture(exchange)
        let (length, requests) = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, server in
            (try await Self.provider(url: base).queueLength(), server.requests)
        }
        expectRequest(requests.last, matches: exchange, headers: ["Content-Type"])
        #expect(length == 0)
    }

    // MARK: Polling inbound

    @Test("the first poll asks for unread messages from id 0 and returns them with the last id as cursor")
    func pollInboundFirst() async throws {
        let exchange = try FixtureFile("dinstar").exchange("query_incoming_sms")
        let answer = MockResponse.fixture(exchange)
        let (result, requests) = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, server in
            (try await Self.provider(url: base).pollInbound(after: nil), server.requests)
        }
        expectRequest(requests.last, matches: exchange, headers: ["Content-Type"])
        #expect(result.messages == [InboundSMS(providerMessageID: "1", from: "6717", to: "1", text: "test",
                                               receivedAt: Self.utc("2016-07-12 15:46:18"))])
        #expect(result.cursor == "1")
    }

    @Test("later polls ask for all messages after the cursor and drop any the gateway repeats")
    func pollInboundAfterCursor() async throws {
        let answer = Self.json(#"{"error_code":200,"sms":[{"incoming_sms_id":4,"port":2,"number":"+5215512345678","timestamp":"2024-01-02 03:04:05","text":"old"},{"incoming_sms_id":5,"port":2,"number":"+5215512345678","timestamp":"2024-01-02 03:05:00","text":"SI"}],"read":4,"unread":1}"#)
        let (result, requests) = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, server in
            (try await Self.provider(url: base, settings: ["time_zone": "America/Mexico_City"]).pollInbound(after: "4"),
             server.requests)
        }
        #expect(requests.last?.queryPairs.map { "\($0.0)=\($0.1)" } == ["flag=all", "incoming_sms_id=4"])
        #expect(result.messages.map(\.text) == ["SI"])
        // 03:05 in Mexico City (UTC−6, no DST since 2022) is 09:05 UTC.
        #expect(result.messages.first?.receivedAt == Self.utc("2024-01-02 09:05:00"))
        #expect(result.cursor == "5")
    }

    @Test("an empty poll keeps the cursor")
    func pollInboundEmpty() async throws {
        let answer = Self.json(#"{"error_code":200,"sms":[],"read":4,"unread":0}"#)
        let result = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, _ in
            try await Self.provider(url: base).pollInbound(after: "9")
        }
        #expect(result.messages.isEmpty)
        #expect(result.cursor == "9")
    }

    // MARK: Polling delivery results

    @Test("delivery polling asks query_sms_result by user_id; SENT_OK without a matching network report stays pending")
    func pollResults() async throws {
        let file = try FixtureFile("dinstar")
        let resultExchange = try file.exchange("query_sms_result")
        let results = MockResponse.fixture(resultExchange)
        let deliver = MockResponse.fixture(try file.exchange("query_sms_deliver_status"))
        let (reports, requests) = try await MockHTTPServer.with(respond: try Self.gateway { request in
            request.path == "/api/query_sms_result" ? results : deliver
        }) { base, server in
            (try await Self.provider(url: base).pollDeliveryReports(for: ["2", "1"]), server.requests)
        }
        let authenticated = requests.filter { Self.isAuthenticated($0) }
        expectRequest(authenticated.first, matches: resultExchange, headers: ["Content-Type"])
        // The fixture's network report is for another number, so it does not match.
        let deliverQuery = try #require(authenticated.last?.json as? [String: Any])
        #expect(NSDictionaryOrArray(deliverQuery) == NSDictionaryOrArray(
            ["number": ["12351"], "port": [0], "time_after": "2014-12-21 12:06:01"] as [String: Any]))
        #expect(reports == [DeliveryReport(providerMessageID: "1", outcome: .pending, code: "SENT_OK",
                                           text: "port 0, 3 of 3 parts sent", at: Self.utc("2014-12-21 12:06:01"))])
    }

    @Test("a SENT_OK result is completed by the network report with the same port, number and ref_id")
    func pollResultWithNetworkReport() async throws {
        let results = Self.json(#"{"error_code":200,"result":[{"port":0,"user_id":7,"number":"12341234","time":"2014-12-21 12:00:00","status":"SENT_OK","count":1,"succ_count":1,"ref_id":12}]}"#)
        let deliver = try Self.fixtureAnswer("query_sms_deliver_status")
        let reports = try await MockHTTPServer.with(respond: try Self.gateway { request in
            request.path == "/api/query_sms_result" ? results : deliver
        }) { base, _ in
            try await Self.provider(url: base).pollDeliveryReports(for: ["7"])
        }
        #expect(reports == [DeliveryReport(providerMessageID: "7", outcome: .delivered, code: "0", text: "delivered",
                                           at: Self.utc("2014-12-21 12:06:01"))])
    }

    @Test("network TP-Status 32–63 is pending, 64 and up failed",
          arguments: [(40, DeliveryReport.Outcome.pending), (64, .failed), (70, .failed)])
    func networkStatusCodes(_ code: Int, _ outcome: DeliveryReport.Outcome) async throws {
        let results = Self.json(#"{"error_code":200,"result":[{"port":1,"user_id":7,"number":"555","time":"2020-01-01 00:00:00","status":"SENT_OK","ref_id":3}]}"#)
        let deliver = Self.json(#"{"error_code":200,"result":[{"port":1,"number":"555","time":"2020-01-01 00:01:00","ref_id":3,"status_code":\#(code)}]}"#)
        let reports = try await MockHTTPServer.with(respond: try Self.gateway { request in
            request.path == "/api/query_sms_result" ? results : deliver
        }) { base, _ in
            try await Self.provider(url: base).pollDeliveryReports(for: ["7"])
        }
        #expect(reports.map(\.outcome) == [outcome])
        #expect(reports.first?.code == "\(code)")
    }

    @Test("DELIVERED and failed send results need no network query; other ids' results are ignored")
    func pollFinalResults() async throws {
        let results = Self.json(#"{"error_code":200,"result":[{"port":0,"user_id":1,"number":"1","time":"2020-01-01 00:00:00","status":"DELIVERED"},{"port":0,"user_id":2,"number":"2","time":"2020-01-01 00:00:00","status":"SENT_FAILED"},{"port":0,"user_id":3,"number":"3","time":"2020-01-01 00:00:00","status":"DELIVERED"}]}"#)
        let (reports, requests) = try await MockHTTPServer.with(respond: try Self.gateway { _ in results }) { base, server in
            (try await Self.provider(url: base).pollDeliveryReports(for: ["1", "2", "not-ours"]), server.requests)
        }
        #expect(reports.map(\.providerMessageID) == ["1", "2"])
        #expect(reports.map(\.outcome) == [.delivered, .failed])
        #expect(!requests.contains { $0.path == "/api/query_sms_deliver_status" })
    }

    @Test("no results give no reports")
    func pollNoResults() async throws {
        let answer = try Self.fixtureAnswer("query_sms_result.empty")
        let reports = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, _ in
            try await Self.provider(url: base).pollDeliveryReports(for: ["1"])
        }
        #expect(reports.isEmpty)
    }

    // MARK: Push webhooks

    @Test("pushes are accepted unsigned (the URL token protects them) and answered with an empty 200")
    func verify() throws {
        let provider = try Self.provider(url: "http://gw")
        for id in ["push.sms", "push.sms_result", "push.sms_deliver_status"] {
            let exchange = try FixtureFile("dinstar").exchange(id)
            #expect(provider.verifyWebhook(Self.webhookRequest(exchange)))
            #expect(provider.webhookAnswer == WebhookAnswer(status: exchange.responseStatus))
        }
    }

    @Test("an sms push gives the received message; it has no delivery reports")
    func pushSMS() throws {
        let request = Self.webhookRequest(try FixtureFile("dinstar").exchange("push.sms"))
        let provider = try Self.provider(url: "http://gw")
        #expect(try provider.inboundMessages(in: request) == [
            InboundSMS(providerMessageID: "1", from: "6717", to: "1", text: "test", receivedAt: Self.utc("2016-07-12 15:46:18")),
        ])
        #expect(try provider.deliveryReports(in: request).isEmpty)
    }

    @Test("an sms_result push with a user_id is a report for that id; the fixture's, without one, cannot be attributed")
    func pushResult() throws {
        let provider = try Self.provider(url: "http://gw")
        let request = Self.webhookRequest(try FixtureFile("dinstar").exchange("push.sms_result"))
        #expect(try provider.deliveryReports(in: request).isEmpty)
        #expect(try provider.inboundMessages(in: request).isEmpty)
        let withUserID = Self.jsonRequest(#"{"sn":"x","sms_result":[{"port":1,"user_id":1001,"number":"10086","time":"2016-07-12 01:46:02","status":"DELIVERED","count":1,"succ_count":1,"ref_id":215}]}"#)
        #expect(try provider.deliveryReports(in: withUserID) == [
            DeliveryReport(providerMessageID: "1001", outcome: .delivered, code: "DELIVERED", text: "port 1, 1 of 1 parts sent",
                           at: Self.utc("2016-07-12 01:46:02")),
        ])
    }

    @Test("an sms_deliver_status push is reported only for items that carry a user_id")
    func pushDeliverStatus() throws {
        let provider = try Self.provider(url: "http://gw")
        let request = Self.webhookRequest(try FixtureFile("dinstar").exchange("push.sms_deliver_status"))
        #expect(try provider.deliveryReports(in: request).isEmpty)
        let withUserID = Self.jsonRequest(#"{"sn":"x","sms_deliver_status":[{"port":1,"user_id":"1001","number":"10086","time":"2016-07-12 15:46:53","ref_id":215,"status_code":66}]}"#)
        #expect(try provider.deliveryReports(in: withUserID) == [
            DeliveryReport(providerMessageID: "1001", outcome: .failed, code: "66", text: "permanent error",
                           at: Self.utc("2016-07-12 15:46:53")),
        ])
    }

    @Test("a push that is not JSON, or whose items lack number, text, status or status_code, is malformed",
          arguments: ["text", #"{"sms":[{"port":1,"text":"x"}]}"#, #"{"sms":[{"port":1,"number":"1"}]}"#,
                      #"{"sms_result":[{"user_id":1}]}"#, #"{"sms_deliver_status":[{"user_id":1}]}"#, #"{"sms":{}}"#])
    func malformed(_ body: String) throws {
        let provider = try Self.provider(url: "http://gw")
        let request = Self.jsonRequest(body)
        #expect(throws: MalformedWebhook.self) {
            _ = try provider.inboundMessages(in: request)
            _ = try provider.deliveryReports(in: request)
        }
    }

    // MARK: Configuration

    @Test("missing URL, user or password, a bad URL, dial string or setting is refused at init, naming the field")
    func configValidation() throws {
        let http = ProviderHTTP(client: .shared)
        func config(url: String? = "http://gw", username: String? = "admin", secret: String? = "admin", ports: String? = nil,
                    settings: [String: String] = [:]) -> ProviderConfig {
            ProviderConfig(type: .dinstarWeb, url: url, username: username, secret: secret, ports: ports, settings: settings)
        }
        let cases: [(ProviderConfig, String)] = [
            (config(url: nil), "url"), (config(username: ""), "username"), (config(secret: nil), "secret"),
            (config(url: "gw.local"), "url"), (config(ports: "0.x"), "ports"),
            (config(settings: ["time_zone": "Mars/Olympus"]), "settings.time_zone"),
            (config(settings: ["request_status_report": "sometimes"]), "settings.request_status_report"),
        ]
        for (config, field) in cases {
            #expect {
                _ = try DinstarProvider(config: config, http: http)
            } throws: { error in
                (error as? ProviderError)?.code == "config" && (error as? ProviderError)?.text.hasPrefix(field) == true
            }
        }
        #expect(throws: Never.self) { _ = try DinstarProvider(config: config(ports: "0.3,6"), http: http) }
    }

    @Test("request_status_report=false is sent as false")
    func statusReportOff() async throws {
        let answer = try Self.fixtureAnswer("send_sms.accepted")
        let requests = try await MockHTTPServer.with(respond: try Self.gateway { _ in answer }) { base, server in
            _ = try await Self.provider(url: base, settings: ["request_status_report": "false"])
                .send(OutgoingSMS(reference: "1", destination: "1", text: "x"))
            return server.requests
        }
        #expect((requests.last?.json as? [String: Any])?["request_status_report"] as? Bool == false)
    }
}
