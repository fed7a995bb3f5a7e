// Migration 2: indexes for routing and the agent inbox, so that what runs per inbound message, per
// routing decision and every second reads the open conversations, not the whole history.
// SHIPPED once released: never edit.

enum Migration0002ConversationIndexes {
    static let migration = Migration(version: 2, name: "conversation indexes", statements: [
        // The head of each campaign's queue, and which campaigns have one (SPEC C3).
        "CREATE INDEX conversations_queue ON conversations (campaign_id, queued_at, id) WHERE state = 'queued'",
        // An agent's open conversations: their load against the cap (SPEC C3, C8).
        "CREATE INDEX conversations_open_agent ON conversations (agent_id) WHERE closed_at IS NULL",
        // Conversations completed in a campaign today (`fewestcalls`).
        "CREATE INDEX conversations_closed ON conversations (campaign_id, closed_at) WHERE state = 'closed'",
        // An agent's offers.
        "CREATE INDEX conversation_offers_user ON conversation_offers (user_id, expires_at)",
        // A client's history in a campaign (SPEC A4).
        "CREATE INDEX messages_client ON messages (campaign_id, client_number, id)",
        // The thread message of a spool row.
        "CREATE INDEX messages_spool ON messages (spool_id) WHERE spool_id IS NOT NULL",
        // Agents' replies waiting for their time (SPEC A7); bulk rows are not in it.
        "CREATE INDEX spool_scheduled_replies ON spool (created_by, not_before) WHERE source = 'agent' AND state = 'to_process'",
        // Conversation traffic waiting to go out, claimed apart from bulk sends (however long the bulk queue is).
        """
        CREATE INDEX spool_conversation_claim ON spool (campaign_id, priority DESC, id)
          WHERE state = 'to_process' AND source IN ('agent', 'auto_reply', 'opt_out_confirmation')
        """,
    ])
}
