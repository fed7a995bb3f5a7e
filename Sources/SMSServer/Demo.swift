import Foundation
import Logging
import ServiceLifecycle
import SMSConversations
import SMSCore
import SMSDispatch
import SMSProviders
import SMSStore

/// `smsdesk serve --demo`: on an empty data dir, a small contact center to look at — the in-process
/// simulator as provider, a campaign with canned responses, a dialer, three agents and a supervisor —
/// and, while the server runs, a trickle of traffic (`DemoTraffic`), so that every screen has
/// something live on it within a minute.
public enum Demo {
    /// The setting that marks a database the demo set up; a restart resumes the traffic.
    static let installedSetting = "demo.installed"
    /// The number the demo's clients write to (the campaign's DID).
    public static let did = "+15550100100"
    public static let campaignName = "Demo customer care"
    /// Agents whose work `DemoTraffic` does; the third agent is left for a person to sign in as.
    public static let simulatedAgents = ["ana", "bruno"]

    /// An account the demo created, with its one-time password.
    public struct Account: Sendable, Equatable {
        public var username: String
        public var role: Role
        public var password: String
    }

    public struct NotEmpty: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sets up the demo world and returns the accounts it created (passwords shown once), or nil
    /// when this database already holds the demo. A database with anything else in it (providers,
    /// campaigns, dialers, users besides the first admin) is refused, never mixed with demo data.
    public static func install(storage: Storage, accounts: Accounts, at now: Date = Date()) async throws -> [Account]? {
        if try await storage.settings.value(installedSetting) != nil { return nil }
        let providers = try await storage.providers.list().count
        let campaigns = try await storage.campaigns.list().count
        let dialers = try await storage.dialers.list().count
        let users = try await storage.users.count()
        if providers + campaigns + dialers > 0 || users > 1 {
            throw NotEmpty(description: "--demo sets up its own provider, campaign, dialer and users and needs an empty data dir; "
                           + "this database already has \(providers) providers, \(campaigns) campaigns, \(dialers) dialers "
                           + "and \(users) users. Start it with a new --data-dir.")
        }
        let provider = try await storage.providers.create(ProviderRecord(
            name: "Demo simulator", type: ProviderType.simulator.rawValue, sender: did, isDefault: true,
            // Accepts in 80 ms, reports delivery 1.5 s later, one message in 25 undelivered.
            settings: ["latency_ms": "80", "dlr_delay_ms": "1500", "undelivered_ratio": "0.04"],
            webhookToken: Secrets.randomToken(length: 32), createdAt: now, updatedAt: now))

        var created: [Account] = []
        var ids: [String: Int64] = [:]
        for (username, name, role) in [("ana", "Ana Díaz", Role.agent), ("bruno", "Bruno Rossi", .agent),
                                       ("carla", "Carla Méndez", .agent), ("sofia", "Sofía Ferrari", .supervisor)] {
            let (user, password) = try await accounts.createUser(username: username, displayName: name, role: role, at: now)
            ids[username] = user.id
            created.append(Account(username: username, role: role, password: password))
        }

        let campaign = try await storage.campaigns.create(CampaignRecord(
            name: campaignName, serviceLevelPercent: 80, strategy: .leastrecent, timeZone: TimeZone.current.identifier,
            schedule: "{}", outOfTimeMessage: "We are closed now; we will answer you first thing tomorrow.",
            maxInteractionsPerAgent: 3, thresholds: CampaignThresholds(), offerTimeoutSeconds: 60,
            // Transactional, so the demo's bulk sends are not held by quiet hours at whatever time it is tried.
            transactional: true, providerID: provider.id, createdAt: now, updatedAt: now), dids: [did])
        try await storage.campaigns.setMembers(campaignID: campaign.id, [(ids["ana"]!, 0), (ids["bruno"]!, 0), (ids["carla"]!, 0)], at: now)
        try await storage.campaigns.setSupervisors(campaignID: campaign.id, [ids["sofia"]!], at: now)
        _ = try await storage.campaigns.setCannedResponses(campaignID: campaign.id, [
            CannedResponse(title: "Greeting", body: "Hello! Thanks for writing to us. How can I help you?"),
            CannedResponse(title: "Order status", body: "Your order is on its way and should arrive within two working days."),
            CannedResponse(title: "Hours", body: "We are open Monday to Friday from 9:00 to 18:00."),
            CannedResponse(title: "Goodbye", body: "Thank you, have a nice day! 😊"),
        ], at: now)
        _ = try await storage.dialers.create(DialerRecord(
            name: "Demo dialer", providerID: provider.id, schedule: "{}", timeZone: TimeZone.current.identifier,
            intervalMs: 500, enabled: true, dncrCheck: true, campaignIDs: [campaign.id], createdAt: now, updatedAt: now))
        try await storage.settings.set(installedSetting, ISO8601DateFormatter().string(from: now))
        try await storage.audit.append(AuditEntry(at: now, actorUserID: nil, actorName: "system", action: "demo.install",
                                                  targetType: "campaign", targetID: String(campaign.id),
                                                  details: "provider=\(provider.id) users=\(created.map(\.username).joined(separator: ","))"))
        return created
    }
}

/// The demo's traffic: clients writing in every few seconds, two simulated agents (`Demo.simulatedAgents`)
/// who accept, answer with canned responses and close their conversations, and a small bulk send through
/// the dialer every minute and a half. Runs only with `serve --demo`, on a database `Demo.install` set up.
struct DemoTraffic: Service {
    let storage: Storage
    let inbox: Inbox
    let inbound: InboundPipeline
    let logger: Logger

    /// What clients write.
    static let texts = [
        "Hi, where is my order?", "Hola, ¿a qué hora abren mañana?", "I was charged twice this month",
        "Can I change my delivery address?", "Buongiorno, vorrei annullare l'ordine", "Is the store open on Sunday?",
        "My package arrived damaged 😞", "How do I reset my password?", "Gracias por la ayuda!",
        "Do you ship to Canada?", "I need an invoice for order 48213", "The tracking link does not work",
    ]

    func run() async throws {
        guard let campaign = try await storage.campaigns.campaign(named: Demo.campaignName),
              let providerID = campaign.providerID else {
            logger.warning("demo traffic not started: the demo campaign is missing")
            return
        }
        logger.notice("demo traffic started", metadata: ["campaign": "\(campaign.id)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await clients(providerID: providerID) }
            group.addTask { await agents(campaign: campaign) }
            group.addTask { await bulk(campaign: campaign) }
            await group.next()  // all three run until cancelled: the first to end ends them all
            group.cancelAll()
        }
        logger.notice("demo traffic stopped")
    }

    /// Sleeps; false once the server is stopping.
    private func pause(_ seconds: Double) async -> Bool {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
            return true
        } catch {
            return false
        }
    }

    /// A client number from a pool of 60, so clients come back and have earlier conversations.
    private func clientNumber() -> String { "+1555020" + String(format: "%04d", Int.random(in: 1000...1059)) }

    private func clients(providerID: Int64) async {
        while await pause(Double.random(in: 2...6)) {
            let sms = InboundSMS(providerMessageID: "DEMO-\(UUID().uuidString)", from: clientNumber(), to: Demo.did,
                                 text: Self.texts.randomElement()!, receivedAt: Date())
            do { _ = try await inbound.receive(sms, providerID: providerID) } catch {
                logger.warning("demo inbound message not stored", metadata: ["error": "\(error)"])
            }
        }
    }

    private func agents(campaign: CampaignRecord) async {
        let users = (try? await storage.users.list()) ?? []
        let agents = users.filter { Demo.simulatedAgents.contains($0.username) }
        let canned = (try? await storage.campaigns.details(id: campaign.id))?.cannedResponses ?? []
        // A session of their own: only signed-in agents are offered work.
        var sessions: [String] = []
        for agent in agents {
            let now = Date()
            let hash = "demo-" + Secrets.randomToken(length: 32)
            do {
                try await storage.sessions.create(Session(tokenHash: hash, userID: agent.id, csrfToken: Secrets.randomToken(),
                                                          createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(3600),
                                                          userAgent: "demo"))
                sessions.append(hash)
                _ = try await inbox.setStatus(of: agent.id, to: .available, reason: nil, at: now)
            } catch {
                logger.warning("demo agent not signed in", metadata: ["agent": "\(agent.username)", "error": "\(error)"])
            }
        }
        var lastTouch = Date()
        var pausedUntil: [Int64: Date] = [:]
        while await pause(1) {
            let now = Date()
            if now.timeIntervalSince(lastTouch) > 300 {
                for hash in sessions { try? await storage.sessions.touch(tokenHash: hash, at: now, expiresAt: now.addingTimeInterval(3600)) }
                lastTouch = now
            }
            for agent in agents {
                do {
                    try await work(as: agent, canned: canned, pausedUntil: &pausedUntil, at: now)
                } catch {
                    logger.debug("demo agent step failed", metadata: ["agent": "\(agent.username)", "error": "\(error)"])
                }
            }
        }
        for hash in sessions { try? await storage.sessions.delete(tokenHash: hash) }
    }

    /// One second of a simulated agent: accept offers after a few seconds, answer waiting clients,
    /// close conversations that went quiet, and now and then take a short break.
    private func work(as agent: User, canned: [CannedResponse], pausedUntil: inout [Int64: Date], at now: Date) async throws {
        if let until = pausedUntil[agent.id] {
            if until <= now {
                pausedUntil[agent.id] = nil
                _ = try await inbox.setStatus(of: agent.id, to: .available, reason: nil, at: now)
            }
            return
        }
        if Double.random(in: 0..<1) < 1.0 / 400 {  // about every seven minutes
            pausedUntil[agent.id] = now.addingTimeInterval(Double.random(in: 20...45))
            _ = try await inbox.setStatus(of: agent.id, to: .paused, reason: "Break", at: now)
            return
        }
        for item in try await inbox.inbox(of: agent.id, at: now) {
            let conversation = item.conversation
            switch conversation.state {
            case .offered where item.offers.contains(where: { $0.userID == agent.id }):
                if let offered = item.offers.first(where: { $0.userID == agent.id })?.offeredAt,
                   now.timeIntervalSince(offered) > Double.random(in: 2...6) {
                    _ = try await inbox.accept(conversation.id, by: agent.id, at: now)
                }
            case .assigned where conversation.agentID == agent.id:
                if let waiting = item.waitingSince {
                    if now.timeIntervalSince(waiting) > Double.random(in: 4...10) {
                        let text = conversation.firstResponseAt == nil
                            ? (canned.first?.body ?? "Hello! How can I help you?") : (canned.randomElement()?.body ?? "Thank you!")
                        _ = try await inbox.reply(to: conversation.id, text: text, sendAt: nil, by: .agent(agent.id), at: now)
                        _ = try await inbox.markRead(conversation.id, by: .agent(agent.id), at: now)
                    }
                } else if now.timeIntervalSince(conversation.lastActivityAt) > Double.random(in: 25...50) {
                    _ = try await inbox.close(conversation.id, wrapUp: "Solved", by: .agent(agent.id), at: now)
                }
            default:
                break
            }
        }
    }

    private func bulk(campaign: CampaignRecord) async {
        var round = 0
        while await pause(round == 0 ? 5 : 90) {
            round += 1
            let messages = (1...25).map { _ in
                SpoolIntake.message(campaignID: campaign.id, destination: "+1555030" + String(format: "%04d", Int.random(in: 0...9999)),
                                    text: "Reminder: your appointment is tomorrow at 10:00. Reply STOP to opt out.",
                                    priority: 0, source: .api, pattern: nil)
            }
            do {
                _ = try await storage.spool.enqueue(messages, at: Date())
            } catch {
                logger.warning("demo bulk send not queued", metadata: ["error": "\(error)"])
            }
        }
    }
}
