import Foundation

/// Conversation search (SPEC S4) in SQL shared by both backends.
///
/// The date range is answered from `messages` (index `messages_search`: campaign, time), whose rows in
/// one campaign and one week are few, and only then are their conversations read by primary key and
/// filtered by agent and number. The campaign is always named to that index (an unrestricted search
/// names every campaign), so it is a range read per campaign and never a scan of the messages. Without
/// a date range the conversations are walked newest first. "One campaign, one week, part of a number"
/// over 1,000,000 messages: `docs/benchmarks.md`, section (f).
extension SQLConversationStore {
    /// The WHERE clause of `search` over `conversations c`; nil when nothing can match (an empty scope, or a
    /// campaign outside it).
    static func searchCondition(_ search: ConversationSearch, beforeID: Int64?) -> SQL? {
        var campaigns: [Int64]?  // nil: every campaign
        if let id = search.campaignID {
            guard search.scope.allows(id) else { return nil }
            campaigns = [id]
        } else if case .only(let ids) = search.scope {
            guard !ids.isEmpty else { return nil }
            campaigns = ids.sorted()
        }
        var condition: SQL = "c.id < \(beforeID ?? Int64.max)"
        if search.from != nil || search.to != nil {
            // A conversation's messages carry its campaign, so the campaigns are named here only: a condition on
            // c.campaign_id as well would tempt the planner into reading every conversation of the campaign.
            let inCampaigns: SQL = campaigns.map { "m.campaign_id IN \(list: $0)" } ?? "m.campaign_id IN (SELECT id FROM campaigns)"
            var written: SQL = ""
            if let from = search.from { written += " AND m.created_at >= \(from)" }
            if let to = search.to { written += " AND m.created_at < \(to)" }
            condition += " AND c.id IN (SELECT m.conversation_id FROM messages m WHERE \(inCampaigns)\(written))"
        } else if let campaigns {
            condition += " AND c.campaign_id IN \(list: campaigns)"
        }
        if let agent = search.agentID { condition += " AND c.agent_id = \(agent)" }
        if let term = ConversationSearch.numberTerm(search.number) {
            // Only letters and digits: nothing to escape for LIKE.
            condition += " AND c.client_number LIKE \("%" + term + "%")"
        }
        return condition
    }

    func search(_ search: ConversationSearch, limit: Int, beforeID: Int64?, at: Date) async throws -> [ConversationListItem] {
        guard let condition = Self.searchCondition(search, beforeID: beforeID) else { return [] }
        return try await items("\(unsafeRaw: Self.itemSelect) WHERE \(condition) ORDER BY c.id DESC LIMIT \(max(1, limit))", at: at)
    }

    func transcripts(_ search: ConversationSearch, limit: Int, beforeID: Int64?) async throws -> [ConversationTranscript] {
        guard let condition = Self.searchCondition(search, beforeID: beforeID) else { return [] }
        let rows = try await db.query("\(unsafeRaw: Self.itemSelect) WHERE \(condition) ORDER BY c.id DESC LIMIT \(max(1, limit))")
        guard !rows.isEmpty else { return [] }
        let conversations = try rows.map(Self.decode)
        var messages: [Int64: [ConversationMessage]] = [:]
        for row in try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM \(unsafeRaw: Self.messageFrom)
            WHERE m.conversation_id IN \(list: conversations.map(\.id))
            ORDER BY m.conversation_id, m.id
            """) {
            let message = try Self.decodeMessage(row)
            if let id = message.conversationID { messages[id, default: []].append(message) }
        }
        return try zip(rows, conversations).map { row, conversation in
            ConversationTranscript(conversation: conversation, campaignName: try row.optionalString("campaign_name") ?? "",
                                   agentName: try row.optionalString("agent_name"), messages: messages[conversation.id] ?? [])
        }
    }
}
