// Migration 4: rate limits shared by every node of a cluster (issue 7).
// SHIPPED once released: never edit.

enum Migration0004RateLimits {
    static let migration = Migration(version: 4, name: "rate_limits", statements: [
        // One row per limited resource (e.g. `provider:7`): the GCRA "theoretical arrival time" of the next
        // free slot, in microseconds since 1970 on the database's clock, and that clock at the last grant.
        """
        CREATE TABLE rate_limits (
          name {text} PRIMARY KEY,
          tat_us {int} NOT NULL,
          updated_us {int} NOT NULL
        )
        """,
    ])
}
