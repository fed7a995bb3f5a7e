// Migration 6: two spool indexes hold only the rows they are read for. A queued message has no lease and
// no provider message id, yet both indexes kept an entry for every row; a bulk import paid for both on
// every row (about 9% of its time). Lease recovery reads only `sending` rows, and delivery reports look a
// message up by its provider's id, which implies the id is not NULL, so both backends still use them.
// SHIPPED once released: never edit.

enum Migration0006SpoolPartialIndexes {
    static let migration = Migration(version: 6, name: "spool partial indexes", statements: [
        "DROP INDEX spool_lease",
        "CREATE INDEX spool_lease ON spool (lease_expires_at) WHERE state = 'sending'",
        "DROP INDEX spool_provider_message",
        "CREATE INDEX spool_provider_message ON spool (provider_id, provider_message_id) WHERE provider_message_id IS NOT NULL",
    ])
}
