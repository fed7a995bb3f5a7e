import AsyncHTTPClient
import Foundation
import SMSCore
import SMSProviders
import Testing

@Suite("Twilio provider")
struct TwilioProviderTests {
    static let accountSID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    static let authToken = "12345"

    /// What an outbound exchange must produce.
    struct Outcome: Sendable, CustomTestStringConvertible {
        var exchange: String
        var messageID: String?
        var error: ProviderError.Kind?
        var code: String?
        var testDescription: String { exchange }
    }

    static let outbound: [Outcome] = [
        Outcome(exchange: "send.success", messageID: "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        Outcome(exchange: "send.messaging_service", messageID: "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        Outcome(exchange: "send.error.21211_invalid_to", error: .permanent, code: "21211"),
        Outcome(exchange: "send.error.21610_unsubscribed", error: .permanent, code: "21610"),
        Outcome(exchange: "send.error.20429_too_many_requests", error: .retryable, code: "20429"),
        Outcome(exchange: "send.error.20003_auth", error: .permanent, code: "20003"),
    ]

    static func provider(url: String? = nil, secret: String = authToken, sender: String = "+15017122661",
                         webhookURL: String? = nil, encoding: SMSEncodingSetting = .auto,
                         timeout: TimeInterval = 5) throws -> TwilioProvider {
        try TwilioProvider(
            config: ProviderConfig(type: .twilio, url: url, username: accountSID, secret: secret, sender: sender,
                                   encoding: encoding, webhookURL: webhookURL, timeout: timeout),
            http: ProviderHTTP(client: .shared))
    }

    static func formFields(_ exchange: Exchange) -> [String: String] {
        guard case .form(let fields, _) = exchange.requestBody else { return [:] }
        return Dictionary(fields, uniquingKeysWith: { first, _ in first })
    }

    /// The webhook request a fixture's provider sends: full URL, headers, raw body.
    static func webhookRequest(_ exchange: Exchange) throws -> WebhookRequest {
        WebhookRequest(method: exchange.method, url: try #require(exchange.fullURL),
                       headers: exchange.requestHeaders.map { (name: $0.key, value: $0.value) },
                       body: exchange.requestBody.bytes)
    }

    /// A form POST as Twilio sends it to `url`, signed with `signature`.
    static func signedPost(url: String, params: [(String, String)], signature: String) -> WebhookRequest {
        WebhookRequest(method: "POST", url: url,
                       headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature)],
                       body: Array(FormCoding.encode(params).utf8))
    }

    /// The string with its character at `offset` replaced by another one.
    static func changingOneCharacter(_ text: String, at offset: Int = 0) -> String {
        var characters = Array(text)
        characters[offset] = characters[offset] == "x" ? "y" : "x"
        return String(characters)
    }

    // MARK: Sending

    @Test("each fixture send speaks Twilio's wire format and reads its answer", arguments: outbound)
    func fixtureSend(_ expected: Outcome) async throws {
        let exchange = try FixtureFile("twilio").exchange(expected.exchange)
        let fields = Self.formFields(exchange)
        let secret = expected.exchange == "send.error.20003_auth" ? "wrong" : Self.authToken
        let sender = try #require(fields["From"] ?? fields["MessagingServiceSid"])
        let answer = MockResponse.fixture(exchange)
        let message = OutgoingSMS(reference: "42", destination: fields["To"] ?? "", text: fields["Body"] ?? "")
        let callback = fields["StatusCallback"]
        let (result, requests) = try await MockHTTPServer.with(respond: { _ in answer }) { base, server in
            let twilio = try Self.provider(url: base, secret: secret, sender: sender, webhookURL: callback)
            let result: Result<SendReceipt, ProviderError>
            do {
                result = .success(try await twilio.send(message))
            } catch let error as ProviderError {
                result = .failure(error)
            }
            return (result, server.requests)
        }
        switch result {
        case .success(let receipt):
            #expect(expected.error == nil, "sent although the fixture answers an error")
            #expect(receipt.providerMessageID == expected.messageID)
            #expect(receipt.rawResponse == String(decoding: answer.body, as: UTF8.self))
        case .failure(let error):
            #expect(error.kind == expected.error, "\(error)")
            #expect(error.code == expected.code)
            #expect(!error.text.isEmpty)
        }
        expectRequest(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(requests.count == 1)
    }

    @Test("a Twilio error answer carries Twilio's message as the error text")
    func errorText() async throws {
        let answer = MockResponse.fixture(try FixtureFile("twilio").exchange("send.error.21211_invalid_to"))
        _ = try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
            await #expect(throws: ProviderError(.permanent, code: "21211",
                                                text: "The 'To' number +1555 is not a valid phone number.")) {
                _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "+1555", text: "x"))
            }
        }
    }

    @Test("the sender from the message wins over the configured one, and MG SIDs go as MessagingServiceSid")
    func senderChoice() async throws {
        let created = MockResponse.text(201, #"{"sid":"SM1"}"#, contentType: "application/json")
        try await MockHTTPServer.with(respond: { _ in created }) { base, server in
            let twilio = try Self.provider(url: base, sender: "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            _ = try await twilio.send(OutgoingSMS(reference: "1", destination: "+15558675310", text: "a"))
            _ = try await twilio.send(OutgoingSMS(reference: "2", destination: "+15558675310", text: "b", sender: "MGCompany"))
            let fields = server.requests.map { Dictionary($0.formFields, uniquingKeysWith: { a, _ in a }) }
            #expect(fields.count == 2)
            #expect(fields.first?["MessagingServiceSid"] == "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            #expect(fields.first?["From"] == nil)
            // "MGCompany" is an alphanumeric sender id, not a SID.
            #expect(fields.last?["From"] == "MGCompany")
            #expect(fields.last?["MessagingServiceSid"] == nil)
            #expect(fields.last?["StatusCallback"] == nil)
        }
    }

    @Test("with the GSM-7 setting a text GSM-7 cannot carry is refused without calling Twilio")
    func gsm7Refusal() async throws {
        try await MockHTTPServer.with(respond: { _ in MockResponse(status: 201) }) { base, server in
            let twilio = try Self.provider(url: base, encoding: .gsm7)
            do {
                _ = try await twilio.send(OutgoingSMS(reference: "1", destination: "+15558675310", text: "¿Dónde está?"))
                Issue.record("sent")
            } catch let error as ProviderError {
                #expect(error.kind == .permanent)
                #expect(error.code == "encoding")
            }
            #expect(server.requests.isEmpty)
        }
    }

    @Test("a 5xx answer is retryable with Twilio's code, a non-JSON 5xx with the HTTP status")
    func serverErrors() async throws {
        let answers: [MockResponse] = [
            .text(500, #"{"code":20500,"message":"Internal Server Error","status":500}"#, contentType: "application/json"),
            .text(502, "<html><body>Bad Gateway</body></html>", contentType: "text/html"),
        ]
        for (answer, code) in zip(answers, ["20500", "502"]) {
            try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
                do {
                    _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "+1", text: "x"))
                    Issue.record("no error")
                } catch let error as ProviderError {
                    #expect(error.kind == .retryable)
                    #expect(error.code == code)
                }
            }
        }
    }

    @Test("a non-JSON 4xx is permanent with the HTTP status and never shows the auth token")
    func nonJSONClientError() async throws {
        let echo = MockResponse.text(403, "Forbidden: token 12345 refused")
        try await MockHTTPServer.with(respond: { _ in echo }) { base, _ in
            do {
                _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "+1", text: "x"))
                Issue.record("no error")
            } catch let error as ProviderError {
                #expect(error.kind == .permanent)
                #expect(error.code == "403")
                #expect(!error.text.contains(Self.authToken))
            }
        }
    }

    @Test("a 2xx answer without a message sid (not Twilio's) is retryable")
    func unexpectedSuccessBody() async throws {
        for answer in [MockResponse.text(200, "<html>portal</html>", contentType: "text/html"),
                       .text(201, #"{"status":"queued"}"#, contentType: "application/json")] {
            try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
                do {
                    _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "+1", text: "x"))
                    Issue.record("no error")
                } catch let error as ProviderError {
                    #expect(error.kind == .retryable)
                    #expect(error.code == "unexpected_answer")
                }
            }
        }
    }

    @Test("no answer within the timeout is retryable")
    func timeout() async throws {
        try await MockHTTPServer.with(respond: { _ in MockResponse(status: 201, delay: .seconds(3)) }) { base, _ in
            do {
                _ = try await Self.provider(url: base, timeout: 0.5).send(OutgoingSMS(reference: "1", destination: "+1", text: "x"))
                Issue.record("no error")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
                #expect(error.code == "timeout")
            }
        }
    }

    @Test("a refused connection is retryable")
    func refused() async throws {
        let port = try RawTCPServer.closedPort()
        do {
            _ = try await Self.provider(url: "http://127.0.0.1:\(port)").send(OutgoingSMS(reference: "1", destination: "+1", text: "x"))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .retryable)
            #expect(error.code == "transport")
        }
    }

    @Test("a truncated answer is retryable")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 201 Created\r\nContent-Length: 200\r\nContent-Type: application/json\r\n\r\n{\"sid\":\"SM".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            do {
                _ = try await Self.provider(url: base).send(OutgoingSMS(reference: "1", destination: "+1", text: "x"))
                Issue.record("no error")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
            }
        }
    }

    // MARK: Configuration

    @Test("a missing Account SID, auth token or sender is refused naming the field")
    func requiredFields() {
        let http = ProviderHTTP(client: .shared)
        let complete = ProviderConfig(type: .twilio, username: Self.accountSID, secret: Self.authToken, sender: "+15017122661")
        #expect(throws: Never.self) { _ = try TwilioProvider(config: complete, http: http) }
        for (field, blank) in [("username", { (c: inout ProviderConfig) in c.username = nil }),
                               ("secret", { (c: inout ProviderConfig) in c.secret = "" }),
                               ("sender", { (c: inout ProviderConfig) in c.sender = " " })] {
            var config = complete
            blank(&config)
            do {
                _ = try TwilioProvider(config: config, http: http)
                Issue.record("accepted without \(field)")
            } catch let error as ProviderError {
                #expect(error.code == "config")
                #expect(error.text.hasPrefix(field))
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test("an Account SID that is not AC plus 32 hex digits is refused")
    func malformedAccountSID() {
        let config = ProviderConfig(type: .twilio, username: "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", secret: "x", sender: "+1")
        #expect(throws: ProviderError.self) { _ = try TwilioProvider(config: config, http: ProviderHTTP(client: .shared)) }
    }

    @Test("the field schema says which fields Twilio needs")
    func schema() {
        #expect(TwilioProvider.fields.type == .twilio)
        #expect(TwilioProvider.fields.requires(.username))
        #expect(TwilioProvider.fields.requires(.secret))
        #expect(TwilioProvider.fields.requires(.sender))
        #expect(!TwilioProvider.fields.requires(.url))
        #expect(!TwilioProvider.fields.uses(.ports))
    }

    // MARK: Webhooks

    @Test("the fixture inbound SMS verifies, parses and is answered with empty TwiML")
    func inboundWebhook() throws {
        let exchange = try FixtureFile("twilio").exchange("webhook.inbound_sms")
        let twilio = try Self.provider()
        let request = try Self.webhookRequest(exchange)
        #expect(twilio.verifyWebhook(request))
        let before = Date()
        let messages = try twilio.inboundMessages(in: request)
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.providerMessageID == "SMcccccccccccccccccccccccccccccccc")
        #expect(message.from == "+15558675310")
        #expect(message.to == "+15017122661")
        #expect(message.text == "Necesito ayuda con mi pedido")
        #expect(message.receivedAt >= before.addingTimeInterval(-1) && message.receivedAt <= Date())
        #expect(try twilio.deliveryReports(in: request).isEmpty)

        let answer = twilio.webhookAnswer
        #expect(answer.status == exchange.responseStatus)
        #expect(answer.contentType == exchange.responseHeaders["Content-Type"])
        guard case .text(let twiml) = exchange.responseBody else {
            Issue.record("fixture answer is not text")
            return
        }
        #expect(answer.body == twiml)
    }

    @Test("the fixture status callbacks verify and parse into delivery reports",
          arguments: [("webhook.status.sent", DeliveryReport.Outcome.pending, nil as String?),
                      ("webhook.status.delivered", .delivered, nil),
                      ("webhook.status.undelivered", .failed, "30003"),
                      ("webhook.status.failed", .failed, "30008")])
    func statusCallback(_ id: String, _ outcome: DeliveryReport.Outcome, _ code: String?) throws {
        let exchange = try FixtureFile("twilio").exchange(id)
        let twilio = try Self.provider()
        let request = try Self.webhookRequest(exchange)
        #expect(twilio.verifyWebhook(request))
        let reports = try twilio.deliveryReports(in: request)
        #expect(reports.count == 1)
        #expect(reports.first?.providerMessageID == "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
        #expect(reports.first?.outcome == outcome)
        #expect(reports.first?.code == code)
        #expect(reports.first?.text == Self.formFields(exchange)["MessageStatus"])
        #expect(try twilio.inboundMessages(in: request).isEmpty)
        #expect((200..<300).contains(twilio.webhookAnswer.status))
    }

    @Test("the string signed for each fixture webhook is the one the fixture shows",
          arguments: ["webhook.inbound_sms", "webhook.status.sent", "webhook.status.delivered",
                      "webhook.status.undelivered", "webhook.status.failed"])
    func fixtureSigningString(_ id: String) throws {
        let exchange = try FixtureFile("twilio").exchange(id)
        guard case .form(let fields, _) = exchange.requestBody else {
            Issue.record("not a form")
            return
        }
        let want = try #require(exchange.raw["signature_base_string"] as? String)
        #expect(WebhookSignatures.twilioSigningString(
            url: try #require(exchange.fullURL), parameters: fields.map { (name: $0.0, value: $0.1) }) == want)
    }

    @Test("a fixture webhook with one character changed in signature, URL or a parameter fails verification",
          arguments: ["webhook.inbound_sms", "webhook.status.delivered", "webhook.status.undelivered"])
    func tamperedFixtureWebhook(_ id: String) throws {
        let exchange = try FixtureFile("twilio").exchange(id)
        let twilio = try Self.provider()
        let request = try Self.webhookRequest(exchange)
        #expect(twilio.verifyWebhook(request))

        var signature = request
        signature.headers = request.headers.map {
            $0.name == "X-Twilio-Signature" ? (name: $0.name, value: Self.changingOneCharacter($0.value)) : $0
        }
        #expect(!twilio.verifyWebhook(signature))

        var url = request
        url.url = request.url.replacingOccurrences(of: "cc.example.com", with: "cc.example.con")
        #expect(!twilio.verifyWebhook(url))

        var parameter = request
        let body = String(decoding: request.body, as: UTF8.self)
        parameter.body = Array(body.replacingOccurrences(of: "To=%2B1555867531", with: "To=%2B1555867532")
            .replacingOccurrences(of: "From=%2B1555867531", with: "From=%2B1555867532").utf8)
        #expect(parameter.body != request.body)
        #expect(!twilio.verifyWebhook(parameter))

        var added = request
        added.body = request.body + Array("&Extra=1".utf8)
        #expect(!twilio.verifyWebhook(added))

        var unsigned = request
        unsigned.headers = request.headers.filter { $0.name != "X-Twilio-Signature" }
        #expect(!twilio.verifyWebhook(unsigned))

        let otherToken = try Self.provider(secret: "12346")
        #expect(!otherToken.verifyWebhook(request))
    }

    /// The published vectors' parameters, with "same as official.sdk.basic" resolved.
    static func vectorParams(_ vector: [String: Any], in all: [[String: Any]]) -> [(String, String)] {
        if vector["params"] is String {
            let basic = all.first { $0["id"] as? String == "official.sdk.basic" }
            return Exchange.pairs(basic?["params"])
        }
        return Exchange.pairs(vector["params"])
    }

    static func vectors() throws -> [[String: Any]] {
        try #require(FixtureFile("twilio").json["signature_vectors"] as? [[String: Any]])
    }

    @Test("every published X-Twilio-Signature vector verifies and fails with one character changed")
    func signatureVectors() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 6)
        for vector in vectors {
            let id = vector["id"] as? String ?? "?"
            let token = try #require(vector["token"] as? String)
            let url = try #require(vector["url"] as? String)
            let signature = try #require(vector["signature"] as? String)
            let params = Self.vectorParams(vector, in: vectors)
            let body: [UInt8] = (vector["raw_body"] as? String).map { Array($0.utf8) } ?? Array(FormCoding.encode(params).utf8)
            let contentType = vector["raw_body"] == nil ? "application/x-www-form-urlencoded" : "application/json"
            let twilio = try Self.provider(secret: token)
            func request(url: String = url, body: [UInt8] = body, signature: String = signature) -> WebhookRequest {
                WebhookRequest(method: "POST", url: url,
                               headers: [("Content-Type", contentType), ("X-Twilio-Signature", signature)], body: body)
            }
            #expect(twilio.verifyWebhook(request()), "\(id)")
            if let base = vector["base_string"] as? String {
                #expect(WebhookSignatures.twilioSigningString(url: url, parameters: params.map { (name: $0.0, value: $0.1) }) == base, "\(id)")
            }
            #expect(!twilio.verifyWebhook(request(signature: Self.changingOneCharacter(signature))), "\(id): signature")
            #expect(!twilio.verifyWebhook(request(url: url.replacingOccurrences(of: "myapp", with: "myapq"))), "\(id): URL")
            #expect(!twilio.verifyWebhook(request(url: url.replacingOccurrences(of: "foo=1", with: "foo=2"))), "\(id): query")
            var changedBody = body
            let digit = try #require(changedBody.lastIndex { (0x30...0x39).contains($0) } ?? changedBody.indices.last)
            changedBody[digit] = changedBody[digit] == 0x31 ? 0x32 : 0x31
            #expect(!twilio.verifyWebhook(request(body: changedBody)), "\(id): parameter or body")
        }
    }

    @Test("a signature over the URL with the default port verifies a request to the URL without it, and back")
    func defaultPortVariants() throws {
        let vectors = try Self.vectors()
        let basic = try #require(vectors.first { $0["id"] as? String == "official.sdk.basic" })
        let params = Exchange.pairs(basic["params"])
        #expect(params.count == 5)
        let port443 = try #require(vectors.first { $0["id"] as? String == "official.sdk.port443" })
        let port80 = try #require(vectors.first { $0["id"] as? String == "official.sdk.port80_http" })
        let twilio = try Self.provider()
        let https = "https://mycompany.com/myapp.php?foo=1&bar=2"
        #expect(twilio.verifyWebhook(Self.signedPost(url: https, params: params, signature: try #require(port443["signature"] as? String))))
        #expect(twilio.verifyWebhook(Self.signedPost(url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", params: params,
                                                     signature: try #require(basic["signature"] as? String))))
        #expect(twilio.verifyWebhook(Self.signedPost(url: "http://mycompany.com/myapp.php?foo=1&bar=2", params: params,
                                                     signature: try #require(port80["signature"] as? String))))
        // A different port is a different URL.
        #expect(!twilio.verifyWebhook(Self.signedPost(url: "https://mycompany.com:8443/myapp.php?foo=1&bar=2", params: params,
                                                      signature: try #require(basic["signature"] as? String))))
    }

    @Test("a JSON-bodied webhook whose body does not match bodySHA256 fails even with the right URL signature")
    func bodyHashMismatch() throws {
        let vector = try #require(try Self.vectors().first { $0["id"] as? String == "official.sdk.json_body" })
        let twilio = try Self.provider()
        let request = WebhookRequest(
            method: "POST", url: try #require(vector["url"] as? String),
            headers: [("Content-Type", "application/json"), ("X-Twilio-Signature", try #require(vector["signature"] as? String))],
            body: Array(#"{"property": "value", "boolean": false}"#.utf8))
        #expect(!twilio.verifyWebhook(request))
    }

    @Test("a request that is neither an inbound message nor a status callback is malformed")
    func malformed() throws {
        let twilio = try Self.provider()
        let neither = Self.signedPost(url: "https://cc.example.com/webhooks/twilio", params: [("AccountSid", Self.accountSID)], signature: "x")
        #expect(throws: MalformedWebhook.self) { try twilio.inboundMessages(in: neither) }
        #expect(throws: MalformedWebhook.self) { try twilio.deliveryReports(in: neither) }
        let noFrom = Self.signedPost(url: "https://cc.example.com/webhooks/twilio",
                                     params: [("MessageSid", "SM1"), ("To", "+1"), ("Body", "hi")], signature: "x")
        #expect(throws: MalformedWebhook("From is missing")) { try twilio.inboundMessages(in: noFrom) }
        let noSID = Self.signedPost(url: "https://cc.example.com/webhooks/twilio", params: [("MessageStatus", "delivered")], signature: "x")
        #expect(throws: MalformedWebhook("MessageSid is missing")) { try twilio.deliveryReports(in: noSID) }
    }

    @Test("an inbound message sent as GET is read from the query and signed over the URL alone")
    func inboundGET() throws {
        let url = "https://cc.example.com/webhooks/twilio/inbound?MessageSid=SM1&From=%2B15558675310&To=%2B15017122661&Body=hola+mundo"
        let signature = WebhookSignatures.twilioSignature(url: url, parameters: [], authToken: Self.authToken)
        let request = WebhookRequest(method: "GET", url: url, headers: [("X-Twilio-Signature", signature)], body: [])
        let twilio = try Self.provider()
        #expect(twilio.verifyWebhook(request))
        let message = try #require(try twilio.inboundMessages(in: request).first)
        #expect(message.text == "hola mundo")
        #expect(message.from == "+15558675310")
        var tampered = request
        tampered.url = url.replacingOccurrences(of: "hola", with: "hole")
        #expect(!twilio.verifyWebhook(tampered))
    }
}

@Suite("Form-encoded webhook bodies")
struct FormBodyDecodingTests {
    /// The Body of an inbound Twilio message posted with `raw` as the (form-encoded) value of Body.
    static func body(_ raw: String) throws -> String {
        let request = WebhookRequest(method: "POST", url: "https://cc.example.com/webhooks/1/t",
                                     headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                     body: Array("MessageSid=SM1&&From=%2B59899123456&To=%2B15550001&Body=\(raw)&Flag".utf8))
        let messages = try TwilioProviderTests.provider().inboundMessages(in: request)
        #expect(messages.first?.from == "+59899123456")
        return try #require(messages.first?.text)
    }

    @Test("escapes, plus signs, UTF-8 and emoji decode; a malformed or non-UTF-8 escape keeps the value as sent",
          arguments: [
              ("Hola+mundo", "Hola mundo"), ("1%2B1%3D2", "1+1=2"), ("a=b", "a=b"), ("", ""),
              ("%C2%BFQu%C3%A9+tal%3F", "¿Qué tal?"), ("%F0%9F%98%80", "😀"), ("ma%c3%b1ana", "mañana"),
              ("100%+seguro", "100% seguro"), ("%zz+x", "%zz x"), ("%4", "%4"), ("%FF%FE+x", "%FF%FE x"),
          ])
    func decodes(_ raw: String, _ expected: String) throws {
        #expect(try Self.body(raw) == expected)
    }

    @Test("the byte-level decoder agrees with Foundation's percent decoding on 2,000 seeded random forms")
    func agreesWithFoundation() throws {
        var generator = SeededGenerator(seed: 20261126)
        // Pieces of form values, well-formed and not: escapes of ASCII and of multi-byte characters, cut escapes,
        // bytes that are not UTF-8, bare '%' and '+'.
        let pieces = ["a", "Z", "0", "+", "%", "%2", "%41", "%2B", "%C3%A9", "%F0%9F%98%80", "%FF", "%C3", "%zz", "=", "~", "é"]
        for _ in 0..<2000 {
            let raw = (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            // Foundation's view of one value: '+' is a space, then percent escapes; malformed ones left as sent.
            let spaced = raw.replacingOccurrences(of: "+", with: " ")
            let expected = spaced.removingPercentEncoding ?? spaced
            #expect(try Self.body(raw) == expected, "\(raw)")
        }
    }
}

/// A small deterministic generator (SplitMix64) for reproducible random inputs.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
