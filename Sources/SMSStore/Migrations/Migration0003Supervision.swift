// Migration 3: what the supervisor's screens read (SPEC S1-S3, S6).
// SHIPPED once released: never edit.

enum Migration0003Supervision {
    static let migration = Migration(version: 3, name: "supervision", statements: [
        // When the client sent an opt-out keyword while the conversation was open (SPEC D8): the keyword is
        // not a message of the conversation and does not close it, but the metrics count it as an abandon.
        "ALTER TABLE conversations ADD COLUMN opted_out_at {int}",
        // A campaign's conversations of a day, and the open ones (threshold view, campaign monitor).
        "CREATE INDEX conversations_campaign_opened ON conversations (campaign_id, opened_at)",
        // The supervisor-agent chat of an agent, both ways.
        "CREATE INDEX agent_chat_to ON agent_chat (to_user_id, id)",
        "CREATE INDEX agent_chat_from ON agent_chat (from_user_id, id)",
    ])
}
