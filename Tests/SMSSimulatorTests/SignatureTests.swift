import Testing

@testable import SMSSimulator

/// The webhook signatures the simulator computes are the providers' own,
/// checked against their published vectors and the fixtures.
@Suite struct SignatureTests {
    @Test func twilioSignatureMatchesTheSDKVectors() {
        let parameters = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"),
                          ("To", "+18005551212"), ("Caller", "+14158675309")]
        #expect(WebhookSignature.twilio(url: "https://mycompany.com/myapp.php?foo=1&bar=2", parameters: parameters,
                                        authToken: "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        let duplicates = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234"), ("Digits", "1234")]
        #expect(WebhookSignature.twilio(url: "https://mycompany.com/myapp.php?foo=1&bar=2", parameters: duplicates,
                                        authToken: "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
    }

    @Test(arguments: ["webhook.status.delivered", "webhook.status.undelivered", "webhook.inbound_sms"])
    func twilioSignatureMatchesTheFixture(_ id: String) throws {
        let exchange = try Provider.twilio.load().exchange(id)
        let url = try #require(exchange.fullURL)
        let signature = WebhookSignature.twilio(url: url, parameters: exchange.request.body.fields.map { ($0.0, $0.1) },
                                                authToken: "12345")
        #expect(signature == exchange.request.headers["X-Twilio-Signature"])
    }

    @Test func vonageSignatureMatchesTheSDKVectorAndTheFixture() throws {
        #expect(WebhookSignature.vonageMD5(parameters: [("a", "1"), ("b", "2"), ("timestamp", "1461605396")], secret: "secret")
            == "6af838ef94998832dbfc29020b564830")
        let exchange = try Provider.nexmo.load().exchange("webhook.inbound.signed_md5hash")
        let query = exchange.request.query
        let sig = try #require(query.first { $0.0 == "sig" }?.1)
        #expect(WebhookSignature.vonageMD5(parameters: query.map { ($0.0, $0.1) }, secret: "secret") == sig)
    }

    @Test func dinstarDigestFromTheFixtureVerifies() throws {
        let exchange = try Provider.dinstar.load().exchange("query_incoming_sms")
        let header = try #require(exchange.request.headers["Authorization"])
        #expect(DigestChallenge.verify(header, method: "GET", user: "admin", password: "admin"))
        #expect(!DigestChallenge.verify(header, method: "GET", user: "admin", password: "wrong"))
        #expect(!DigestChallenge.verify(header, method: "POST", user: "admin", password: "admin"))
    }
}
