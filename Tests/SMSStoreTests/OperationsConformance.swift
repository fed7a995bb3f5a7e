import Foundation
import SMSCore
import SMSStore
import Testing

/// The gauges `GET /metrics` reports from the database.
enum OperationsCases {
    static let all: [ConformanceCase] = [
        .init(name: "operations: gauges count spool states, open conversations and agents' presence", run: gauges),
    ]

    static func gauges(_ storage: Storage) async throws {
        let empty = try await storage.operations.gauges()
        #expect(empty.spool.count == SpoolState.allCases.count && empty.spool.values.allSatisfy { $0 == 0 })
        #expect(empty.openConversations == [.queued: 0, .offered: 0, .assigned: 0])
        #expect(empty.agents == [.available: 0, .paused: 0, .offline: 0])

        let campaign = try await SpoolCases.campaign(storage)
        var batch = SpoolCases.messages(campaign.id, 7)
        batch[0].state = .invalid
        batch[0].reason = "bad number"
        _ = try await storage.spool.enqueue(batch, at: SpoolCases.t0)
        let ana = try await storage.users.create(username: "ana", displayName: "Ana", role: .agent, passwordHash: "x", at: SpoolCases.t0)
        _ = try await storage.users.create(username: "bob", displayName: "Bob", role: .agent, passwordHash: "x", at: SpoolCases.t0)
        _ = try await storage.users.create(username: "sara", displayName: "Sara", role: .supervisor, passwordHash: "x", at: SpoolCases.t0)
        _ = try await storage.conversations.setStatus(AgentStatus(userID: ana.id, status: .paused, reason: "Lunch", since: SpoolCases.t0),
                                                      at: SpoolCases.t0)

        let gauges = try await storage.operations.gauges()
        #expect(gauges.spool[.toProcess] == 6)
        #expect(gauges.spool[.invalid] == 1)
        #expect(gauges.spool[.delivered] == 0)
        // Agents only (not the supervisor); one who never set a presence counts as offline.
        #expect(gauges.agents == [.available: 0, .paused: 1, .offline: 1])
    }
}
