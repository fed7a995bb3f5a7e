import Foundation
import SMSCore
@testable import SMSDispatch
import SMSStore
import Testing

/// Conversation traffic (agents' replies, automatic answers) goes out by itself, through the campaign's
/// provider, whether or not a dialer serves the campaign; bulk traffic still waits for a dialer.
@Suite("Dispatcher: conversation traffic")
struct ConversationSendingTests {
    func reply(_ h: EngineHarness, _ campaign: CampaignRecord, _ destination: String, source: SpoolSource = .agent) async throws -> Int64 {
        try #require(try await h.storage.spool.enqueue([
            NewSpoolMessage(campaignID: campaign.id, destination: destination, message: "Hola, ¿en qué le ayudo?", priority: 100,
                            source: source)], at: Date()).first)
    }

    @Test("replies of a campaign no dialer serves go out through the campaign's provider; its bulk messages wait for a dialer")
    func repliesNeedNoDialer() async throws {
        try await EngineHarness.with { h in
            let provider = try await h.simulator("sms")
            var campaign = try await h.campaign("Soporte")
            campaign.providerID = provider.id
            campaign = try await h.storage.campaigns.update(campaign, dids: nil, at: Date())
            let replyID = try await reply(h, campaign, uy(1))
            let autoID = try await reply(h, campaign, uy(2), source: .autoReply)
            let bulk = try await h.enqueue(campaign, [uy(3)])
            let notified = SpoolIDLog()
            try await h.whileDispatching(EngineHarness.policy(), notice: ConversationDeliveryNotice { await notified.add($0) }) {
                let sent = try await h.waitUntil([replyID, autoID], are: [.delivered])
                for message in sent {
                    #expect(message.providerID == provider.id)
                    #expect(message.dialerID == nil)
                }
                try await waitFor("the sends were reported to the conversation side") {
                    await notified.ids.isSuperset(of: [replyID, autoID])
                }
            }
            #expect(try await h.message(bulk[0]).state == .toProcess)
            #expect(h.sends.of(bulk[0]).isEmpty)
            #expect(await !notified.ids.contains(bulk[0]))
        }
    }

    @Test("replies go through the provider of a dialer serving the campaign, else the default provider; no dialer claims them")
    func closedDialerDoesNotHoldReplies() async throws {
        try await EngineHarness.with { h in
            let bulkProvider = try await h.simulator("bulk")
            let defaultProvider = try await h.simulator("default")
            try await h.storage.providers.makeDefault(id: defaultProvider.id, at: Date())
            let campaign = try await h.campaign("Cobranzas")
            // Served by an enabled dialer whose provider is not the default: its replies take the dialer's provider.
            _ = try await h.dialer("d", provider: bulkProvider, campaigns: [campaign])
            let other = try await h.campaign("Sin dialer")
            let viaDialerProvider = try await reply(h, campaign, uy(10))
            let viaDefault = try await reply(h, other, uy(11))
            try await h.whileDispatching(EngineHarness.policy()) {
                let sent = try await h.waitUntil([viaDialerProvider, viaDefault], are: [.delivered])
                #expect(sent.map(\.providerID) == [bulkProvider.id, defaultProvider.id])
                #expect(sent.allSatisfy { $0.dialerID == nil })
            }
        }
    }
}

actor SpoolIDLog {
    var ids: Set<Int64> = []
    func add(_ new: [Int64]) { ids.formUnion(new) }
}
