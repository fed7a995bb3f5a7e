// Migration 5: outgoing webhooks (SPEC X3, issue 8). Migration 1 created `webhooks` and
// `webhook_deliveries`; the delivery worker also needs a lease (several nodes on one PostgreSQL claim
// deliveries), the 24 h limit of each delivery, the last transport error, and a log of every attempt.
// SHIPPED once released: never edit.

enum Migration0005Webhooks {
    static let migration = Migration(version: 5, name: "webhooks", statements: [
        "ALTER TABLE webhooks ADD COLUMN updated_at {int} NOT NULL DEFAULT 0",
        "ALTER TABLE webhook_deliveries ADD COLUMN lease_owner {text}",
        "ALTER TABLE webhook_deliveries ADD COLUMN lease_expires_at {int}",
        // After this instant a failed attempt is final (the event's time + 24 h; a replay restarts it).
        "ALTER TABLE webhook_deliveries ADD COLUMN expires_at {int} NOT NULL DEFAULT 0",
        "ALTER TABLE webhook_deliveries ADD COLUMN last_error {text}",
        "ALTER TABLE webhook_deliveries ADD COLUMN last_attempt_at {int}",
        // A webhook's queue in order: its oldest pending delivery goes first.
        "CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, state, id)",
        """
        CREATE TABLE webhook_attempts (
          id {id},
          delivery_id {int} NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
          at {int} NOT NULL,
          status {int},
          response {text},
          error {text},
          duration_ms {int} NOT NULL,
          node {text}
        )
        """,
        "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)",
    ])
}
