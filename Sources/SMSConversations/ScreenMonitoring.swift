import Foundation
import SMSLive
import SMSStore

/// Monitor screen (SPEC S3): where an admin allowed it for an agent, a supervisor watches the agent's inbox as
/// the agent sees it — which conversation is open and the draft being typed — live.
///
/// Who watches whom is read from the audit log, which every start and stop is written to anyway
/// (`monitor.screen_start` / `monitor.screen_stop`, by the caller): it is shared by every node, so an agent's
/// screen posted to one node reaches the watchers who started on another, and a stop on any node ends the relay.
/// A watch nobody stopped lapses after `lifetime`. Screen states themselves are not stored: each is relayed once,
/// as an `agent.screen` live event, to the watchers only.
///
/// | topic | payload |
/// | --- | --- |
/// | `agent.monitoring` | `{"active", "by", "watchedBy": [name]}`: to the agent, a watch started or stopped |
/// | `agent.screen` | `{"agentId", "conversationId", "draft", "at"}`: to the agent's watchers |
public struct ScreenMonitoring: Sendable {
    public static let monitoringTopic = "agent.monitoring"
    public static let screenTopic = "agent.screen"
    public static let startAction = "monitor.screen_start"
    public static let stopAction = "monitor.screen_stop"
    /// A watch not stopped ends by itself after this long (a supervisor who closed the page).
    public static let lifetime: TimeInterval = 8 * 3600
    public static let maximumDraftLength = 2000

    /// Someone watching an agent's screen.
    public struct Watcher: Sendable, Equatable {
        public var userID: Int64
        public var name: String
    }

    struct MonitoringPayload: Encodable {
        var active: Bool
        var by: String
        var watchedBy: [String]
    }

    struct ScreenPayload: Encodable {
        var agentId: Int64
        var conversationId: Int64?
        var draft: String
        var at: Date

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(agentId, forKey: .agentId)
            try c.encode(conversationId, forKey: .conversationId)  // explicit null: no conversation open
            try c.encode(draft, forKey: .draft)
            try c.encode(at, forKey: .at)
        }

        enum CodingKeys: String, CodingKey { case agentId, conversationId, draft, at }
    }

    let storage: Storage
    let events: ConversationEvents

    public init(storage: Storage, inbox: Inbox) {
        self.storage = storage
        events = inbox.router.events
    }

    /// Who watches the agent now: each person whose latest start or stop on the agent, within `lifetime`, is a start.
    public func watchers(of agentID: Int64, at now: Date = Date()) async throws -> [Watcher] {
        let entries = try await storage.audit.entries(actions: [Self.startAction, Self.stopAction], targetType: "user",
                                                      targetID: String(agentID), since: now.addingTimeInterval(-Self.lifetime))
        var latest: [Int64: AuditEntry] = [:]
        var order: [Int64] = []
        for entry in entries {
            guard let actor = entry.actorUserID else { continue }
            if latest[actor] == nil { order.append(actor) }
            latest[actor] = entry
        }
        return order.compactMap { id in
            guard let entry = latest[id], entry.action == Self.startAction else { return nil }
            return Watcher(userID: id, name: entry.actorName)
        }
    }

    /// Tells the agent's pages that a watch started or stopped (after its audit row was written).
    public func announce(to agentID: Int64, active: Bool, by name: String, at now: Date = Date()) async throws {
        guard let bus = events.bus else { return }
        let watchedBy = try await watchers(of: agentID, at: now).map(\.name)
        _ = try await bus.publish(topic: Self.monitoringTopic, audience: .users([agentID]),
                                  data: MonitoringPayload(active: active, by: name, watchedBy: watchedBy), at: now)
    }

    /// Relays the agent's screen to whoever watches it; returns how many watchers it went to (0: nobody watches,
    /// nothing is published).
    public func relay(of agentID: Int64, conversationID: Int64?, draft: String, at now: Date = Date()) async throws -> Int {
        guard draft.count <= Self.maximumDraftLength else {
            throw ConversationError.invalid(field: "draft", message: "draft is at most \(Self.maximumDraftLength) characters")
        }
        let watchers = try await watchers(of: agentID, at: now)
        guard !watchers.isEmpty, let bus = events.bus else { return 0 }
        _ = try await bus.publish(topic: Self.screenTopic, audience: .users(Set(watchers.map(\.userID))),
                                  data: ScreenPayload(agentId: agentID, conversationId: conversationID, draft: draft, at: now),
                                  at: now)
        return watchers.count
    }
}
