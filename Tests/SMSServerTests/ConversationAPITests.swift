import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSConversations
import SMSCore
import SMSProviders
import SMSServer
import SMSStore
import Testing

/// An app with a Twilio provider (inbound through its signed webhook), a campaign on its number and
/// signed-in agents who are members.
struct InboxFixture {
    static let did = "+15017122661"

    let app: TestApp
    let client: any TestClientProtocol
    let webhookPath: String
    let campaign: CampaignRecord
    let agents: [(user: User, credential: TestCredential)]

    static func make(_ app: TestApp, _ client: any TestClientProtocol, strategy: RoutingStrategy = .ringall, cap: Int = 2,
                     agents names: [String] = ["ana", "bob"], members: Int? = nil, available: Bool = true,
                     canned: [CannedResponse] = []) async throws -> InboxFixture {
        let (path, _) = try await WebhookTests.twilioProvider(app, client)
        let now = Date()
        let campaign = try await app.storage.campaigns.create(
            CampaignRecord(name: "Ventas", strategy: strategy, timeZone: "UTC", schedule: "{}", maxInteractionsPerAgent: cap,
                           createdAt: now, updatedAt: now), dids: [did])
        var agents: [(User, TestCredential)] = []
        for name in names { agents.append(try await app.signIn(client, username: name, role: .agent)) }
        try await app.storage.campaigns.setMembers(campaignID: campaign.id, agents.prefix(members ?? names.count).map { ($0.0.id, 0) },
                                                   at: now)
        if !canned.isEmpty { try await app.storage.campaigns.setCannedResponses(campaignID: campaign.id, canned, at: now) }
        let fixture = InboxFixture(app: app, client: client, webhookPath: path, campaign: campaign,
                                   agents: agents.map { (user: $0.0, credential: $0.1) })
        if available {
            for agent in fixture.agents {
                let set = try await fixture.call("/api/v1/agent/status", .put, ["status": "available"], as: agent.credential)
                #expect(set.status == .ok, "\(set.text)")
            }
        }
        return fixture
    }

    func call(_ uri: String, _ method: HTTPRequest.Method, _ json: [String: Any]? = nil, as credential: TestCredential)
        async throws -> JSONTestResponse {
        try await client.executeJSON(uri, method: method, json: json, as: credential)
    }

    /// A client's SMS through Twilio's signed webhook.
    func inbound(from: String, _ text: String, to: String = did, sid: String = "SM" + UUID().uuidString.replacingOccurrences(of: "-", with: "")) async throws {
        let fields: [(name: String, value: String)] = [
            ("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsStatus", "received"), ("Body", text), ("To", to),
            ("MessageSid", sid), ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), ("From", from), ("ApiVersion", "2010-04-01"),
        ]
        let signature = WebhookSignatures.twilioSignature(url: "https://cc.example.com" + webhookPath, parameters: fields,
                                                          authToken: WebhookTests.token)
        let status = try await client.execute(
            uri: webhookPath, method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("X-Twilio-Signature")!: signature],
            body: ByteBuffer(string: WebhookTests.form(fields))) { $0.status }
        #expect(status == .ok)
    }

    func inbox(_ credential: TestCredential) async throws -> [[String: Any]] {
        try await call("/api/v1/inbox", .get, as: credential).json["conversations"] as? [[String: Any]] ?? []
    }

    /// The conversation of a client number in the campaign.
    func conversationID(of number: String) async throws -> Int64 {
        let list = try await app.storage.conversations.list(ConversationFilter(campaignID: campaign.id, number: number), limit: 5,
                                                            beforeID: nil, at: Date())
        return try #require(list.first?.conversation.id)
    }
}

@Suite("Agent inbox API")
struct ConversationAPITests {
    static let conversationKeys: Set<String> = [
        "id", "campaignId", "campaignName", "clientNumber", "did", "state", "agentId", "agentName", "unreadCount", "openedAt",
        "queuedAt", "assignedAt", "firstResponseAt", "lastActivityAt", "closedAt", "wrapUp", "waitingSince", "lastMessage", "offers",
        "previousConversationId",
    ]
    static let messageKeys: Set<String> = [
        "id", "conversationId", "campaignId", "direction", "clientNumber", "text", "at", "agentId", "automatic", "state", "reason",
        "scheduledFor", "sentAt", "deliveredAt", "cancellable",
    ]

    @Test("an agent is offered a client's message, accepts, replies through the spool, sees the delivery state and wraps up; the next one comes")
    func offerAcceptReplyClose() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, cap: 1, agents: ["ana"],
                                                canned: [CannedResponse(title: "Saludo", body: "¡Hola! ¿En qué te ayudo?")])
            let ana = f.agents[0]
            try await f.inbound(from: "+15558675310", "Necesito ayuda con mi pedido")
            try await f.inbound(from: "+15558675311", "Hola?")

            var inbox = try await f.inbox(ana.credential)
            #expect(inbox.count == 1, "cap 1: the second client waits in the queue")
            let offered = try #require(inbox.first)
            #expect(Set(offered.keys) == Self.conversationKeys)
            #expect(offered["state"] as? String == "offered")
            #expect(offered["clientNumber"] as? String == "+15558675310")
            #expect(offered["campaignName"] as? String == "Ventas")
            #expect(offered["unreadCount"] as? Int == 1)
            #expect(offered["waitingSince"] is String)
            #expect(offered["agentId"] is NSNull)
            #expect((offered["offers"] as? [[String: Any]])?.first?["userId"] as? Int == Int(ana.user.id))
            #expect((offered["lastMessage"] as? [String: Any])?["text"] as? String == "Necesito ayuda con mi pedido")
            let id = try #require(offered["id"] as? Int)

            let accepted = try await f.call("/api/v1/conversations/\(id)/accept", .post, as: ana.credential)
            #expect(accepted.status == .ok, "\(accepted.text)")
            #expect((accepted.json["conversation"] as? [String: Any])?["state"] as? String == "assigned")

            let shown = try await f.call("/api/v1/conversations/\(id)", .get, as: ana.credential)
            #expect(shown.status == .ok)
            let messages = try #require(shown.json["messages"] as? [[String: Any]])
            #expect(messages.count == 1 && Set(messages[0].keys) == Self.messageKeys)
            #expect(messages[0]["direction"] as? String == "in" && messages[0]["state"] as? String == "received")
            #expect((shown.json["earlierConversations"] as? [Any])?.isEmpty == true)
            #expect((shown.json["cannedResponses"] as? [[String: Any]])?.first?["title"] as? String == "Saludo")

            let sent = try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": "Hola, soy Ana. ¿Número de pedido?"],
                                        as: ana.credential)
            #expect(sent.status == .created, "\(sent.text)")
            let reply = try #require(sent.json["message"] as? [String: Any])
            #expect(reply["direction"] as? String == "out" && reply["state"] as? String == "queued" && reply["automatic"] as? Bool == false)
            #expect(reply["cancellable"] as? Bool == true)
            #expect((sent.json["conversation"] as? [String: Any])?["waitingSince"] is NSNull, "answered")
            let spool = try await app.storage.spool.list(SpoolFilter(campaignID: f.campaign.id), limit: 10, beforeID: nil)
            #expect(spool.count == 1)
            #expect(spool.first?.conversationID == Int64(id) && spool.first?.source == "agent" && spool.first?.destination == "+15558675310")
            #expect(spool.first?.priority == 100, "replies go ahead of bulk sends")

            // The provider fails it: the thread shows it with the reason (SPEC A6).
            let spoolID = try #require(spool.first?.id)
            _ = try await app.storage.spool.claim(campaignIDs: [f.campaign.id], limit: 5, owner: "t", leaseUntil: Date().addingTimeInterval(60),
                                                  now: Date())
            try await app.storage.spool.record([.failed(id: spoolID, providerID: nil, code: "30003", text: "Unreachable destination")],
                                               owner: "t", at: Date())
            let after = try await f.call("/api/v1/conversations/\(id)", .get, as: ana.credential)
            let failed = try #require((after.json["messages"] as? [[String: Any]])?.last)
            #expect(failed["state"] as? String == "failed")
            #expect(failed["reason"] as? String == "30003: Unreachable destination")
            #expect(failed["cancellable"] as? Bool == false)
            // The dispatcher reports the change (ConversationDeliveryNotice): Ana's page hears of it live.
            let seenBefore = try await app.storage.liveEvents.latestSeq()
            await ConversationEvents(bus: app.app.events, storage: app.storage, logger: app.logs.logger())
                .deliveryChanged(spoolIDs: [spoolID])
            let live = try await app.storage.liveEvents.events(after: seenBefore, visibleTo: LiveViewer(role: .agent, userID: ana.user.id),
                                                               limit: 10)
            let change = try #require(live.first { $0.topic == "conversation.message" })
            let changed = try #require(try JSONSerialization.jsonObject(with: Data(change.payload.utf8)) as? [String: Any])
            #expect((changed["message"] as? [String: Any])?["state"] as? String == "failed")
            #expect((changed["message"] as? [String: Any])?["reason"] as? String == "30003: Unreachable destination")

            try await f.inbound(from: "+15558675310", "12345")
            #expect(try await f.inbox(ana.credential).first?["unreadCount"] as? Int == 1)
            let read = try await f.call("/api/v1/conversations/\(id)/read", .post, as: ana.credential)
            #expect((read.json["conversation"] as? [String: Any])?["unreadCount"] as? Int == 0)

            let history = try await f.call("/api/v1/conversations/\(id)/history?limit=2", .get, as: ana.credential)
            #expect((history.json["messages"] as? [[String: Any]])?.map { $0["text"] as? String } == ["12345", "Hola, soy Ana. ¿Número de pedido?"])

            let closed = try await f.call("/api/v1/conversations/\(id)/close", .post, ["wrapUp": "pedido localizado"], as: ana.credential)
            #expect(closed.status == .ok, "\(closed.text)")
            let wrapped = try #require(closed.json["conversation"] as? [String: Any])
            #expect(wrapped["state"] as? String == "closed" && wrapped["wrapUp"] as? String == "pedido localizado")
            inbox = try await f.inbox(ana.credential)
            #expect(inbox.map { $0["clientNumber"] as? String } == ["+15558675311"], "capacity freed: the waiting client is offered at once")
            #expect(inbox.first?["state"] as? String == "offered")
            let again = try await f.call("/api/v1/conversations/\(id)/close", .post, as: ana.credential)
            #expect(again.status == .conflict && again.errorCode == "closed")

            // Live events reached Ana (and staff), each with the conversation's view.
            let events = try await app.storage.liveEvents.events(after: 0, visibleTo: LiveViewer(role: .agent, userID: ana.user.id),
                                                                 limit: 200)
            let topics = Set(events.map(\.topic))
            #expect(topics.isSuperset(of: ["conversation.offered", "conversation.assigned", "conversation.message",
                                           "conversation.updated", "conversation.closed", "agent.status"]), "\(topics)")
            let stranger = try await app.storage.liveEvents.events(after: 0, visibleTo: LiveViewer(role: .agent, userID: 999_999),
                                                                   limit: 200)
            #expect(stranger.filter { $0.topic.hasPrefix("conversation.") }.isEmpty, "other agents get none of it")
            let offer = try #require(events.first { $0.topic == "conversation.offered" })
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(offer.payload.utf8)) as? [String: Any])
            #expect(Set((payload["conversation"] as? [String: Any])?.keys ?? [:].keys) == Self.conversationKeys)
        }
    }

    @Test("agent scope: another agent gets 404 on every conversation endpoint; staff read everything but only the agent writes")
    func agentScope() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, strategy: .linear, agents: ["ana", "bob"])
            let (ana, bob) = (f.agents[0], f.agents[1])
            try await f.inbound(from: "+15558675310", "hola")
            let id = try await f.conversationID(of: "+15558675310")
            // Offered to Ana only (linear): Bob may not even accept it.
            #expect(try await f.call("/api/v1/conversations/\(id)/accept", .post, as: bob.credential).status == .notFound)
            #expect(try await f.call("/api/v1/conversations/\(id)", .get, as: ana.credential).status == .ok, "offered to Ana: she sees it")
            #expect(try await f.call("/api/v1/conversations/\(id)/accept", .post, as: ana.credential).status == .ok)
            let scheduled = try await f.call("/api/v1/conversations/\(id)/messages", .post,
                                             ["text": "Te escribo mañana", "sendAt": ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))],
                                             as: ana.credential)
            #expect(scheduled.status == .created, "\(scheduled.text)")
            let messageID = try #require((scheduled.json["message"] as? [String: Any])?["id"] as? Int)

            let attempts: [(String, HTTPRequest.Method, [String: Any]?)] = [
                ("/api/v1/conversations/\(id)", .get, nil),
                ("/api/v1/conversations/\(id)/history", .get, nil),
                ("/api/v1/conversations/\(id)/messages", .post, ["text": "hola"]),
                ("/api/v1/conversations/\(id)/accept", .post, nil),
                ("/api/v1/conversations/\(id)/close", .post, ["wrapUp": "no"]),
                ("/api/v1/conversations/\(id)/read", .post, nil),
                ("/api/v1/scheduled-messages/\(messageID)", .delete, nil),
            ]
            for (uri, method, body) in attempts {
                let response = try await f.call(uri, method, body, as: bob.credential)
                #expect(response.status == .notFound, "\(method.rawValue) \(uri) as another agent: \(response.status.code) \(response.text)")
                #expect(!response.text.contains("+15558675310"), "nothing of the conversation leaks")
            }
            #expect(try await f.inbox(bob.credential).isEmpty)
            #expect((try await f.call("/api/v1/scheduled-messages", .get, as: bob.credential).json["messages"] as? [Any])?.isEmpty == true)
            #expect((try await f.call("/api/v1/scheduled-messages", .get, as: ana.credential).json["messages"] as? [Any])?.count == 1)
            // Bob cannot start a conversation with a client who talks to Ana.
            let start = try await f.call("/api/v1/conversations", .post,
                                         ["campaignId": f.campaign.id, "number": "15558675310", "text": "hola"], as: bob.credential)
            #expect(start.status == .conflict && start.errorCode == "other_agent")
            // Nothing Bob tried changed it.
            let still = try #require(try await app.storage.conversations.item(id: Int64(id), at: Date()))
            #expect(still.conversation.state == .assigned && still.conversation.agentID == ana.user.id && still.conversation.unreadCount == 0)

            // A supervisor of the campaign reads it and the queue, but does not write in an agent's conversation; staff may close it.
            let (supUser, sup) = try await app.signIn(client, username: "sup", role: .supervisor)
            try await app.storage.campaigns.setSupervisors(campaignID: f.campaign.id, [supUser.id], at: Date())
            #expect(try await f.call("/api/v1/conversations/\(id)", .get, as: sup).status == .ok)
            #expect(try await f.call("/api/v1/conversations/\(id)/history", .get, as: sup).status == .ok)
            let listed = try await f.call("/api/v1/conversations?state=open&campaignId=\(f.campaign.id)", .get, as: sup)
            #expect((listed.json["conversations"] as? [[String: Any]])?.map { $0["id"] as? Int } == [Int(id)])
            #expect((try await f.call("/api/v1/inbox?agentId=\(ana.user.id)", .get, as: sup).json["conversations"] as? [Any])?.count == 1)
            let supReply = try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": "hola"], as: sup)
            #expect(supReply.status == .forbidden && supReply.errorCode == "not_assigned")
            #expect(try await f.call("/api/v1/conversations?state=bogus", .get, as: sup).errorField == "state")
            // Agents may not list every conversation.
            #expect(try await f.call("/api/v1/conversations", .get, as: ana.credential).status == .forbidden)
            let staffClose = try await f.call("/api/v1/conversations/\(id)/close", .post, ["wrapUp": "cerrada por supervisión"], as: sup)
            #expect(staffClose.status == .ok)
            // Closed, it is still Ana's to read (read-only).
            #expect(try await f.call("/api/v1/conversations/\(id)", .get, as: ana.credential).status == .ok)
            let late = try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": "hola"], as: ana.credential)
            #expect(late.status == .conflict && late.errorCode == "closed")
        }
    }

    @Test("A1 and A7: an agent starts an interaction, schedules a reply, sees it listed and cancels it; bad input names the field")
    func startAndSchedule() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, agents: ["ana", "zoe"], members: 1)
            let (ana, zoe) = (f.agents[0], f.agents[1])
            let campaigns = try await f.call("/api/v1/agent/campaigns", .get, as: ana.credential)
            #expect((campaigns.json["campaigns"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Ventas"])
            #expect((try await f.call("/api/v1/agent/campaigns", .get, as: zoe.credential).json["campaigns"] as? [Any])?.isEmpty == true)

            let bad: [([String: Any], String)] = [
                (["number": "+59899123456", "text": "hola"], "campaignId"),
                (["campaignId": f.campaign.id, "text": "hola"], "number"),
                (["campaignId": f.campaign.id, "number": "no es un número", "text": "hola"], "number"),
                (["campaignId": f.campaign.id, "number": "+59899123456", "text": "   "], "text"),
                (["campaignId": f.campaign.id, "number": "+59899123456", "text": String(repeating: "a", count: 1601)], "text"),
                (["campaignId": f.campaign.id, "number": "+59899123456", "text": "hola", "sendAt": "2001-01-01T00:00:00Z"], "sendAt"),
                (["campaignId": 999_999, "number": "+59899123456", "text": "hola"], "campaignId"),
            ]
            for (body, field) in bad {
                let response = try await f.call("/api/v1/conversations", .post, body, as: ana.credential)
                #expect(response.status == .badRequest && response.errorField == field, "\(body): \(response.text)")
            }
            let outsider = try await f.call("/api/v1/conversations", .post,
                                            ["campaignId": f.campaign.id, "number": "+59899123456", "text": "hola"], as: zoe.credential)
            #expect(outsider.status == .forbidden && outsider.errorCode == "not_member")

            let started = try await f.call("/api/v1/conversations", .post,
                                           ["campaignId": f.campaign.id, "number": "+598 99 123 456", "text": "Hola, le escribimos por su pedido"],
                                           as: ana.credential)
            #expect(started.status == .created, "\(started.text)")
            let conversation = try #require(started.json["conversation"] as? [String: Any])
            #expect(conversation["state"] as? String == "assigned" && conversation["agentId"] as? Int == Int(ana.user.id))
            #expect(conversation["clientNumber"] as? String == "+59899123456")
            let id = try #require(conversation["id"] as? Int)
            #expect(try await f.inbox(ana.credential).map { $0["id"] as? Int } == [id])

            let when = Date().addingTimeInterval(2 * 3600)
            let scheduled = try await f.call("/api/v1/conversations/\(id)/messages", .post,
                                             ["text": "Recordatorio: su cita es mañana", "sendAt": ISO8601DateFormatter().string(from: when)],
                                             as: ana.credential)
            #expect(scheduled.status == .created, "\(scheduled.text)")
            let message = try #require(scheduled.json["message"] as? [String: Any])
            #expect(message["state"] as? String == "scheduled" && message["scheduledFor"] is String)
            let messageID = try #require(message["id"] as? Int)
            let spoolRow = try #require(try await app.storage.conversations.message(id: Int64(messageID))?.delivery)
            #expect(abs((spoolRow.notBefore ?? .distantPast).timeIntervalSince(when)) < 1, "the spool's not_before")

            let listed = try await f.call("/api/v1/scheduled-messages", .get, as: ana.credential)
            #expect((listed.json["messages"] as? [[String: Any]])?.map { $0["id"] as? Int } == [messageID])
            let cancelled = try await f.call("/api/v1/scheduled-messages/\(messageID)", .delete, as: ana.credential)
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect((cancelled.json["message"] as? [String: Any])?["state"] as? String == "cancelled")
            #expect((try await f.call("/api/v1/scheduled-messages", .get, as: ana.credential).json["messages"] as? [Any])?.isEmpty == true)
            let twice = try await f.call("/api/v1/scheduled-messages/\(messageID)", .delete, as: ana.credential)
            #expect(twice.status == .conflict && twice.errorCode == "not_cancellable")
            #expect(try await app.storage.spool.message(id: spoolRow.spoolID)?.state == .cancelled)
            let empty = try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": ""], as: ana.credential)
            #expect(empty.status == .badRequest && empty.errorField == "text")
        }
    }

    @Test("agent status: available, paused with a reason, offline; pausing hands a pending offer to another agent")
    func agentStatus() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, strategy: .linear, agents: ["ana", "bob"], available: false)
            let (ana, bob) = (f.agents[0], f.agents[1])
            let initial = try await f.call("/api/v1/agent/status", .get, as: ana.credential)
            #expect((initial.json["status"] as? [String: Any])?["status"] as? String == "offline")
            #expect((initial.json["status"] as? [String: Any])?["since"] is NSNull)

            try await f.inbound(from: "+15558675310", "hola")
            #expect(try await f.inbox(ana.credential).isEmpty, "nobody available: it waits")
            _ = try await f.call("/api/v1/agent/status", .put, ["status": "available"], as: ana.credential)
            #expect(try await f.inbox(ana.credential).count == 1, "offered as soon as Ana is available")
            _ = try await f.call("/api/v1/agent/status", .put, ["status": "available"], as: bob.credential)

            let paused = try await f.call("/api/v1/agent/status", .put, ["status": "paused", "reason": "almuerzo"], as: ana.credential)
            let status = try #require(paused.json["status"] as? [String: Any])
            #expect(status["status"] as? String == "paused" && status["reason"] as? String == "almuerzo" && status["since"] is String)
            #expect(try await f.inbox(ana.credential).isEmpty)
            #expect(try await f.inbox(bob.credential).count == 1, "the withdrawn offer went to Bob")

            let offline = try await f.call("/api/v1/agent/status", .put, ["status": "offline", "reason": "ignored"], as: ana.credential)
            #expect((offline.json["status"] as? [String: Any])?["reason"] is NSNull, "a reason only goes with a pause")
            #expect(try await f.call("/api/v1/agent/status", .put, ["status": "busy"], as: ana.credential).errorField == "status")
            #expect(try await f.call("/api/v1/agent/status", .put, [:], as: ana.credential).errorField == "status")
            let long = try await f.call("/api/v1/agent/status", .put, ["status": "paused", "reason": String(repeating: "x", count: 101)],
                                        as: ana.credential)
            #expect(long.errorField == "reason")
        }
    }

    @Test("inbound through the webhook: an opt-out goes to the DNCR with one confirmation and to no inbox; an unknown number is unrouted")
    func optOutAndUnrouted() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, agents: ["ana"])
            try await f.inbound(from: "+15558675310", "STOP")
            #expect(try await f.inbox(f.agents[0].credential).isEmpty)
            #expect(try await app.storage.dncr.blocked(["+15558675310"], campaignID: f.campaign.id).count == 1)
            let spool = try await app.storage.spool.list(SpoolFilter(campaignID: f.campaign.id), limit: 10, beforeID: nil)
            #expect(spool.map(\.source) == ["opt_out_confirmation"])
            #expect(try await app.storage.audit.list(limit: 1, before: nil).first?.action == "dncr.opt_out")

            // An agent's reply to an opted-out number is queued and then blocked by the dispatcher (not here).
            try await f.inbound(from: "+15550000000", "hola", to: "+15017122699")
            let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
            let unrouted = try await f.call("/api/v1/inbound?unrouted=true", .get, as: admin)
            #expect((unrouted.json["messages"] as? [[String: Any]])?.map { $0["from"] as? String } == ["+15550000000"])
            let events = try await app.storage.liveEvents.events(after: 0, visibleTo: LiveViewer(role: .admin, userID: nil), limit: 100)
            #expect(events.contains { $0.topic == "inbound.unrouted" })
        }
    }

    @Test("ringall: the first agent to accept takes it, the other gets 409 taken and the offer leaves their inbox")
    func ringallRace() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, strategy: .ringall, agents: ["ana", "bob"])
            let (ana, bob) = (f.agents[0], f.agents[1])
            try await f.inbound(from: "+15558675310", "hola")
            let id = try await f.conversationID(of: "+15558675310")
            #expect(try await f.inbox(ana.credential).count == 1)
            #expect(try await f.inbox(bob.credential).count == 1)
            #expect(try await f.call("/api/v1/conversations/\(id)/accept", .post, as: bob.credential).status == .ok)
            let late = try await f.call("/api/v1/conversations/\(id)/accept", .post, as: ana.credential)
            #expect(late.status == .conflict && late.errorCode == "taken")
            #expect(try await f.inbox(ana.credential).isEmpty)
            let events = try await app.storage.liveEvents.events(after: 0, visibleTo: LiveViewer(role: .agent, userID: ana.user.id), limit: 100)
            let assigned = try #require(events.last { $0.topic == "conversation.assigned" })
            #expect(assigned.payload.contains("\"withdrawnFrom\":[\(ana.user.id)]"), "\(assigned.payload)")
        }
    }
}
