import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import SMSProviders
import SMSServer
import SMSStore
import Testing

@Suite("Providers API")
struct ProviderAPITests {
    static var twilio: [String: Any] { [
        "name": "Twilio main", "type": "Twilio", "username": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "secret": "twilio-token-SECRET-1", "sender": "+15017122661",
    ] }
    static var urlsms: [String: Any] { [
        "name": "Local gateway", "type": "URLSMS",
        "url": "http://127.0.0.1:9/send?to={{to}}&text={{text}}",
    ] }

    @Test("every provider type of SPEC P1 is offered with the fields it uses")
    func types() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let response = try await client.executeJSON("/api/v1/provider-types", method: .get, as: admin)
            let types = (response.json["types"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(Set(types) == Set(ProviderType.allCases.map(\.rawValue)))
            let twilio = try #require((response.json["types"] as? [[String: Any]])?.first { $0["type"] as? String == "Twilio" })
            let required = (twilio["fields"] as? [[String: Any]] ?? []).filter { $0["required"] as? Bool == true }.compactMap { $0["name"] as? String }
            #expect(Set(required).isSuperset(of: ["username", "secret"]))
            let quality = try #require((response.json["types"] as? [[String: Any]])?.first { $0["type"] as? String == "Quality" })
            #expect((quality["note"] as? String)?.isEmpty == false)
        }
    }

    @Test("secrets are write-only: never in answers, stored encrypted, kept when an edit omits them")
    func secretsWriteOnly() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/providers", method: .post, json: Self.twilio, as: admin)
            #expect(created.status == .created, "\(created.text)")
            #expect(!created.text.contains("SECRET"))
            let provider = try #require(created.json["provider"] as? [String: Any])
            #expect(provider["hasSecret"] as? Bool == true)
            let id = try #require(provider["id"] as? Int)
            #expect((provider["webhookURL"] as? String)?.hasPrefix("/webhooks/\(id)/") == true)
            let record = try #require(try await app.storage.providers.provider(id: Int64(id)))
            let ciphertext = try #require(record.secretCiphertext)
            #expect(!String(decoding: ciphertext, as: UTF8.self).contains("SECRET"))

            let renamed = try await client.executeJSON("/api/v1/providers/\(id)", method: .patch, json: ["name": "Twilio US"], as: admin)
            #expect(renamed.status == .ok)
            #expect((renamed.json["provider"] as? [String: Any])?["hasSecret"] as? Bool == true)
            let after = try #require(try await app.storage.providers.provider(id: Int64(id)))
            #expect(after.secretCiphertext == record.secretCiphertext)
            let list = try await client.executeJSON("/api/v1/providers", method: .get, as: admin)
            #expect(!list.text.contains("SECRET"))
            #expect(!app.logs.all.contains("twilio-token-SECRET-1"))
        }
    }

    @Test("bad provider input is refused with the field named")
    func validation() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            var noSecret = Self.twilio
            noSecret["secret"] = nil
            let cases: [([String: Any], String)] = [
                (noSecret, "secret"),
                (Self.twilio.merging(["type": "Carrier pigeon"]) { $1 }, "type"),
                (Self.twilio.merging(["numberPattern": "^(09\\d{7}$"]) { $1 }, "numberPattern"),
                (Self.twilio.merging(["ports": "3.0"]) { $1 }, "ports"),
                (Self.twilio.merging(["encoding": "latin1"]) { $1 }, "encoding"),
                (Self.twilio.merging(["ratePerSecond": 0]) { $1 }, "ratePerSecond"),
                (Self.twilio.merging(["url": "ftp://example.com"]) { $1 }, "url"),
                (Self.twilio.merging(["name": ""]) { $1 }, "name"),
                (Self.twilio.merging(["settings": ["nonsense": "1"]]) { $1 }, "settings.nonsense"),
            ]
            for (body, field) in cases {
                let response = try await client.executeJSON("/api/v1/providers", method: .post, json: body, as: admin)
                #expect(response.status == .badRequest, "\(field): \(response.text)")
                #expect(response.errorField == field, "\(field): \(response.text)")
            }
            #expect(try await app.storage.providers.list().isEmpty)
            _ = try await client.executeJSON("/api/v1/providers", method: .post, json: Self.twilio, as: admin)
            let duplicate = try await client.executeJSON("/api/v1/providers", method: .post, json: Self.twilio, as: admin)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorField == "name")
        }
    }

    @Test("default rule: none marked → the first acts as default; marking one clears the other")
    func defaultRule() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let first = try await client.executeJSON("/api/v1/providers", method: .post, json: Self.twilio, as: admin)
            let second = try await client.executeJSON("/api/v1/providers", method: .post, json: Self.urlsms, as: admin)
            let firstID = try #require((first.json["provider"] as? [String: Any])?["id"] as? Int)
            let secondID = try #require((second.json["provider"] as? [String: Any])?["id"] as? Int)
            func state() async throws -> [(Int, Bool, Bool)] {
                let list = try await client.executeJSON("/api/v1/providers", method: .get, as: admin)
                return (list.json["providers"] as? [[String: Any]] ?? []).map {
                    ($0["id"] as? Int ?? 0, $0["isDefault"] as? Bool ?? false, $0["actsAsDefault"] as? Bool ?? false)
                }
            }
            #expect(try await state().map { "\($0.0):\($0.1):\($0.2)" } == ["\(firstID):false:true", "\(secondID):false:false"])
            #expect(try await client.executeJSON("/api/v1/providers/\(secondID)/default", method: .post, as: admin).status == .ok)
            #expect(try await state().map { "\($0.0):\($0.1):\($0.2)" } == ["\(firstID):false:false", "\(secondID):true:true"])
            #expect(try await client.executeJSON("/api/v1/providers/\(firstID)/default", method: .post, as: admin).status == .ok)
            #expect(try await state().filter(\.1).map(\.0) == [firstID])
        }
    }

    @Test("deleting a provider a dialer uses is refused with the dialer named")
    func deleteInUse() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/providers", method: .post, json: Self.urlsms, as: admin)
            let id = try #require((created.json["provider"] as? [String: Any])?["id"] as? Int)
            try await app.storage.database.query("""
                INSERT INTO dialers (name, provider_id, schedule, time_zone, created_at, updated_at)
                VALUES ('Cobranzas', \(id), '{}', 'UTC', 1, 1)
                """)
            let refused = try await client.executeJSON("/api/v1/providers/\(id)", method: .delete, as: admin)
            #expect(refused.status == .conflict)
            #expect(refused.errorCode == "in_use")
            #expect(refused.text.contains("Cobranzas"))
            try await app.storage.database.query("DELETE FROM dialers")
            #expect(try await client.executeJSON("/api/v1/providers/\(id)", method: .delete, as: admin).status == .noContent)
            #expect(try await client.executeJSON("/api/v1/providers/\(id)", method: .get, as: admin).status == .notFound)
        }
    }

    @Test("the Test action sends one message and shows the provider's answer; failures show the provider's code")
    func testAction() async throws {
        try await TestApp.with { app, client in
            let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
            let created = try await client.executeJSON("/api/v1/providers", method: .post, json: [
                "name": "Sim", "type": "Simulator", "numberPattern": "^\\+598\\d{8}$",
                "settings": ["latency_ms": "1", "fail_suffix": "999", "dlr_delay_ms": "1"],
            ], as: admin)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require((created.json["provider"] as? [String: Any])?["id"] as? Int)
            let ok = try await client.executeJSON("/api/v1/providers/\(id)/test", method: .post,
                                                  json: ["destination": "+59899123456", "text": "Hola"], as: admin)
            #expect(ok.status == .ok)
            #expect(ok.json["accepted"] as? Bool == true)
            #expect((ok.json["providerMessageId"] as? String)?.isEmpty == false)
            let failed = try await client.executeJSON("/api/v1/providers/\(id)/test", method: .post,
                                                      json: ["destination": "+59899123999", "text": "Hola"], as: admin)
            #expect(failed.json["accepted"] as? Bool == false)
            #expect((failed.json["error"] as? [String: Any])?["kind"] as? String == "permanent")
            let invalid = try await client.executeJSON("/api/v1/providers/\(id)/test", method: .post,
                                                       json: ["destination": "099123456", "text": "Hola"], as: admin)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorField == "destination")
            // The simulator's delivery report reaches the same intake as a webhook's.
            let messageID = try #require(ok.json["providerMessageId"] as? String)
            var reports: [DeliveryReportRecord] = []
            for _ in 0..<100 where reports.isEmpty {
                try await Task.sleep(for: .milliseconds(20))
                reports = try await app.storage.inbound.deliveryReports(providerID: Int64(id), providerMessageID: messageID)
            }
            #expect(reports.first?.outcome == "delivered")
        }
    }

    @Test("sending through an authenticated provider never writes its password to the logs")
    func noSecretInLogs() async throws {
        try await LocalHTTPServer.with(answer: "OK 12345") { base, received in
            try await TestApp.with { app, client in
                let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
                let created = try await client.executeJSON("/api/v1/providers", method: .post, json: [
                    "name": "Gateway", "type": "URLSMSAuth", "url": base + "/send?to={{to}}&text={{text}}",
                    "username": "gwuser", "secret": "Gateway-Password-77",
                ], as: admin)
                #expect(created.status == .created, "\(created.text)")
                let id = try #require((created.json["provider"] as? [String: Any])?["id"] as? Int)
                let result = try await client.executeJSON("/api/v1/providers/\(id)/test", method: .post,
                                                          json: ["destination": "+59899123456", "text": "Hola"], as: admin)
                #expect(result.json["accepted"] as? Bool == true, "\(result.text)")
                #expect(received.count == 1)
                let basic = Data("gwuser:Gateway-Password-77".utf8).base64EncodedString()
                #expect(received.first?.authorization == "Basic \(basic)")
                #expect(!app.logs.all.contains("Gateway-Password-77"))
                #expect(!app.logs.all.contains(basic))
                #expect(!result.text.contains("Gateway-Password-77"))
            }
        }
    }

    @Test("the secret key file is created once with mode 0600 and reused")
    func secretKeyFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let box = try SecretBox.load(base64: nil, dataDirectory: dir)
        let path = dir + "/secret.key"
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let sealed = try box.seal("hunter2")
        #expect(try SecretBox.load(base64: nil, dataDirectory: dir).open(sealed) == "hunter2")
        let other = SecretBox(key: SymmetricKey(size: .bits256))
        #expect(throws: (any Error).self) { try other.open(sealed) }
        #expect(throws: (any Error).self) { try SecretBox.load(base64: "dG9vLXNob3J0", dataDirectory: dir) }
    }
}
