import AsyncHTTPClient
import Foundation
import SMSCore
import SMSProviders
import Testing

@Suite("SMS Masivos provider")
struct SMSMasivoProviderTests {
    static func apiKey() throws -> String { try FixtureFile("smsmasivos").credential("apikey") }

    static func provider(url: String?, secret: String? = nil, settings: [String: String] = [:],
                         timeout: TimeInterval = 5) throws -> SMSMasivoProvider {
        try SMSMasivoProvider(
            config: ProviderConfig(type: .smsMasivo, url: url, secret: secret ?? apiKey(), settings: settings,
                                   timeout: timeout),
            http: ProviderHTTP(client: .shared))
    }

    /// Sends `message` to a mock answering `answer`; the result and what the mock received.
    static func exchange(_ answer: MockResponse, message: OutgoingSMS,
                         provider make: @escaping @Sendable (String) throws -> SMSMasivoProvider)
        async throws -> (Result<SendReceipt, ProviderError>, [RecordedRequest])
    {
        try await MockHTTPServer.with(respond: { _ in answer }) { base, server in
            let provider = try make(base)
            do {
                return (.success(try await provider.send(message)), server.requests)
            } catch let error as ProviderError {
                return (.failure(error), server.requests)
            }
        }
    }

    static let v2Headers = ["apikey", "Content-Type"]

    // MARK: API v2, fixture exchanges

    @Test("v2 send posts JSON with the apikey header, national number and country code, and returns the reference")
    func sendJSON() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.send.success.json")
        let message = OutgoingSMS(reference: "4711", destination: "+523334971555", text: "Su ticket 4711 fue actualizado")
        let answer = MockResponse.fixture(exchange)
        let (result, requests) = try await Self.exchange(answer, message: message) {
            try Self.provider(url: $0, settings: ["sandbox": "0"])
        }
        expectRequest(requests.first, matches: exchange, headers: Self.v2Headers)
        let receipt = try result.get()
        #expect(receipt.providerMessageID == "20102050eeb3487faUR23v0xvKIOVNsQpo4Mhl6B")
        #expect(receipt.rawResponse == String(decoding: answer.body, as: UTF8.self))
    }

    @Test("a 10-digit national number is taken as Mexican")
    func nationalNumber() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.send.success.json")
        let message = OutgoingSMS(reference: "4711", destination: "333 497 1555", text: "Su ticket 4711 fue actualizado")
        let (_, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, settings: ["sandbox": "0"])
        }
        expectRequest(requests.first, matches: exchange, headers: Self.v2Headers)
    }

    @Test("form body with several numbers, campaign name and language; every reference is returned")
    func sendFormMulti() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.send.success.form_multi")
        let message = OutgoingSMS(reference: "1", destination: "4771234567,+524770987654", text: "Aviso: su cita es manana")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, settings: ["body_format": "form", "name": "Campana test", "lang": "es"])
        }
        expectRequest(requests.first, matches: exchange, headers: Self.v2Headers)
        #expect(try result.get().providerMessageID
            == "20102050aaaa0000aaaa0000aaaa0000aaaa0001,20102050aaaa0000aaaa0000aaaa0000aaaa0002")
    }

    @Test("sms_04 (bad number) on HTTP 200 is permanent; an unreadable number is passed on for SMS Masivos to judge")
    func badNumber() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.send.error.sms_04")
        let message = OutgoingSMS(reference: "1", destination: "asdasd", text: "hola")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0)
        }
        expectRequest(requests.first, matches: exchange, headers: Self.v2Headers)
        #expect(result == .failure(ProviderError(.permanent, code: "sms_04", text: "Número con formato incorrecto")))
    }

    @Test("auth_01 (bad API key) on HTTP 200 is permanent")
    func badKey() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.send.error.auth_01")
        let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, secret: "wrong")
        }
        expectRequest(requests.first, matches: exchange, headers: Self.v2Headers)
        #expect(result == .failure(ProviderError(.permanent, code: "auth_01", text: "Usuario no autorizado")))
    }

    @Test("sms_07 (no credit) on HTTP 200 is permanent")
    func noCredit() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.send.error.sms_07_no_credit")
        let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0)
        }
        expectRequest(requests.first, matches: exchange, headers: Self.v2Headers)
        #expect(result == .failure(ProviderError(.permanent, code: "sms_07", text: "Créditos insuficientes")))
    }

    @Test("the /auth session token request posts the API key as a form")
    func sessionToken() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v2.auth.session_token")
        let answer = MockResponse.fixture(exchange)
        let (token, requests) = try await MockHTTPServer.with(respond: { _ in answer }) { base, server in
            (try await Self.provider(url: base).sessionToken(), server.requests)
        }
        expectRequest(requests.first, matches: exchange, headers: ["Content-Type"])
        #expect(token == "UNVERIFIED")
    }

    // MARK: API v2, other answers

    @Test("error codes are classified: sms_12/sms_13 retryable, auth_03 and other known codes permanent",
          arguments: [("sms_12", ProviderError.Kind.retryable), ("sms_13", .retryable), ("auth_03", .permanent),
                      ("sms_15", .permanent), ("sms_02", .permanent)])
    func errorCodes(_ code: String, _ kind: ProviderError.Kind) async throws {
        let body = #"{"success":false,"message":"m","code":"\#(code)","status":200}"#
        let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola")
        let (result, _) = try await Self.exchange(.text(200, body, contentType: "application/json"), message: message) {
            try Self.provider(url: $0)
        }
        #expect(result == .failure(ProviderError(kind, code: code, text: "m")))
    }

    @Test("an unknown code follows the HTTP status: permanent on 200, retryable on 503")
    func unknownCode() async throws {
        for (status, kind) in [(200, ProviderError.Kind.permanent), (503, .retryable)] {
            let body = #"{"success":false,"message":"m","code":"sms_99"}"#
            let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola")
            let (result, _) = try await Self.exchange(.text(status, body, contentType: "application/json"), message: message) {
                try Self.provider(url: $0)
            }
            #expect(result == .failure(ProviderError(kind, code: "sms_99", text: "m")))
        }
    }

    @Test("a non-JSON answer is retryable on 200 and 500, permanent on 404; the API key never appears in the text",
          arguments: [(200, ProviderError.Kind.retryable, "unexpected_answer"), (500, .retryable, "500"), (404, .permanent, "404")])
    func nonJSON(_ status: Int, _ kind: ProviderError.Kind, _ code: String) async throws {
        let key = try Self.apiKey()
        let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola")
        let (result, _) = try await Self.exchange(.text(status, "<html>\(key)</html>", contentType: "text/html"),
                                                  message: message) { try Self.provider(url: $0) }
        guard case .failure(let error) = result else {
            Issue.record("accepted a non-JSON answer")
            return
        }
        #expect(error.kind == kind)
        #expect(error.code == code)
        #expect(!error.text.contains(key))
    }

    @Test("numbers of two countries in one destination are refused without a request")
    func mixedCountries() async throws {
        let answer = MockResponse.text(200, "{}")
        let message = OutgoingSMS(reference: "1", destination: "+523334971555,+14155550100", text: "hola")
        let (result, requests) = try await Self.exchange(answer, message: message) { try Self.provider(url: $0) }
        #expect(requests.isEmpty)
        #expect((try? result.get()) == nil)
    }

    @Test("the sender id is sent when configured")
    func sender() async throws {
        let answer = MockResponse.fixture(try FixtureFile("smsmasivos").exchange("v2.send.success.json"))
        let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola", sender: "MiEmpresa")
        let (_, requests) = try await Self.exchange(answer, message: message) { try Self.provider(url: $0) }
        let json = try #require(requests.first?.json as? [String: String])
        #expect(json["sender"] == "MiEmpresa")
    }

    @Test("no answer within the timeout is retryable")
    func timeout() async throws {
        let message = OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola")
        let (result, _) = try await Self.exchange(MockResponse(status: 200, delay: .seconds(2)), message: message) {
            try Self.provider(url: $0, timeout: 0.3)
        }
        guard case .failure(let error) = result else {
            Issue.record("no timeout")
            return
        }
        #expect(error.kind == .retryable)
        #expect(error.code == "timeout")
    }

    @Test("a refused connection is retryable")
    func refused() async throws {
        let port = try RawTCPServer.closedPort()
        let provider = try Self.provider(url: "http://127.0.0.1:\(port)")
        do {
            _ = try await provider.send(OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola"))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .retryable)
            #expect(error.code == "transport")
        }
    }

    @Test("a truncated answer is retryable")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 200 OK\r\nContent-Length: 200\r\nContent-Type: application/json\r\n\r\n{\"success\":tr".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            do {
                _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "+523334971555", text: "hola"))
                Issue.record("accepted a truncated answer")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
            }
        }
    }

    // MARK: API v1

    @Test("v1 posts apikey, mensaje, numcelular and numregion to api.envio.new.php; estatus ok is accepted")
    func v1Success() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v1.envio.success")
        let message = OutgoingSMS(reference: "1", destination: "+525551234567", text: "Su ticket 4711 fue actualizado")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, settings: ["api_version": "1"])
        }
        expectRequest(requests.first, matches: exchange, headers: ["Content-Type"])
        let receipt = try result.get()
        #expect(receipt.providerMessageID == nil)
        #expect(receipt.rawResponse.contains("Mensaje enviado"))
    }

    @Test("v1 estatus other than ok is permanent with its mensaje")
    func v1Error() async throws {
        let exchange = try FixtureFile("smsmasivos").exchange("v1.envio.error")
        let message = OutgoingSMS(reference: "1", destination: "5551234567", text: "x")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, secret: "wrong", settings: ["api_version": "1"])
        }
        expectRequest(requests.first, matches: exchange, headers: ["Content-Type"])
        #expect(result == .failure(ProviderError(.permanent, code: "error", text: "UNVERIFIED error text")))
    }

    // MARK: Configuration and webhooks

    @Test("a missing API key or a bad setting is refused at init, naming the field")
    func configValidation() throws {
        let http = ProviderHTTP(client: .shared)
        let cases: [(ProviderConfig, String)] = [
            (ProviderConfig(type: .smsMasivo), "secret"),
            (ProviderConfig(type: .smsMasivo, secret: "k", settings: ["api_version": "3"]), "settings.api_version"),
            (ProviderConfig(type: .smsMasivo, secret: "k", settings: ["body_format": "xml"]), "settings.body_format"),
            (ProviderConfig(type: .smsMasivo, secret: "k", settings: ["country_code": "999"]), "settings.country_code"),
        ]
        for (config, field) in cases {
            #expect {
                _ = try SMSMasivoProvider(config: config, http: http)
            } throws: { error in
                (error as? ProviderError)?.code == "config" && (error as? ProviderError)?.text.hasPrefix(field) == true
            }
        }
    }

    @Test("SMS Masivos has no webhooks: nothing is verified or parsed")
    func noWebhooks() throws {
        let provider = try Self.provider(url: nil)
        let request = WebhookRequest(method: "POST", url: "https://desk.example.com/webhooks/smsmasivo?token=t",
                                     headers: [("Content-Type", "application/json")],
                                     body: Array(#"{"results":[{"messageId":"1","from":"1","to":"2","text":"x"}]}"#.utf8))
        #expect(!provider.verifyWebhook(request))
        #expect(try provider.inboundMessages(in: request).isEmpty)
        #expect(try provider.deliveryReports(in: request).isEmpty)
    }
}
