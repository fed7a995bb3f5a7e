// Migration 1: the whole domain of SPEC (accounts, providers, campaigns,
// dialers, spool, DNCR, conversations, live events, webhooks).
// SHIPPED: never edit; add a new migration instead.
// Timestamps are milliseconds since 1970 (UTC). Booleans are compared with
// TRUE/FALSE or bound values, which both dialects accept.

enum Migration0001Initial {
    static let migration = Migration(version: 1, name: "initial", statements: [
        // Accounts (X2)
        """
        CREATE TABLE users (
          id {id},
          username {text} NOT NULL UNIQUE,
          display_name {text} NOT NULL,
          password_hash {text} NOT NULL,
          role {text} NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
          disabled {bool} NOT NULL DEFAULT FALSE,
          locale {text},
          time_zone {text},
          monitor_screen_allowed {bool} NOT NULL DEFAULT FALSE,
          created_at {int} NOT NULL,
          updated_at {int} NOT NULL
        )
        """,
        """
        CREATE TABLE sessions (
          token_hash {text} PRIMARY KEY,
          user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          csrf_token {text} NOT NULL,
          created_at {int} NOT NULL,
          last_seen_at {int} NOT NULL,
          expires_at {int} NOT NULL,
          client_address {text},
          user_agent {text}
        )
        """,
        "CREATE INDEX sessions_user ON sessions (user_id)",
        "CREATE INDEX sessions_expiry ON sessions (expires_at)",
        """
        CREATE TABLE api_keys (
          id {id},
          name {text} NOT NULL,
          prefix {text} NOT NULL,
          key_hash {text} NOT NULL UNIQUE,
          role {text} NOT NULL DEFAULT 'integration',
          created_by {int} REFERENCES users(id) ON DELETE SET NULL,
          created_at {int} NOT NULL,
          last_used_at {int},
          revoked_at {int}
        )
        """,
        """
        CREATE TABLE login_failures (
          subject {text} PRIMARY KEY,
          failures {int} NOT NULL,
          last_failure_at {int} NOT NULL
        )
        """,
        """
        CREATE TABLE audit_log (
          id {id},
          at {int} NOT NULL,
          actor_user_id {int},
          actor_name {text} NOT NULL,
          action {text} NOT NULL,
          target_type {text},
          target_id {text},
          details {text},
          client_address {text}
        )
        """,
        "CREATE INDEX audit_log_at ON audit_log (at)",
        // Providers (P1-P8). Secrets are encrypted by the server before they reach the store.
        """
        CREATE TABLE providers (
          id {id},
          name {text} NOT NULL UNIQUE,
          type {text} NOT NULL,
          url {text},
          username {text},
          secret_ciphertext {blob},
          sender {text},
          ports {text},
          number_pattern {text},
          encoding {text} NOT NULL DEFAULT 'auto' CHECK (encoding IN ('auto', 'GSM-7', 'UCS-2')),
          is_default {bool} NOT NULL DEFAULT FALSE,
          rate_per_second {real},
          max_concurrency {int},
          settings {text} NOT NULL DEFAULT '{}',
          webhook_token {text} NOT NULL UNIQUE,
          created_at {int} NOT NULL,
          updated_at {int} NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX providers_one_default ON providers (is_default) WHERE is_default = TRUE",
        // Campaigns (C1-C10)
        """
        CREATE TABLE campaigns (
          id {id},
          name {text} NOT NULL UNIQUE,
          enabled {bool} NOT NULL DEFAULT TRUE,
          service_level_percent {real} NOT NULL DEFAULT 80,
          strategy {text} NOT NULL DEFAULT 'ringall',
          schedule {text} NOT NULL,
          time_zone {text} NOT NULL,
          out_of_time_message {text},
          max_interactions_per_agent {int} NOT NULL DEFAULT 3,
          threshold_service_level_s {int} NOT NULL DEFAULT 60,
          threshold_abandon_s {int} NOT NULL DEFAULT 600,
          threshold_chat_time_s {int} NOT NULL DEFAULT 1800,
          threshold_acd_s {int} NOT NULL DEFAULT 300,
          threshold_acd_queue {int} NOT NULL DEFAULT 10,
          offer_timeout_s {int} NOT NULL DEFAULT 60,
          opt_out_keywords {text},
          opt_in_keywords {text},
          transactional {bool} NOT NULL DEFAULT FALSE,
          provider_id {int} REFERENCES providers(id),
          rr_cursor {int} NOT NULL DEFAULT 0,
          created_at {int} NOT NULL,
          updated_at {int} NOT NULL
        )
        """,
        """
        CREATE TABLE campaign_dids (
          did {text} NOT NULL,
          campaign_id {int} NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
          PRIMARY KEY (did)
        )
        """,
        """
        CREATE TABLE campaign_members (
          campaign_id {int} NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
          user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          position {int} NOT NULL,
          penalty {int} NOT NULL DEFAULT 0,
          last_ended_at {int},
          PRIMARY KEY (campaign_id, user_id)
        )
        """,
        """
        CREATE TABLE campaign_supervisors (
          campaign_id {int} NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
          user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          PRIMARY KEY (campaign_id, user_id)
        )
        """,
        """
        CREATE TABLE canned_responses (
          id {id},
          campaign_id {int} NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
          title {text} NOT NULL,
          body {text} NOT NULL,
          position {int} NOT NULL DEFAULT 0
        )
        """,
        // Dialers (D1, D2, D11)
        """
        CREATE TABLE dialers (
          id {id},
          name {text} NOT NULL UNIQUE,
          provider_id {int} NOT NULL REFERENCES providers(id),
          fallback_provider_id {int} REFERENCES providers(id),
          schedule {text} NOT NULL,
          time_zone {text} NOT NULL,
          dial_string {text},
          interval_ms {int} NOT NULL DEFAULT 0,
          enabled {bool} NOT NULL DEFAULT FALSE,
          dncr_check {bool} NOT NULL DEFAULT TRUE,
          port_cursor {int} NOT NULL DEFAULT 0,
          failover_active {bool} NOT NULL DEFAULT FALSE,
          consecutive_failures {int} NOT NULL DEFAULT 0,
          created_at {int} NOT NULL,
          updated_at {int} NOT NULL
        )
        """,
        """
        CREATE TABLE dialer_campaigns (
          dialer_id {int} NOT NULL REFERENCES dialers(id) ON DELETE CASCADE,
          campaign_id {int} NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
          PRIMARY KEY (dialer_id, campaign_id)
        )
        """,
        // Spool (D3-D12): every outgoing message, with its state history.
        """
        CREATE TABLE spool (
          id {id},
          campaign_id {int} REFERENCES campaigns(id),
          dialer_id {int} REFERENCES dialers(id),
          conversation_id {int},
          destination {text} NOT NULL,
          message {text} NOT NULL,
          priority {int} NOT NULL DEFAULT 0,
          extra {text},
          state {text} NOT NULL,
          attempts {int} NOT NULL DEFAULT 0,
          source {text} NOT NULL,
          created_by {int},
          idempotency_key {text} UNIQUE,
          provider_id {int} REFERENCES providers(id),
          provider_message_id {text},
          port {int},
          encoding {text},
          segments {int},
          error_code {text},
          error_text {text},
          block_reason {text},
          possible_duplicate {bool} NOT NULL DEFAULT FALSE,
          not_before {int},
          next_attempt_at {int},
          lease_owner {text},
          lease_expires_at {int},
          created_at {int} NOT NULL,
          updated_at {int} NOT NULL,
          sent_at {int},
          delivered_at {int}
        )
        """,
        "CREATE INDEX spool_claim ON spool (campaign_id, state, priority DESC, id)",
        "CREATE INDEX spool_campaign ON spool (campaign_id, created_at)",
        "CREATE INDEX spool_provider_message ON spool (provider_id, provider_message_id)",
        "CREATE INDEX spool_lease ON spool (state, lease_expires_at)",
        """
        CREATE TABLE spool_events (
          id {id},
          spool_id {int} NOT NULL REFERENCES spool(id) ON DELETE CASCADE,
          at {int} NOT NULL,
          from_state {text},
          to_state {text} NOT NULL,
          reason {text},
          node {text}
        )
        """,
        "CREATE INDEX spool_events_spool ON spool_events (spool_id, id)",
        // Do-not-contact register (D7, D8). campaign_id 0 means every campaign.
        """
        CREATE TABLE dncr (
          number {text} NOT NULL,
          campaign_id {int} NOT NULL DEFAULT 0,
          source {text} NOT NULL,
          reason {text},
          created_by {int},
          created_at {int} NOT NULL,
          PRIMARY KEY (number, campaign_id)
        )
        """,
        """
        CREATE TABLE opt_out_events (
          id {id},
          number {text} NOT NULL,
          campaign_id {int} NOT NULL DEFAULT 0,
          keyword {text} NOT NULL,
          action {text} NOT NULL CHECK (action IN ('opt_out', 'opt_in')),
          message_id {int},
          at {int} NOT NULL
        )
        """,
        // Conversations and messages (C9, C10, A1-A7)
        """
        CREATE TABLE conversations (
          id {id},
          campaign_id {int} REFERENCES campaigns(id),
          client_number {text} NOT NULL,
          did {text},
          state {text} NOT NULL CHECK (state IN ('queued', 'offered', 'assigned', 'closed')),
          agent_id {int} REFERENCES users(id),
          previous_conversation_id {int},
          opened_at {int} NOT NULL,
          queued_at {int},
          assigned_at {int},
          first_response_at {int},
          last_activity_at {int} NOT NULL,
          closed_at {int},
          close_reason {text},
          unread_count {int} NOT NULL DEFAULT 0,
          out_of_time_replied {bool} NOT NULL DEFAULT FALSE
        )
        """,
        "CREATE UNIQUE INDEX conversations_one_open ON conversations (campaign_id, client_number) WHERE closed_at IS NULL",
        "CREATE INDEX conversations_agent ON conversations (agent_id, last_activity_at)",
        "CREATE INDEX conversations_number ON conversations (client_number)",
        """
        CREATE TABLE messages (
          id {id},
          conversation_id {int} REFERENCES conversations(id),
          campaign_id {int},
          direction {text} NOT NULL CHECK (direction IN ('in', 'out')),
          client_number {text} NOT NULL,
          did {text},
          body {text} NOT NULL,
          provider_id {int},
          provider_message_id {text},
          spool_id {int},
          agent_id {int},
          state {text},
          created_at {int} NOT NULL
        )
        """,
        "CREATE INDEX messages_conversation ON messages (conversation_id, id)",
        "CREATE INDEX messages_search ON messages (campaign_id, created_at)",
        "CREATE UNIQUE INDEX messages_inbound_dedupe ON messages (provider_id, provider_message_id) WHERE direction = 'in'",
        // Delivery reports as received, matched to spool rows when the send's answer is known
        // (a report may arrive before the provider's answer to the send is recorded).
        """
        CREATE TABLE delivery_reports (
          id {id},
          provider_id {int} NOT NULL,
          provider_message_id {text} NOT NULL,
          outcome {text} NOT NULL CHECK (outcome IN ('delivered', 'failed', 'pending')),
          code {text},
          detail {text},
          reported_at {int} NOT NULL,
          received_at {int} NOT NULL,
          spool_id {int}
        )
        """,
        "CREATE UNIQUE INDEX delivery_reports_dedupe ON delivery_reports (provider_id, provider_message_id, outcome)",
        """
        CREATE TABLE conversation_offers (
          conversation_id {int} NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
          user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          offered_at {int} NOT NULL,
          expires_at {int} NOT NULL,
          PRIMARY KEY (conversation_id, user_id)
        )
        """,
        """
        CREATE TABLE agent_status (
          user_id {int} PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
          status {text} NOT NULL CHECK (status IN ('offline', 'available', 'paused')),
          reason {text},
          since {int} NOT NULL
        )
        """,
        """
        CREATE TABLE agent_chat (
          id {id},
          from_user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          to_user_id {int} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          body {text} NOT NULL,
          at {int} NOT NULL,
          read_at {int}
        )
        """,
        // Live events: a numbered log that reconnecting clients catch up from.
        """
        CREATE TABLE live_events (
          seq {id},
          at {int} NOT NULL,
          topic {text} NOT NULL,
          audience {text} NOT NULL,
          payload {text} NOT NULL
        )
        """,
        // Outgoing webhooks (X3)
        """
        CREATE TABLE webhooks (
          id {id},
          url {text} NOT NULL,
          events {text} NOT NULL,
          secret_ciphertext {blob} NOT NULL,
          enabled {bool} NOT NULL DEFAULT TRUE,
          created_at {int} NOT NULL
        )
        """,
        """
        CREATE TABLE webhook_deliveries (
          id {id},
          webhook_id {int} NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
          event {text} NOT NULL,
          payload {text} NOT NULL,
          state {text} NOT NULL,
          attempts {int} NOT NULL DEFAULT 0,
          next_attempt_at {int},
          last_status {int},
          last_response {text},
          created_at {int} NOT NULL,
          delivered_at {int}
        )
        """,
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
        // Node-wide settings (e.g. retention days).
        """
        CREATE TABLE settings (
          name {text} PRIMARY KEY,
          value {text} NOT NULL
        )
        """,
    ])
}
