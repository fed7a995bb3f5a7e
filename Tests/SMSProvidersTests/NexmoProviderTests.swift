import AsyncHTTPClient
import Foundation
import SMSCore
import SMSProviders
import Testing

@Suite("Nexmo (Vonage SMS API) provider")
struct NexmoProviderTests {
    static let apiKey = "abcd1234"
    static let apiSecret = "abcdef0123456789"

    /// What an outbound exchange must produce.
    struct Outcome: Sendable, CustomTestStringConvertible {
        var exchange: String
        var messageID: String?
        var error: ProviderError.Kind?
        var code: String?
        var settings: [String: String] = [:]
        var testDescription: String { exchange }
    }

    static let outbound: [Outcome] = [
        Outcome(exchange: "send.success", messageID: "0A0000000123ABCD1"),
        Outcome(exchange: "send.unicode.basic_auth", messageID: "0A0000000123ABCD1", settings: ["auth": "basic"]),
        Outcome(exchange: "send.long_two_parts", messageID: "62dfdf68-6c7c-479a-a190-5c52f798a787"),
        Outcome(exchange: "send.error.2_missing_params", error: .permanent, code: "2"),
        Outcome(exchange: "send.error.1_throttled", error: .retryable, code: "1"),
        Outcome(exchange: "send.error.7_number_barred", error: .permanent, code: "7"),
        Outcome(exchange: "send.error.4_invalid_credentials", error: .permanent, code: "4"),
        Outcome(exchange: "send.partial_failure", error: .retryable, code: "1"),
    ]

    static func provider(url: String? = nil, secret: String = apiSecret, sender: String = "AcmeInc",
                         settings: [String: String] = [:], webhookURL: String? = nil,
                         encoding: SMSEncodingSetting = .auto, timeout: TimeInterval = 5) throws -> NexmoProvider {
        try NexmoProvider(
            config: ProviderConfig(type: .nexmo, url: url, username: apiKey, secret: secret, sender: sender,
                                   encoding: encoding, settings: settings, webhookURL: webhookURL, timeout: timeout),
            http: ProviderHTTP(client: .shared))
    }

    static func formFields(_ exchange: Exchange) -> [String: String] {
        guard case .form(let fields, _) = exchange.requestBody else { return [:] }
        return Dictionary(fields, uniquingKeysWith: { first, _ in first })
    }

    /// The fixture's webhook call as our HTTP layer hands it over: Vonage
    /// exchanges give a path and query, so the host is ours.
    static func webhookRequest(_ exchange: Exchange) -> WebhookRequest {
        let query = exchange.query.isEmpty ? "" : "?" + FormCoding.encode(exchange.query)
        return WebhookRequest(method: exchange.method, url: "https://cc.example.com" + exchange.path + query,
                              headers: exchange.requestHeaders.map { (name: $0.key, value: $0.value) },
                              body: exchange.requestBody.bytes)
    }

    static func getRequest(_ params: [(String, String)]) -> WebhookRequest {
        WebhookRequest(method: "GET", url: "https://cc.example.com/webhooks/vonage/inbound?" + FormCoding.encode(params),
                       headers: [], body: [])
    }

    static func changingOneCharacter(_ text: String) -> String {
        var characters = Array(text)
        characters[0] = characters[0] == "0" ? "1" : "0"
        return String(characters)
    }

    static func send(_ text: String = "Hello", to destination: String = "447700900000", through provider: NexmoProvider) async throws -> SendReceipt {
        try await provider.send(OutgoingSMS(reference: "r1", destination: destination, text: text))
    }

    // MARK: Sending

    @Test("each fixture send speaks Vonage's wire format and reads the per-part statuses", arguments: outbound)
    func fixtureSend(_ expected: Outcome) async throws {
        let exchange = try FixtureFile("vonage").exchange(expected.exchange)
        let fields = Self.formFields(exchange)
        let answer = MockResponse.fixture(exchange)
        // Our destinations are E.164 with "+"; Vonage wants the digits only.
        let destination = fields["to"].map { "+" + $0 } ?? ""
        let message = OutgoingSMS(reference: fields["client-ref"] ?? "", destination: destination, text: fields["text"] ?? "")
        let secret = fields["api_secret"] ?? Self.apiSecret
        let sender = try #require(fields["from"])
        let callback = fields["callback"]
        let (result, requests) = try await MockHTTPServer.with(respond: { _ in answer }) { base, server in
            let vonage = try Self.provider(url: base, secret: secret, sender: sender, settings: expected.settings,
                                           webhookURL: callback)
            let result: Result<SendReceipt, ProviderError>
            do {
                result = .success(try await vonage.send(message))
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
        expectRequest(requests.first, matches: exchange)
        if exchange.requestHeaders["Authorization"] == nil {
            #expect(requests.first?.header("Authorization") == nil, "credentials go in the body only")
        }
        #expect(requests.count == 1)
    }

    @Test("a part failing after an accepted part fails the send with that part's status and text")
    func partialFailure() async throws {
        let answer = MockResponse.fixture(try FixtureFile("vonage").exchange("send.partial_failure"))
        try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
            do {
                _ = try await Self.send(String(repeating: "x", count: 200), through: Self.provider(url: base))
                Issue.record("no error")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
                #expect(error.code == "1")
                #expect(error.text.hasPrefix("Throttled (part 2 of 2"))
                #expect(error.text.contains("3295d748-4e14-4681-af78-166dca3c5aab"))
            }
        }
    }

    @Test("status 5 (internal error) is retryable, other statuses such as 9 and 29 permanent")
    func statusClasses() async throws {
        for (status, kind) in [("5", ProviderError.Kind.retryable), ("9", .permanent), ("29", .permanent)] {
            let answer = MockResponse.text(200, #"{"message-count":"1","messages":[{"status":"\#(status)","error-text":"E\#(status)"}]}"#,
                                           contentType: "application/json")
            _ = try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
                await #expect(throws: ProviderError(kind, code: status, text: "E\(status)")) {
                    _ = try await Self.send(through: Self.provider(url: base))
                }
            }
        }
    }

    @Test("the encoding setting decides type=unicode: auto only for non-GSM text, UCS-2 always, GSM-7 refuses non-GSM text")
    func encodingSetting() async throws {
        let accepted = MockResponse.text(200, #"{"message-count":"1","messages":[{"message-id":"M1","status":"0"}]}"#,
                                         contentType: "application/json")
        try await MockHTTPServer.with(respond: { _ in accepted }) { base, server in
            _ = try await Self.send("Niño, mañana", through: Self.provider(url: base))
            _ = try await Self.send("Dónde", through: Self.provider(url: base))
            _ = try await Self.send("plain", through: Self.provider(url: base, encoding: .ucs2))
            let types = server.requests.map { request in request.formFields.first { $0.0 == "type" }?.1 }
            #expect(types == [nil, "unicode", "unicode"])
            do {
                _ = try await Self.send("Dónde", through: Self.provider(url: base, encoding: .gsm7))
                Issue.record("sent")
            } catch let error as ProviderError {
                #expect(error.kind == .permanent)
                #expect(error.code == "encoding")
            }
            #expect(server.requests.count == 3)
        }
    }

    @Test("client-ref is our reference cut to Vonage's 40 characters; no callback without a webhook URL")
    func clientRef() async throws {
        let accepted = MockResponse.text(200, #"{"message-count":"1","messages":[{"message-id":"M1","status":"0"}]}"#,
                                         contentType: "application/json")
        try await MockHTTPServer.with(respond: { _ in accepted }) { base, server in
            let reference = String(repeating: "7", count: 50)
            _ = try await Self.provider(url: base).send(OutgoingSMS(reference: reference, destination: "+447700900000", text: "x"))
            let fields = Dictionary(try #require(server.requests.first).formFields, uniquingKeysWith: { a, _ in a })
            #expect(fields["client-ref"] == String(repeating: "7", count: 40))
            #expect(fields["callback"] == nil)
            #expect(fields["to"] == "447700900000")
        }
    }

    @Test("HTTP 5xx is retryable and other HTTP failures permanent, without the API secret in the text")
    func httpFailures() async throws {
        for (status, kind) in [(500, ProviderError.Kind.retryable), (503, .retryable), (401, .permanent)] {
            let answer = MockResponse.text(status, "error for api_secret=\(Self.apiSecret)")
            try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
                do {
                    _ = try await Self.send(through: Self.provider(url: base))
                    Issue.record("no error")
                } catch let error as ProviderError {
                    #expect(error.kind == kind)
                    #expect(error.code == "\(status)")
                    #expect(!error.text.contains(Self.apiSecret))
                }
            }
        }
    }

    @Test("HTTP 200 that is not Vonage's JSON, or lists no parts, is retryable")
    func unexpectedBody() async throws {
        for answer in [MockResponse.text(200, "<html>maintenance</html>", contentType: "text/html"),
                       .text(200, #"{"message-count":"0","messages":[]}"#, contentType: "application/json")] {
            try await MockHTTPServer.with(respond: { _ in answer }) { base, _ in
                do {
                    _ = try await Self.send(through: Self.provider(url: base))
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
        try await MockHTTPServer.with(respond: { _ in MockResponse(status: 200, delay: .seconds(3)) }) { base, _ in
            do {
                _ = try await Self.send(through: Self.provider(url: base, timeout: 0.5))
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
            _ = try await Self.send(through: Self.provider(url: "http://127.0.0.1:\(port)"))
            Issue.record("no error")
        } catch let error as ProviderError {
            #expect(error.kind == .retryable)
            #expect(error.code == "transport")
        }
    }

    @Test("a truncated answer is retryable")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 200 OK\r\nContent-Length: 300\r\nContent-Type: application/json\r\n\r\n{\"message-count\":\"1\",\"messages\":[".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            do {
                _ = try await Self.send(through: Self.provider(url: base))
                Issue.record("no error")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
            }
        }
    }

    // MARK: Configuration

    @Test("a missing API key, API secret or sender, or an unknown setting value, is refused naming it")
    func requiredFields() {
        let http = ProviderHTTP(client: .shared)
        let complete = ProviderConfig(type: .nexmo, username: Self.apiKey, secret: Self.apiSecret, sender: "AcmeInc")
        #expect(throws: Never.self) { _ = try NexmoProvider(config: complete, http: http) }
        let broken: [(String, (inout ProviderConfig) -> Void)] = [
            ("username", { $0.username = "" }),
            ("secret", { $0.secret = nil }),
            ("sender", { $0.sender = nil }),
            ("settings.auth", { $0.settings["auth"] = "query" }),
            ("settings.signature_method", { $0.settings["signature_method"] = "sha384" }),
        ]
        for (field, breaking) in broken {
            var config = complete
            breaking(&config)
            do {
                _ = try NexmoProvider(config: config, http: http)
                Issue.record("accepted with bad \(field)")
            } catch let error as ProviderError {
                #expect(error.code == "config")
                #expect(error.text.hasPrefix(field + ":"), "\(error.text)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test("signature method settings are read in Vonage's and the fixtures' spellings")
    func signatureMethodNames() {
        #expect(NexmoProvider.SignatureMethod(setting: "md5hash") == .md5hash)
        #expect(NexmoProvider.SignatureMethod(setting: "MD5 hash") == .md5hash)
        #expect(NexmoProvider.SignatureMethod(setting: "hmac-md5") == .md5)
        #expect(NexmoProvider.SignatureMethod(setting: "SHA-256 HMAC") == .sha256)
        #expect(NexmoProvider.SignatureMethod(setting: "hmac-sha512") == .sha512)
        #expect(NexmoProvider.SignatureMethod(setting: "sha1") == .sha1)
        #expect(NexmoProvider.SignatureMethod(setting: "sha384") == nil)
    }

    @Test("the field schema says which fields and settings Vonage uses")
    func schema() {
        #expect(NexmoProvider.fields.type == .nexmo)
        #expect(NexmoProvider.fields.requires(.username))
        #expect(NexmoProvider.fields.requires(.secret))
        #expect(NexmoProvider.fields.requires(.sender))
        #expect(NexmoProvider.fields.uses(.encoding))
        #expect(Set(NexmoProvider.fields.settings.map(\.key)) == ["auth", "signature_secret", "signature_method"])
        #expect(NexmoProvider.fields.settings.filter(\.secret).map(\.key) == ["signature_secret"])
    }

    // MARK: Webhooks

    @Test("the fixture inbound SMS as GET query and as JSON POST verify unsigned and parse the same",
          arguments: ["webhook.inbound.get", "webhook.inbound.post_json"])
    func inbound(_ id: String) throws {
        let exchange = try FixtureFile("vonage").exchange(id)
        let vonage = try Self.provider()
        let request = Self.webhookRequest(exchange)
        #expect(vonage.verifyWebhook(request))
        let messages = try vonage.inboundMessages(in: request)
        #expect(messages == [InboundSMS(providerMessageID: "0A0000000123ABCD1", from: "447700900001", to: "447700900000",
                                        text: "Hello world", receivedAt: Date(timeIntervalSince1970: 1_577_880_000))])
        #expect(try vonage.deliveryReports(in: request).isEmpty)
        #expect(try vonage.concatenation(in: request) == nil)
        #expect((200...205).contains(vonage.webhookAnswer.status))
    }

    @Test("an inbound SMS as form POST parses like the GET")
    func inboundFormPost() throws {
        let exchange = try FixtureFile("vonage").exchange("webhook.inbound.get")
        let request = WebhookRequest(method: "POST", url: "https://cc.example.com/webhooks/vonage/inbound",
                                     headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                     body: Array(FormCoding.encode(exchange.query).utf8))
        let vonage = try Self.provider()
        #expect(try vonage.inboundMessages(in: request) == vonage.inboundMessages(in: Self.webhookRequest(exchange)))
        #expect(try vonage.inboundMessages(in: request).first?.text == "Hello world")
    }

    @Test("a part of a concatenated inbound SMS keeps its text and exposes its part numbering")
    func concatenatedPart() throws {
        let exchange = try FixtureFile("vonage").exchange("webhook.inbound.concat_part")
        let vonage = try Self.provider()
        let request = Self.webhookRequest(exchange)
        #expect(vonage.verifyWebhook(request))
        let message = try #require(try vonage.inboundMessages(in: request).first)
        #expect(message.text == "part two text")
        #expect(message.providerMessageID == "0A0000000123ABCD2")
        #expect(try vonage.concatenation(in: request) == NexmoProvider.Concatenation(reference: "1", part: 2, total: 3))

        var broken = request
        broken.body = Array(String(decoding: request.body, as: UTF8.self).replacingOccurrences(of: "\"2\"", with: "\"4\"").utf8)
        #expect(throws: MalformedWebhook.self) { try vonage.concatenation(in: broken) }
    }

    @Test("the fixture delivery receipts parse with their outcome, err-code and time",
          arguments: [("webhook.dlr.delivered", "0B00000127FDBC63", DeliveryReport.Outcome.delivered, "0",
                       "delivered: Delivered", 1_540_469_429.0),
                      ("webhook.dlr.failed.get", "0A0000000123ABCD1", .failed, "2",
                       "failed: Absent Subscriber - Temporary", 1_577_880_000.0)])
    func deliveryReceipt(_ id: String, _ messageID: String, _ outcome: DeliveryReport.Outcome, _ code: String,
                         _ text: String, _ at: TimeInterval) throws {
        let exchange = try FixtureFile("vonage").exchange(id)
        let vonage = try Self.provider()
        let request = Self.webhookRequest(exchange)
        #expect(vonage.verifyWebhook(request))
        #expect(try vonage.deliveryReports(in: request) == [
            DeliveryReport(providerMessageID: messageID, outcome: outcome, code: code, text: text,
                           at: Date(timeIntervalSince1970: at)),
        ])
        #expect(try vonage.inboundMessages(in: request).isEmpty)
    }

    @Test("delivery statuses map to outcomes: accepted and buffered pending, expired and rejected failed")
    func deliveryStatuses() throws {
        let vonage = try Self.provider()
        for (status, outcome) in [("accepted", DeliveryReport.Outcome.pending), ("buffered", .pending),
                                  ("unknown", .pending), ("expired", .failed), ("rejected", .failed)] {
            let request = Self.getRequest([("messageId", "M1"), ("msisdn", "447700900000"), ("status", status), ("err-code", "1")])
            #expect(try vonage.deliveryReports(in: request).first?.outcome == outcome, "\(status)")
        }
    }

    @Test("the signed fixture inbound SMS verifies with the md5hash secret and fails with one character changed")
    func signedInbound() throws {
        let exchange = try FixtureFile("vonage").exchange("webhook.inbound.signed_md5hash")
        let secret = try #require(exchange.raw["signature_secret"] as? String)
        let method = try #require(exchange.raw["signature_method"] as? String)
        let vonage = try Self.provider(settings: ["signature_secret": secret, "signature_method": method])
        let request = Self.webhookRequest(exchange)
        #expect(vonage.verifyWebhook(request))
        #expect(WebhookSignatures.vonageSigningString(exchange.query.map { (name: $0.0, value: $0.1) })
            == exchange.raw["signature_base_string"] as? String)
        #expect(try vonage.inboundMessages(in: request).first?.text == "Hello world")

        func changed(_ name: String, _ change: (String) -> String) -> WebhookRequest {
            Self.getRequest(exchange.query.map { $0.0 == name ? ($0.0, change($0.1)) : $0 })
        }
        #expect(!vonage.verifyWebhook(changed("sig", Self.changingOneCharacter)), "signature")
        #expect(!vonage.verifyWebhook(changed("text", { $0 + "!" })), "text")
        #expect(!vonage.verifyWebhook(changed("msisdn", { $0.replacingOccurrences(of: "1", with: "2") })), "msisdn")
        #expect(!vonage.verifyWebhook(changed("timestamp", { String($0.dropLast()) + "1" })), "timestamp")
        #expect(!vonage.verifyWebhook(Self.getRequest(exchange.query + [("extra", "1")])), "added parameter")

        let otherSecret = try Self.provider(settings: ["signature_secret": "secreT", "signature_method": method])
        #expect(!otherSecret.verifyWebhook(request))
        let otherMethod = try Self.provider(settings: ["signature_secret": secret, "signature_method": "hmac-md5"])
        #expect(!otherMethod.verifyWebhook(request))
    }

    @Test("with a signature secret an unsigned call is refused; without one a signed call is refused")
    func signaturePolicy() throws {
        let unsigned = Self.webhookRequest(try FixtureFile("vonage").exchange("webhook.inbound.get"))
        let signed = Self.webhookRequest(try FixtureFile("vonage").exchange("webhook.inbound.signed_md5hash"))
        let withSecret = try Self.provider(settings: ["signature_secret": "secret"])
        let withoutSecret = try Self.provider()
        #expect(withSecret.verifyWebhook(signed))
        #expect(!withSecret.verifyWebhook(unsigned))
        #expect(withoutSecret.verifyWebhook(unsigned))
        #expect(!withoutSecret.verifyWebhook(signed))
    }

    @Test("every published Vonage signature vector verifies and fails with one character changed")
    func signatureVectors() throws {
        let vectors = try #require(FixtureFile("vonage").json["signature_vectors"] as? [[String: Any]])
        #expect(vectors.count == 6)
        for vector in vectors {
            let id = vector["id"] as? String ?? "?"
            let method = try #require(vector["method"] as? String)
            let secret = try #require(vector["secret"] as? String)
            let sig = try #require(vector["sig"] as? String)
            let params = try #require(vector["params"] as? [String: Any]).map { ($0.key, "\($0.value)") }
            let vonage = try Self.provider(settings: ["signature_method": method, "signature_secret": secret])
            #expect(vonage.verifyWebhook(Self.getRequest(params + [("sig", sig)])), "\(id)")
            #expect(vonage.verifyWebhook(Self.getRequest(params + [("sig", sig.uppercased())])), "\(id): upper-case hex")
            if let base = vector["base_string"] as? String {
                #expect(WebhookSignatures.vonageSigningString(params.map { (name: $0.0, value: $0.1) }) == base, "\(id)")
            }
            #expect(!vonage.verifyWebhook(Self.getRequest(params + [("sig", Self.changingOneCharacter(sig))])), "\(id): sig")
            for (index, _) in params.enumerated() {
                var changed = params
                changed[index].1 = Self.changingOneCharacter(changed[index].1)
                #expect(!vonage.verifyWebhook(Self.getRequest(changed + [("sig", sig)])), "\(id): \(changed[index].0)")
            }
            #expect(!vonage.verifyWebhook(Self.getRequest(params)), "\(id): no sig")
        }
    }

    @Test("a call that is neither an inbound message nor a receipt, or lacks a required field, is malformed")
    func malformed() throws {
        let vonage = try Self.provider()
        let neither = Self.getRequest([("api-key", Self.apiKey)])
        #expect(throws: MalformedWebhook.self) { try vonage.inboundMessages(in: neither) }
        #expect(throws: MalformedWebhook.self) { try vonage.deliveryReports(in: neither) }
        let noTo = Self.getRequest([("msisdn", "447700900001"), ("messageId", "M1"), ("text", "hi")])
        #expect(throws: MalformedWebhook("to is missing")) { try vonage.inboundMessages(in: noTo) }
        let noID = Self.getRequest([("status", "delivered"), ("err-code", "0")])
        #expect(throws: MalformedWebhook("messageId is missing")) { try vonage.deliveryReports(in: noID) }
        let badJSON = WebhookRequest(method: "POST", url: "https://cc.example.com/x", headers: [("Content-Type", "application/json")],
                                     body: Array("{\"msisdn\":".utf8))
        #expect(throws: MalformedWebhook.self) { try vonage.inboundMessages(in: badJSON) }
        #expect(!vonage.verifyWebhook(badJSON))
    }
}
