import Foundation
import Hummingbird
import Logging
import SMSDispatch
import SMSCore
import SMSProviders
import SMSSimulator
import SMSStore
import Testing

@testable import SMSServer

@Suite("Polling providers")
struct PollingTests {
    @Test("a Dinstar gateway is polled: the reply to a sent message reaches the inbound store and its delivery result the spool")
    func dinstarPolled() async throws {
        var options = SimulatorOptions(type: .dinstar)
        options.host = "127.0.0.1"
        options.port = 0
        options.username = "admin"
        options.secret = "gw-pass"
        options.autoReply = "gracias"
        options.deliveryReportDelay = .milliseconds(50)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let simulator = try SimulatorServer.build(options: options, logger: Logger(label: "sim", factory: { _ in SwiftLogNoOpLogHandler() })) { _, port in
            continuation.yield(port)
            continuation.finish()
        }
        let application = simulator.application
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.runService(gracefulShutdownSignals: []) }
            var listening = 0
            for await value in ports { listening = value }
            let port = listening
            defer { group.cancelAll() }
            try await TestApp.with { app, client in
                let (_, admin) = try await app.signIn(client, username: "boss", role: .admin)
                let created = try await client.executeJSON("/api/v1/providers", method: .post, json: [
                    "name": "Gateway", "type": "DinstarWeb", "url": "http://127.0.0.1:\(port)", "username": "admin",
                    "secret": "gw-pass", "ports": "0.1",
                ], as: admin)
                let providerID = try #require((created.json["provider"] as? [String: Any])?["id"] as? Int)
                let record = try #require(try await app.storage.providers.provider(id: Int64(providerID)))
                let now = Date()
                let campaign = try await app.storage.campaigns.create(CampaignRecord(name: "Gw", timeZone: "UTC", schedule: "{}",
                                                                                    createdAt: now, updatedAt: now))
                let dialer = try await app.storage.dialers.create(DialerRecord(name: "Gw", providerID: record.id, schedule: "{}",
                                                                              timeZone: "UTC", campaignIDs: [campaign.id],
                                                                              createdAt: now, updatedAt: now))
                // A message sent through the gateway, as the engine records it.
                let pool = ProviderPool(storage: app.storage, secrets: app.secrets, catalog: .standard(),
                                        http: ProviderHTTP(client: .shared), requestTimeout: 10, webhookURL: { _, _ in nil })
                let ids = try await app.storage.spool.enqueue([NewSpoolMessage(campaignID: campaign.id, destination: "5215512345678",
                                                                               message: "Hola", source: .api)], at: now)
                _ = try await app.storage.spool.claim(campaignIDs: [campaign.id], limit: 1, owner: "n", leaseUntil: now.addingTimeInterval(60), now: now)
                let receipt = try await pool.adapter(for: record).send(OutgoingSMS(reference: String(ids[0]), destination: "5215512345678",
                                                                                  text: "Hola", port: 0))
                try await app.storage.spool.record([.sent(id: ids[0], dialerID: dialer.id, providerID: record.id,
                                                          providerMessageID: receipt.providerMessageID, port: 0)], owner: "n", at: now)
                let poller = ProviderPoller(storage: app.storage, pool: pool,
                                            inbound: .init(storage: app.storage, logger: Logger(label: "t")),
                                            reports: .init(storage: app.storage, logger: Logger(label: "t")),
                                            interval: .seconds(1), logger: Logger(label: "t"))
                let deadline = ContinuousClock.now + .seconds(30)
                var inbound: [InboundMessage] = []
                var state = SpoolState.sent
                while ContinuousClock.now < deadline, inbound.isEmpty || state != .delivered {
                    await poller.pollAll()
                    inbound = try await app.storage.inbound.recent(limit: 10)
                    state = try await app.storage.spool.message(id: ids[0])?.state ?? .sent
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(inbound.map(\.body) == ["gracias"])
                #expect(inbound.first?.from == "5215512345678")
                #expect(state == .delivered)
                await poller.pollAll()
                #expect(try await app.storage.inbound.recent(limit: 10).count == 1, "a second poll does not import it again")
            }
        }
    }
}
