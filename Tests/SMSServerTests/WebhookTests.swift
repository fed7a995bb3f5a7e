import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSProviders
import SMSServer
import SMSStore
import Testing

@Suite("Provider webhooks")
struct WebhookTests {
    static let token = "12345"
    static let inbound: [(name: String, value: String)] = [
        ("ToCountry", "US"), ("SmsMessageSid", "SMcccccccccccccccccccccccccccccccc"), ("NumMedia", "0"),
        ("SmsStatus", "received"), ("Body", "Necesito ayuda con mi pedido"), ("To", "+15017122661"),
        ("MessageSid", "SMcccccccccccccccccccccccccccccccc"), ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("From", "+15558675310"), ("ApiVersion", "2010-04-01"),
    ]

    static func form(_ fields: [(name: String, value: String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(.init(charactersIn: "-._*"))
        return fields.map { "\($0.name)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
    }

    /// Creates a Twilio provider and returns its webhook path.
    static func twilioProvider(_ app: TestApp, _ client: any TestClientProtocol) async throws -> (String, Int64) {
        let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
        let created = try await client.executeJSON("/api/v1/providers", method: .post, json: [
            "name": "Twilio", "type": "Twilio", "username": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "secret": token,
            "sender": "+15017122661",
        ], as: admin)
        let provider = try #require(created.json["provider"] as? [String: Any])
        let url = try #require(provider["webhookURL"] as? String)
        #expect(url.hasPrefix("https://cc.example.com/webhooks/"), "the public URL is what providers are given")
        let path = try #require(URLComponents(string: url)?.path)
        return (path, Int64(try #require(provider["id"] as? Int)))
    }

    func post(_ client: any TestClientProtocol, _ path: String, fields: [(name: String, value: String)],
              signature: String?) async throws -> (HTTPResponse.Status, String) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let signature { headers[HTTPField.Name("X-Twilio-Signature")!] = signature }
        return try await client.execute(uri: path, method: .post, headers: headers,
                                        body: ByteBuffer(string: Self.form(fields))) { response in
            (response.status, response.body.getString(at: 0, length: response.body.readableBytes) ?? "")
        }
    }

    @Test("a signed Twilio inbound SMS is stored once, however often it is retried, and answered with TwiML")
    func signedInbound() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let (path, id) = try await Self.twilioProvider(app, client)
            let signature = WebhookSignatures.twilioSignature(url: "https://cc.example.com" + path,
                                                              parameters: Self.inbound, authToken: Self.token)
            for _ in 0..<3 {
                let (status, body) = try await post(client, path, fields: Self.inbound, signature: signature)
                #expect(status == .ok)
                #expect(body.contains("<Response>"))
            }
            let stored = try await app.storage.inbound.recent(limit: 10)
            #expect(stored.count == 1)
            let (_, sup) = try await app.signIn(client, username: "sup", role: .supervisor)
            let listed = try await client.executeJSON("/api/v1/inbound?unrouted=true", method: .get, as: sup)
            #expect((listed.json["messages"] as? [[String: Any]])?.first?["text"] as? String == "Necesito ayuda con mi pedido")
            #expect(stored.first?.body == "Necesito ayuda con mi pedido")
            #expect(stored.first?.from == "+15558675310")
            #expect(stored.first?.providerID == id)
        }
    }

    @Test("a bad or missing signature, or a wrong token, answers 403 and stores nothing")
    func refused() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let (path, _) = try await Self.twilioProvider(app, client)
            let good = WebhookSignatures.twilioSignature(url: "https://cc.example.com" + path,
                                                         parameters: Self.inbound, authToken: Self.token)
            var tampered = Self.inbound
            tampered[4].value = "Necesito ayuda con mi pedido!"
            #expect(try await post(client, path, fields: tampered, signature: good).0 == .forbidden)
            #expect(try await post(client, path, fields: Self.inbound, signature: nil).0 == .forbidden)
            let wrongToken = path.split(separator: "/").dropLast().joined(separator: "/")
            let wrong = try await post(client, "/" + wrongToken + "/guess", fields: Self.inbound, signature: good)
            #expect(wrong.0 == .forbidden, "\(wrong.1)")
            #expect(try await post(client, "/webhooks/987654/x", fields: Self.inbound, signature: good).0 == .notFound)
            #expect(try await app.storage.inbound.recent(limit: 10).isEmpty)
        }
    }

    @Test("a signed webhook without the fields Twilio always sends answers 400 with the reason")
    func malformed() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let (path, _) = try await Self.twilioProvider(app, client)
            let fields = Self.inbound.filter { $0.name != "From" }
            let signature = WebhookSignatures.twilioSignature(url: "https://cc.example.com" + path,
                                                              parameters: fields, authToken: Self.token)
            let (status, body) = try await post(client, path, fields: fields, signature: signature)
            #expect(status == .badRequest)
            #expect(body.contains("From"))
            #expect(try await app.storage.inbound.recent(limit: 10).isEmpty)
        }
    }

    @Test("a delivery report status callback is recorded once")
    func statusCallback() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let (path, id) = try await Self.twilioProvider(app, client)
            let fields: [(name: String, value: String)] = [
                ("SmsSid", "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), ("SmsStatus", "undelivered"), ("MessageStatus", "undelivered"),
                ("To", "+15558675310"), ("MessageSid", "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
                ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), ("From", "+15017122661"), ("ApiVersion", "2010-04-01"),
                ("ErrorCode", "30003"),
            ]
            let signature = WebhookSignatures.twilioSignature(url: "https://cc.example.com" + path,
                                                              parameters: fields, authToken: Self.token)
            for _ in 0..<2 { #expect(try await post(client, path, fields: fields, signature: signature).0 == .ok) }
            let reports = try await app.storage.inbound.deliveryReports(providerID: id, providerMessageID: "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
            #expect(reports.count == 1)
            #expect(reports.first?.outcome == "failed")
            #expect(reports.first?.code == "30003")
        }
    }
}
