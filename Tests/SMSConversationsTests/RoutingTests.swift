import Foundation
import Logging
import SMSConversations
import SMSCore
import SMSDispatch
import SMSProviders
import SMSStore
import Testing

/// A routing behaviour both backends must show, through the real pipeline and router.
struct RoutingCase: Sendable, CustomTestStringConvertible {
    let name: String
    let run: @Sendable (Storage) async throws -> Void
    var testDescription: String { name }
}

@Suite("Inbound routing and assignment: SQLite")
struct SQLiteRoutingTests {
    @Test("SQLite", arguments: RoutingCases.all)
    func routing(_ testCase: RoutingCase) async throws {
        try await withFreshStorage(.sqlite) { try await testCase.run($0) }
    }
}

@Suite(
    "Inbound routing and assignment: PostgreSQL",
    .enabled(
        if: Backend.postgresURL != nil,
        Comment(rawValue: "PostgreSQL routing cases skipped (SMSDESK_TEST_DATABASE_URL not set; scripts/test sets it): "
            + RoutingCases.all.map(\.name).joined(separator: ", ")))
)
struct PostgresRoutingTests {
    @Test("PostgreSQL", arguments: RoutingCases.all)
    func routing(_ testCase: RoutingCase) async throws {
        try await withFreshStorage(.postgres) { try await testCase.run($0) }
    }
}

/// A campaign on `Desk.did` with members, and the pipeline, router and inbox over one storage.
struct Desk: Sendable {
    static let did = "+59820000001"
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    let storage: Storage
    let router: ConversationRouter
    let pipeline: InboundPipeline
    let inbox: Inbox
    let campaign: CampaignRecord
    let agents: [User]
    let now: Date

    /// Members in this order with these penalties (default 0), each signed in and available.
    static func make(_ storage: Storage, strategy: RoutingStrategy, cap: Int = 2, penalties: [Int] = [0, 0], timeout: Int = 60,
                     schedule: String = "{}", outOfTimeMessage: String? = nil, now: Date = Date()) async throws -> Desk {
        let campaign = try await storage.campaigns.create(
            CampaignRecord(name: "Ventas", strategy: strategy, timeZone: "UTC", schedule: schedule, outOfTimeMessage: outOfTimeMessage,
                           maxInteractionsPerAgent: cap, offerTimeoutSeconds: timeout, createdAt: now, updatedAt: now), dids: [did])
        let router = ConversationRouter(storage: storage, logger: logger, decide: { snapshot in
            var random = SeededRandom(seed: 42)
            return Assignment.decide(snapshot, using: &random)
        })
        let inbox = Inbox(storage: storage, router: router, intake: SpoolIntake(storage: storage))
        var agents: [User] = []
        for (i, _) in penalties.enumerated() {
            let user = try await storage.users.create(username: "agent\(i)", displayName: "Agent \(i)", role: .agent, passwordHash: "x",
                                                      at: now)
            try await storage.sessions.create(Session(tokenHash: UUID().uuidString, userID: user.id, csrfToken: "c", createdAt: now,
                                                      lastSeenAt: now, expiresAt: now.addingTimeInterval(86_400 * 30)))
            agents.append(user)
        }
        try await storage.campaigns.setMembers(campaignID: campaign.id, zip(agents, penalties).map { ($0.id, $1) }, at: now)
        for agent in agents { _ = try await inbox.setStatus(of: agent.id, to: .available, reason: nil, at: now) }
        return Desk(storage: storage, router: router, pipeline: InboundPipeline(storage: storage, router: router, logger: logger),
                    inbox: inbox, campaign: campaign, agents: agents, now: now)
    }

    @discardableResult
    func receive(from: String, _ text: String = "hola", id: String? = nil, to: String = did, at: Date? = nil)
        async throws -> InboundPipeline.Outcome {
        let at = at ?? now
        return try await pipeline.receive(InboundSMS(providerMessageID: id ?? UUID().uuidString, from: from, to: to, text: text,
                                                     receivedAt: at), providerID: 1, at: at)
    }

    /// The conversation a message went to.
    func conversation(_ outcome: InboundPipeline.Outcome, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> ConversationRecord {
        guard case .stored(let message) = outcome, let id = message.conversationID,
              let conversation = try await storage.conversations.conversation(id: id) else {
            Issue.record("expected a message in a conversation, got \(outcome)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return conversation
    }

    func offers(_ conversation: ConversationRecord, at: Date? = nil) async throws -> [Int64] {
        try await storage.conversations.liveOffers(conversationID: conversation.id, at: at ?? now).map(\.userID)
    }

    func spool() async throws -> [SpoolMessage] {
        try await storage.spool.list(SpoolFilter(campaignID: campaign.id), limit: 500, beforeID: nil).sorted { $0.id < $1.id }
    }

    /// No agent above the cap; assigned conversations have one agent and no live offer; offers go to
    /// one member except under `ringall`.
    func checkInvariants(at: Date? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let at = at ?? now
        for agent in agents {
            let load = try await storage.conversations.inbox(agentID: agent.id, at: at).count
            #expect(load <= campaign.maxInteractionsPerAgent, "\(agent.username) holds \(load)", sourceLocation: sourceLocation)
        }
        for item in try await storage.conversations.list(ConversationFilter(states: ConversationState.open), limit: 500, beforeID: nil,
                                                         at: at) {
            switch item.conversation.state {
            case .assigned: #expect(item.offers.isEmpty && item.conversation.agentID != nil, sourceLocation: sourceLocation)
            case .offered:
                #expect(!item.offers.isEmpty && item.conversation.agentID == nil, sourceLocation: sourceLocation)
                if campaign.strategy != .ringall { #expect(item.offers.count == 1, sourceLocation: sourceLocation) }
            default: #expect(item.offers.isEmpty, sourceLocation: sourceLocation)
            }
        }
    }
}

enum RoutingCases {
    static let all: [RoutingCase] = [
        .init(name: "pipeline order: dedupe, unknown DID unrouted, keywords before schedule, out-of-time reply once, returning client",
              run: pipelineOrder),
        .init(name: "a disabled campaign takes no conversation but honours opt-outs without a confirmation", run: disabledCampaign),
        .init(name: "FIFO: conversations beyond every member's capacity wait in order and go as soon as capacity frees", run: fifo),
        .init(name: "offer timeout: the conversation goes to the next member, skipping the one who let it time out", run: offerTimeout),
    ] + RoutingStrategy.allCases.map { strategy in
        .init(name: "strategy \(strategy.rawValue) offers to the member it should, end to end") { try await everyStrategy($0, strategy) }
    } + [RoutingStrategy.ringall, .balanced].map { strategy in
        .init(name: "concurrency (\(strategy.rawValue)): many messages at once, three agents with cap 2, never above a cap or given twice") {
            try await concurrency($0, strategy)
        }
    }

    static let alwaysClosed = #"{"timeZone":"UTC","weekly":[]}"#

    static func pipelineOrder(_ storage: Storage) async throws {
        let desk = try await Desk.make(storage, strategy: .ringall, penalties: [0], schedule: alwaysClosed,
                                       outOfTimeMessage: "Abrimos a las 9")
        let agent = desk.agents[0]

        // A message opens a conversation, gets the out-of-time reply and is offered at once to the available agent.
        let first = try await desk.conversation(try await desk.receive(from: "+59899000001", id: "sid-1"))
        #expect(try await desk.offers(first) == [agent.id], "out of hours, an available agent still gets it")
        #expect(try await desk.receive(from: "+59899000001", id: "sid-1") == .duplicate)
        let again = try await desk.conversation(try await desk.receive(from: "+59899000001", "sigo esperando"))
        #expect(again.id == first.id)
        var autoReplies = try await desk.spool().filter { $0.source == "auto_reply" }
        #expect(autoReplies.count == 1, "one out-of-time reply per conversation, not per message")
        #expect(autoReplies.first?.conversationID == first.id && autoReplies.first?.message == "Abrimos a las 9")
        #expect(autoReplies.first?.priority == Inbox.replyPriority)

        // An unknown DID: stored as unrouted, never dropped.
        guard case .stored(let unrouted) = try await desk.receive(from: "+59899000002", to: "+34900000000") else {
            Issue.record("the message should be stored")
            return
        }
        #expect(unrouted.campaignID == nil && unrouted.conversationID == nil)
        #expect(try await storage.inbound.unrouted(limit: 10).map(\.id) == [unrouted.id])
        // A NUL character (GSM-7's '@' from a gateway passing raw septets) cannot be stored: it is kept visible as U+FFFD.
        guard case .stored(let nul) = try await desk.receive(from: "+59899000002", "precio\u{0}100", id: "sid\u{0}9", to: "+34900000000")
        else {
            Issue.record("the message with a NUL should be stored")
            return
        }
        #expect(nul.body == "precio\u{FFFD}100")
        #expect(try await storage.inbound.unrouted(limit: 10).first { $0.id == nul.id }?.body == "precio\u{FFFD}100")

        // Opt-out keywords come before the schedule: DNCR, one confirmation, audit, no conversation, no out-of-time reply.
        guard case .stored(let stop) = try await desk.receive(from: "+59899000003", " Stop! ") else {
            Issue.record("the keyword should be stored")
            return
        }
        #expect(stop.campaignID == desk.campaign.id && stop.conversationID == nil)
        #expect(try await storage.dncr.blocked(["+59899000003"], campaignID: desk.campaign.id)["+59899000003"] != nil)
        let confirmations = try await desk.spool().filter { $0.destination == "+59899000003" }
        #expect(confirmations.map(\.source) == ["opt_out_confirmation"])
        #expect(confirmations.first?.message.hasPrefix("You have been unsubscribed") == true)
        #expect(confirmations.first?.message.contains("START") == true)
        #expect(try await storage.audit.list(limit: 1, before: nil).first?.action == "dncr.opt_out")
        #expect(try await storage.conversations.inbox(agentID: agent.id, at: desk.now).count == 1, "not routed to the agent")
        // In Spanish when the client wrote a Spanish keyword; a sentence that merely contains one is a normal message.
        _ = try await desk.receive(from: "+59899000004", "Baja.")
        #expect(try await desk.spool().first { $0.destination == "+59899000004" }?.message.hasPrefix("Listo: te diste de baja") == true)
        let sentence = try await desk.conversation(try await desk.receive(from: "+59899000005", "stop sending me bills please"))
        #expect(sentence.state != .closed)
        // Opting back in lifts the client's own opt-out and is confirmed.
        _ = try await desk.receive(from: "+59899000003", "START")
        #expect(try await storage.dncr.blocked(["+59899000003"], campaignID: desk.campaign.id).isEmpty)
        #expect(try await desk.spool().filter { $0.destination == "+59899000003" }.count == 2)

        // A returning client after the conversation closed: a new conversation linked to the old one, with its own reply.
        await #expect(throws: ConversationError.notFound("conversation \(first.id)"), "an offered conversation is not the agent's to close") {
            _ = try await desk.inbox.close(first.id, wrapUp: "resuelto", by: .agent(agent.id))
        }
        _ = try await desk.inbox.accept(first.id, by: agent.id)
        let closed = try await desk.inbox.close(first.id, wrapUp: "resuelto", by: .agent(agent.id))
        #expect(closed.state == .closed && closed.closeReason == "resuelto")
        let returning = try await desk.conversation(try await desk.receive(from: "59899000001", "otra consulta"))
        #expect(returning.id != first.id && returning.previousConversationID == first.id)
        autoReplies = try await desk.spool().filter { $0.source == "auto_reply" }
        #expect(autoReplies.map(\.conversationID) == [first.id, sentence.id, returning.id])
    }

    static func disabledCampaign(_ storage: Storage) async throws {
        let desk = try await Desk.make(storage, strategy: .ringall, penalties: [0])
        var campaign = desk.campaign
        campaign.enabled = false
        _ = try await storage.campaigns.update(campaign, dids: nil, at: desk.now)
        guard case .stored(let message) = try await desk.receive(from: "+59899000001") else {
            Issue.record("the message should be stored")
            return
        }
        #expect(message.campaignID == desk.campaign.id && message.conversationID == nil)
        #expect(try await storage.inbound.unrouted(limit: 10).isEmpty, "it belongs to the campaign")
        _ = try await desk.receive(from: "+59899000002", "STOP")
        #expect(try await storage.dncr.blocked(["+59899000002"], campaignID: desk.campaign.id).count == 1)
        #expect(try await desk.spool().isEmpty, "a disabled campaign sends nothing")
    }

    static func fifo(_ storage: Storage) async throws {
        let desk = try await Desk.make(storage, strategy: .linear, cap: 1, penalties: [0])
        let agent = desk.agents[0]
        var conversations: [ConversationRecord] = []
        for i in 1...3 {
            conversations.append(try await desk.conversation(
                try await desk.receive(from: "+5989900000\(i)", at: desk.now.addingTimeInterval(Double(i)))))
        }
        let (first, second, third) = (conversations[0], conversations[1], conversations[2])
        #expect(try await desk.offers(first) == [agent.id])
        #expect(try await storage.conversations.conversation(id: second.id)?.state == .queued)
        #expect(try await storage.conversations.conversation(id: third.id)?.state == .queued)

        // Capacity frees on close: the oldest waiting one goes, not the newest.
        _ = try await desk.inbox.reply(to: first.id, text: "Hola", sendAt: nil, by: .agent(agent.id))
        _ = try await desk.inbox.close(first.id, wrapUp: nil, by: .agent(agent.id))
        #expect(try await desk.offers(second) == [agent.id])
        #expect(try await storage.conversations.conversation(id: third.id)?.state == .queued)

        // Pausing withdraws the offer: back to the queue, still ahead of the third; available again, it is offered again.
        _ = try await desk.inbox.setStatus(of: agent.id, to: .paused, reason: "café", at: desk.now)
        #expect(try await storage.conversations.conversation(id: second.id)?.state == .queued)
        #expect(try await storage.conversations.status(userID: agent.id).reason == "café")
        _ = try await desk.inbox.setStatus(of: agent.id, to: .available, reason: nil, at: desk.now)
        #expect(try await desk.offers(second) == [agent.id])
        #expect(try await storage.conversations.conversation(id: third.id)?.state == .queued)
        try await desk.checkInvariants()
    }

    static func offerTimeout(_ storage: Storage) async throws {
        let desk = try await Desk.make(storage, strategy: .linear, cap: 2, penalties: [0, 0], timeout: 30)
        let (ana, bob) = (desk.agents[0], desk.agents[1])
        let conversation = try await desk.conversation(try await desk.receive(from: "+59899000001"))
        #expect(try await desk.offers(conversation) == [ana.id], "linear: the top of the member list")

        let t1 = desk.now.addingTimeInterval(31)
        let expired = try await desk.router.expireOffers(at: t1)
        #expect(expired.map(\.conversation.id) == [conversation.id] && expired.first?.agents == [ana.id])
        #expect(try await desk.offers(conversation, at: t1) == [bob.id], "the next member, not the one who let it time out")
        await #expect(throws: ConversationError.offerExpired(conversation.id)) { _ = try await desk.inbox.accept(conversation.id, by: ana.id, at: t1) }

        // Bob lets it time out too: everyone was tried, a new round starts from the top.
        let t2 = t1.addingTimeInterval(31)
        _ = try await desk.router.expireOffers(at: t2)
        #expect(try await desk.offers(conversation, at: t2) == [ana.id])
        let taken = try await desk.inbox.accept(conversation.id, by: ana.id, at: t2)
        #expect(taken.conversation.state == .assigned && taken.conversation.agentID == ana.id)
        #expect(try await desk.router.expireOffers(at: t2.addingTimeInterval(3600)).isEmpty, "an accepted conversation stays")
    }

    /// Members agent0 (penalty 1), agent1 and agent2 (penalty 0). agent1 has one open conversation and
    /// closed one today; agent2 never had one.
    static func everyStrategy(_ storage: Storage, _ strategy: RoutingStrategy) async throws {
        let desk = try await Desk.make(storage, strategy: strategy, cap: 3, penalties: [1, 0, 0])
        let (a, b, c) = (desk.agents[0].id, desk.agents[1].id, desk.agents[2].id)
        let earlier = desk.now.addingTimeInterval(-600)
        let closed = try await desk.inbox.start(campaignID: desk.campaign.id, number: "+59899000101", text: "hola", sendAt: nil,
                                                by: .agent(b), at: earlier)
        _ = try await desk.inbox.close(closed.conversation.id, wrapUp: nil, by: .agent(b), at: earlier)
        _ = try await desk.inbox.start(campaignID: desk.campaign.id, number: "+59899000102", text: "hola", sendAt: nil, by: .agent(b),
                                       at: earlier)

        let conversation = try await desk.conversation(try await desk.receive(from: "+59899000001"))
        let offered = Set(try await desk.offers(conversation))
        switch strategy {
        case .ringall: #expect(offered == [b, c], "every member of the best penalty tier")
        case .linear, .rrmemory, .rrordered: #expect(offered == [b])
        case .leastrecent, .fewestcalls, .balanced: #expect(offered == [c])
        case .random: #expect(offered.count == 1 && offered.isSubset(of: [b, c]))
        case .wrandom: #expect(offered.count == 1 && offered.isSubset(of: [a, b, c]))
        }
        if strategy.usesCursor {
            #expect(try await storage.campaigns.campaign(id: desk.campaign.id)?.roundRobinCursor == b)
            let next = try await desk.conversation(try await desk.receive(from: "+59899000002"))
            #expect(try await desk.offers(next) == [c], "the round continues after the member served last")
        }
        try await desk.checkInvariants()
    }

    static func concurrency(_ storage: Storage, _ strategy: RoutingStrategy) async throws {
        let desk = try await Desk.make(storage, strategy: strategy, cap: 2, penalties: [0, 0, 0])
        // 30 clients write at the same moment, each message routed as it arrives.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<30 {
                group.addTask { try await desk.receive(from: "+598991000\(String(format: "%02d", i))") }
            }
            try await group.waitForAll()
        }
        try await desk.checkInvariants()

        // Agents accept every offer at once, close a conversation each while 10 more clients write and the
        // timer sweeps the queue; repeat until everything settles.
        var closes = 0
        for round in 0..<12 {
            let offered = try await storage.conversations.list(ConversationFilter(states: [.offered]), limit: 100, beforeID: nil,
                                                               at: desk.now)
            let assigned = try await storage.conversations.list(ConversationFilter(states: [.assigned]), limit: 100, beforeID: nil,
                                                                at: desk.now)
            if (1...3).contains(round) {
                closes += Set(assigned.compactMap(\.conversation.agentID)).count
            }
            let accepted = try await withThrowingTaskGroup(of: (Int64, Bool)?.self) { group in
                for item in offered {
                    for offer in item.offers {
                        group.addTask {
                            do {
                                _ = try await desk.inbox.accept(item.conversation.id, by: offer.userID, at: desk.now)
                                return (item.conversation.id, true)
                            } catch ConversationError.taken {
                                return (item.conversation.id, false)
                            }
                        }
                    }
                }
                for agent in desk.agents where (1...3).contains(round) {
                    guard let mine = assigned.first(where: { $0.conversation.agentID == agent.id }) else { continue }
                    group.addTask {
                        _ = try await desk.inbox.close(mine.conversation.id, wrapUp: nil, by: .agent(agent.id), at: desk.now)
                        return nil
                    }
                }
                if round < 3 {
                    for i in 0..<5 {
                        group.addTask {
                            try await desk.receive(from: "+598992\(round)\(String(format: "%02d", i))")
                            return nil
                        }
                    }
                }
                group.addTask {
                    try await desk.router.assignEveryQueue(at: desk.now)
                    return nil
                }
                var accepted: [(Int64, Bool)] = []
                for try await result in group {
                    if let result { accepted.append(result) }
                }
                return accepted
            }
            for item in offered {
                #expect(accepted.filter { $0.0 == item.conversation.id && $0.1 }.count == 1,
                        "conversation \(item.conversation.id) is taken by exactly one of \(item.offers.map(\.userID))")
            }
            try await desk.checkInvariants()
            if round >= 3,
               try await storage.conversations.list(ConversationFilter(states: [.offered]), limit: 1, beforeID: nil, at: desk.now).isEmpty {
                break
            }
        }
        try await desk.router.assignEveryQueue(at: desk.now)
        for agent in desk.agents {
            let held = try await storage.conversations.inbox(agentID: agent.id, at: desk.now)
            #expect(held.count == 2, "\(agent.username) works at the cap once the queue is long")
        }
        let all = try await storage.conversations.list(ConversationFilter(), limit: 500, beforeID: nil, at: desk.now)
        #expect(all.count == 30 + 15, "every message opened its conversation")
        #expect(closes >= 3)
        #expect(all.filter { $0.conversation.state == .closed }.count == closes)
        try await desk.checkInvariants()
    }
}
