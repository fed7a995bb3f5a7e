import Foundation
import SMSStore

/// Tells the conversation side which of its outgoing messages changed state
/// (sent, failed, blocked, delivered…), so the agent's page shows each
/// message's delivery state as it happens (SPEC A6). The dispatcher and the
/// delivery-report intake sit below the conversations, so they report spool
/// ids through this and the server wires it to the live events.
public struct ConversationDeliveryNotice: Sendable {
    let notify: (@Sendable (_ spoolIDs: [Int64]) async -> Void)?

    public init(_ notify: @escaping @Sendable (_ spoolIDs: [Int64]) async -> Void) { self.notify = notify }
    private init() { notify = nil }

    /// Nobody listens (tools and tests).
    public static let disabled = ConversationDeliveryNotice()

    public var isEnabled: Bool { notify != nil }

    /// Reports the messages of `batch` that belong to a conversation.
    func changed(_ messages: [SpoolMessage]) async {
        guard let notify else { return }
        let ids = messages.filter { $0.conversationID != nil || SpoolClaimScope.conversationSources.contains($0.source) }.map(\.id)
        if !ids.isEmpty { await notify(ids) }
    }
}
