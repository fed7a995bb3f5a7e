import Foundation
import SMSCore
import SMSStore
import Testing

/// Supervision cases of the conformance suite (SPEC S1-S3, S6): the facts the metrics are computed from,
/// the monitor's agents, taking a conversation over and the supervisor-agent chat.
enum SupervisionCases {
    static let all: [ConformanceCase] = [
        .init(name: "supervision: a campaign's facts — first reply (a scheduled one once sent), opt-out mark, open ones of earlier days",
              run: facts),
        .init(name: "supervision: the monitor's agents — presence, sessions, open per campaign, live offers, completed today",
              run: agents),
        .init(name: "supervision: take over moves an assigned or offered conversation to the supervisor; closed is refused",
              run: takeOver),
        .init(name: "supervision: chat both ways, oldest first; supervisors of a campaign and of an agent", run: chat),
    ]

    static let t0 = ConversationCases.t0
    typealias C = ConversationCases

    static func reply(_ f: C.Fixture, to number: String, by agent: Int64, sendAt: Date? = nil) -> NewSpoolMessage {
        NewSpoolMessage(campaignID: f.campaign.id, destination: number, message: "hola", priority: 100, source: .agent,
                        createdBy: agent, notBefore: sendAt)
    }

    static func facts(_ storage: Storage) async throws {
        let f = try await C.fixture(storage, strategy: .linear, cap: 5, agents: 1)
        let ana = f.agents[0]
        let other = try await C.fixture(storage, name: "Cobros", did: "+59820000002", agents: 0)
        let day = DateInterval(start: t0, duration: 86_400)

        // Yesterday, still open: it is in today's facts (the live queue needs it). Closed yesterday: not.
        let old = try C.conversation(try await C.deliver(storage, f, from: "+59899100001", at: t0.addingTimeInterval(-3600)))
        let gone = try C.conversation(try await C.deliver(storage, f, from: "+59899100002", at: t0.addingTimeInterval(-7200)))
        _ = try await storage.conversations.close(conversationID: gone.id, agentID: nil, reason: nil, at: t0.addingTimeInterval(-60))

        // Answered at once by Ana.
        let a = try C.conversation(try await C.deliver(storage, f, from: "+59899100003", at: t0.addingTimeInterval(10)))
        _ = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "+59899100003", agentID: ana.id,
                                                  requireMembership: true, message: reply(f, to: "+59899100003", by: ana.id),
                                                  at: t0.addingTimeInterval(40))
        // Answered by a reply scheduled for later: its send time is the first response.
        let b = try C.conversation(try await C.deliver(storage, f, from: "+59899100004", at: t0.addingTimeInterval(20)))
        let later = t0.addingTimeInterval(900)
        let scheduled = try await storage.conversations.start(
            campaignID: f.campaign.id, clientNumber: "+59899100004", agentID: ana.id, requireMembership: true,
            message: reply(f, to: "+59899100004", by: ana.id, sendAt: later), at: t0.addingTimeInterval(30))
        #expect(scheduled.conversation.firstResponseAt == nil, "not sent yet")
        let spoolID = try #require(scheduled.message.delivery?.spoolID)
        let claimed = try await storage.spool.claim(campaignIDs: [f.campaign.id], limit: 10, owner: "n",
                                                    leaseUntil: later.addingTimeInterval(120), now: later.addingTimeInterval(5))
        #expect(claimed.map(\.id).contains(spoolID))
        let provider = try await storage.providers.create(ConformanceCases.provider("sim")).id
        try await storage.spool.record(claimed.map { .sent(id: $0.id, dialerID: nil, providerID: provider, providerMessageID: "p\($0.id)",
                                                           port: nil) },
                                       owner: "n", at: later.addingTimeInterval(5))
        // The client opts out while waiting; a STOPALL to this campaign marks the client's conversation elsewhere too.
        let c = try C.conversation(try await C.deliver(storage, f, from: "+59899100005", at: t0.addingTimeInterval(50)))
        _ = try await storage.conversations.ingest(C.message(from: "59899100005", text: "BAJA"),
                                                   routing: .keyword(campaignID: f.campaign.id, .optOut(keyword: "BAJA", scope: .campaign),
                                                                     confirmation: nil), at: t0.addingTimeInterval(70))
        let elsewhere = try C.conversation(try await storage.conversations.ingest(
            C.message(from: "+59899100006", to: "+59820000002"), routing: .conversation(campaignID: other.campaign.id, outOfTimeReply: nil),
            at: t0.addingTimeInterval(80)))
        let mine = try C.conversation(try await C.deliver(storage, f, from: "+59899100006", at: t0.addingTimeInterval(85)))
        _ = try await storage.conversations.ingest(C.message(from: "+59899100006", text: "STOPALL"),
                                                   routing: .keyword(campaignID: f.campaign.id, .optOut(keyword: "STOPALL", scope: .all),
                                                                     confirmation: nil), at: t0.addingTimeInterval(90))
        // An opt-out of this campaign does not mark the client's conversation in another one.
        let third = try await C.fixture(storage, name: "Ventas2", did: "+59820000003", agents: 0)
        let untouched = try C.conversation(try await storage.conversations.ingest(
            C.message(from: "+59899100005", to: "+59820000003"), routing: .conversation(campaignID: third.campaign.id, outOfTimeReply: nil),
            at: t0.addingTimeInterval(60)))
        _ = try await storage.conversations.ingest(C.message(from: "+59899100005", text: "BAJA"),
                                                   routing: .keyword(campaignID: f.campaign.id, .optOut(keyword: "BAJA", scope: .campaign),
                                                                     confirmation: nil), at: t0.addingTimeInterval(95))

        let facts = try await storage.supervision.facts(campaignID: f.campaign.id, from: day.start, to: day.end)
        let byID = Dictionary(uniqueKeysWithValues: facts.map { ($0.id, $0) })
        #expect(Set(byID.keys) == [old.id, a.id, b.id, c.id, mine.id], "yesterday's open one in, yesterday's closed one and other campaigns out")
        #expect(byID[old.id] == ConversationFacts(id: old.id, openedAt: t0.addingTimeInterval(-3600), queuedAt: t0.addingTimeInterval(-3600)))
        #expect(byID[a.id] == ConversationFacts(id: a.id, agentID: ana.id, openedAt: t0.addingTimeInterval(10),
                                                queuedAt: t0.addingTimeInterval(10), assignedAt: t0.addingTimeInterval(40),
                                                firstResponseAt: t0.addingTimeInterval(40)))
        #expect(byID[b.id]?.firstResponseAt == later.addingTimeInterval(5), "the scheduled reply counts once it went out")
        #expect(byID[b.id]?.assignedAt == t0.addingTimeInterval(30))
        #expect(byID[c.id]?.optedOutAt == t0.addingTimeInterval(70), "the first opt-out while open")
        #expect(byID[c.id]?.closedAt == nil, "an opt-out does not close the conversation")
        #expect(byID[mine.id]?.optedOutAt == t0.addingTimeInterval(90))
        let otherFacts = try await storage.supervision.facts(campaignID: other.campaign.id, from: day.start, to: day.end)
        #expect(otherFacts.map(\.id) == [elsewhere.id] && otherFacts.first?.optedOutAt == t0.addingTimeInterval(90), "STOPALL: every campaign")
        #expect(try await storage.supervision.facts(campaignID: third.campaign.id, from: day.start, to: day.end)
            .first { $0.id == untouched.id }?.optedOutAt == nil, "an opt-out of one campaign leaves the others")
        // The window's end: nothing opened at or after it.
        #expect(try await storage.supervision.facts(campaignID: f.campaign.id, from: day.start, to: t0.addingTimeInterval(10))
            .map(\.id) == [old.id])
    }

    static func agents(_ storage: Storage) async throws {
        let f = try await C.fixture(storage, strategy: .linear, cap: 3, agents: 3)
        let (ana, bob, eva) = (f.agents[0], f.agents[1], f.agents[2])
        let other = try await C.fixture(storage, name: "Cobros", did: "+59820000002", agents: 0)
        try await storage.campaigns.setMembers(campaignID: other.campaign.id, [(ana.id, 0)], at: t0)
        let at = t0.addingTimeInterval(100)
        _ = try await storage.conversations.setStatus(AgentStatus(userID: bob.id, status: .paused, reason: "almuerzo", since: at), at: at)
        try await storage.sessions.deleteAll(userID: eva.id)

        // Ana holds one conversation here and one in Cobros, is offered another, and closed one today.
        for number in ["+59899200001", "+59899200002"] {
            _ = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: number, agentID: ana.id, requireMembership: true,
                                                      message: reply(f, to: number, by: ana.id), at: t0)
        }
        let closed = try await storage.conversations.list(ConversationFilter(campaignID: f.campaign.id, number: "200002"), limit: 1,
                                                          beforeID: nil, at: t0)
        _ = try await storage.conversations.close(conversationID: try #require(closed.first).conversation.id, agentID: ana.id, reason: nil,
                                                  at: at)
        _ = try await storage.conversations.start(campaignID: other.campaign.id, clientNumber: "+59899200003", agentID: ana.id,
                                                  requireMembership: true, message: reply(other, to: "+59899200003", by: ana.id), at: t0)
        _ = try await C.deliver(storage, f, from: "+59899200004", at: at)
        guard case .offered(_, let offers) = try await C.route(storage, f, at: at) else {
            Issue.record("should be offered")
            return
        }
        #expect(offers.map(\.userID) == [ana.id])

        let board = try await storage.supervision.agents(campaignID: f.campaign.id, completedSince: t0, at: at)
        #expect(board.map(\.userID) == [ana.id, bob.id, eva.id], "the admin's order")
        let first = board[0]
        #expect(first.username == ana.username && first.displayName == "Agent 0" && first.sessions == 1 && !first.disabled)
        #expect(first.status.status == .available)
        #expect(first.openByCampaign == [f.campaign.id: 1, other.campaign.id: 1] && first.open == 2)
        #expect(first.liveOffers == 1)
        #expect(first.completed == 1)
        #expect(board[1].status == AgentStatus(userID: bob.id, status: .paused, reason: "almuerzo", since: at))
        #expect(board[2].sessions == 0 && board[2].open == 0 && board[2].liveOffers == 0)
        #expect(try await storage.supervision.agents(campaignID: f.campaign.id, completedSince: at.addingTimeInterval(1), at: at)[0]
            .completed == 0, "closed before the day")
        #expect(try await storage.supervision.sessionCount(userID: ana.id, at: at) == 1)
        #expect(try await storage.supervision.sessionCount(userID: eva.id, at: at) == 0)
    }

    static func takeOver(_ storage: Storage) async throws {
        let f = try await C.fixture(storage, strategy: .ringall, cap: 3, agents: 2)
        let (ana, bob) = (f.agents[0], f.agents[1])
        let sup = try await storage.users.create(username: "sara", displayName: "Sara", role: .supervisor, passwordHash: "x", at: t0)

        // Assigned to Ana: moves to Sara, keeping when it left the queue.
        let c = try C.conversation(try await C.deliver(storage, f, from: "+59899300001"))
        _ = try await C.route(storage, f, at: t0)
        _ = try await storage.conversations.accept(conversationID: c.id, agentID: ana.id, at: t0.addingTimeInterval(5))
        let taken = try await storage.supervision.takeOver(conversationID: c.id, by: sup.id, at: t0.addingTimeInterval(60))
        #expect(taken.previousAgentID == ana.id && taken.withdrawnFrom.isEmpty)
        #expect(taken.conversation.state == .assigned && taken.conversation.agentID == sup.id)
        #expect(taken.conversation.assignedAt == t0.addingTimeInterval(5))
        #expect(try await storage.conversations.inbox(agentID: ana.id, at: t0.addingTimeInterval(60)).isEmpty, "Ana lost it")
        #expect(try await storage.conversations.inbox(agentID: sup.id, at: t0.addingTimeInterval(60)).map(\.conversation.id) == [c.id])
        // Sara replies in it and closes it like its agent.
        let sent = try await storage.conversations.reply(conversationID: c.id, agentID: sup.id,
                                                         message: reply(f, to: "+59899300001", by: sup.id), at: t0.addingTimeInterval(70))
        #expect(sent.conversation.firstResponseAt == t0.addingTimeInterval(70))
        await #expect(throws: ConversationError.self) {
            _ = try await storage.conversations.reply(conversationID: c.id, agentID: ana.id, message: reply(f, to: "+59899300001", by: ana.id),
                                                      at: t0.addingTimeInterval(71))
        }
        // Taking it again changes nothing.
        let again = try await storage.supervision.takeOver(conversationID: c.id, by: sup.id, at: t0.addingTimeInterval(80))
        #expect(again.previousAgentID == nil && again.conversation.assignedAt == t0.addingTimeInterval(5))

        // Offered to both (ringall): the offers end, it is assigned now.
        let d = try C.conversation(try await C.deliver(storage, f, from: "+59899300002", at: t0.addingTimeInterval(100)))
        guard case .offered(_, let offers) = try await C.route(storage, f, at: t0.addingTimeInterval(100)) else {
            Issue.record("should be offered")
            return
        }
        #expect(Set(offers.map(\.userID)) == [ana.id, bob.id])
        let offered = try await storage.supervision.takeOver(conversationID: d.id, by: sup.id, at: t0.addingTimeInterval(110))
        #expect(offered.previousAgentID == nil && offered.withdrawnFrom == [ana.id, bob.id].sorted())
        #expect(offered.conversation.assignedAt == t0.addingTimeInterval(110))
        #expect(try await storage.conversations.liveOffers(conversationID: d.id, at: t0.addingTimeInterval(110)).isEmpty)
        await #expect(throws: ConversationError.taken(d.id)) {
            _ = try await storage.conversations.accept(conversationID: d.id, agentID: bob.id, at: t0.addingTimeInterval(111))
        }

        // Closed: refused; unknown: not found.
        _ = try await storage.conversations.close(conversationID: d.id, agentID: nil, reason: nil, at: t0.addingTimeInterval(120))
        await #expect(throws: ConversationError.closed(d.id)) {
            _ = try await storage.supervision.takeOver(conversationID: d.id, by: sup.id, at: t0.addingTimeInterval(130))
        }
        await #expect(throws: ConversationError.notFound("conversation 999999")) {
            _ = try await storage.supervision.takeOver(conversationID: 999_999, by: sup.id, at: t0.addingTimeInterval(130))
        }
    }

    static func chat(_ storage: Storage) async throws {
        let f = try await C.fixture(storage, agents: 2)
        let (ana, bob) = (f.agents[0], f.agents[1])
        let sara = try await storage.users.create(username: "sara", displayName: "Sara", role: .supervisor, passwordHash: "x", at: t0)
        let tom = try await storage.users.create(username: "tom", displayName: "Tom", role: .supervisor, passwordHash: "x", at: t0)
        let first = try await storage.supervision.appendChat(from: sara.id, to: ana.id, body: "¿Todo bien?", at: t0)
        #expect(first.fromUserID == sara.id && first.fromName == "Sara" && first.toUserID == ana.id && first.toName == "Agent 0")
        #expect(first.body == "¿Todo bien?" && first.at == t0)
        _ = try await storage.supervision.appendChat(from: ana.id, to: sara.id, body: "Sí", at: t0.addingTimeInterval(1))
        _ = try await storage.supervision.appendChat(from: tom.id, to: ana.id, body: "Hola", at: t0.addingTimeInterval(2))
        _ = try await storage.supervision.appendChat(from: sara.id, to: bob.id, body: "Bob", at: t0.addingTimeInterval(3))
        #expect(try await storage.supervision.chat(agentID: ana.id, with: sara.id, limit: 10).map(\.body) == ["¿Todo bien?", "Sí"])
        #expect(try await storage.supervision.chat(agentID: ana.id, with: nil, limit: 10).map(\.body) == ["¿Todo bien?", "Sí", "Hola"])
        #expect(try await storage.supervision.chat(agentID: ana.id, with: nil, limit: 2).map(\.body) == ["Sí", "Hola"], "the newest, oldest first")

        #expect(try await storage.supervision.supervisorIDs(campaignID: f.campaign.id).isEmpty)
        try await storage.campaigns.setSupervisors(campaignID: f.campaign.id, [tom.id, sara.id], at: t0)
        let other = try await C.fixture(storage, name: "Cobros", did: "+59820000002", agents: 0)
        let zoe = try await storage.users.create(username: "zoe", displayName: "Zoe", role: .supervisor, passwordHash: "x", at: t0)
        try await storage.campaigns.setSupervisors(campaignID: other.campaign.id, [zoe.id, sara.id], at: t0)
        try await storage.campaigns.setMembers(campaignID: other.campaign.id, [(bob.id, 0)], at: t0)
        #expect(try await storage.supervision.supervisorIDs(campaignID: f.campaign.id) == [sara.id, tom.id].sorted())
        #expect(try await storage.supervision.supervisorIDs(ofAgent: ana.id) == [sara.id, tom.id].sorted())
        #expect(try await storage.supervision.supervisorIDs(ofAgent: bob.id) == [sara.id, tom.id, zoe.id].sorted(), "each once")
    }
}
