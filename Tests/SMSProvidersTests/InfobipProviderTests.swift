import AsyncHTTPClient
import Foundation
import SMSCore
import SMSProviders
import Testing

@Suite("Infobip provider")
struct InfobipProviderTests {
    static func apiKey() throws -> String { try FixtureFile("infobip").credential("api_key") }

    static func provider(url: String?, secret: String? = nil, sender: String? = "InfoSMS",
                         settings: [String: String] = [:], webhookURL: String? = nil,
                         timeout: TimeInterval = 5) throws -> InfobipProvider {
        try InfobipProvider(
            config: ProviderConfig(type: .infobip, url: url, secret: secret ?? apiKey(), sender: sender,
                                   settings: settings, webhookURL: webhookURL, timeout: timeout),
            http: ProviderHTTP(client: .shared))
    }

    /// Sends `message` with `provider` to a mock answering `answer`; the result and what the mock received.
    static func exchange(_ answer: MockResponse, message: OutgoingSMS,
                         provider make: @escaping @Sendable (String) throws -> InfobipProvider)
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

    static func webhookRequest(_ exchange: Exchange) -> WebhookRequest {
        WebhookRequest(method: exchange.method, url: exchange.fullURL ?? "https://desk.example.com\(exchange.path)?token=t",
                       headers: exchange.requestHeaders.map { (name: $0.key, value: $0.value) },
                       body: exchange.requestBody.bytes)
    }

    static func jsonRequest(_ json: String) -> WebhookRequest {
        WebhookRequest(method: "POST", url: "https://desk.example.com/webhooks/infobip?token=t",
                       headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    /// UTC date from its parts.
    static func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int,
                    milliseconds: Int = 0) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute,
                                                      second: second))!
        return date.addingTimeInterval(Double(milliseconds) / 1000)
    }

    /// Method, path, query and the named headers (not the body) of a fixture request.
    static func expectEnvelope(_ recorded: RecordedRequest?, matches exchange: Exchange, headers: [String],
                               sourceLocation: SourceLocation = #_sourceLocation) {
        guard let recorded else {
            Issue.record("no request for \(exchange.id)", sourceLocation: sourceLocation)
            return
        }
        #expect(recorded.method == exchange.method, sourceLocation: sourceLocation)
        #expect(recorded.path == exchange.path, sourceLocation: sourceLocation)
        for name in headers {
            let want = exchange.requestHeaders.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
            #expect(recorded.header(name) == want, "\(exchange.id): header \(name)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Sending: fixture exchanges

    @Test("v2 send posts /sms/2/text/advanced with App auth and returns the messageId")
    func sendV2Simple() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.v2.simple")
        let message = OutgoingSMS(reference: "17", destination: "41793026727", text: "This is a sample message")
        let answer = MockResponse.fixture(exchange)
        let (result, requests) = try await Self.exchange(answer, message: message) {
            try Self.provider(url: $0)
        }
        expectRequest(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        let receipt = try result.get()
        #expect(receipt.providerMessageID == "2250be2d4219-3af1-78856-aabe-1362af1edfd2")
        #expect(receipt.rawResponse == String(decoding: answer.body, as: UTF8.self))
    }

    @Test("v2 send carries notifyUrl, our reference as messageId, callbackData and validity from the settings")
    func sendV2WithWebhook() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.v2.with_dlr_webhook")
        let message = OutgoingSMS(reference: "4711", destination: "385991112222", text: "Laku noć")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(
                url: $0,
                settings: ["send_reference": "true", "message_id_prefix": "cc-", "callback_data": "ticket={reference}",
                           "validity_period": "720"],
                webhookURL: "https://cc.example.com/webhooks/infobip/dlr")
        }
        expectRequest(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(try result.get().providerMessageID == "cc-4711")
    }

    @Test("v3 send posts /sms/3/messages with sender and content.text")
    func sendV3Simple() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.v3.simple")
        let message = OutgoingSMS(reference: "17", destination: "41793026727", text: "This is a sample message")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, settings: ["api_version": "3"])
        }
        expectRequest(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(try result.get().providerMessageID == "2250be2d4219-3af1-78856-aabe-1362af1edfd2")
    }

    @Test("v3 send carries webhooks.delivery, options.validityPeriod and the content options from the settings")
    func sendV3WithWebhook() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.v3.with_dlr_webhook")
        let message = OutgoingSMS(reference: "abc123", destination: "385991112222", text: "Laku noć", sender: "Info")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(
                url: $0,
                settings: ["api_version": "3", "send_reference": "true", "callback_data": "transactionId=100",
                           "validity_period": "720", "validity_time_unit": "HOURS", "intermediate_report": "true",
                           "transliteration": "CENTRAL_EUROPEAN", "language_code": "AUTODETECT"],
                webhookURL: "https://www.example.com/sms/advanced")
        }
        expectRequest(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(try result.get().providerMessageID == "abc123")
    }

    @Test("validity in hours is sent to API v2 in minutes")
    func validityHoursInV2() async throws {
        let answer = MockResponse.fixture(try FixtureFile("infobip").exchange("send.v2.simple"))
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "x")
        let (_, requests) = try await Self.exchange(answer, message: message) {
            try Self.provider(url: $0, settings: ["validity_period": "2", "validity_time_unit": "HOURS"])
        }
        let json = try #require(requests.first?.json as? [String: Any])
        let first = try #require((json["messages"] as? [[String: Any]])?.first)
        #expect(first["validityPeriod"] as? Int == 120)
    }

    @Test("a 400 with the legacy envelope is permanent with its messageId, text and validation errors")
    func error400Legacy() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.error.400_legacy")
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0)
        }
        // The fixture's request leaves `text` out; we send it empty.
        Self.expectEnvelope(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(result == .failure(ProviderError(.permanent, code: "BAD_REQUEST", text: "Bad request (message: must not be empty)")))
    }

    @Test("a 401 with the legacy envelope is a permanent UNAUTHORIZED")
    func error401Legacy() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.error.401_legacy")
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "hi")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, secret: "wrong")
        }
        Self.expectEnvelope(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(result == .failure(ProviderError(.permanent, code: "UNAUTHORIZED", text: "Invalid login details")))
    }

    @Test("a 429 E429 (throttled) is retryable")
    func error429() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.error.429_new_format")
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "hi")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, settings: ["api_version": "3"])
        }
        expectRequest(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(result == .failure(ProviderError(.retryable, code: "E429", text: "Too many requests sent.")))
    }

    @Test("a 400 with the new envelope is permanent with errorCode, description and violations")
    func error400NewFormat() async throws {
        let exchange = try FixtureFile("infobip").exchange("send.error.400_new_format")
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "")
        let (result, requests) = try await Self.exchange(.fixture(exchange), message: message) {
            try Self.provider(url: $0, settings: ["api_version": "3"])
        }
        Self.expectEnvelope(requests.first, matches: exchange, headers: ["Authorization", "Content-Type", "Accept"])
        #expect(result == .failure(ProviderError(
            .permanent, code: "E400",
            text: "Request cannot be processed. (messages[0].content.text: Must not be null.)")))
    }

    // MARK: Sending: other answers

    @Test("a send answer whose status group is REJECTED or UNDELIVERABLE is permanent with the status name",
          arguments: [(5, "REJECTED", "REJECTED_NOT_ENOUGH_CREDITS"), (2, "UNDELIVERABLE", "UNDELIVERABLE_REJECTED_OPERATOR")])
    func rejectedInSendAnswer(_ group: Int, _ groupName: String, _ name: String) async throws {
        let body = #"{"bulkId":"b","messages":[{"to":"41793026727","messageId":"m1","status":{"groupId":\#(group),"groupName":"\#(groupName)","id":12,"name":"\#(name)","description":"Not sent"}}]}"#
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "hi")
        let (result, _) = try await Self.exchange(.text(200, body, contentType: "application/json"), message: message) {
            try Self.provider(url: $0)
        }
        #expect(result == .failure(ProviderError(.permanent, code: name, text: "Not sent")))
    }

    @Test("a 500 with the legacy GENERAL_ERROR envelope is retryable")
    func error500() async throws {
        let body = #"{"requestError":{"serviceException":{"messageId":"GENERAL_ERROR","text":"Something went wrong"}}}"#
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "hi")
        let (result, _) = try await Self.exchange(.text(500, body, contentType: "application/json"), message: message) {
            try Self.provider(url: $0)
        }
        #expect(result == .failure(ProviderError(.retryable, code: "GENERAL_ERROR", text: "Something went wrong")))
    }

    @Test("a non-JSON answer is retryable on 200 and 502, permanent on 403; the API key never appears in the text",
          arguments: [(200, ProviderError.Kind.retryable, "unexpected_answer"), (502, .retryable, "502"), (403, .permanent, "403")])
    func nonJSONAnswer(_ status: Int, _ kind: ProviderError.Kind, _ code: String) async throws {
        let key = try Self.apiKey()
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "hi")
        let (result, _) = try await Self.exchange(.text(status, "<html>App \(key)</html>", contentType: "text/html"),
                                                  message: message) { try Self.provider(url: $0) }
        guard case .failure(let error) = result else {
            Issue.record("accepted a non-JSON answer")
            return
        }
        #expect(error.kind == kind)
        #expect(error.code == code)
        #expect(!error.text.contains(key))
    }

    @Test("no answer within the timeout is retryable")
    func timeout() async throws {
        let message = OutgoingSMS(reference: "1", destination: "41793026727", text: "hi")
        let (result, _) = try await Self.exchange(MockResponse(status: 200, delay: .seconds(2)), message: message) {
            try Self.provider(url: $0, timeout: 0.3)
        }
        #expect((try? result.get()) == nil)
        if case .failure(let error) = result {
            #expect(error.kind == .retryable)
            #expect(error.code == "timeout")
        }
    }

    @Test("a refused connection is retryable")
    func refused() async throws {
        let port = try RawTCPServer.closedPort()
        let provider = try Self.provider(url: "http://127.0.0.1:\(port)")
        await #expect(throws: ProviderError.self) {
            do {
                _ = try await provider.send(OutgoingSMS(reference: "1", destination: "41793026727", text: "hi"))
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
                #expect(error.code == "transport")
                throw error
            }
        }
    }

    @Test("a truncated answer is retryable")
    func truncated() async throws {
        let raw = Array("HTTP/1.1 200 OK\r\nContent-Length: 200\r\nContent-Type: application/json\r\n\r\n{\"bulkId\":".utf8)
        try await RawTCPServer.with(answer: raw) { base in
            let provider = try Self.provider(url: base)
            do {
                _ = try await provider.send(OutgoingSMS(reference: "1", destination: "41793026727", text: "hi"))
                Issue.record("accepted a truncated answer")
            } catch let error as ProviderError {
                #expect(error.kind == .retryable)
            }
        }
    }

    // MARK: Configuration

    @Test("a missing API key or a bad setting is refused at init, naming the field")
    func configValidation() throws {
        let http = ProviderHTTP(client: .shared)
        let cases: [(ProviderConfig, String)] = [
            (ProviderConfig(type: .infobip), "secret"),
            (ProviderConfig(type: .infobip, secret: "k", settings: ["api_version": "4"]), "settings.api_version"),
            (ProviderConfig(type: .infobip, secret: "k", settings: ["validity_period": "soon"]), "settings.validity_period"),
            (ProviderConfig(type: .infobip, secret: "k", settings: ["validity_period": "5", "validity_time_unit": "WEEKS"]),
             "settings.validity_time_unit"),
            (ProviderConfig(type: .infobip, secret: "k", settings: ["send_reference": "maybe"]), "settings.send_reference"),
        ]
        for (config, field) in cases {
            #expect {
                _ = try InfobipProvider(config: config, http: http)
            } throws: { error in
                (error as? ProviderError)?.code == "config" && (error as? ProviderError)?.text.hasPrefix(field) == true
            }
        }
    }

    @Test("the default base URL is Infobip's legacy one and the API version 2")
    func defaults() throws {
        let provider = try InfobipProvider(config: ProviderConfig(type: .infobip, secret: "k"), http: ProviderHTTP(client: .shared))
        #expect(provider.apiVersion == .v2)
        #expect(InfobipProvider.defaultBaseURL == "https://api.infobip.com")
        #expect(InfobipProvider.fields.requires(.secret))
        #expect(!InfobipProvider.fields.requires(.url))
    }

    // MARK: Webhooks

    @Test("every webhook is accepted: Infobip does not sign, the URL token protects it")
    func verifyAlwaysTrue() throws {
        let provider = try Self.provider(url: nil)
        for id in ["webhook.dlr.v2", "webhook.dlr.v3", "webhook.dlr.undeliverable", "webhook.inbound_mo"] {
            let exchange = try FixtureFile("infobip").exchange(id)
            #expect(provider.verifyWebhook(Self.webhookRequest(exchange)))
            #expect(provider.webhookAnswer.status == exchange.responseStatus)
            #expect(provider.webhookAnswer.body.isEmpty)
        }
    }

    @Test("a v2 delivery report (smsCount) is delivered with its messageId, status name and doneAt")
    func dlrV2() throws {
        let request = Self.webhookRequest(try FixtureFile("infobip").exchange("webhook.dlr.v2"))
        let provider = try Self.provider(url: nil)
        #expect(try provider.deliveryReports(in: request) == [
            DeliveryReport(providerMessageID: "MESSAGE-ID-123-xyz", outcome: .delivered, code: "DELIVERED_TO_HANDSET",
                           text: "Message delivered to handset", at: Self.utc(2019, 11, 9, 16, 0, 0)),
        ])
        #expect(try provider.inboundMessages(in: request).isEmpty)
    }

    @Test("a v3 delivery report push with two results gives two delivered reports")
    func dlrV3() throws {
        let request = Self.webhookRequest(try FixtureFile("infobip").exchange("webhook.dlr.v3"))
        let reports = try Self.provider(url: nil).deliveryReports(in: request)
        #expect(reports.map(\.providerMessageID) == ["MESSAGE-ID-123-xyz", "12db39c3-7822-4e72-a3ec-c87442c0ffc5"])
        #expect(reports.map(\.outcome) == [.delivered, .delivered])
        #expect(reports.last?.at == Self.utc(2019, 11, 9, 17, 0, 0))
    }

    @Test("an UNDELIVERABLE report is failed with the error's name and description")
    func dlrUndeliverable() throws {
        let request = Self.webhookRequest(try FixtureFile("infobip").exchange("webhook.dlr.undeliverable"))
        #expect(try Self.provider(url: nil).deliveryReports(in: request) == [
            DeliveryReport(providerMessageID: "MESSAGE-ID-123-xyz", outcome: .failed, code: "EC_ABSENT_SUBSCRIBER",
                           text: "Absent Subscriber", at: Self.utc(2019, 11, 9, 16, 0, 0)),
        ])
    }

    @Test("EXPIRED and REJECTED reports are failed, PENDING pending",
          arguments: [("EXPIRED", 4, DeliveryReport.Outcome.failed), ("REJECTED", 5, .failed), ("PENDING", 1, .pending)])
    func dlrOtherGroups(_ name: String, _ group: Int, _ outcome: DeliveryReport.Outcome) throws {
        let request = Self.jsonRequest(#"{"results":[{"messageId":"m9","status":{"groupId":\#(group),"groupName":"\#(name)","id":1,"name":"\#(name)_X","description":"d"},"error":{"groupId":0,"groupName":"OK","id":0,"name":"NO_ERROR","description":"No Error","permanent":false}}]}"#)
        let reports = try Self.provider(url: nil).deliveryReports(in: request)
        #expect(reports.map(\.outcome) == [outcome])
        #expect(reports.first?.code == "\(name)_X")
    }

    @Test("an inbound (MO) push gives the message with from, to, text and receivedAt")
    func inbound() throws {
        let request = Self.webhookRequest(try FixtureFile("infobip").exchange("webhook.inbound_mo"))
        let provider = try Self.provider(url: nil)
        #expect(try provider.inboundMessages(in: request) == [
            InboundSMS(providerMessageID: "817790313235066447", from: "385916242493", to: "385921004026",
                       text: "QUIZ Correct answer is Paris",
                       receivedAt: Self.utc(2016, 10, 6, 9, 28, 39, milliseconds: 220)),
        ])
        #expect(try provider.deliveryReports(in: request).isEmpty)
    }

    @Test("a webhook without results, a report without messageId or an MO without from is malformed",
          arguments: [#"{"messageCount":1}"#, "not json",
                      #"{"results":[{"status":{"groupId":3,"groupName":"DELIVERED"}}]}"#,
                      #"{"results":[{"messageId":"1","to":"385921004026","text":"hi"}]}"#])
    func malformed(_ body: String) throws {
        let provider = try Self.provider(url: nil)
        let request = Self.jsonRequest(body)
        #expect(throws: MalformedWebhook.self) {
            _ = try provider.deliveryReports(in: request)
            _ = try provider.inboundMessages(in: request)
        }
    }
}
