import Foundation
import SMSCore
import SMSStore
import Testing

/// Conversation search cases of the conformance suite (SPEC S4) and the supervisor's campaign scope.
enum SearchCases {
    static let all: [ConformanceCase] = [
        .init(name: "search: date range (any message in [from, to)), partial number, campaign and agent; newest first, paged by id",
              run: filters),
        .init(name: "search: a scope of campaigns (a supervisor's) narrows every search and the staff list; an empty one finds nothing",
              run: scope),
        .init(name: "search: transcripts are the same conversations with every message oldest first and its delivery state",
              run: transcripts),
        .init(name: "campaigns: the campaigns a user supervises", run: supervised),
    ]

    static let t0 = ConversationCases.t0
    static func day(_ n: Double) -> Date { t0.addingTimeInterval(n * 86_400) }

    struct World {
        var ventas: ConversationCases.Fixture
        var cobros: ConversationCases.Fixture
        /// c1 Ventas +59899111222 (client at day 0, Ana at day 10, closed); c2 Ventas +59899333444 (Bob at day 1, client
        /// 60 s later); c3 Cobros +59899111229 (client at day 2, Carla 30 s later); c4 Ventas +59899555666 (client at
        /// day 3, queued); c5 Ventas 59899111222 (the c1 client again at day 20, written without +).
        var ids: [Int64]
        var anaReply: ConversationMessage
    }

    static func start(_ storage: Storage, _ f: ConversationCases.Fixture, agent: Int, number: String, text: String,
                      at: Date) async throws -> SentReply {
        let message = NewSpoolMessage(campaignID: f.campaign.id, destination: number, message: text, priority: 100, source: .agent,
                                      createdBy: f.agents[agent].id)
        return try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: number, agentID: f.agents[agent].id,
                                                     requireMembership: true, message: message, at: at)
    }

    static func world(_ storage: Storage) async throws -> World {
        let ventas = try await ConversationCases.fixture(storage, name: "Ventas", did: "+59820000001", agents: 2)
        let cobros = try await ConversationCases.fixture(storage, name: "Cobros", did: "+59820000002", agents: 1)
        let c1 = try ConversationCases.conversation(try await ConversationCases.deliver(storage, ventas, from: "+59899111222", at: t0))
        let c2 = try await start(storage, ventas, agent: 1, number: "+59899333444", text: "Hola, soy Bob", at: day(1)).conversation
        _ = try await ConversationCases.deliver(storage, ventas, from: "+59899333444", text: "gracias", at: day(1).addingTimeInterval(60))
        let c3 = try ConversationCases.conversation(try await ConversationCases.deliver(storage, cobros, from: "+59899111229", at: day(2)))
        _ = try await start(storage, cobros, agent: 0, number: "+59899111229", text: "Hola, soy Carla", at: day(2).addingTimeInterval(30))
        let c4 = try ConversationCases.conversation(try await ConversationCases.deliver(storage, ventas, from: "+59899555666", at: day(3)))
        let anaReply = try await start(storage, ventas, agent: 0, number: "+59899111222", text: "=cmd|' /C calc'!A0", at: day(10))
        #expect(anaReply.conversation.id == c1.id, "Ana takes the client's waiting conversation")
        _ = try await storage.conversations.close(conversationID: c1.id, agentID: nil, reason: "ok", at: day(11))
        let c5 = try ConversationCases.conversation(try await ConversationCases.deliver(storage, ventas, from: "59899111222", at: day(20)))
        #expect(c5.clientNumber == "59899111222")
        return World(ventas: ventas, cobros: cobros, ids: [c1.id, c2.id, c3.id, c4.id, c5.id], anaReply: anaReply.message)
    }

    static func ids(_ storage: Storage, _ search: ConversationSearch, limit: Int = 50, before: Int64? = nil) async throws -> [Int64] {
        try await storage.conversations.search(search, limit: limit, beforeID: before, at: day(30)).map(\.conversation.id)
    }

    // MARK: cases

    static func filters(_ storage: Storage) async throws {
        let w = try await world(storage)
        let (c1, c2, c3, c4, c5) = (w.ids[0], w.ids[1], w.ids[2], w.ids[3], w.ids[4])
        let (ventas, cobros) = (w.ventas.campaign.id, w.cobros.campaign.id)
        #expect(try await ids(storage, ConversationSearch()) == [c5, c4, c3, c2, c1])

        // Dates: a conversation matches by any of its messages, the client's or an agent's; `to` is exclusive.
        #expect(try await ids(storage, ConversationSearch(from: day(9), to: day(11))) == [c1], "Ana's reply of day 10")
        #expect(try await ids(storage, ConversationSearch(from: day(3))) == [c5, c4, c1])
        #expect(try await ids(storage, ConversationSearch(to: day(3))) == [c3, c2, c1])
        #expect(try await ids(storage, ConversationSearch(from: day(3), to: day(3).addingTimeInterval(0.001))) == [c4])
        #expect(try await ids(storage, ConversationSearch(from: day(30))).isEmpty)

        // Part of the number: only its digits count, whether the stored number has its + or not.
        #expect(try await ids(storage, ConversationSearch(number: "111222")) == [c5, c1])
        #expect(try await ids(storage, ConversationSearch(number: "+598 99-111 22")) == [c5, c3, c1])
        #expect(try await ids(storage, ConversationSearch(number: "777")).isEmpty)
        #expect(ConversationSearch.numberTerm("(+598) 99.111") == "59899111")
        #expect(ConversationSearch.numberTerm("acme") == "ACME")
        #expect(ConversationSearch.numberTerm(" +-% ") == nil)
        #expect(ConversationSearch.numberTerm("%_") == nil, "LIKE wildcards are not part of a number")

        // Campaign and agent, alone and together with the rest.
        #expect(try await ids(storage, ConversationSearch(campaignID: cobros)) == [c3])
        #expect(try await ids(storage, ConversationSearch(campaignID: ventas)) == [c5, c4, c2, c1])
        #expect(try await ids(storage, ConversationSearch(agentID: w.ventas.agents[0].id)) == [c1])
        #expect(try await ids(storage, ConversationSearch(agentID: w.ventas.agents[1].id)) == [c2])
        #expect(try await ids(storage, ConversationSearch(campaignID: ventas, number: "333", from: t0, to: day(2))) == [c2])
        #expect(try await ids(storage, ConversationSearch(campaignID: cobros, number: "333", from: t0, to: day(2))).isEmpty)

        // Pages: newest first, each one before the last id of the previous.
        #expect(try await ids(storage, ConversationSearch(), limit: 2) == [c5, c4])
        #expect(try await ids(storage, ConversationSearch(), limit: 2, before: c4) == [c3, c2])
        #expect(try await ids(storage, ConversationSearch(), limit: 2, before: c2) == [c1])
        #expect(try await ids(storage, ConversationSearch(), limit: 2, before: c1).isEmpty)
        #expect(try await ids(storage, ConversationSearch(campaignID: ventas, from: t0, to: day(21)), limit: 1, before: c4) == [c2])

        // Results are list items: campaign and agent names, the last message.
        let first = try #require(try await storage.conversations.search(ConversationSearch(agentID: w.ventas.agents[0].id), limit: 5,
                                                                        beforeID: nil, at: day(30)).first)
        #expect(first.campaignName == "Ventas" && first.agentName == "Agent 0")
        #expect(first.lastMessage?.id == w.anaReply.id)
    }

    static func scope(_ storage: Storage) async throws {
        let w = try await world(storage)
        let (c1, c2, c3, c4, c5) = (w.ids[0], w.ids[1], w.ids[2], w.ids[3], w.ids[4])
        let (ventas, cobros) = (w.ventas.campaign.id, w.cobros.campaign.id)
        #expect(try await ids(storage, ConversationSearch(scope: .only([ventas]))) == [c5, c4, c2, c1])
        #expect(try await ids(storage, ConversationSearch(scope: .only([cobros]), number: "111")) == [c3])
        #expect(try await ids(storage, ConversationSearch(scope: .only([cobros]), from: t0, to: day(30))) == [c3])
        #expect(try await ids(storage, ConversationSearch(scope: .only([ventas, cobros]), from: day(2), to: day(4))) == [c4, c3])
        #expect(try await ids(storage, ConversationSearch(scope: .only([ventas]), campaignID: cobros)).isEmpty,
                "a campaign outside the scope")
        #expect(try await ids(storage, ConversationSearch(scope: .only([]))).isEmpty)
        #expect(try await ids(storage, ConversationSearch(scope: .only([]), from: t0)).isEmpty)
        #expect(try await storage.conversations.transcripts(ConversationSearch(scope: .only([])), limit: 10, beforeID: nil).isEmpty)
        #expect(CampaignScope.all.allows(cobros) && !CampaignScope.only([ventas]).allows(cobros))

        // The staff list takes the same scope.
        func list(_ filter: ConversationFilter) async throws -> [Int64] {
            try await storage.conversations.list(filter, limit: 50, beforeID: nil, at: day(30)).map(\.conversation.id)
        }
        #expect(try await list(ConversationFilter(scope: .only([cobros]))) == [c3])
        #expect(try await list(ConversationFilter(scope: .only([ventas]))) == [c5, c4, c2, c1])
        #expect(try await list(ConversationFilter(campaignID: cobros, scope: .only([ventas]))).isEmpty)
        #expect(try await list(ConversationFilter(scope: .only([]))).isEmpty)
        #expect(try await list(ConversationFilter()) == [c5, c4, c3, c2, c1])
    }

    static func transcripts(_ storage: Storage) async throws {
        let w = try await world(storage)
        let (c1, c3, c5) = (w.ids[0], w.ids[2], w.ids[4])
        // Ana's reply fails at the provider: the transcript shows it with the reason.
        let spoolID = try #require(w.anaReply.delivery?.spoolID)
        let at = day(10).addingTimeInterval(5)
        let claimed = try await storage.spool.claim(campaignIDs: [w.ventas.campaign.id], limit: 10, owner: "n",
                                                    leaseUntil: at.addingTimeInterval(60), now: at)
        #expect(claimed.contains { $0.id == spoolID })
        try await storage.spool.record([.failed(id: spoolID, providerID: nil, code: "30006", text: "landline")], owner: "n", at: at)

        let search = ConversationSearch(number: "59899111")
        let all = try await storage.conversations.transcripts(search, limit: 10, beforeID: nil)
        #expect(all.map(\.conversation.id) == [c5, c3, c1])
        #expect(all.map(\.conversation.id) == (try await ids(storage, search)))
        let first = try #require(all.last)
        #expect(first.campaignName == "Ventas" && first.agentName == "Agent 0" && first.conversation.clientNumber == "+59899111222")
        #expect(first.messages.map(\.direction) == [.inbound, .outbound])
        #expect(first.messages.map(\.createdAt) == [t0, day(10)])
        #expect(first.messages.map(\.body) == ["hola", "=cmd|' /C calc'!A0"])
        let delivery = try #require(first.messages.last?.delivery)
        #expect(delivery.state == .failed && delivery.errorCode == "30006" && delivery.errorText == "landline")
        #expect(all.first?.messages.count == 1 && all.first?.agentName == nil, "c5 waits in the queue")

        // Paged like the search.
        #expect(try await storage.conversations.transcripts(search, limit: 2, beforeID: nil).map(\.conversation.id) == [c5, c3])
        #expect(try await storage.conversations.transcripts(search, limit: 2, beforeID: c3).map(\.conversation.id) == [c1])
        #expect(try await storage.conversations.transcripts(ConversationSearch(from: day(9), to: day(11)), limit: 5, beforeID: nil)
            .map { $0.messages.count } == [2], "every message of a matching conversation, not only those in the range")
    }

    static func supervised(_ storage: Storage) async throws {
        let ventas = try await storage.campaigns.create(CampaignRecord(name: "Ventas", timeZone: "UTC", schedule: "{}",
                                                                       createdAt: t0, updatedAt: t0))
        let cobros = try await storage.campaigns.create(CampaignRecord(name: "Cobros", timeZone: "UTC", schedule: "{}",
                                                                       createdAt: t0, updatedAt: t0))
        let sara = try await storage.users.create(username: "sara", displayName: "Sara", role: .supervisor, passwordHash: "x", at: t0)
        let tom = try await storage.users.create(username: "tom", displayName: "Tom", role: .supervisor, passwordHash: "x", at: t0)
        #expect(try await storage.campaigns.supervisedCampaignIDs(userID: sara.id).isEmpty)
        try await storage.campaigns.setSupervisors(campaignID: cobros.id, [sara.id, tom.id], at: t0)
        try await storage.campaigns.setSupervisors(campaignID: ventas.id, [sara.id], at: t0)
        #expect(try await storage.campaigns.supervisedCampaignIDs(userID: sara.id) == [ventas.id, cobros.id].sorted())
        #expect(try await storage.campaigns.supervisedCampaignIDs(userID: tom.id) == [cobros.id])
        try await storage.campaigns.setSupervisors(campaignID: cobros.id, [tom.id], at: t0)
        #expect(try await storage.campaigns.supervisedCampaignIDs(userID: sara.id) == [ventas.id])
    }
}
