import Foundation

/// Values read from the database and kept for a short time, for reads on the path of every message
/// (a provider by id, the supervisors of a campaign) whose changes may take `lifetime` to be seen.
/// A lock, not an actor: a hit costs no task switch.
public final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Key: (value: Value, until: ContinuousClock.Instant)] = [:]
    private let lifetime: Duration
    private let capacity: Int

    /// `capacity`: beyond it the cache is emptied (keys are ids of a few configuration rows).
    public init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached value of `key`, or `load()`'s, kept for `lifetime`.
    public func value(_ key: Key, load: () async throws -> Value) async rethrows -> Value {
        let now = ContinuousClock.now
        if let hit = lock.withLock({ entries[key] }), hit.until > now { return hit.value }
        let value = try await load()
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (value, now + lifetime)
        }
        return value
    }

    /// Forgets everything (after a change made by this process, to see it at once).
    public func removeAll() {
        lock.withLock { entries.removeAll() }
    }
}
