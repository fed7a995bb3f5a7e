import Foundation

/// A block of sending slots granted by a shared rate limit: `count` slots, the first `delay` seconds from
/// now, one every `interval` seconds after it (slots already due are immediate: the burst).
public struct RateGrant: Sendable, Equatable {
    public let count: Int
    /// Seconds from the grant (on the database's clock) until the first slot; 0 or less means due now.
    public let delay: TimeInterval
    /// Seconds between two slots: 1 / rate.
    public let interval: TimeInterval

    public init(count: Int, delay: TimeInterval, interval: TimeInterval) {
        self.count = count
        self.delay = delay
        self.interval = interval
    }

    /// Seconds from the grant until slot `index` (0-based) may be used; never negative.
    public func wait(forSlot index: Int) -> TimeInterval { max(0, delay + Double(index) * interval) }
}

/// Rate limits shared by every process on one database (issue 7): a provider's limit holds across nodes.
///
/// GCRA: each limit keeps the "theoretical arrival time" (TAT) of its next free slot on the database's own
/// clock (so nodes' clocks need not agree). A reservation of n slots moves it, in one atomic statement, to
/// `max(TAT, now − (burst − 1)·T) + n·T` (T = 1/rate) and grants the n slots that end there. Whatever the
/// number of nodes and reservations, the slots granted up to any time t, counted from t0, are at most
/// `rate·(t − t0) + burst`. A node reserves one block per claimed batch and paces it locally, so there is
/// one round trip per batch, not per message. Slots a node reserves and does not use (it stopped or died)
/// are lost: the provider then gets less than its rate, never more.
public protocol RateLimitStore: Sendable {
    func reserve(_ name: String, count: Int, ratePerSecond: Double, burst: Double) async throws -> RateGrant
}

struct SQLRateLimitStore: RateLimitStore {
    let db: any SQLDatabase

    func reserve(_ name: String, count: Int, ratePerSecond: Double, burst: Double) async throws -> RateGrant {
        guard count > 0, ratePerSecond > 0 else { return RateGrant(count: max(0, count), delay: 0, interval: 0) }
        let intervalUs = max(1, Int64((1_000_000 / ratePerSecond).rounded()))
        let windowUs = Int64((max(1, burst) - 1) * Double(intervalUs))
        let blockUs = Int64(count) * intervalUs
        // The database's clock, in microseconds since 1970, constant within the statement.
        let (now, greatest): (String, String) = db.dialect == .postgres
            ? ("CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000 AS BIGINT)", "GREATEST")
            : ("CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)", "MAX")
        let row = try await db.queryFirst("""
            INSERT INTO rate_limits (name, tat_us, updated_us)
            VALUES (\(name), \(unsafeRaw: now) - \(windowUs) + \(blockUs), \(unsafeRaw: now))
            ON CONFLICT (name) DO UPDATE SET
              tat_us = \(unsafeRaw: greatest)(rate_limits.tat_us, excluded.updated_us - \(windowUs)) + \(blockUs),
              updated_us = excluded.updated_us
            RETURNING tat_us, updated_us
            """)
        guard let row else { throw StoreError.database("rate limit reservation returned no row") }
        let start = try row.int("tat_us") - blockUs
        let dbNow = try row.int("updated_us")
        return RateGrant(count: count, delay: Double(start - dbNow) / 1_000_000, interval: Double(intervalUs) / 1_000_000)
    }
}
