import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSServer
import SMSStore
import Testing

@Suite("Sending API")
struct MessageAPITests {
    /// A campaign served by a dialer whose provider accepts only +598 numbers.
    static func setUp(_ app: TestApp) async throws -> (CampaignRecord, String) {
        let now = Date()
        let provider = try await app.storage.providers.create(ProviderRecord(
            name: "sim", type: "Simulator", numberPattern: "^\\+598\\d{8}$", webhookToken: "t", createdAt: now, updatedAt: now))
        let campaign = try await app.storage.campaigns.create(CampaignRecord(name: "Cobranzas", timeZone: "America/Montevideo",
                                                                            schedule: "{}", createdAt: now, updatedAt: now))
        _ = try await app.storage.dialers.create(DialerRecord(name: "Masivo", providerID: provider.id, schedule: "{}", timeZone: "UTC",
                                                              campaignIDs: [campaign.id], createdAt: now, updatedAt: now))
        return (campaign, try await app.apiKey())
    }

    func send(_ client: any TestClientProtocol, key: String, json: [String: Any], idempotencyKey: String? = nil) async throws -> JSONTestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        return try await client.execute(uri: "/api/v1/messages", method: .post, headers: headers,
                                        body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))) { response in
            JSONTestResponse(status: response.status, headers: response.headers,
                             text: response.body.getString(at: 0, length: response.body.readableBytes) ?? "")
        }
    }

    @Test("POST /api/v1/messages queues a message with its encoding and segments; GET shows its state and history")
    func sendAndRead() async throws {
        try await TestApp.with { app, client in
            let (campaign, key) = try await Self.setUp(app)
            let sent = try await send(client, key: key, json: ["campaign": "Cobranzas", "to": "+59899123456", "text": "¿Dónde está? 😀", "priority": 5])
            #expect(sent.status == .accepted, "\(sent.text)")
            let message = try #require(sent.json["message"] as? [String: Any])
            #expect(message["state"] as? String == "to_process")
            #expect(message["encoding"] as? String == "UCS-2")
            #expect(message["segments"] as? Int == 1)
            #expect(message["campaignId"] as? Int == Int(campaign.id))
            let id = try #require(message["id"] as? Int)
            let read = try await client.executeJSON("/api/v1/messages/\(id)", method: .get, as: TestCredential(apiKey: key))
            let shown = try #require(read.json["message"] as? [String: Any])
            #expect(shown["priority"] as? Int == 5)
            #expect((shown["history"] as? [[String: Any]])?.first?["to"] as? String == "to_process")
            #expect(try await client.executeJSON("/api/v1/messages/99999", method: .get, as: TestCredential(apiKey: key)).status == .notFound)
        }
    }

    @Test("the same idempotency key twice returns the first message and queues nothing")
    func idempotency() async throws {
        try await TestApp.with { app, client in
            let (campaign, key) = try await Self.setUp(app)
            let first = try await send(client, key: key, json: ["campaign": "Cobranzas", "to": "+59899123456", "text": "A"], idempotencyKey: "k-1")
            let second = try await send(client, key: key, json: ["campaign": "Cobranzas", "to": "+59899123456", "text": "B"], idempotencyKey: "k-1")
            #expect(first.status == .accepted)
            #expect(second.status == .ok)
            #expect(second.json["duplicate"] as? Bool == true)
            let firstID = (first.json["message"] as? [String: Any])?["id"] as? Int
            #expect((second.json["message"] as? [String: Any])?["id"] as? Int == firstID)
            #expect((second.json["message"] as? [String: Any])?["text"] as? String == "A")
            #expect(try await app.storage.spool.counts(campaignID: campaign.id)[.toProcess] == 1)
        }
    }

    @Test("a number failing the provider's pattern is stored invalid; bad input names its field")
    func validation() async throws {
        try await TestApp.with { app, client in
            let (campaign, key) = try await Self.setUp(app)
            let invalid = try await send(client, key: key, json: ["campaign": "Cobranzas", "to": "099123456", "text": "Hola"])
            #expect((invalid.json["message"] as? [String: Any])?["state"] as? String == "invalid")
            for (body, field) in [
                (["campaign": "Nope", "to": "+59899123456", "text": "x"], "campaign"),
                (["campaign": "Cobranzas", "to": "", "text": "x"], "to"),
                (["campaign": "Cobranzas", "to": "+59899123456", "text": ""], "text"),
                (["campaign": "Cobranzas", "to": "+59899123456", "text": "Hola\u{0}"], "text"),
                (["campaign": "Cobranzas", "to": "+5989912\u{0}3456", "text": "Hola"], "to"),
                (["campaign": "Cobranzas", "to": "+59899123456", "text": "x", "priority": 3_000_000_000] as [String: Any], "priority"),
                // Bodies that do not decode name the field too: a missing one, one of the wrong type.
                (["campaign": "Cobranzas", "text": "x"], "to"),
                (["campaign": "Cobranzas", "to": "+59899123456", "text": "x", "priority": "high"] as [String: Any], "priority"),
            ] as [([String: Any], String)] {
                let response = try await send(client, key: key, json: body)
                #expect(response.status == .badRequest, "\(field)")
                #expect(response.errorField == field)
            }
            #expect(try await app.storage.spool.counts(campaignID: campaign.id)[.invalid] == 1)
        }
    }

    @Test("the legacy POST and GET forms queue a message and answer in plain text")
    func legacy() async throws {
        try await TestApp.with { app, client in
            let (campaign, key) = try await Self.setUp(app)
            let post = try await client.execute(
                uri: "/Integra/resources/SMS/SendSMS", method: .post,
                headers: [.authorization: "Bearer \(key)", .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "destination=%2B59899000001&message=Hola+mundo&campaign=Cobranzas&agent=ana")) { response in
                (response.status, response.body.getString(at: 0, length: response.body.readableBytes) ?? "")
            }
            #expect(post.0 == .ok)
            #expect(post.1.hasPrefix("OK "))
            let get = try await client.execute(
                uri: "/integra/resources/sms/sendsms/destination=%2B59899000002&message=message%2520de%2520prueba&campaign=Cobranzas&key=\(key)",
                method: .get) { response in
                (response.status, response.body.getString(at: 0, length: response.body.readableBytes) ?? "")
            }
            #expect(get.0 == .ok, "\(get.1)")
            #expect(get.1.hasPrefix("OK "))
            let noKey = try await client.execute(uri: "/integra/resources/sms/sendsms/destination=1&message=x&campaign=Cobranzas",
                                                 method: .get) { $0.status }
            #expect(noKey == .unauthorized)
            #expect(try await app.storage.spool.counts(campaignID: campaign.id)[.toProcess] == 2)
            #expect(!app.logs.all.contains(key))
        }
    }
}
