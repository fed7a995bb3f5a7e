import SMSStore

/// Tells the nodes sharing one database that events were committed, so each
/// node's `EventBus` can read them from the store and deliver them to its own
/// subscribers. The store stays the only carrier of events: a transport sends
/// just the newest sequence number, a pointer into `live_events`.
///
/// The default is `LocalLiveEventTransport` (one node). A cluster on
/// PostgreSQL uses `PostgresLiveEventTransport` (SMSStorePostgres):
/// `LISTEN`/`NOTIFY` on a channel whose payload is the sequence number.
public protocol LiveEventTransport: Sendable {
    /// Called after this node committed events up to `seq`.
    func announce(upTo seq: Int64) async
    /// Sequence numbers committed by other nodes (this node's own may appear too: the bus
    /// ignores what it delivered already). Finishes when the transport stops.
    func announcements() -> AsyncStream<Int64>
}

/// A single node: nothing to announce, nothing to hear.
public struct LocalLiveEventTransport: LiveEventTransport {
    public init() {}
    public func announce(upTo seq: Int64) async {}
    public func announcements() -> AsyncStream<Int64> { AsyncStream { $0.finish() } }
}
