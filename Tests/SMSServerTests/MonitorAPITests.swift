import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSConversations
import SMSCore
import SMSServer
import SMSStore
import Testing

/// The supervisor's monitor, threshold view and actions (SPEC S1-S3, S6) through the API.
@Suite("Supervisor monitor API")
struct MonitorAPITests {
    /// A supervisor assigned to the fixture's campaign.
    static func supervisor(_ f: InboxFixture, _ name: String = "sara") async throws -> (User, TestCredential) {
        let (user, credential) = try await f.app.signIn(f.client, username: name, role: .supervisor)
        try await f.app.storage.campaigns.setSupervisors(campaignID: f.campaign.id, [user.id], at: Date())
        return (user, credential)
    }

    /// The audit actions written since the test began, oldest first.
    static func auditActions(_ app: TestApp) async throws -> [String] {
        try await app.storage.audit.list(limit: 200, before: nil).map(\.action).reversed()
    }

    /// Live events stored after `seq` that `viewer` may see (nil: all).
    static func events(_ app: TestApp, after seq: Int64, visibleTo viewer: LiveViewer?) async throws -> [LiveEvent] {
        try await app.storage.liveEvents.events(after: seq, visibleTo: viewer, limit: 1000)
    }

    static func payload(_ event: LiveEvent) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) as? [String: Any] ?? [:]
    }

    @Test("campaign monitor: agents busy, paused with a reason and offline, channels, completed today, open conversations; the queue; today's metrics and the queue now")
    func snapshot() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, cap: 1, agents: ["ana", "bob"])
            let (ana, bob) = (f.agents[0], f.agents[1])
            let eva = try await app.storage.users.create(username: "eva", displayName: "Eva", role: .agent, passwordHash: "x", at: Date())
            try await app.storage.campaigns.setMembers(campaignID: f.campaign.id, [(ana.user.id, 0), (bob.user.id, 0), (eva.id, 1)], at: Date())
            #expect(try await f.call("/api/v1/agent/status", .put, ["status": "paused", "reason": "almuerzo"], as: bob.credential).status == .ok)
            let (_, sara) = try await Self.supervisor(f)

            // Ana answers and closes one, holds another (cap 1: busy); a third client waits in the queue.
            try await f.inbound(from: "+15558670001", "hola")
            let first = try await f.conversationID(of: "+15558670001")
            #expect(try await f.call("/api/v1/conversations/\(first)/messages", .post, ["text": "Hola"], as: ana.credential).status == .created)
            #expect(try await f.call("/api/v1/conversations/\(first)/close", .post, as: ana.credential).status == .ok)
            try await f.inbound(from: "+15558670002", "buenas")
            let second = try await f.conversationID(of: "+15558670002")
            #expect(try await f.call("/api/v1/conversations/\(second)/accept", .post, as: ana.credential).status == .ok)
            try await f.inbound(from: "+15558670003", "¿hay alguien?")
            let third = try await f.conversationID(of: "+15558670003")

            let response = try await f.call("/api/v1/monitor/campaigns/\(f.campaign.id)", .get, as: sara)
            #expect(response.status == .ok, "\(response.text)")
            let json = response.json
            #expect(Set(json.keys) == ["campaign", "now", "day", "agents", "queue", "today", "live"])
            #expect((json["campaign"] as? [String: Any])?["name"] as? String == "Ventas")
            let agents = try #require(json["agents"] as? [[String: Any]])
            #expect(agents.map { $0["username"] as? String } == ["ana", "bob", "eva"])
            #expect(agents.map { $0["status"] as? String } == ["busy", "paused", "offline"])
            #expect(agents[1]["reason"] as? String == "almuerzo" && agents[1]["since"] is String)
            #expect(agents[0]["reason"] is NSNull && agents[2]["since"] is NSNull && agents[2]["signedIn"] as? Bool == false)
            #expect(agents[0]["completedToday"] as? Int == 1 && agents[0]["open"] as? Int == 1 && agents[0]["offers"] as? Int == 0)
            #expect((agents[0]["channels"] as? [[String: Any]])?.map { $0["campaignName"] as? String } == ["Ventas"])
            let held = try #require(agents[0]["conversations"] as? [[String: Any]])
            #expect(held.map { $0["id"] as? Int } == [Int(second)])
            #expect(held.first?["clientNumber"] as? String == "+15558670002" && held.first?["waitingSince"] is String)
            let queue = try #require(json["queue"] as? [[String: Any]])
            #expect(queue.map { $0["conversationId"] as? Int } == [Int(third)])
            #expect(queue.first?["state"] as? String == "queued" && queue.first?["queuedAt"] is String)
            let today = try #require((json["today"] as? [String: Any])?["queue"] as? [String: Any])
            #expect(today["offered"] as? Int == 3 && today["answered"] as? Int == 1 && today["waiting"] as? Int == 2)
            #expect(today["serviceLevel"] as? Double == 1, "answered at once")
            #expect(today["averageHandleTime"] is Double && today["closed"] as? Int == 1)
            let live = try #require(json["live"] as? [String: Any])
            #expect(live["queueLength"] as? Int == 1 && live["openConversations"] as? Int == 2 && live["awaitingReply"] as? Int == 2)
            #expect(live["longestQueueWait"] is Double)

            // The agent's details and today's figures; reading them is audited.
            let info = try await f.call("/api/v1/monitor/agents/\(ana.user.id)", .get, as: sara)
            #expect(info.status == .ok, "\(info.text)")
            #expect((info.json["agent"] as? [String: Any])?["status"] as? String == "busy")
            #expect(info.json["sessions"] as? Int == 1 && info.json["role"] as? String == "agent")
            #expect((info.json["campaigns"] as? [[String: Any]])?.first?["completedToday"] as? Int == 1)
            #expect((info.json["today"] as? [String: Any])?["handled"] as? Int == 1)
            let entry = try #require(try await app.storage.audit.list(limit: 1, before: nil).first)
            #expect(entry.action == "monitor.info" && entry.actorName == "sara" && entry.targetID == String(ana.user.id))

            // The campaigns a supervisor may monitor.
            let list = try await f.call("/api/v1/monitor/campaigns", .get, as: sara)
            #expect((list.json["campaigns"] as? [[String: Any]])?.map { $0["id"] as? Int } == [Int(f.campaign.id)])
        }
    }

    @Test("threshold view: a day's metrics with hourly slices that add up to the day; day and every are checked")
    func dayMetrics() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, cap: 2, agents: ["ana"])
            let (_, sara) = try await Self.supervisor(f)
            try await f.inbound(from: "+15558670011", "hola")
            try await f.inbound(from: "+15558670012", "hola")
            let id = try await f.conversationID(of: "+15558670011")
            #expect(try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": "Hola"], as: f.agents[0].credential).status == .created)

            let response = try await f.call("/api/v1/monitor/campaigns/\(f.campaign.id)/metrics?every=3600", .get, as: sara)
            #expect(response.status == .ok, "\(response.text)")
            let series = try #require(response.json["series"] as? [[String: Any]])
            #expect(series.count == 24, "a UTC day in hours")
            let offered = series.compactMap { ($0["queue"] as? [String: Any])?["offered"] as? Int }.reduce(0, +)
            let totals = try #require((response.json["totals"] as? [String: Any])?["queue"] as? [String: Any])
            #expect(offered == 2 && totals["offered"] as? Int == 2 && totals["answered"] as? Int == 1)
            #expect(response.json["day"] as? String == LocalDate(containing: Date(), in: TimeZone(identifier: "UTC")!).description)
            #expect(((response.json["campaign"] as? [String: Any])?["thresholds"] as? [String: Any])?["acdQueueLength"] as? Int == 10)
            let quarter = try await f.call("/api/v1/monitor/campaigns/\(f.campaign.id)/metrics?every=900&day=2020-02-29", .get, as: sara)
            #expect((quarter.json["series"] as? [Any])?.count == 96)
            #expect(((quarter.json["totals"] as? [String: Any])?["queue"] as? [String: Any])?["offered"] as? Int == 0)
            #expect(((quarter.json["totals"] as? [String: Any])?["queue"] as? [String: Any])?["serviceLevel"] is NSNull, "no denominator: null")
            #expect(try await f.call("/api/v1/monitor/campaigns/\(f.campaign.id)/metrics?day=2020-02-30", .get, as: sara).errorField == "day")
            #expect(try await f.call("/api/v1/monitor/campaigns/\(f.campaign.id)/metrics?every=7", .get, as: sara).errorField == "every")
        }
    }

    @Test("spy is silent: a supervisor reads an agent's conversation and nothing the agent sees changes (unread, state, offers, status, events); audited")
    func spyIsSilent() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, agents: ["ana", "bob"])
            let ana = f.agents[0]
            let (_, sara) = try await Self.supervisor(f)
            try await f.inbound(from: "+15558670021", "hola")
            let id = try await f.conversationID(of: "+15558670021")
            #expect(try await f.call("/api/v1/conversations/\(id)/accept", .post, as: ana.credential).status == .ok)
            try await f.inbound(from: "+15558670021", "¿me oyen?")
            // Another conversation still offered to both agents: its offers must not move either.
            try await f.inbound(from: "+15558670022", "hola")
            let offered = try await f.conversationID(of: "+15558670022")

            let now = Date()
            let before = try #require(try await app.storage.conversations.item(id: id, at: now))
            let offeredBefore = try #require(try await app.storage.conversations.item(id: offered, at: now))
            #expect(before.conversation.unreadCount == 2)
            let inboxBefore = try await f.call("/api/v1/inbox", .get, as: ana.credential).json["conversations"] as? [[String: Any]]
            let statusBefore = try await app.storage.conversations.status(userID: ana.user.id)
            let seq = try await app.storage.liveEvents.latestSeq()

            for conversation in [id, offered] {
                let spied = try await f.call("/api/v1/monitor/conversations/\(conversation)", .get, as: sara)
                #expect(spied.status == .ok, "\(spied.text)")
                #expect(Set(spied.json.keys) == ["conversation", "messages", "earlierConversations", "cannedResponses"])
            }
            let spied = try await f.call("/api/v1/monitor/conversations/\(id)", .get, as: sara)
            #expect((spied.json["messages"] as? [[String: Any]])?.map { $0["text"] as? String } == ["hola", "¿me oyen?"])

            let after = try #require(try await app.storage.conversations.item(id: id, at: now))
            #expect(after == before, "unread count, state, activity, offers: unchanged")
            #expect(try await app.storage.conversations.item(id: offered, at: now) == offeredBefore)
            #expect(try await app.storage.conversations.status(userID: ana.user.id) == statusBefore)
            let inboxAfter = try await f.call("/api/v1/inbox", .get, as: ana.credential).json["conversations"] as? [[String: Any]]
            #expect(inboxAfter?.map { $0["unreadCount"] as? Int } == inboxBefore?.map { $0["unreadCount"] as? Int })
            #expect(inboxAfter?.map { $0["id"] as? Int } == inboxBefore?.map { $0["id"] as? Int })
            #expect(try await Self.events(app, after: seq, visibleTo: nil).isEmpty, "no live event at all: nothing reaches the agent's page")
            let spies = try await app.storage.audit.list(limit: 10, before: nil).filter { $0.action == "monitor.spy" }
            #expect(spies.count == 3 && spies.first?.targetType == "conversation" && spies.first?.targetID == String(id))
            #expect(spies.first?.details == "campaign \(f.campaign.id), agent \(ana.user.id)")
        }
    }

    @Test("take over: the conversation moves to the supervisor, who replies and closes it; the agent loses it at once and gets the next; audited")
    func takeOver() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, cap: 1, agents: ["ana"])
            let ana = f.agents[0]
            let (saraUser, sara) = try await Self.supervisor(f)
            try await f.inbound(from: "+15558670031", "hola")
            let id = try await f.conversationID(of: "+15558670031")
            #expect(try await f.call("/api/v1/conversations/\(id)/accept", .post, as: ana.credential).status == .ok)
            try await f.inbound(from: "+15558670032", "espero")  // waits: Ana is at her cap
            let waiting = try await f.conversationID(of: "+15558670032")
            let seq = try await app.storage.liveEvents.latestSeq()

            let taken = try await f.call("/api/v1/monitor/conversations/\(id)/takeover", .post, as: sara)
            #expect(taken.status == .ok, "\(taken.text)")
            let conversation = try #require(taken.json["conversation"] as? [String: Any])
            #expect(conversation["agentId"] as? Int == Int(saraUser.id) && conversation["state"] as? String == "assigned")

            // Ana's page learns it at once: assigned to someone else, and who did it.
            let anaEvents = try await Self.events(app, after: seq, visibleTo: LiveViewer(role: .agent, userID: ana.user.id))
            let assigned = try #require(anaEvents.first { $0.topic == "conversation.assigned" })
            #expect((Self.payload(assigned)["conversation"] as? [String: Any])?["agentId"] as? Int == Int(saraUser.id))
            let notice = try #require(anaEvents.first { $0.topic == "agent.supervision" })
            #expect(Self.payload(notice)["action"] as? String == "takeover" && Self.payload(notice)["by"] as? String == "sara")
            // Her capacity freed: the waiting client is offered to her.
            let inbox = try await f.inbox(ana.credential)
            #expect(inbox.map { $0["id"] as? Int } == [Int(waiting)])
            let late = try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": "sigo aquí"], as: ana.credential)
            #expect(late.status == .notFound)

            // The supervisor works it through the conversation API, and sees it in their own inbox.
            #expect((try await f.inbox(sara)).map { $0["id"] as? Int } == [Int(id)])
            let reply = try await f.call("/api/v1/conversations/\(id)/messages", .post, ["text": "Soy Sara, la supervisora"], as: sara)
            #expect(reply.status == .created, "\(reply.text)")
            #expect(try await f.call("/api/v1/conversations/\(id)/close", .post, ["wrapUp": "resuelto"], as: sara).status == .ok)
            #expect(try await f.call("/api/v1/monitor/conversations/\(id)/takeover", .post, as: sara).errorCode == "closed")
            let entry = try #require(try await app.storage.audit.list(limit: 20, before: nil).first { $0.action == "monitor.takeover" })
            #expect(entry.actorUserID == saraUser.id && entry.targetID == String(id))
            #expect(entry.details == "campaign \(f.campaign.id), from agent \(ana.user.id)")
        }
    }

    @Test("pause and disconnect: the agent is paused with the reason at once; disconnect ends the sessions, sets offline and closes the agent's socket at once; audited")
    func pauseAndDisconnect() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com", live: true) { app, client in
            let port = try #require(client.port)
            let f = try await InboxFixture.make(app, client, agents: ["ana", "bob"])
            let ana = f.agents[0]
            let (_, sara) = try await Self.supervisor(f)
            try await f.inbound(from: "+15558670041", "hola")  // offered to both (ringall)
            let id = try await f.conversationID(of: "+15558670041")
            let socket = LiveSocketClient.connect(port: port, credential: ana.credential)
            _ = try await socket.waitForStart()

            #expect(try await f.call("/api/v1/monitor/agents/\(ana.user.id)/pause", .post, ["reason": "  "], as: sara).errorField == "reason")
            let paused = try await f.call("/api/v1/monitor/agents/\(ana.user.id)/pause", .post, ["reason": "coaching"], as: sara)
            #expect(paused.status == .ok, "\(paused.text)")
            #expect((paused.json["status"] as? [String: Any])?["status"] as? String == "paused")
            try await socket.waitUntil("the paused status on the agent's socket") { messages in
                messages.contains { ($0["topic"] as? String) == "agent.status"
                    && (($0["data"] as? [String: Any])?["status"] as? [String: Any])?["reason"] as? String == "coaching" }
            }
            try await socket.waitUntil("who paused her") { messages in
                messages.contains { ($0["topic"] as? String) == "agent.supervision" && ($0["data"] as? [String: Any])?["by"] as? String == "sara" }
            }
            let status = try await f.call("/api/v1/agent/status", .get, as: ana.credential)
            #expect((status.json["status"] as? [String: Any])?["reason"] as? String == "coaching")
            #expect(try await app.storage.conversations.liveOffers(conversationID: id, at: Date()).map(\.userID) == [f.agents[1].user.id],
                    "her offer was withdrawn")

            let disconnected = try await f.call("/api/v1/monitor/agents/\(ana.user.id)/disconnect", .post, as: sara)
            #expect(disconnected.status == .ok && disconnected.json["endedSessions"] as? Int == 1, "\(disconnected.text)")
            // Closed at once, not at the next periodic session check (15 s).
            let closed = try await socket.result(within: 5).get()
            #expect(closed?.closeCode == .unknown(4001))
            #expect(try await f.call("/api/v1/me", .get, as: ana.credential).status == .unauthorized, "she must sign in again")
            #expect(try await app.storage.conversations.status(userID: ana.user.id).status == .offline)
            let actions = try await Self.auditActions(app)
            #expect(actions.suffix(2) == ["monitor.pause", "monitor.disconnect"])
            let entry = try #require(try await app.storage.audit.list(limit: 5, before: nil).first { $0.action == "monitor.pause" })
            #expect(entry.details == "reason=coaching" && entry.actorName == "sara")
        }
    }

    @Test("monitor screen: only where an admin allowed it (403), only in scope (404); the agent's socket hears it, her open conversation and draft reach the watcher's socket only; stop is audited and ends the relay")
    func monitorScreen() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com", live: true) { app, client in
            let port = try #require(client.port)
            let f = try await InboxFixture.make(app, client, agents: ["ana", "bob"])
            let (ana, bob) = (f.agents[0], f.agents[1])
            let (saraUser, sara) = try await Self.supervisor(f)
            let (tomUser, tom) = try await app.signIn(client, username: "tom", role: .supervisor)
            let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
            let watch = "/api/v1/monitor/agents/\(ana.user.id)/screen"

            // Off by default: refused with a clear message, on both sides.
            let off = try await f.call(watch, .post, ["watch": true], as: sara)
            #expect(off.status == .forbidden && off.errorCode == "screen_monitoring_off", "\(off.text)")
            let notAllowed = try await f.call("/api/v1/agent/screen", .post, ["draft": "hola"], as: ana.credential)
            #expect(notAllowed.status == .conflict && notAllowed.errorCode == "screen_monitoring_off", "\(notAllowed.text)")
            #expect(try await f.call(watch, .post, [:], as: sara).errorField == "watch")

            // An admin allows it for Ana.
            let allowed = try await f.call("/api/v1/users/\(ana.user.id)", .patch, ["monitorScreenAllowed": true], as: admin)
            #expect(allowed.status == .ok, "\(allowed.text)")
            #expect((allowed.json["user"] as? [String: Any])?["monitorScreenAllowed"] as? Bool == true)
            #expect(try await app.storage.users.user(id: ana.user.id)?.monitorScreenAllowed == true)
            #expect(try await app.storage.users.user(id: bob.user.id)?.monitorScreenAllowed == false)
            #expect(try await f.call("/api/v1/users/\(bob.user.id)", .patch, ["monitorScreenAllowed": true], as: admin).status == .ok)

            // A supervisor of another campaign: as if Ana did not exist.
            #expect(try await f.call(watch, .post, ["watch": true], as: tom).status == .notFound)

            let anaSocket = LiveSocketClient.connect(port: port, credential: ana.credential)
            let saraSocket = LiveSocketClient.connect(port: port, credential: sara)
            _ = try await anaSocket.waitForStart()
            _ = try await saraSocket.waitForStart()
            try await f.inbound(from: "+15558670061", "hola")
            let id = try await f.conversationID(of: "+15558670061")
            #expect(try await f.call("/api/v1/conversations/\(id)/accept", .post, as: ana.credential).status == .ok)
            #expect(try await f.call("/api/v1/agent/screen", .post, ["conversationId": id, "draft": "nadie mira"], as: ana.credential)
                .json["relayed"] as? Bool == false, "nobody watches yet")

            let started = try await f.call(watch, .post, ["watch": true], as: sara)
            #expect(started.status == .ok && started.json["watching"] as? Bool == true, "\(started.text)")
            try await anaSocket.waitUntil("agent.monitoring on the agent's socket") { messages in
                messages.contains { ($0["topic"] as? String) == "agent.monitoring"
                    && ($0["data"] as? [String: Any])?["active"] as? Bool == true && ($0["data"] as? [String: Any])?["by"] as? String == "sara" }
            }
            #expect(try await f.call("/api/v1/agent/screen", .get, as: ana.credential).json["watchedBy"] as? [String] == ["sara"])
            let seq = try await app.storage.liveEvents.latestSeq()

            let posted = try await f.call("/api/v1/agent/screen", .post, ["conversationId": id, "draft": "Hola, le escri"], as: ana.credential)
            #expect(posted.status == .ok && posted.json["relayed"] as? Bool == true, "\(posted.text)")
            try await saraSocket.waitUntil("agent.screen with the draft on the supervisor's socket") { messages in
                messages.contains { message in
                    guard (message["topic"] as? String) == "agent.screen", let data = message["data"] as? [String: Any] else { return false }
                    return data["draft"] as? String == "Hola, le escri" && data["conversationId"] as? Int == Int(id)
                        && data["agentId"] as? Int == Int(ana.user.id) && data["at"] is String
                }
            }
            // Bob cannot show anyone Ana's conversation, and his own screen goes nowhere (nobody watches him).
            #expect(try await f.call("/api/v1/agent/screen", .post, ["conversationId": id, "draft": "x"], as: bob.credential).status == .notFound)
            #expect(try await f.call("/api/v1/agent/screen", .post, ["draft": "x"], as: bob.credential).json["relayed"] as? Bool == false)
            let screens = { (viewer: LiveViewer) in
                try await Self.events(app, after: seq, visibleTo: viewer).filter { $0.topic == "agent.screen" }
            }
            #expect(try await screens(LiveViewer(role: .supervisor, userID: saraUser.id)).count == 1)
            #expect(try await screens(LiveViewer(role: .supervisor, userID: tomUser.id)).isEmpty)
            #expect(try await screens(LiveViewer(role: .agent, userID: bob.user.id)).isEmpty)
            #expect(try await screens(LiveViewer(role: .agent, userID: ana.user.id)).isEmpty)

            // Stop: audited, the agent hears it, later screens are not relayed.
            let stopped = try await f.call(watch, .post, ["watch": false], as: sara)
            #expect(stopped.status == .ok && stopped.json["watching"] as? Bool == false)
            try await anaSocket.waitUntil("the stop on the agent's socket") { messages in
                messages.contains { ($0["topic"] as? String) == "agent.monitoring" && ($0["data"] as? [String: Any])?["active"] as? Bool == false }
            }
            #expect(try await f.call("/api/v1/agent/screen", .get, as: ana.credential).json["watchedBy"] as? [String] == [])
            #expect(try await f.call("/api/v1/agent/screen", .post, ["conversationId": id, "draft": "después"], as: ana.credential)
                .json["relayed"] as? Bool == false)
            #expect(try await screens(LiveViewer(role: .supervisor, userID: saraUser.id)).count == 1, "nothing after the stop")
            let actions = try await Self.auditActions(app)
            #expect(actions.filter { $0.hasPrefix("monitor.screen") } == ["monitor.screen_start", "monitor.screen_stop"])
            let entry = try #require(try await app.storage.audit.list(limit: 20, before: nil).first { $0.action == "monitor.screen_stop" })
            #expect(entry.actorName == "sara" && entry.targetID == String(ana.user.id))
            await anaSocket.drop()
            await saraSocket.drop()
        }
    }

    @Test("chat: a supervisor writes to an agent, the agent answers; each message reaches only the two of them; audited")
    func chat() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, agents: ["ana", "bob"])
            let (ana, bob) = (f.agents[0], f.agents[1])
            let (saraUser, sara) = try await Self.supervisor(f)
            let seq = try await app.storage.liveEvents.latestSeq()

            #expect(try await f.call("/api/v1/agent/chat", .post, ["text": "hola"], as: ana.credential).errorField == "toUserId",
                    "nobody wrote to her yet")
            #expect(try await f.call("/api/v1/monitor/agents/\(ana.user.id)/chat", .post, ["text": " "], as: sara).errorField == "text")
            let sent = try await f.call("/api/v1/monitor/agents/\(ana.user.id)/chat", .post, ["text": "¿Todo bien con el cliente?"], as: sara)
            #expect(sent.status == .created, "\(sent.text)")
            let message = try #require(sent.json["message"] as? [String: Any])
            #expect(Set(message.keys) == ["id", "fromUserId", "fromName", "toUserId", "toName", "text", "at"])
            let mine = try await f.call("/api/v1/agent/chat", .get, as: ana.credential)
            #expect((mine.json["messages"] as? [[String: Any]])?.map { $0["text"] as? String } == ["¿Todo bien con el cliente?"])
            let answer = try await f.call("/api/v1/agent/chat", .post, ["text": "Sí, gracias"], as: ana.credential)
            #expect(answer.status == .created)
            #expect((answer.json["message"] as? [String: Any])?["toUserId"] as? Int == Int(saraUser.id))
            let thread = try await f.call("/api/v1/monitor/agents/\(ana.user.id)/chat", .get, as: sara)
            #expect((thread.json["messages"] as? [[String: Any]])?.map { $0["fromName"] as? String } == ["sara", "ana"])
            #expect((try await f.call("/api/v1/agent/chat", .get, as: bob.credential).json["messages"] as? [Any])?.isEmpty == true)

            let chats = { (viewer: LiveViewer) in
                try await Self.events(app, after: seq, visibleTo: viewer).filter { $0.topic == "agent.chat" }.count
            }
            #expect(try await chats(LiveViewer(role: .agent, userID: ana.user.id)) == 2)
            #expect(try await chats(LiveViewer(role: .supervisor, userID: saraUser.id)) == 2)
            #expect(try await chats(LiveViewer(role: .agent, userID: bob.user.id)) == 0)
            #expect(try await chats(LiveViewer(role: .admin, userID: nil)) == 0, "private to the two of them")
            #expect(try await Self.auditActions(app).last == "monitor.chat")
        }
    }

    @Test("supervisor scope: another campaign's monitor, metrics, agents, conversations and live events are out of reach (404, no events); admins see all")
    func supervisorScope() async throws {
        try await TestApp.with(publicURL: "https://cc.example.com") { app, client in
            let f = try await InboxFixture.make(app, client, agents: ["ana"])
            let ana = f.agents[0]
            let (saraUser, sara) = try await Self.supervisor(f)
            let (tomUser, tom) = try await app.signIn(client, username: "tom", role: .supervisor)
            let (_, admin) = try await app.signIn(client, username: "root", role: .admin)
            let cobrosDID = "+15017122662"
            let now = Date()
            let cobros = try await app.storage.campaigns.create(
                CampaignRecord(name: "Cobros", timeZone: "UTC", schedule: "{}", createdAt: now, updatedAt: now), dids: [cobrosDID])
            try await app.storage.campaigns.setSupervisors(campaignID: cobros.id, [tomUser.id], at: now)
            let (carl, carlCredential) = try await app.signIn(client, username: "carl", role: .agent)
            try await app.storage.campaigns.setMembers(campaignID: cobros.id, [(carl.id, 0)], at: now)
            let seq = try await app.storage.liveEvents.latestSeq()
            #expect(try await f.call("/api/v1/agent/status", .put, ["status": "available"], as: carlCredential).status == .ok)
            try await f.inbound(from: "+15558670051", "deuda", to: cobrosDID)
            try await f.inbound(from: "+15558670052", "ventas")
            let theirs = try #require(try await app.storage.conversations.list(ConversationFilter(campaignID: cobros.id), limit: 1,
                                                                               beforeID: nil, at: Date()).first?.conversation.id)

            let refused: [(String, HTTPRequest.Method, [String: Any]?)] = [
                ("/api/v1/monitor/campaigns/\(cobros.id)", .get, nil),
                ("/api/v1/monitor/campaigns/\(cobros.id)/metrics", .get, nil),
                ("/api/v1/monitor/agents/\(carl.id)", .get, nil),
                ("/api/v1/monitor/agents/\(carl.id)/pause", .post, ["reason": "x"]),
                ("/api/v1/monitor/agents/\(carl.id)/disconnect", .post, nil),
                ("/api/v1/monitor/agents/\(carl.id)/chat", .get, nil),
                ("/api/v1/monitor/agents/\(carl.id)/chat", .post, ["text": "hola"]),
                ("/api/v1/monitor/conversations/\(theirs)", .get, nil),
                ("/api/v1/monitor/conversations/\(theirs)/takeover", .post, nil),
                ("/api/v1/conversations/\(theirs)", .get, nil),
            ]
            for (uri, method, body) in refused {
                let response = try await f.call(uri, method, body, as: sara)
                #expect(response.status == .notFound, "\(method) \(uri) as a supervisor of another campaign: \(response.status.code) \(response.text)")
            }
            #expect((try await f.call("/api/v1/monitor/campaigns", .get, as: sara).json["campaigns"] as? [[String: Any]])?
                .map { $0["name"] as? String } == ["Ventas"])
            // Nothing happened to Carl or his conversation.
            #expect(try await app.storage.supervision.sessionCount(userID: carl.id, at: Date()) == 1)
            #expect(try await app.storage.conversations.status(userID: carl.id).status == .available)
            #expect(try await app.storage.conversations.conversation(id: theirs)?.agentID == nil)
            // Ana is not Tom's.
            #expect(try await f.call("/api/v1/monitor/agents/\(ana.user.id)", .get, as: tom).status == .notFound)

            // Live events: each supervisor gets only their campaigns' conversations and agents.
            func seen(_ user: User) async throws -> (campaigns: Set<Int>, agents: Set<Int>) {
                let events = try await Self.events(app, after: seq, visibleTo: LiveViewer(role: .supervisor, userID: user.id))
                let campaigns = events.compactMap { (Self.payload($0)["conversation"] as? [String: Any])?["campaignId"] as? Int }
                let agents = events.filter { $0.topic == "agent.status" }
                    .compactMap { (Self.payload($0)["status"] as? [String: Any])?["userId"] as? Int }
                return (Set(campaigns), Set(agents))
            }
            let saraSaw = try await seen(saraUser)
            let tomSaw = try await seen(tomUser)
            #expect(saraSaw.campaigns == [Int(f.campaign.id)] && saraSaw.agents.isEmpty)
            #expect(tomSaw.campaigns == [Int(cobros.id)] && tomSaw.agents == [Int(carl.id)])

            // An admin sees every campaign and agent.
            #expect((try await f.call("/api/v1/monitor/campaigns", .get, as: admin).json["campaigns"] as? [Any])?.count == 2)
            #expect(try await f.call("/api/v1/monitor/campaigns/\(cobros.id)", .get, as: admin).status == .ok)
            #expect(try await f.call("/api/v1/monitor/agents/\(carl.id)", .get, as: admin).status == .ok)
            #expect(try await f.call("/api/v1/monitor/conversations/\(theirs)", .get, as: admin).status == .ok)
            let adminEvents = try await Self.events(app, after: seq, visibleTo: LiveViewer(role: .admin, userID: nil))
            #expect(adminEvents.contains { $0.topic == "agent.status" })
        }
    }
}
