import Foundation
import Testing

@testable import SMSSimulator

/// The simulator answers sends exactly as the provider does in the fixtures:
/// same status, same JSON shape (keys and kinds of values; ids may differ).
@Suite struct SendAnswerTests {
    struct Example: Sendable, CustomTestStringConvertible {
        let provider: Provider
        let exchange: String
        var testDescription: String { "\(provider.type) \(exchange)" }
    }

    static let successes: [Example] = [
        Example(provider: .twilio, exchange: "send.success"),
        Example(provider: .twilio, exchange: "send.messaging_service"),
        Example(provider: .nexmo, exchange: "send.success"),
        Example(provider: .nexmo, exchange: "send.unicode.basic_auth"),
        Example(provider: .nexmo, exchange: "send.long_two_parts"),
        Example(provider: .infobip, exchange: "send.v2.simple"),
        Example(provider: .infobip, exchange: "send.v2.with_dlr_webhook"),
        Example(provider: .infobip, exchange: "send.v3.simple"),
        Example(provider: .infobip, exchange: "send.v3.with_dlr_webhook"),
        Example(provider: .dinstar, exchange: "send_sms.accepted"),
        Example(provider: .dinstar, exchange: "send_sms.template_batch"),
        Example(provider: .smsmasivo, exchange: "v2.send.success.json"),
        Example(provider: .smsmasivo, exchange: "v2.send.success.form_multi"),
        Example(provider: .smsmasivo, exchange: "v1.envio.success"),
        Example(provider: .generic, exchange: "urlsms.get"),
        Example(provider: .generic, exchange: "urlpostsms.form"),
        Example(provider: .generic, exchange: "urlpostsmsauth.json"),
    ]

    @Test(arguments: successes)
    func successAnswerHasTheFixtureStatusAndShape(_ example: Example) async throws {
        let exchange = try example.provider.load().exchange(example.exchange)
        try await RunningSimulator.with(example.provider.options()) { simulator in
            let answer = try await simulator.send(exchange.request)
            expectAnswer(answer, matches: exchange)
            let stats = simulator.server.recorder.stats
            #expect(stats.accepted >= 1 && stats.rejected == 0 && stats.retryable == 0)
        }
    }

    @Test func twilioEchoesTheMessageWithAFreshSid() async throws {
        let exchange = try Provider.twilio.load().exchange("send.success")
        try await RunningSimulator.with(Provider.twilio.options()) { simulator in
            let first = try #require(try await simulator.send(exchange.request).json)
            let second = try #require(try await simulator.send(exchange.request).json)
            #expect(first["to"]?.text == "+15558675310")
            #expect(first["from"]?.text == "+15017122661")
            #expect(first["body"]?.text == "Hola, su ticket 4711 fue actualizado")
            #expect(first["status"]?.text == "queued")
            #expect(first["account_sid"]?.text == "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            let sid = try #require(first["sid"]?.text)
            #expect(sid.wholeMatch(of: /SM[0-9a-f]{32}/) != nil)
            #expect(first["uri"]?.text == "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/\(sid).json")
            #expect(second["sid"]?.text != sid)
        }
    }

    @Test func infobipEchoesTheCallersMessageID() async throws {
        let exchange = try Provider.infobip.load().exchange("send.v2.with_dlr_webhook")
        try await RunningSimulator.with(Provider.infobip.options()) { simulator in
            let answer = try #require(try await simulator.send(exchange.request).json)
            #expect(answer["messages.0.messageId"]?.text == "cc-4711")
            #expect(answer["messages.0.status.groupName"]?.text == "PENDING")
        }
    }

    // MARK: Errors on request

    struct ErrorExample: Sendable, CustomTestStringConvertible {
        let provider: Provider
        /// The success request sent, with its destination changed.
        let request: String
        /// The fixture exchange whose answer shape is expected.
        let expected: String
        /// When the fixture has no exchange with this exact answer.
        var status: Int?
        var values: [String: String] = [:]
        /// Members whose keys name the request's fields, compared apart.
        var ignoring: Set<String> = []
        var testDescription: String { "\(provider.type) \(request) → \(expected)" }
    }

    static let failures: [ErrorExample] = [
        ErrorExample(provider: .twilio, request: "send.success", expected: "send.error.21211_invalid_to",
                     values: ["code": "21211"]),
        ErrorExample(provider: .nexmo, request: "send.success", expected: "send.error.7_number_barred",
                     values: ["messages.0.status": "6"]),
        ErrorExample(provider: .infobip, request: "send.v2.simple", expected: "send.error.400_legacy",
                     values: ["requestError.serviceException.messageId": "BAD_REQUEST"], ignoring: ["validationErrors"]),
        ErrorExample(provider: .infobip, request: "send.v3.simple", expected: "send.error.400_new_format",
                     values: ["errorCode": "E400", "violations.0.property": "messages[0].destinations[0].to"]),
        ErrorExample(provider: .dinstar, request: "send_sms.accepted", expected: "send_sms.rejected_400",
                     values: ["error_code": "400"]),
        ErrorExample(provider: .smsmasivo, request: "v2.send.success.json", expected: "v2.send.error.sms_04",
                     values: ["code": "sms_04", "number": "3334971999"]),
        ErrorExample(provider: .generic, request: "urlsms.get", expected: "urlsms.get.permfail"),
    ]

    @Test(arguments: failures)
    func failSuffixGetsTheProvidersPermanentError(_ example: ErrorExample) async throws {
        try await expectError(example, destinationEnding: "999", outcome: .rejected)
    }

    static let retries: [ErrorExample] = [
        ErrorExample(provider: .twilio, request: "send.success", expected: "send.error.20429_too_many_requests",
                     values: ["code": "20429"]),
        ErrorExample(provider: .nexmo, request: "send.success", expected: "send.error.1_throttled",
                     values: ["messages.0.status": "1", "messages.0.error-text": "Throttled"]),
        ErrorExample(provider: .infobip, request: "send.v3.simple", expected: "send.error.429_new_format",
                     values: ["errorCode": "E429"]),
        ErrorExample(provider: .infobip, request: "send.v2.simple", expected: "send.error.429_new_format",
                     values: ["errorCode": "E429"]),
        ErrorExample(provider: .dinstar, request: "send_sms.accepted", expected: "send_sms.rejected_400",
                     values: ["error_code": "503"]),
        ErrorExample(provider: .smsmasivo, request: "v2.send.success.json", expected: "v2.send.error.sms_07_no_credit",
                     status: 500, values: ["code": "sms_12", "success": "false"]),
        ErrorExample(provider: .generic, request: "urlsms.get", expected: "urlsms.get.tempfail_503"),
    ]

    @Test(arguments: retries)
    func retrySuffixGetsTheProvidersRetryableError(_ example: ErrorExample) async throws {
        try await expectError(example, destinationEnding: "998", outcome: .retryable)
    }

    private func expectError(_ example: ErrorExample, destinationEnding suffix: String, outcome: SendOutcome) async throws {
        let fixture = try example.provider.load()
        let base = try fixture.exchange(example.request)
        let expected = try fixture.exchange(example.expected)
        let destination = example.provider.type == .smsmasivo ? "3334971" + suffix : "5215512345" + suffix
        let request = example.provider.destination.replacing(in: base.request, with: destination)
        try await RunningSimulator.with(example.provider.options()) { simulator in
            let answer = try await simulator.send(request)
            expectAnswer(answer, matches: expected, status: example.status, ignoring: example.ignoring)
            let json = answer.json
            for (path, value) in example.values {
                #expect(json?[path]?.text == value, "\(path) in \(answer.text)")
            }
            if example.provider.type == .infobip, outcome == .rejected {
                #expect(answer.text.contains("messages[0].destinations[0].to"))
            }
            let recorded = simulator.server.recorder.messages
            #expect(recorded.map(\.outcome) == [outcome])
            #expect(recorded.first?.to == destination)
        }
    }

    // MARK: Credentials

    struct CredentialExample: Sendable, CustomTestStringConvertible {
        let provider: Provider
        let exchange: String
        var username: String?
        var secret: String?
        var testDescription: String { "\(provider.type) \(exchange)" }
    }

    static let refusals: [CredentialExample] = [
        CredentialExample(provider: .twilio, exchange: "send.error.20003_auth"),
        CredentialExample(provider: .nexmo, exchange: "send.error.4_invalid_credentials"),
        CredentialExample(provider: .infobip, exchange: "send.error.401_legacy"),
        CredentialExample(provider: .dinstar, exchange: "auth.digest_challenge"),
        CredentialExample(provider: .smsmasivo, exchange: "v2.send.error.auth_01"),
        CredentialExample(provider: .generic, exchange: "urlsmsauth.get_basic.401", username: "ccuser", secret: "s3cret"),
    ]

    @Test(arguments: refusals)
    func badCredentialsGetTheProvidersAuthError(_ example: CredentialExample) async throws {
        let exchange = try example.provider.load().exchange(example.exchange)
        var options = example.provider.options()
        options.username = example.username ?? options.username
        options.secret = example.secret ?? options.secret
        try await RunningSimulator.with(options) { simulator in
            let answer = try await simulator.send(exchange.request)
            expectAnswer(answer, matches: exchange)
            for (name, value) in exchange.responseHeaders where name.lowercased() == "www-authenticate" {
                #expect(answer.header(name) == value)
            }
            #expect(simulator.server.recorder.stats.authFailures == 1)
            #expect(simulator.server.recorder.stats.accepted == 0)
        }
    }

    @Test func genericAcceptsTheRightBasicCredentials() async throws {
        let exchange = try Provider.generic.load().exchange("urlsmsauth.get_basic")
        var options = Provider.generic.options()
        options.username = "ccuser"
        options.secret = "s3cret"
        try await RunningSimulator.with(options) { simulator in
            let answer = try await simulator.send(exchange.request)
            #expect(answer.status == 200)
            #expect(answer.text.wholeMatch(of: /OK \d+/) != nil)
            #expect(simulator.server.recorder.messages.first?.to == "5215512345678")
        }
    }

    @Test func twilioRefusesAnotherAccountsPath() async throws {
        var other = try Provider.twilio.load().exchange("send.success").request
        other.path = "/2010-04-01/Accounts/ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Messages.json"
        let request = other
        try await RunningSimulator.with(Provider.twilio.options()) { simulator in
            let answer = try await simulator.send(request)
            #expect(answer.status == 401)
            #expect(answer.json?["code"]?.text == "20003")
        }
    }

    @Test func latencyDelaysTheAnswer() async throws {
        let exchange = try Provider.generic.load().exchange("urlsms.get")
        var options = Provider.generic.options()
        options.latency = .milliseconds(300)
        try await RunningSimulator.with(options) { simulator in
            let start = ContinuousClock.now
            let answer = try await simulator.send(exchange.request)
            #expect(answer.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }
}

/// The answer has the exchange's status (or `status`) and the same body shape:
/// JSON with the same keys and kinds of values, or text equal but for digits.
func expectAnswer(_ answer: HTTPAnswer, matches exchange: FixtureExchange, status: Int? = nil, ignoring: Set<String> = [],
                  sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(answer.status == status ?? exchange.responseStatus, "\(exchange.id): status; body \(answer.text)",
            sourceLocation: sourceLocation)
    switch exchange.responseBody {
    case .json(let want):
        let got = answer.json
        #expect(got?.shape(ignoring: ignoring) == want.shape(ignoring: ignoring), "\(exchange.id): JSON shape of \(answer.text)",
                sourceLocation: sourceLocation)
        #expect(answer.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    case .text(let want):
        func digitless(_ text: String) -> String { text.replacing(/\d+/, with: "#") }
        #expect(digitless(answer.text) == digitless(want), "\(exchange.id): text", sourceLocation: sourceLocation)
    case .none:
        #expect(answer.body.isEmpty, "\(exchange.id): no body", sourceLocation: sourceLocation)
    case .form:
        Issue.record("no provider answers with a form", sourceLocation: sourceLocation)
    }
}
