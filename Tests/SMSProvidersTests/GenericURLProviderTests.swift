import AsyncHTTPClient
import Foundation
import SMSCore
import SMSProviders
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("Generic URL providers")
struct GenericURLProviderTests {
    static let reference = "c0ffee00-0000-4000-8000-000000000001"
    static let fixtureText = "Hola José: su ticket #4711 & más"
    static let fixtureMessage = OutgoingSMS(reference: reference, destination: "+5215512345678", text: fixtureText, sender: "CONTACTO")

    /// The fixture templates of `generic_url.json`, as settings (the URL template's base is the mock's).
    static let getTemplate = "/api/send?to={{to|noplus}}&from={{from}}&text={{text}}&ref={{id}}"
    static let getRules = [
        "success_http": "200-299", "success_regex": #"^OK\b"#, "permfail_regex": #"^ERR(OR)?\b"#,
        "tempfail_regex": "(?i)retry|throttl", "message_id_regex": #"^OK\s+(\S+)"#,
    ]
    static let jasminSendTemplate = "/send?username={{username}}&password={{password}}&to={{to}}&from={{from}}&content={{text}}"
        + "&coding={{encoding}}&dlr=yes&dlr-url={{callback_url}}&dlr-level=3&dlr-method=POST"
    static let jasminErrorTemplate = "/send?username={{username}}&password={{password}}&to={{to}}&content={{text}}"
    static let jasminRules = [
        "encoding_values": "0,8", "success_regex": #"^Success "([^"]+)""#, "message_id_regex": #"^Success "([^"]+)""#,
        "webhook_answer_body": "ACK/Jasmin",
    ]

    static func provider(_ type: ProviderType, url: String?, username: String? = nil, secret: String? = nil,
                         sender: String? = nil, encoding: SMSEncodingSetting = .auto, settings: [String: String] = [:],
                         webhookURL: String? = nil, timeout: TimeInterval = 5) throws -> GenericURLProvider {
        try GenericURLProvider(
            config: ProviderConfig(type: type, url: url, username: username, secret: secret, sender: sender, encoding: encoding,
                                   settings: settings, webhookURL: webhookURL, timeout: timeout),
            http: ProviderHTTP(client: .shared))
    }

    /// The `ProviderError` a send throws, or nil (recording an issue) when it succeeds or throws something else.
    static func sendError(_ provider: GenericURLProvider, _ message: OutgoingSMS = fixtureMessage) async -> ProviderError? {
        do {
            let receipt = try await provider.send(message)
            Issue.record("expected an error, got \(receipt)")
            return nil
        } catch let error as ProviderError {
            return error
        } catch {
            Issue.record("expected a ProviderError, got \(error)")
            return nil
        }
    }

    static func configurationError(_ make: () throws -> GenericURLProvider) -> GenericURLProvider.ConfigurationError? {
        do {
            _ = try make()
            return nil
        } catch let error as GenericURLProvider.ConfigurationError {
            return error
        } catch {
            Issue.record("expected a ConfigurationError, got \(error)")
            return nil
        }
    }

    static func message(_ exchange: Exchange, sender: String? = nil) -> OutgoingSMS {
        let query = Dictionary(exchange.query, uniquingKeysWith: { first, _ in first })
        return OutgoingSMS(reference: reference, destination: query["to"] ?? "", text: query["content"] ?? query["text"] ?? "",
                           sender: sender ?? query["from"])
    }

    /// Sends `message` through the adapter `make` builds for a mock answering `answer`; the outcome and what the mock saw.
    static func run(_ answer: MockResponse, _ message: OutgoingSMS = fixtureMessage,
                    _ make: @escaping @Sendable (String) throws -> GenericURLProvider) async throws
        -> (result: Result<SendReceipt, ProviderError>, requests: [RecordedRequest])
    {
        try await MockHTTPServer.with(respond: { _ in answer }) { base, server in
            let provider = try make(base)
            let result: Result<SendReceipt, ProviderError>
            do {
                result = .success(try await provider.send(message))
            } catch let error as ProviderError {
                result = .failure(error)
            }
            return (result, server.requests)
        }
    }

    /// The exchanges of `generic_url.json` the tests of this suite replay.
    static let coveredExchanges: Set<String> = [
        "urlsms.get", "urlsms.get.permfail", "urlsms.get.tempfail_503", "urlsmsauth.get_basic", "urlsmsauth.get_basic.401",
        "urlpostsms.form", "urlpostsmsauth.json", "ref.jasmin.send.success", "ref.jasmin.send.error_400",
        "ref.jasmin.send.error_403", "ref.jasmin.send.error_412", "ref.jasmin.send.error_500", "ref.jasmin.dlr", "ref.jasmin.mo",
        "ref.kannel.generic", "ref.playsms.generic",
    ]

    @Test("every exchange of generic_url.json is replayed by a test of this suite")
    func everyExchangeCovered() throws {
        #expect(Set(try FixtureFile("generic_url").exchangeIDs) == Self.coveredExchanges)
    }

    // MARK: - The uContact-style exchanges

    @Test("URLSMS GET: the fixture URL is sent byte for byte and 'OK <id>' gives the message id")
    func urlSMSGet() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlsms.get")
        let rawQuery = try #require(exchange.request["raw_query"] as? String)
        let (result, requests) = try await Self.run(.fixture(exchange)) { base in
            try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules)
        }
        expectRequest(requests.first, matches: exchange)
        #expect(requests.first?.query == rawQuery)
        #expect(try result.get() == SendReceipt(providerMessageID: "8842113", rawResponse: "OK 8842113"))
    }

    @Test("URLSMS GET: HTTP 200 with an error body matching permfail_regex is a permanent failure")
    func urlSMSPermanentFailure() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlsms.get.permfail")
        let message = OutgoingSMS(reference: Self.reference, destination: "123", text: "x", sender: "CONTACTO")
        let (result, requests) = try await Self.run(.fixture(exchange), message) { base in
            try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules)
        }
        expectRequest(requests.first, matches: exchange)
        #expect(throws: ProviderError(.permanent, code: "200", text: "ERROR invalid destination")) { try result.get() }
    }

    @Test("URLSMS GET: HTTP 503 is a retryable failure")
    func urlSMS503() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlsms.get.tempfail_503")
        let (result, requests) = try await Self.run(.fixture(exchange)) { base in
            try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules)
        }
        expectRequest(requests.first, matches: exchange)
        #expect(throws: ProviderError(.retryable, code: "503", text: "Service Unavailable")) { try result.get() }
    }

    @Test("URLSMSAuth GET: Basic auth from user and password; a 2xx status without regexes is sent, with no id")
    func urlSMSAuth() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlsmsauth.get_basic")
        let (result, requests) = try await Self.run(.fixture(exchange)) { base in
            try Self.provider(.urlSMSAuth, url: base + "/api/send?msisdn={{to|digits}}&msg={{text}}",
                              username: "ccuser", secret: "s3cret", settings: ["success_http": "200-299"])
        }
        expectRequest(requests.first, matches: exchange)
        let receipt = try result.get()
        #expect(receipt.providerMessageID == nil)
        #expect(receipt.rawResponse.contains("accepted"))
    }

    @Test("URLSMSAuth GET: wrong credentials (401) are a permanent failure")
    func urlSMSAuth401() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlsmsauth.get_basic.401")
        let (result, requests) = try await Self.run(.fixture(exchange)) { base in
            try Self.provider(.urlSMSAuth, url: base + "/api/send?msisdn={{to|digits}}&msg={{text}}",
                              username: "ccuser", secret: "wrong")
        }
        expectRequest(requests.first, matches: exchange)
        #expect(throws: ProviderError(.permanent, code: "401", text: "Unauthorized")) { try result.get() }
    }

    @Test("URLSMSPOST: a form body template is form-encoded (space +) and the id is read by JSON Pointer")
    func urlSMSPostForm() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlpostsms.form")
        guard case .form(_, let raw?) = exchange.requestBody else {
            Issue.record("fixture has no raw form body")
            return
        }
        let (result, requests) = try await Self.run(.fixture(exchange)) { base in
            try Self.provider(.urlSMSPost, url: base + "/api/messages", settings: [
                "content_type": "application/x-www-form-urlencoded",
                "body_template": "to={{to}}&from={{from}}&message={{text}}&id={{id}}",
                "success_http": "200-299", "message_id_json": "/id",
            ])
        }
        expectRequest(requests.first, matches: exchange)
        #expect(requests.first?.text == raw)
        #expect(try result.get().providerMessageID == "m-000123")
    }

    @Test("URLPOSTSMSAuth: a JSON body template is JSON-escaped, Basic auth sent, success_regex and JSON Pointer applied")
    func urlPostSMSAuthJSON() async throws {
        let exchange = try FixtureFile("generic_url").exchange("urlpostsmsauth.json")
        let raw = try #require((exchange.request["body"] as? [String: Any])?["raw"] as? String)
        let (result, requests) = try await Self.run(.fixture(exchange)) { base in
            try Self.provider(.urlPostSMSAuth, url: base + "/api/messages", username: "ccuser", secret: "s3cret", settings: [
                "content_type": "application/json",
                "body_template": #"{"to":"{{to}}","text":"{{text}}","coding":"{{encoding}}","ref":"{{id}}"}"#,
                "success_http": "200-299", "success_regex": #""status"\s*:\s*"(queued|sent)""#, "message_id_json": "/id",
            ])
        }
        expectRequest(requests.first, matches: exchange)
        #expect(requests.first?.text == raw)
        #expect(try result.get().providerMessageID == "m-000124")
    }

    // MARK: - Reference products configured through templates

    @Test("Jasmin /send: the template reproduces the documented request and 'Success \"<id>\"' gives the id")
    func jasminSuccess() async throws {
        let exchange = try FixtureFile("generic_url").exchange("ref.jasmin.send.success")
        let (result, requests) = try await Self.run(.fixture(exchange), Self.message(exchange)) { base in
            try Self.provider(.urlSMS, url: base + Self.jasminSendTemplate, username: "foo", secret: "bar",
                              settings: Self.jasminRules, webhookURL: "http://cc.example.com/dlr")
        }
        expectRequest(requests.first, matches: exchange)
        #expect(try result.get() == SendReceipt(providerMessageID: "07033084-5cfd-4812-90a4-e4d24ffb6e3d",
                                                rawResponse: #"Success "07033084-5cfd-4812-90a4-e4d24ffb6e3d""#))
    }

    @Test("Jasmin errors: 400, 403 and 412 are permanent, 500 retryable, each with Jasmin's text",
          arguments: [("ref.jasmin.send.error_400", ProviderError.Kind.permanent), ("ref.jasmin.send.error_403", .permanent),
                      ("ref.jasmin.send.error_412", .permanent), ("ref.jasmin.send.error_500", .retryable)])
    func jasminErrors(id: String, kind: ProviderError.Kind) async throws {
        let exchange = try FixtureFile("generic_url").exchange(id)
        guard case .text(let body) = exchange.responseBody else {
            Issue.record("\(id) has no text answer")
            return
        }
        let (result, requests) = try await Self.run(.fixture(exchange), Self.message(exchange)) { base in
            try Self.provider(.urlSMS, url: base + Self.jasminErrorTemplate, username: "foo", secret: "bar", settings: Self.jasminRules)
        }
        expectRequest(requests.first, matches: exchange)
        #expect(throws: ProviderError(kind, code: String(exchange.responseStatus), text: body)) { try result.get() }
    }

    static let kannelRules = [
        "success_http": "100-599", "success_regex": "ok", "permfail_regex": "failure", "tempfail_regex": "retry later",
        "message_id_regex": "<id>(.+)</id>",
    ]

    @Test("Kannel generic: %P %p %b as {{from}} {{to|noplus}} {{text}}; success by body regex, foreign id by regex")
    func kannelGeneric() async throws {
        let exchange = try FixtureFile("generic_url").exchange("ref.kannel.generic")
        let message = OutgoingSMS(reference: Self.reference, destination: "+5215512345678", text: "hello world", sender: "1234")
        let (result, requests) = try await Self.run(.fixture(exchange), message) { base in
            try Self.provider(.urlSMS, url: base + "/mt.php?from={{from}}&to={{to|noplus}}&text={{text}}", settings: Self.kannelRules)
        }
        expectRequest(requests.first, matches: exchange)
        #expect(try result.get().providerMessageID == "abc-123")
    }

    @Test("Kannel semantics with success_http 100-599: the body alone decides, whatever the status",
          arguments: [(500, "ok <id>9</id>", nil), (200, "failure: bad number", ProviderError.Kind.permanent),
                      (200, "please retry later", .retryable), (503, "retry later", .retryable),
                      (200, "something else", .permanent)] as [(Int, String, ProviderError.Kind?)])
    func kannelSemantics(status: Int, body: String, kind: ProviderError.Kind?) async throws {
        try await MockHTTPServer.with(respond: { _ in .text(status, body) }) { base, _ in
            let provider = try Self.provider(.urlSMS, url: base + "/mt.php?to={{to}}&text={{text}}", settings: Self.kannelRules)
            if let kind {
                #expect(await Self.sendError(provider)?.kind == kind)
            } else {
                #expect(try await provider.send(Self.fixtureMessage).providerMessageID == "9")
            }
        }
    }

    @Test("playSMS generic: {GENERIC_*} placeholders as {{…}}; '<non-zero id> …' is sent, '0 …' failed")
    func playSMSGeneric() async throws {
        let exchange = try FixtureFile("generic_url").exchange("ref.playsms.generic")
        let settings = ["success_regex": #"^[1-9][0-9]*\b"#, "permfail_regex": #"^0\b"#, "message_id_regex": "^([1-9][0-9]*)"]
        let template = "/?user={{username}}&pwd={{password}}&sender={{from}}&msisdn={{to|noplus}}&message={{text|form}}"
        let message = OutgoingSMS(reference: Self.reference, destination: "+5215512345678", text: "hello world", sender: "1234")
        let make: @Sendable (String) throws -> GenericURLProvider = { base in
            try Self.provider(.urlSMS, url: base + template, username: "u", secret: "p", settings: settings)
        }
        let (result, requests) = try await Self.run(.fixture(exchange), message, make)
        expectRequest(requests.first, matches: exchange)
        #expect(requests.first?.query?.contains("message=hello+world") == true)
        #expect(try result.get().providerMessageID == "14395227002806904200")
        let (failure, _) = try await Self.run(.text(200, "0 ERR 102 invalid number"), message, make)
        #expect(throws: ProviderError(.permanent, code: "200", text: "0 ERR 102 invalid number")) { try failure.get() }
    }

    // MARK: - Webhooks

    static func webhook(_ exchange: Exchange) -> WebhookRequest {
        WebhookRequest(method: exchange.method, url: "https://cc.example.com/webhooks/generic/T0k3n" + exchange.path,
                       headers: exchange.requestHeaders.map { (name: $0.key, value: $0.value) }, body: exchange.requestBody.bytes)
    }

    @Test("Jasmin DLR: parsed as delivered with Jasmin's id and error code; answered 200 'ACK/Jasmin'",
          arguments: [[:], ["dlr_id_param": "id", "dlr_status_param": "message_status", "dlr_error_param": "err"]])
    func jasminDLR(settings: [String: String]) throws {
        let exchange = try FixtureFile("generic_url").exchange("ref.jasmin.dlr")
        let provider = try Self.provider(.urlSMS, url: "http://jasmin.example:1401" + Self.jasminSendTemplate,
                                         settings: Self.jasminRules.merging(settings) { $1 })
        let request = Self.webhook(exchange)
        #expect(provider.verifyWebhook(request))
        let reports = try provider.deliveryReports(in: request)
        #expect(reports.count == 1)
        #expect(reports.first?.providerMessageID == "16fd2706-8baf-433b-82eb-8c7fada847da")
        #expect(reports.first?.outcome == .delivered)
        #expect(reports.first?.code == "0")
        #expect(reports.first?.text == "DELIVRD")
        #expect(try provider.inboundMessages(in: request).isEmpty)
        guard case .text(let answer) = exchange.responseBody else {
            Issue.record("fixture answer is not text")
            return
        }
        #expect(provider.webhookAnswer.status == exchange.responseStatus)
        #expect(provider.webhookAnswer.body == answer)
    }

    @Test("Jasmin MO: parsed as an inbound message (from, to, content, id) and no delivery report",
          arguments: [[:], ["inbound_text_param": "content", "inbound_from_param": "from", "inbound_to_param": "to"]])
    func jasminMO(settings: [String: String]) throws {
        let exchange = try FixtureFile("generic_url").exchange("ref.jasmin.mo")
        let provider = try Self.provider(.urlSMS, url: "http://jasmin.example:1401" + Self.jasminSendTemplate,
                                         settings: Self.jasminRules.merging(settings) { $1 })
        let request = Self.webhook(exchange)
        #expect(provider.verifyWebhook(request))
        let messages = try provider.inboundMessages(in: request)
        #expect(messages.count == 1)
        #expect(messages.first?.from == "+21620203060")
        #expect(messages.first?.to == "20203060")
        #expect(messages.first?.text == "Hello world !")
        #expect(messages.first?.providerMessageID == "16fd2706-8baf-433b-82eb-8c7fada847da")
        #expect(try provider.deliveryReports(in: request).isEmpty)
        #expect(provider.webhookAnswer == WebhookAnswer(status: 200, contentType: "text/plain", body: "ACK/Jasmin"))
    }

    @Test("inbound by GET query: configured names are read, and a number's unencoded + survives")
    func inboundQuery() throws {
        let provider = try Self.provider(.urlSMS, url: "https://h/?to={{to}}", sender: "+5215500000000",
                                         settings: ["inbound_from_param": "msisdn", "inbound_text_param": "msg"])
        let request = WebhookRequest(method: "GET", url: "https://cc.example.com/hook/T0k3n?msisdn=+5215512345678&msg=hola+qu%C3%A9+tal",
                                     headers: [], body: [])
        let messages = try provider.inboundMessages(in: request)
        #expect(messages.map(\.from) == ["+5215512345678"])
        #expect(messages.map(\.text) == ["hola qué tal"])
        // No recipient parameter: the configured SMS From is the recipient.
        #expect(messages.map(\.to) == ["+5215500000000"])
        #expect(try provider.deliveryReports(in: request).isEmpty)
    }

    @Test("inbound and reports by JSON body, with JSON Pointer names and a custom status mapping")
    func webhookJSON() throws {
        let provider = try Self.provider(.urlSMSPost, url: "https://h/send", settings: [
            "body_template": "x={{text}}",
            "inbound_from_param": "/sender/number", "inbound_text_param": "/message/text", "inbound_to_param": "to",
            "dlr_id_param": "/ref", "dlr_status_param": "state", "dlr_delivered": "ok,done", "dlr_failed": "bad",
        ])
        let inbound = WebhookRequest(method: "POST", url: "https://cc/h", headers: [("Content-Type", "application/json")],
                                     body: Array(#"{"sender":{"number":"+5215512345678"},"to":"777","message":{"text":"hi \"there\""}}"#.utf8))
        #expect(try provider.inboundMessages(in: inbound).map(\.text) == [#"hi "there""#])
        #expect(try provider.deliveryReports(in: inbound).isEmpty)
        for (state, outcome) in [("DONE", DeliveryReport.Outcome.delivered), ("bad", .failed), ("queued", .pending)] {
            let report = WebhookRequest(method: "POST", url: "https://cc/h", headers: [("Content-Type", "application/json")],
                                        body: Array(#"{"ref":"m-1","state":"\#(state)"}"#.utf8))
            #expect(try provider.deliveryReports(in: report).map(\.outcome) == [outcome], "\(state)")
            #expect(try provider.inboundMessages(in: report).isEmpty)
        }
    }

    @Test("webhooks missing required parameters are malformed, naming the parameter")
    func malformedWebhooks() throws {
        let provider = try Self.provider(.urlSMS, url: "https://h/?to={{to}}")
        let form = [("Content-Type", "application/x-www-form-urlencoded")]
        let reportWithoutID = WebhookRequest(method: "POST", url: "https://cc/h", headers: form, body: Array("status=DELIVRD".utf8))
        #expect(throws: MalformedWebhook.self) { try provider.deliveryReports(in: reportWithoutID) }
        let nothing = WebhookRequest(method: "POST", url: "https://cc/h", headers: form, body: [])
        #expect(throws: MalformedWebhook("no sender parameter (from)")) { try provider.inboundMessages(in: nothing) }
        #expect(try provider.deliveryReports(in: nothing).isEmpty)
        let noText = WebhookRequest(method: "POST", url: "https://cc/h", headers: form, body: Array("from=%2B5215512345678&to=1".utf8))
        #expect(throws: MalformedWebhook("no text parameter (text or content or message)")) { try provider.inboundMessages(in: noText) }
        let noRecipient = WebhookRequest(method: "POST", url: "https://cc/h", headers: form, body: Array("from=1&text=x".utf8))
        #expect(throws: MalformedWebhook.self) { try provider.inboundMessages(in: noRecipient) }
    }

    @Test("without answer settings the webhook answer is 200 with an empty body")
    func defaultWebhookAnswer() throws {
        #expect(try Self.provider(.urlSMS, url: "https://h/?to={{to}}").webhookAnswer == WebhookAnswer())
    }

    // MARK: - Transport and unexpected answers

    @Test("no answer within the timeout is retryable")
    func timeout() async throws {
        try await MockHTTPServer.with(respond: { _ in MockResponse(status: 200, body: Array("OK 1".utf8), delay: .seconds(3)) }) { base, _ in
            let provider = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules, timeout: 0.5)
            let error = await Self.sendError(provider)
            #expect(error?.kind == .retryable)
            #expect(error?.code == "timeout")
        }
    }

    @Test("a refused connection is retryable")
    func refused() async throws {
        let port = try RawTCPServer.closedPort()
        let provider = try Self.provider(.urlSMSPost, url: "http://127.0.0.1:\(port)/send", settings: ["body_template": "t={{text}}"])
        let error = await Self.sendError(provider)
        #expect(error?.kind == .retryable)
        #expect(error?.code == "transport")
    }

    @Test("a truncated answer is retryable, even when its start looks like success")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nOK 88".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            let provider = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules)
            #expect(await Self.sendError(provider)?.kind == .retryable)
        }
    }

    @Test("a 2xx answer not matching success_regex (an HTML page) is a permanent rejection")
    func nonMatchingBody() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, "<html><body>Welcome</body></html>", contentType: "text/html") }) { base, _ in
            let provider = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules)
            let error = await Self.sendError(provider)
            #expect(error?.kind == .permanent)
            #expect(error?.code == "200")
            #expect(error?.text.contains("does not match success_regex") == true)
        }
    }

    @Test("a throttling answer matching tempfail_regex is retryable, with a 2xx or a 4xx status", arguments: [200, 400])
    func throttledBody(status: Int) async throws {
        try await MockHTTPServer.with(respond: { _ in .text(status, "Throttled: slow down") }) { base, _ in
            let provider = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: Self.getRules)
            #expect(await Self.sendError(provider)?.kind == .retryable)
        }
    }

    @Test("a non-JSON answer with message_id_json configured is still sent, without an id")
    func nonJSONBody() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, "queued") }) { base, _ in
            let provider = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: ["message_id_json": "/id"])
            let receipt = try await provider.send(Self.fixtureMessage)
            #expect(receipt == SendReceipt(providerMessageID: nil, rawResponse: "queued"))
        }
    }

    @Test("message_id_json reads nested and numeric values")
    func jsonPointer() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, #"{"messages":[{"id":12345,"a/b":"x"}]}"#, contentType: "application/json") }) { base, _ in
            let numeric = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: ["message_id_json": "/messages/0/id"])
            #expect(try await numeric.send(Self.fixtureMessage).providerMessageID == "12345")
            let escaped = try Self.provider(.urlSMS, url: base + Self.getTemplate, settings: ["message_id_json": "/messages/0/a~1b"])
            #expect(try await escaped.send(Self.fixtureMessage).providerMessageID == "x")
        }
    }

    @Test("an error text never shows the password, even when the provider echoes it")
    func secretMasked() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(403, "bad password s3cretPW for ccuser") }) { base, _ in
            let provider = try Self.provider(.urlSMSAuth, url: base + Self.getTemplate, username: "ccuser", secret: "s3cretPW")
            let error = await Self.sendError(provider)
            #expect(error?.kind == .permanent)
            #expect(error?.text.contains("s3cretPW") == false)
            #expect(error?.description.contains("s3cretPW") == false)
        }
    }

    // MARK: - Escaping end to end

    @Test("a hard text reaches the provider intact through a URL query, a form, a JSON and an XML body",
          arguments: URLTemplateTests.hardTexts.filter { !$0.isEmpty })
    func escapingEndToEnd(text: String) async throws {
        let message = OutgoingSMS(reference: "r-1", destination: "+5215512345678", text: text, sender: "Tienda & Co")
        try await MockHTTPServer.with(respond: { _ in .text(200, "OK") }) { base, server in
            _ = try await Self.provider(.urlSMS, url: base + "/q?to={{to}}&from={{from}}&text={{text}}").send(message)
            _ = try await Self.provider(.urlSMSPost, url: base + "/f", settings: ["body_template": "to={{to}}&from={{from}}&text={{text}}"]).send(message)
            _ = try await Self.provider(.urlSMSPost, url: base + "/j", settings: [
                "content_type": "application/json", "body_template": #"{"to":"{{to}}","from":"{{from}}","text":"{{text}}"}"#,
            ]).send(message)
            _ = try await Self.provider(.urlSMSPost, url: base + "/x", settings: [
                "content_type": "text/xml", "body_template": #"<sms to="{{to}}" from="{{from}}">{{text}}</sms>"#,
            ]).send(message)
            let requests = server.requests
            try #require(requests.count == 4)
            let expected = ["to=+5215512345678", "from=Tienda & Co", "text=\(text)"]
            #expect(requests[0].queryPairs.map { "\($0.0)=\($0.1)" } == expected)
            #expect(requests[1].formFields.map { "\($0.0)=\($0.1)" } == expected)
            #expect(requests[1].header("Content-Type") == "application/x-www-form-urlencoded")
            let json = try #require(requests[2].json as? [String: String])
            #expect(json == ["to": "+5215512345678", "from": "Tienda & Co", "text": text])
            let reader = SMSElementReader()
            let parser = XMLParser(data: Data(requests[3].body))
            parser.delegate = reader
            #expect(parser.parse())
            #expect(reader.attributes == ["to": "+5215512345678", "from": "Tienda & Co"])
            #expect(reader.text == text)
        }
    }

    @Test("extra headers are sent with placeholders filled in; a Content-Type header replaces the default and sets the body's escaping")
    func extraHeaders() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, "OK") }) { base, server in
            let provider = try Self.provider(.urlSMSPost, url: base + "/send", username: "acct", secret: "k3y", settings: [
                "body_template": "{{text}}", "headers": "X-Api-Key: {{password}}\n\nX-Account: {{username}}\nContent-Type: text/plain; charset=utf-8",
            ])
            _ = try await provider.send(Self.fixtureMessage)
            let request = try #require(server.requests.first)
            #expect(request.header("X-Api-Key") == "k3y")
            #expect(request.header("X-Account") == "acct")
            #expect(request.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(request.header("Authorization") == nil)
            #expect(request.text == Self.fixtureText)
        }
    }

    @Test("{{encoding}}, {{segments}} and {{port}} follow the text and the dial string; encoding_values renames the encodings")
    func encodingAndSegments() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, "OK") }) { base, server in
            let template = base + "/s?c={{encoding}}&n={{segments}}&p={{port}}"
            _ = try await Self.provider(.urlSMS, url: template).send(OutgoingSMS(reference: "1", destination: "+1", text: "plain", port: 3))
            _ = try await Self.provider(.urlSMS, url: template, settings: ["encoding_values": "0,8"])
                .send(OutgoingSMS(reference: "2", destination: "+1", text: String(repeating: "ó", count: 71)))
            _ = try await Self.provider(.urlSMS, url: template, encoding: .ucs2).send(OutgoingSMS(reference: "3", destination: "+1", text: "plain"))
            #expect(server.requests.map { $0.query ?? "" } == ["c=gsm7&n=1&p=3", "c=8&n=2&p=", "c=ucs2&n=1&p="])
        }
    }

    @Test("a text GSM-7 cannot carry is refused permanently before any request when the encoding is forced to GSM-7")
    func forcedGSM7() async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, "OK") }) { base, server in
            let provider = try Self.provider(.urlSMS, url: base + Self.getTemplate, encoding: .gsm7)
            let error = await Self.sendError(provider)
            #expect(error?.kind == .permanent)
            #expect(error?.code == "encoding")
            #expect(server.requests.isEmpty)
        }
    }

    // MARK: - Configuration

    @Test("configuration problems name the field or setting")
    func configurationErrors() {
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: nil) }?.field == "url")
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "ftp://h/{{to}}") }?.field == "url")
        #expect(Self.configurationError { try Self.provider(.urlSMSAuth, url: "https://h/?to={{to}}") }?.field == "username")
        #expect(Self.configurationError { try Self.provider(.urlSMSAuth, url: "https://h/?to={{to}}", username: "u") }?.field == "secret")
        #expect(Self.configurationError { try Self.provider(.urlSMSPost, url: "https://h/") }?.field == "settings.body_template")
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "https://h/", settings: ["body_template": "x"]) }?.field
            == "settings.body_template")
        #expect(Self.configurationError { try Self.provider(.twilio, url: "https://h/") }?.field == "type")
        let parse = Self.configurationError { try Self.provider(.urlSMS, url: "https://h/?to={{phone}}") }
        #expect(parse?.field == "url")
        #expect(parse?.message.contains("unknown placeholder 'phone' at character 17") == true)
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "https://h/", settings: ["success_regex": "(unclosed"]) }?.field
            == "settings.success_regex")
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "https://h/", settings: ["success_http": "2xx"]) }?.field
            == "settings.success_http")
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "https://h/", settings: ["message_id_regex": "OK \\S+"]) }?.field
            == "settings.message_id_regex")
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "https://h/", settings: ["message_id_json": "id"]) }?.field
            == "settings.message_id_json")
        #expect(Self.configurationError { try Self.provider(.urlSMSPost, url: "https://h/", settings: ["body_template": "x", "method": "DELETE"]) }?.field
            == "settings.method")
        #expect(Self.configurationError { try Self.provider(.urlSMS, url: "https://h/", settings: ["headers": "no colon"]) }?.field
            == "settings.headers")
        #expect(Self.configurationError { try Self.provider(.quality, url: "https://h/", settings: ["auth": "digest"]) }?.field
            == "settings.auth")
    }

    @Test("the field schemas say which fields each generic type needs and list every setting key")
    func fieldSchemas() throws {
        #expect(GenericURLProvider.fieldSchemas.map(\.type) == GenericURLProvider.supportedTypes)
        let get = try #require(GenericURLProvider.fields(for: .urlSMS))
        #expect(get.requires(.url) && !get.requires(.username) && !get.requires(.secret))
        let auth = try #require(GenericURLProvider.fields(for: .urlPostSMSAuth))
        #expect(auth.requires(.url) && auth.requires(.username) && auth.requires(.secret))
        #expect(auth.settings.first { $0.key == "body_template" }?.required == true)
        #expect(get.settings.contains { $0.key == "body_template" } == false)
        for key in ["headers", "success_http", "success_regex", "permfail_regex", "tempfail_regex", "message_id_regex",
                    "message_id_json", "encoding_values", "inbound_from_param", "dlr_status_param", "webhook_answer_body"] {
            #expect(get.settings.contains { $0.key == key }, "\(key)")
        }
        #expect(GenericURLProvider.fields(for: .twilio) == nil)
    }

    // MARK: - Quality and GMG presets

    @Test("Quality and GMG are presets of the generic engine: their note says there is no public specification",
          arguments: [ProviderType.quality, .gmg])
    func presetNotes(type: ProviderType) throws {
        // The fixture records that no contract was found; when one is added, these types need a real adapter.
        #expect(try FixtureFile("quality_gmg").exchangeIDs.isEmpty)
        let schema = try #require(GenericURLProvider.fields(for: type))
        #expect(schema.note?.contains("No public specification") == true)
        #expect(schema.note?.contains("preset of the generic URL template engine") == true)
        #expect(schema.requires(.url))
        #expect(schema.settings.contains { $0.key == "method" } && schema.settings.contains { $0.key == "auth" })
    }

    @Test("a Quality or GMG preset sends the admin's template: GET by default, POST with a body, Basic when a user is given",
          arguments: [ProviderType.quality, .gmg])
    func presetsSend(type: ProviderType) async throws {
        try await MockHTTPServer.with(respond: { _ in .text(200, "OK 77") }) { base, server in
            let get = try Self.provider(type, url: base + "/sms?dest={{to|noplus}}&msg={{text}}", settings: ["message_id_regex": "OK (\\d+)"])
            #expect(get.type == type)
            #expect(try await get.send(Self.fixtureMessage).providerMessageID == "77")
            let post = try Self.provider(type, url: base + "/sms", username: "ccuser", secret: "s3cret", settings: [
                "method": "POST", "content_type": "application/json", "body_template": #"{"dest":"{{to}}","msg":"{{text}}"}"#,
            ])
            _ = try await post.send(Self.fixtureMessage)
            let noAuth = try Self.provider(type, url: base + "/sms?u={{username}}", username: "ccuser", secret: "s3cret",
                                           settings: ["auth": "none"])
            _ = try await noAuth.send(Self.fixtureMessage)
            let requests = server.requests
            try #require(requests.count == 3)
            #expect(requests[0].method == "GET")
            #expect(requests[0].queryPairs.map { "\($0.0)=\($0.1)" } == ["dest=5215512345678", "msg=\(Self.fixtureText)"])
            #expect(requests[0].header("Authorization") == nil)
            #expect(requests[1].method == "POST")
            #expect(requests[1].header("Authorization") == "Basic Y2N1c2VyOnMzY3JldA==")
            #expect((requests[1].json as? [String: String]) == ["dest": "+5215512345678", "msg": Self.fixtureText])
            #expect(requests[2].header("Authorization") == nil)
            #expect(requests[2].query == "u=ccuser")
        }
    }
}

/// Collects the attributes and text of an `<sms>` element.
private final class SMSElementReader: NSObject, XMLParserDelegate {
    var attributes: [String: String] = [:]
    var text = ""
    private var inside = false

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elementName == "sms" {
            self.attributes = attributes
            inside = true
        }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "sms" { inside = false }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inside { text += string }
    }
}
