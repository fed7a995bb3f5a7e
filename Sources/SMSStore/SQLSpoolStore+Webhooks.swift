import Foundation
import SMSCore

/// `message.status` webhook events: written by the same transaction that changes a message's state,
/// so an event is queued exactly when the change commits, and a batch of outcomes costs one read of
/// the batch's messages and one multi-row insert (nothing at all while no webhook subscribes).
extension SQLSpoolStore {
    /// The states a receiver hears about (not the internal `to_process` / `sending` steps).
    static let reportedStates: Set<SpoolState> = [.sent, .delivered, .failed, .blocked, .invalid, .cancelled, .expired]

    static func publishStatus(_ changes: [EventRow], at: Date, outbox: SQLWebhookStore?, in tx: any SQLExecutor) async throws {
        guard let outbox else { return }
        let reported = changes.filter { reportedStates.contains($0.to) }
        guard !reported.isEmpty, try await outbox.isSubscribed(.messageStatus, at: at, in: tx) else { return }
        var messages: [Int64: SQLRow] = [:]
        let ids = Array(Set(reported.map(\.id)))
        var start = 0
        while start < ids.count {
            let slice = Array(ids[start..<min(start + chunk, ids.count)])
            for row in try await tx.query("""
                SELECT s.id, s.campaign_id, c.name AS campaign_name, s.conversation_id, s.destination, s.source, s.error_code,
                  s.provider_id, s.provider_message_id
                FROM spool s LEFT JOIN campaigns c ON c.id = s.campaign_id WHERE s.id IN \(list: slice)
                """) { messages[try row.int("id")] = row }
            start += chunk
        }
        let events = try reported.compactMap { change -> WebhookEvent? in
            guard let row = messages[change.id] else { return nil }
            return WebhookEvent.messageStatus(
                id: change.id, campaignID: try row.optionalInt("campaign_id"), campaignName: try row.optionalString("campaign_name"),
                conversationID: try row.optionalInt("conversation_id"), to: try row.string("destination"),
                source: try row.string("source"), previousState: change.from?.rawValue, state: change.to.rawValue,
                reason: change.reason, errorCode: try row.optionalString("error_code"), providerID: try row.optionalInt("provider_id"),
                providerMessageID: try row.optionalString("provider_message_id"), at: at)
        }
        _ = try await outbox.enqueue(events, at: at, in: tx)
    }
}
