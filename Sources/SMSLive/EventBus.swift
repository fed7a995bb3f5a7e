import Foundation
import SMSStore
import ServiceLifecycle

/// The live event bus: what changed, in one durable order, for the browsers.
///
/// `publish` stores events in `live_events` (their `seq` is the order every
/// node and every reconnecting client agrees on) and hands them to this
/// node's subscribers. `subscribe(after:)` gives a subscriber the events it
/// missed from the store first, then live ones, with no gap and no
/// duplicate: see `LiveSubscription`.
///
/// Events committed by other nodes arrive through the `LiveEventTransport`
/// as a sequence number; the bus reads them from the store. Because appends
/// commit in sequence order (`LiveEventStore.append`), "every event up to
/// `delivered` was handed out" is one number.
public actor EventBus {
    public nonisolated let store: any LiveEventStore
    let transport: any LiveEventTransport
    /// The highest sequence number handed to local subscribers.
    private(set) var delivered: Int64
    private var subscribers: [ObjectIdentifier: WeakSubscription] = [:]
    /// Events read per query when catching up from the store.
    static let pageSize = 500

    struct WeakSubscription {
        weak var subscription: LiveSubscription?
    }

    /// A bus on `store`; live delivery starts after the newest stored event.
    public init(store: any LiveEventStore, transport: any LiveEventTransport = LocalLiveEventTransport()) async throws {
        self.store = store
        self.transport = transport
        delivered = try await store.latestSeq()
    }

    // MARK: publishing

    /// Stores `events` in order and delivers them; returns them with their sequence numbers.
    @discardableResult
    public func publish(_ events: [NewLiveEvent]) async throws -> [LiveEvent] {
        let stored = try await store.append(events)
        guard let first = stored.first, let last = stored.last else { return [] }
        // Usually nothing else was appended in between: hand them out directly. Otherwise (another node's
        // events, a publish of this node that committed before but has not resumed yet, a gap in the
        // sequence) read what is missing from the store, in order.
        if first.seq == delivered + 1, last.seq - first.seq == Int64(stored.count - 1) {
            deliver(stored)
        } else {
            try await catchUp(to: last.seq)
        }
        await transport.announce(upTo: last.seq)
        return stored
    }

    /// Stores and delivers one event whose `data` is encoded as its JSON payload (encoded before
    /// reaching the actor, so `data` need not be `Sendable`).
    @discardableResult
    public nonisolated func publish(topic: String, audience: LiveAudience, data: some Encodable, at: Date = Date()) async throws -> LiveEvent {
        let event = try NewLiveEvent(topic: topic, audience: audience, data: data, at: at)
        guard let stored = try await publish([event]).first else { throw StoreError.database("the live event was not stored") }
        return stored
    }

    /// Reads events after `delivered` from the store (up to at least `seq`) and delivers them.
    func catchUp(to seq: Int64) async throws {
        while delivered < seq {
            let page = try await store.events(after: delivered, visibleTo: nil, limit: Self.pageSize)
            let fresh = page.filter { $0.seq > delivered }  // another catch-up may have run meanwhile
            if page.isEmpty { break }
            deliver(fresh)
        }
    }

    private func deliver(_ events: [LiveEvent]) {
        guard let last = events.last else { return }
        delivered = max(delivered, last.seq)
        var gone: [ObjectIdentifier] = []
        for (id, entry) in subscribers {
            guard let subscription = entry.subscription else {
                gone.append(id)
                continue
            }
            subscription.offer(events)
        }
        for id in gone { subscribers[id] = nil }
    }

    // MARK: subscribing

    /// A subscription for `viewer` (nil: every event) that yields the events after `after`, then live
    /// ones. Without `after` it starts at the newest event. When events after `after` may have been
    /// pruned, or `after` is not a sequence number of this database, the subscription starts at the
    /// newest event with `resync` set: the client must reload its data.
    /// A subscriber more than `bufferLimit` events behind the live stream fails with `tooSlow`.
    public func subscribe(after: Int64?, viewer: LiveViewer?, bufferLimit: Int = 1000) async throws -> LiveSubscription {
        let latest = try await store.latestSeq()
        var start = after ?? max(latest, delivered)
        var resync = false
        if let after {
            let oldest = try await store.oldestSeq()
            if after > latest || after < 0 || (oldest.map { after < $0 - 1 } ?? false) {
                start = latest
                resync = true
            }
        }
        return LiveSubscription(bus: self, viewer: viewer, start: start, resync: resync, bufferLimit: bufferLimit)
    }

    /// Switches `subscription` to live delivery once it has read the store up to `cursor`; false when
    /// events after `cursor` were delivered already (it must read the store again first).
    func attach(_ subscription: LiveSubscription, at cursor: Int64) -> Bool {
        guard delivered <= cursor else { return false }
        subscription.goLive(after: cursor)
        subscribers[ObjectIdentifier(subscription)] = WeakSubscription(subscription: subscription)
        return true
    }

    func detach(_ subscription: LiveSubscription) {
        subscribers[ObjectIdentifier(subscription)] = nil
    }

    /// How many subscriptions receive live events now.
    public var subscriberCount: Int { subscribers.values.filter { $0.subscription != nil }.count }

    // MARK: other nodes

    /// Delivers what other nodes announce, until the transport finishes or the task is cancelled.
    public nonisolated func followOtherNodes() async {
        for await seq in transport.announcements() {
            do { try await catchUp(to: seq) } catch {
                // The next announcement (or publish) catches up from the same point.
                continue
            }
        }
    }
}

extension NewLiveEvent {
    /// An event whose payload is `data` as JSON (dates ISO 8601, keys sorted).
    public init(topic: String, audience: LiveAudience, data: some Encodable, at: Date = Date()) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.init(at: at, topic: topic, audience: audience, payload: String(decoding: try encoder.encode(data), as: UTF8.self))
    }
}

extension EventBus: Service {
    /// Follows the other nodes' announcements until graceful shutdown.
    public nonisolated func run() async throws {
        await cancelWhenGracefulShutdown { await self.followOtherNodes() }
        // A transport that never hears anything (one node) ends at once: wait for shutdown like the other services.
        try? await gracefulShutdown()
    }
}
