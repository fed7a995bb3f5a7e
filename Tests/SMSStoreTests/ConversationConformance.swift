import Foundation
import SMSCore
import SMSStore
import Testing

/// Conversation cases of the conformance suite (SPEC A1-A7, C2, C3, C8-C10, D8).
enum ConversationCases {
    static let all: [ConformanceCase] = [
        .init(name: "conversations: a message is stored once; one open thread per number and campaign, reopened linked after close",
              run: threads),
        .init(name: "conversations: an opt-out keyword changes the DNCR, queues one confirmation, is audited and routed to no agent",
              run: keywords),
        .init(name: "conversations: the out-of-time reply is queued once per conversation", run: outOfTime),
        .init(name: "conversations: routing offers the oldest waiting conversation to eligible members only; accept and expiry",
              run: routing),
        .init(name: "conversations: concurrent messages, routing and accepts never exceed a cap or give one conversation twice",
              run: concurrency),
        .init(name: "conversations: replies, scheduled replies, cancel, start (A1) and the delivery state from the spool",
              run: replies),
        .init(name: "conversations: pausing withdraws the agent's offers; status keeps its time while unchanged", run: presence),
    ]

    static let t0 = Date(millisecondsSince1970: 1_790_000_000_000)
    static let did = "+59820000001"

    struct Fixture {
        var campaign: CampaignRecord
        var agents: [User]
    }

    /// A campaign on `did` with `agents` members, each available and signed in.
    static func fixture(_ storage: Storage, name: String = "Ventas", did: String = did, strategy: RoutingStrategy = .ringall,
                        cap: Int = 2, agents: Int = 2, timeout: Int = 60) async throws -> Fixture {
        let campaign = try await storage.campaigns.create(
            CampaignRecord(name: name, strategy: strategy, timeZone: "UTC", schedule: "{}", maxInteractionsPerAgent: cap,
                           offerTimeoutSeconds: timeout, createdAt: t0, updatedAt: t0), dids: [did])
        var users: [User] = []
        for i in 0..<agents {
            let user = try await storage.users.create(username: "\(name.lowercased())\(i)", displayName: "Agent \(i)", role: .agent,
                                                      passwordHash: "x", at: t0)
            try await signIn(storage, user.id)
            _ = try await storage.conversations.setStatus(AgentStatus(userID: user.id, status: .available, since: t0), at: t0)
            users.append(user)
        }
        try await storage.campaigns.setMembers(campaignID: campaign.id, users.map { ($0.id, 0) }, at: t0)
        return Fixture(campaign: campaign, agents: users)
    }

    static func signIn(_ storage: Storage, _ userID: Int64) async throws {
        try await storage.sessions.create(Session(tokenHash: UUID().uuidString, userID: userID, csrfToken: "c", createdAt: t0,
                                                  lastSeenAt: t0, expiresAt: t0.addingTimeInterval(86_400 * 30)))
    }

    static func message(from: String, text: String = "hola", id: String? = nil, to: String = did, at: Date = t0) -> InboundMessage {
        InboundMessage(providerID: 1, providerMessageID: id ?? UUID().uuidString, from: from, to: to, body: text, receivedAt: at)
    }

    static func deliver(_ storage: Storage, _ f: Fixture, from: String, text: String = "hola", id: String? = nil,
                        outOfTime: NewSpoolMessage? = nil, at: Date = t0) async throws -> IngestOutcome {
        try await storage.conversations.ingest(message(from: from, text: text, id: id, at: at),
                                               routing: .conversation(campaignID: f.campaign.id, outOfTimeReply: outOfTime), at: at)
    }

    static func conversation(_ outcome: IngestOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConversationRecord {
        guard case .conversation(_, let conversation, _, _, _) = outcome else {
            Issue.record("expected a conversation, got \(outcome)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return conversation
    }

    @Sendable static func seeded(_ snapshot: AssignmentSnapshot) -> AssignmentDecision {
        var random = SeededRandom(seed: 7)
        return Assignment.decide(snapshot, using: &random)
    }

    static func route(_ storage: Storage, _ f: Fixture, at: Date = t0) async throws -> RoutingStep {
        try await storage.conversations.routeNext(campaignID: f.campaign.id, at: at, decide: seeded)
    }

    // MARK: cases

    static func threads(_ storage: Storage) async throws {
        let f = try await fixture(storage, agents: 0)
        let first = try await deliver(storage, f, from: "+59899000001", id: "m1")
        guard case .conversation(let m1, let c1, let opened, let reply, let agents) = first else {
            Issue.record("expected a conversation, got \(first)")
            return
        }
        #expect(opened)
        #expect(reply == nil)
        #expect(agents.isEmpty)
        #expect(c1.state == .queued && c1.unreadCount == 1 && c1.queuedAt == t0 && c1.did == did)
        #expect(m1.conversationID == c1.id && m1.campaignID == f.campaign.id)

        // The provider retries the same message id: nothing changes.
        #expect(try await deliver(storage, f, from: "+59899000001", id: "m1") == .duplicate)
        // The client writes again, the provider leaving out the +: the same thread.
        let second = try conversation(try await deliver(storage, f, from: "59899000001", text: "hay alguien?",
                                                        at: t0.addingTimeInterval(5)))
        #expect(second.id == c1.id)
        #expect(second.unreadCount == 2)
        #expect(second.lastActivityAt == t0.addingTimeInterval(5))
        let other = try conversation(try await deliver(storage, f, from: "+59899000002"))
        #expect(other.id != c1.id)
        #expect(try await storage.conversations.messages(conversationID: c1.id).map(\.body) == ["hola", "hay alguien?"])

        // Closed, the client's next message opens a new conversation linked to it.
        let closed = try await storage.conversations.close(conversationID: c1.id, agentID: nil, reason: "resuelto",
                                                           at: t0.addingTimeInterval(60))
        #expect(closed.state == .closed && closed.closeReason == "resuelto" && closed.closedAt == t0.addingTimeInterval(60))
        let reopened = try conversation(try await deliver(storage, f, from: "+59899000001", at: t0.addingTimeInterval(120)))
        #expect(reopened.id != c1.id)
        #expect(reopened.previousConversationID == c1.id)
        #expect(try await storage.conversations.otherConversations(of: reopened, limit: 10, at: t0).map(\.conversation.id) == [c1.id])
        #expect(try await storage.conversations.history(campaignID: f.campaign.id, clientNumber: "+59899000001", beforeID: nil,
                                                        limit: 10).count == 3)

        // An unknown DID: stored, unrouted, listed for admins.
        let unrouted = try await storage.conversations.ingest(message(from: "+59899000009", to: "+111"), routing: .unrouted, at: t0)
        guard case .stored(let stored) = unrouted else {
            Issue.record("expected stored, got \(unrouted)")
            return
        }
        #expect(stored.campaignID == nil && stored.conversationID == nil)
        #expect(try await storage.inbound.unrouted(limit: 10).map(\.id) == [stored.id])
        let list = try await storage.conversations.list(ConversationFilter(campaignID: f.campaign.id, states: ConversationState.open),
                                                        limit: 10, beforeID: nil, at: t0)
        #expect(Set(list.map(\.conversation.id)) == [other.id, reopened.id])
        #expect(list.first?.campaignName == "Ventas")
    }

    static func keywords(_ storage: Storage) async throws {
        let f = try await fixture(storage, agents: 1)
        let number = "+59899000002"
        func keyword(_ action: KeywordAction, text: String) async throws -> IngestOutcome {
            let confirmation = NewSpoolMessage(campaignID: f.campaign.id, destination: number, message: "ok: \(text)", priority: 100,
                                               source: .optOutConfirmation)
            return try await storage.conversations.ingest(message(from: number, text: text),
                routing: .keyword(campaignID: f.campaign.id, action, confirmation: confirmation), at: t0)
        }
        let stop = try await keyword(.optOut(keyword: "STOP", scope: .campaign), text: "stop")
        guard case .keyword(let stored, let changed, let confirmation) = stop, let confirmation else {
            Issue.record("expected a keyword outcome with a confirmation, got \(stop)")
            return
        }
        #expect(changed)
        #expect(stored.campaignID == f.campaign.id && stored.conversationID == nil)
        #expect(confirmation.direction == .outbound && confirmation.conversationID == nil && confirmation.agentID == nil)
        #expect(confirmation.delivery?.state == .toProcess)
        let confirmationSpoolID = try #require(confirmation.delivery?.spoolID)
        let spool = try #require(try await storage.spool.message(id: confirmationSpoolID))
        #expect(spool.source == "opt_out_confirmation" && spool.destination == number && spool.priority == 100)
        #expect(try await storage.dncr.blocked([number], campaignID: f.campaign.id)[number] != nil)
        #expect(try await storage.dncr.blocked([number], campaignID: f.campaign.id + 1).isEmpty, "only this campaign")
        #expect(try await storage.conversations.list(ConversationFilter(), limit: 10, beforeID: nil, at: t0).isEmpty,
                "an opt-out is routed to no agent")
        #expect(try await storage.audit.list(limit: 1, before: nil).first?.action == "dncr.opt_out")
        let events = try await storage.database.query("SELECT keyword, action, message_id FROM opt_out_events ORDER BY id")
        #expect(try events.map { try $0.string("action") } == ["opt_out"])
        #expect(try events.first?.int("message_id") == stored.id)

        // Again: no change, still confirmed once more (each keyword message gets its confirmation).
        guard case .keyword(_, let again, _) = try await keyword(.optOut(keyword: "STOP", scope: .campaign), text: "STOP") else {
            Issue.record("expected a keyword outcome")
            return
        }
        #expect(!again)
        // STOPALL: every campaign.
        _ = try await keyword(.optOut(keyword: "STOPALL", scope: .all), text: "stopall")
        #expect(try await storage.dncr.blocked([number], campaignID: f.campaign.id + 1)[number] != nil)
        // An operator's own entry stays when the client opts back in; the client's opt-outs go.
        try await storage.dncr.add([DNCREntry(number: "+59899000003", campaignID: f.campaign.id, source: "manual", createdAt: t0)])
        guard case .keyword(_, let lifted, _) = try await keyword(.optIn(keyword: "START"), text: "start") else {
            Issue.record("expected a keyword outcome")
            return
        }
        #expect(lifted)
        #expect(try await storage.dncr.blocked([number], campaignID: f.campaign.id).isEmpty)
        #expect(try await storage.dncr.blocked([number], campaignID: f.campaign.id + 1).isEmpty)
        #expect(try await storage.dncr.blocked(["+59899000003"], campaignID: f.campaign.id).count == 1)
        #expect(try await storage.audit.list(limit: 1, before: nil).first?.action == "dncr.opt_in")
    }

    static func outOfTime(_ storage: Storage) async throws {
        let f = try await fixture(storage, agents: 0)
        let number = "+59899000004"
        let reply = NewSpoolMessage(campaignID: f.campaign.id, destination: number, message: "Abrimos a las 9", priority: 100,
                                    source: .autoReply)
        let first = try await deliver(storage, f, from: number, outOfTime: reply)
        guard case .conversation(_, let c1, _, let sent, _) = first, let sent else {
            Issue.record("expected an out-of-time reply, got \(first)")
            return
        }
        #expect(c1.outOfTimeReplied)
        #expect(sent.conversationID == c1.id && sent.body == "Abrimos a las 9" && sent.agentID == nil)
        let replySpoolID = try #require(sent.delivery?.spoolID)
        #expect(try await storage.spool.message(id: replySpoolID)?.conversationID == c1.id)
        // More messages of the same conversation out of hours: no second reply.
        for i in 1...3 {
            guard case .conversation(_, _, _, let again, _) = try await deliver(storage, f, from: number, text: "\(i)", outOfTime: reply)
            else { Issue.record("expected a conversation"); return }
            #expect(again == nil)
        }
        #expect(try await storage.conversations.messages(conversationID: c1.id).filter { $0.direction == .outbound }.count == 1)
        // The waiting time ignores the automatic reply: the client still waits for an agent since the first message.
        #expect(try await storage.conversations.item(id: c1.id, at: t0)?.waitingSince == t0)
        // A new conversation gets its own.
        _ = try await storage.conversations.close(conversationID: c1.id, agentID: nil, reason: nil, at: t0)
        guard case .conversation(_, let c2, _, let second, _) = try await deliver(storage, f, from: number, outOfTime: reply) else {
            Issue.record("expected a conversation")
            return
        }
        #expect(c2.id != c1.id)
        #expect(second != nil)
    }

    static func routing(_ storage: Storage) async throws {
        let f = try await fixture(storage, strategy: .rrmemory, cap: 1, agents: 3)
        let (ana, bob, cid) = (f.agents[0], f.agents[1], f.agents[2])
        try await storage.database.query("DELETE FROM sessions WHERE user_id = \(bob.id)")  // bob is not signed in
        _ = try await storage.conversations.setStatus(AgentStatus(userID: cid.id, status: .paused, reason: "lunch", since: t0), at: t0)

        #expect(try await route(storage, f) == .idle)
        let c1 = try conversation(try await deliver(storage, f, from: "+59899000001"))
        let c2 = try conversation(try await deliver(storage, f, from: "+59899000002", at: t0.addingTimeInterval(1)))
        guard case .offered(let offered, let offers) = try await route(storage, f) else {
            Issue.record("the first conversation should be offered")
            return
        }
        #expect(offered.id == c1.id && offered.state == .offered)
        #expect(offers.map(\.userID) == [ana.id])
        #expect(offers.first?.expiresAt == t0.addingTimeInterval(60))
        #expect(try await storage.campaigns.campaign(id: f.campaign.id)?.roundRobinCursor == ana.id)
        // Ana is at her cap (a live offer counts), Bob is not signed in, Cid is paused: the second waits.
        guard case .waiting(let waiting) = try await route(storage, f) else {
            Issue.record("the second conversation should wait")
            return
        }
        #expect(waiting.id == c2.id)
        #expect(try await storage.conversations.inbox(agentID: ana.id, at: t0).map(\.conversation.id) == [c1.id])
        #expect(try await storage.conversations.inbox(agentID: bob.id, at: t0).isEmpty)

        // Only the member it is offered to may accept it.
        await #expect(throws: ConversationError.notFound("conversation \(c1.id)")) {
            _ = try await storage.conversations.accept(conversationID: c1.id, agentID: bob.id, at: t0)
        }
        let taken = try await storage.conversations.accept(conversationID: c1.id, agentID: ana.id, at: t0.addingTimeInterval(2))
        #expect(taken.conversation.state == .assigned && taken.conversation.agentID == ana.id && taken.withdrawnFrom.isEmpty)
        #expect(try await storage.conversations.accept(conversationID: c1.id, agentID: ana.id, at: t0).conversation.agentID == ana.id,
                "accepting twice is harmless")

        // Bob signs in: the next one is his. He lets the offer time out; as the only eligible member he is offered it again.
        try await signIn(storage, bob.id)
        guard case .offered(let second, let bobOffers) = try await route(storage, f) else {
            Issue.record("the second conversation should go to Bob")
            return
        }
        #expect(second.id == c2.id && bobOffers.map(\.userID) == [bob.id])
        #expect(try await storage.conversations.expireOffers(at: t0.addingTimeInterval(30)).isEmpty, "not yet")
        let late = t0.addingTimeInterval(61)
        let expired = try await storage.conversations.expireOffers(at: late)
        #expect(expired.map(\.conversation.id) == [c2.id] && expired.first?.agents == [bob.id])
        #expect(expired.first?.conversation.state == .queued && expired.first?.conversation.queuedAt == t0.addingTimeInterval(1))
        await #expect(throws: ConversationError.offerExpired(c2.id)) {
            _ = try await storage.conversations.accept(conversationID: c2.id, agentID: bob.id, at: late)
        }
        guard case .offered(_, let again) = try await route(storage, f, at: late) else {
            Issue.record("with nobody else eligible, Bob gets it again")
            return
        }
        #expect(again.map(\.userID) == [bob.id])
        // A closed conversation frees Ana, and its end is remembered for `leastrecent`.
        _ = try await storage.conversations.close(conversationID: c1.id, agentID: ana.id, reason: "ok", at: late)
        let lastEnded = try await storage.database.queryFirst("""
            SELECT last_ended_at FROM campaign_members WHERE campaign_id = \(f.campaign.id) AND user_id = \(ana.id)
            """)?.optionalDate("last_ended_at")
        #expect(lastEnded == late)
        await #expect(throws: ConversationError.closed(c1.id)) {
            _ = try await storage.conversations.close(conversationID: c1.id, agentID: ana.id, reason: nil, at: late)
        }
        await #expect(throws: ConversationError.notFound("conversation \(c2.id)")) {
            _ = try await storage.conversations.close(conversationID: c2.id, agentID: ana.id, reason: nil, at: late)
        }
    }

    static func concurrency(_ storage: Storage) async throws {
        // Three agents with a cap of 2 in two campaigns (caps count an agent's conversations in every campaign).
        let f = try await fixture(storage, strategy: .balanced, cap: 2, agents: 3)
        let other = try await storage.campaigns.create(
            CampaignRecord(name: "Soporte", strategy: .ringall, timeZone: "UTC", schedule: "{}", maxInteractionsPerAgent: 2,
                           createdAt: t0, updatedAt: t0), dids: ["+59820000002"])
        try await storage.campaigns.setMembers(campaignID: other.id, f.agents.map { ($0.id, 0) }, at: t0)
        let campaigns = [f.campaign.id, other.id]

        // 40 clients write at once to both campaigns, while every message triggers routing of its campaign.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let campaign = campaigns[i % 2]
                    _ = try await storage.conversations.ingest(
                        message(from: "+598990001\(String(format: "%02d", i))", to: i % 2 == 0 ? did : "+59820000002"),
                        routing: .conversation(campaignID: campaign, outOfTimeReply: nil), at: t0)
                    _ = try await storage.conversations.routeNext(campaignID: campaign, at: t0, decide: seeded)
                }
            }
            try await group.waitForAll()
        }
        try await checkInvariants(storage, agents: f.agents, cap: 2, at: t0)

        // Rounds: several routers serve both queues at once, then every offered agent accepts at once (ringall
        // offers race); each conversation goes to exactly one of them. Until the agents are full.
        for _ in 0..<10 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        while case .offered = try await storage.conversations.routeNext(campaignID: campaigns[i % 2], at: t0,
                                                                                        decide: seeded) {}
                    }
                }
                try await group.waitForAll()
            }
            try await checkInvariants(storage, agents: f.agents, cap: 2, at: t0)
            let offered = try await storage.conversations.list(ConversationFilter(states: [.offered]), limit: 100, beforeID: nil, at: t0)
            if offered.isEmpty { break }
            let results = try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
                for item in offered {
                    for offer in item.offers {
                        group.addTask {
                            do {
                                _ = try await storage.conversations.accept(conversationID: item.conversation.id, agentID: offer.userID,
                                                                           at: t0)
                                return (item.conversation.id, true)
                            } catch ConversationError.taken {
                                return (item.conversation.id, false)
                            }
                        }
                    }
                }
                var results: [(Int64, Bool)] = []
                for try await result in group { results.append(result) }
                return results
            }
            for item in offered {
                #expect(results.filter { $0.0 == item.conversation.id && $0.1 }.count == 1,
                        "conversation \(item.conversation.id) accepted by exactly one of \(item.offers.map(\.userID))")
            }
            try await checkInvariants(storage, agents: f.agents, cap: 2, at: t0)
        }
        let assigned = try await storage.conversations.list(ConversationFilter(states: [.assigned]), limit: 100, beforeID: nil, at: t0)
        #expect(assigned.count == 6, "three agents with a cap of 2 hold six conversations")
        #expect(Set(assigned.map(\.conversation.id)).count == 6)
        for agent in f.agents { #expect(assigned.filter { $0.conversation.agentID == agent.id }.count == 2) }
        #expect(try await storage.conversations.list(ConversationFilter(states: [.queued]), limit: 100, beforeID: nil, at: t0).count == 34)
    }

    /// No agent above the cap; an assigned conversation has one agent and no live offer; a non-ringall offer goes to one member.
    static func checkInvariants(_ storage: Storage, agents: [User], cap: Int, at: Date,
                                sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for agent in agents {
            let load = try await storage.conversations.inbox(agentID: agent.id, at: at).count
            #expect(load <= cap, "\(agent.username) holds \(load) conversations, cap \(cap)", sourceLocation: sourceLocation)
        }
        let open = try await storage.conversations.list(ConversationFilter(states: ConversationState.open), limit: 500, beforeID: nil,
                                                        at: at)
        for item in open {
            switch item.conversation.state {
            case .assigned: #expect(item.offers.isEmpty && item.conversation.agentID != nil, sourceLocation: sourceLocation)
            case .offered: #expect(!item.offers.isEmpty && item.conversation.agentID == nil, sourceLocation: sourceLocation)
            default: #expect(item.offers.isEmpty, sourceLocation: sourceLocation)
            }
            if item.campaignName == "Ventas" { #expect(item.offers.count <= 1, sourceLocation: sourceLocation) }
        }
        let rows = try await storage.database.query("""
            SELECT o.user_id, COUNT(*) AS n FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE c.state = 'offered' AND o.expires_at > \(at) GROUP BY o.user_id
            """)
        for row in rows {
            let assigned = try await storage.database.queryFirst("""
                SELECT COUNT(*) AS n FROM conversations WHERE state = 'assigned' AND agent_id = \(try row.int("user_id"))
                """)?.int("n") ?? 0
            #expect(try row.int("n") + assigned <= Int64(cap), sourceLocation: sourceLocation)
        }
    }

    static func replies(_ storage: Storage) async throws {
        let f = try await fixture(storage, strategy: .linear, cap: 2, agents: 2)
        let (ana, bob) = (f.agents[0], f.agents[1])
        let c = try conversation(try await deliver(storage, f, from: "+59899000005"))
        guard case .offered = try await route(storage, f) else {
            Issue.record("should be offered to Ana")
            return
        }
        func reply(_ text: String, sendAt: Date? = nil) -> NewSpoolMessage {
            NewSpoolMessage(campaignID: f.campaign.id, destination: "+59899000005", message: text, priority: 100, source: .agent,
                            createdBy: ana.id, notBefore: sendAt)
        }
        await #expect(throws: ConversationError.notFound("conversation \(c.id)")) {
            _ = try await storage.conversations.reply(conversationID: c.id, agentID: bob.id, message: reply("no"), at: t0)
        }
        // Replying to the offer takes it.
        let at = t0.addingTimeInterval(10)
        let sent = try await storage.conversations.reply(conversationID: c.id, agentID: ana.id, message: reply("Hola, soy Ana"), at: at)
        #expect(sent.taken?.conversation.agentID == ana.id)
        #expect(sent.conversation.state == .assigned && sent.conversation.firstResponseAt == at && sent.conversation.unreadCount == 0)
        #expect(sent.message.direction == .outbound && sent.message.agentID == ana.id && sent.message.conversationID == c.id)
        let spoolID = try #require(sent.message.delivery?.spoolID)
        let spool = try #require(try await storage.spool.message(id: spoolID))
        #expect(spool.conversationID == c.id && spool.source == "agent" && spool.state == .toProcess)
        #expect(try await storage.conversations.item(id: c.id, at: at)?.waitingSince == nil, "answered")

        // The delivery state is the spool's: a failure shows with its reason.
        let claimed = try await storage.spool.claim(campaignIDs: [f.campaign.id], limit: 10, owner: "n", leaseUntil: at.addingTimeInterval(60),
                                                    now: at)
        #expect(claimed.map(\.id) == [spoolID])
        try await storage.spool.record([.failed(id: spoolID, providerID: nil, code: "30003", text: "unreachable")], owner: "n", at: at)
        let failed = try #require(try await storage.conversations.message(id: sent.message.id)?.delivery)
        #expect(failed.state == .failed && failed.errorCode == "30003" && failed.errorText == "unreachable")

        // A scheduled reply: listed until cancelled; it does not count as the first response.
        let later = at.addingTimeInterval(3600)
        let scheduled = try await storage.conversations.reply(conversationID: c.id, agentID: ana.id, message: reply("Mañana", sendAt: later),
                                                              at: at)
        #expect(scheduled.message.delivery?.notBefore == later)
        #expect(try await storage.conversations.scheduled(agentID: ana.id, at: at).map(\.id) == [scheduled.message.id])
        #expect(try await storage.conversations.scheduled(agentID: bob.id, at: at).isEmpty)
        await #expect(throws: ConversationError.notFound("message \(scheduled.message.id)")) {
            _ = try await storage.conversations.cancelOutgoing(messageID: scheduled.message.id, agentID: bob.id, reason: "x", at: at)
        }
        let cancelled = try await storage.conversations.cancelOutgoing(messageID: scheduled.message.id, agentID: ana.id,
                                                                       reason: "cancelled by ana", at: at)
        #expect(cancelled.delivery?.state == .cancelled)
        let cancelledSpoolID = try #require(cancelled.delivery?.spoolID)
        #expect(try await storage.spool.history(id: cancelledSpoolID).last?.reason == "cancelled by ana")
        #expect(try await storage.conversations.scheduled(agentID: ana.id, at: at).isEmpty)
        await #expect(throws: ConversationError.notCancellable(messageID: sent.message.id, state: "failed")) {
            _ = try await storage.conversations.cancelOutgoing(messageID: sent.message.id, agentID: ana.id, reason: "x", at: at)
        }

        // A1: Bob starts an interaction with a new number; the client's open conversation with Ana is hers.
        let start = NewSpoolMessage(campaignID: f.campaign.id, destination: "+59899000006", message: "Hola", priority: 100,
                                    source: .agent, createdBy: bob.id)
        let started = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "+59899000006", agentID: bob.id,
                                                            requireMembership: true, message: start, at: at)
        #expect(started.created && started.conversation.state == .assigned && started.conversation.agentID == bob.id)
        #expect(started.message.delivery?.state == .toProcess)
        await #expect(throws: ConversationError.otherAgent(conversationID: c.id)) {
            _ = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "59899000005", agentID: bob.id,
                                                      requireMembership: true, message: start, at: at)
        }
        let again = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "+59899000006", agentID: bob.id,
                                                          requireMembership: true, message: start, at: at)
        #expect(!again.created && again.conversation.id == started.conversation.id)
        _ = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "+59899000007", agentID: bob.id,
                                                  requireMembership: true, message: start, at: at)
        await #expect(throws: ConversationError.atCapacity(limit: 2)) {
            _ = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "+59899000008", agentID: bob.id,
                                                      requireMembership: true, message: start, at: at)
        }
        let outsider = try await storage.users.create(username: "zoe", displayName: "Zoe", role: .agent, passwordHash: "x", at: t0)
        await #expect(throws: ConversationError.notMember(campaignID: f.campaign.id)) {
            _ = try await storage.conversations.start(campaignID: f.campaign.id, clientNumber: "+59899000009", agentID: outsider.id,
                                                      requireMembership: true, message: start, at: at)
        }
    }

    static func presence(_ storage: Storage) async throws {
        let f = try await fixture(storage, strategy: .ringall, cap: 2, agents: 2)
        let (ana, bob) = (f.agents[0], f.agents[1])
        #expect(try await storage.conversations.status(userID: ana.id) == AgentStatus(userID: ana.id, status: .available, since: t0))
        let later = t0.addingTimeInterval(10)
        _ = try await storage.conversations.setStatus(AgentStatus(userID: ana.id, status: .available, since: later), at: later)
        #expect(try await storage.conversations.status(userID: ana.id).since == t0, "unchanged status keeps its time")
        let nobody = try await storage.users.create(username: "new", displayName: "New", role: .agent, passwordHash: "x", at: t0)
        #expect(try await storage.conversations.status(userID: nobody.id) == AgentStatus(userID: nobody.id, status: .offline, since: nil))

        let c1 = try conversation(try await deliver(storage, f, from: "+59899000001"))
        guard case .offered(_, let offers) = try await route(storage, f) else {
            Issue.record("ringall offers to both")
            return
        }
        #expect(Set(offers.map(\.userID)) == [ana.id, bob.id])
        // Ana pauses: her offer is withdrawn; Bob's stays, so it is not queued again.
        let paused = try await storage.conversations.setStatus(
            AgentStatus(userID: ana.id, status: .paused, reason: "break", since: later), at: later)
        #expect(paused.status.status == .paused && paused.status.reason == "break" && paused.status.since == later)
        #expect(paused.withdrawnOffers == [c1.id] && paused.requeued.isEmpty)
        #expect(try await storage.conversations.liveOffers(conversationID: c1.id, at: later).map(\.userID) == [bob.id])
        // Bob goes offline: nobody has it now, back to the queue.
        let offline = try await storage.conversations.setStatus(AgentStatus(userID: bob.id, status: .offline, since: later), at: later)
        #expect(offline.requeued.map(\.id) == [c1.id])
        #expect(try await storage.conversations.conversation(id: c1.id)?.state == .queued)
        let requeued = try #require(try await storage.conversations.conversation(id: c1.id))
        #expect(try await route(storage, f, at: later) == .waiting(requeued))
    }
}
