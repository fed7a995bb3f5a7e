import Foundation
import Logging
import SMSLive
import SMSStore
import SMSStoreSQLite
import Testing

/// A migrated SQLite database in a temporary folder, removed afterwards.
func withStorage(_ body: (Storage) async throws -> Void) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-live-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let storage = Storage(database: try SQLiteDatabase(path: dir.appendingPathComponent("live.sqlite").path))
    do {
        try await storage.migrate()
        try await body(storage)
    } catch {
        try? await storage.database.close()
        throw error
    }
    try await storage.database.close()
}

func event(_ topic: String = "test", _ audience: LiveAudience = .everyone, n: Int = 0) -> NewLiveEvent {
    NewLiveEvent(topic: topic, audience: audience, payload: "{\"n\":\(n)}")
}

/// Reads `count` events, failing after `seconds`.
func take(_ count: Int, from subscription: LiveSubscription, within seconds: Double = 20) async throws -> [LiveEvent] {
    try await withThrowingTaskGroup(of: [LiveEvent]?.self) { group in
        group.addTask {
            var events: [LiveEvent] = []
            while events.count < count, let e = try await subscription.next() { events.append(e) }
            return events
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return try #require(first, "only part of \(count) events arrived within \(seconds) s")
    }
}

/// Polls until `count` subscriptions receive live events, failing after 10 s.
func waitUntilLive(_ bus: EventBus, count: Int) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while case let live = await bus.subscriberCount, live < count {
        try #require(ContinuousClock.now < deadline, "only \(live) of \(count) subscriptions went live")
        try await Task.sleep(for: .milliseconds(10))
    }
}

let supervisor = LiveViewer(role: .supervisor, userID: 1)
let agent = LiveViewer(role: .agent, userID: 7)

@Suite("Event bus")
struct EventBusTests {
    @Test("a subscriber that joins while many publish concurrently sees a gapless, strictly increasing sequence")
    func catchUpRacesLiveDelivery() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            let publishers = 8, perPublisher = 40
            let subscription = try await withThrowingTaskGroup(of: LiveSubscription?.self) { group in
                for p in 0..<publishers {
                    group.addTask {
                        for i in 0..<perPublisher { try await bus.publish([event(n: p * 1000 + i)]) }
                        return nil
                    }
                }
                // Subscribe from the start while the publishers run: part comes from the store, part live.
                group.addTask {
                    try await Task.sleep(for: .milliseconds(20))
                    return try await bus.subscribe(after: 0, viewer: supervisor)
                }
                var found: LiveSubscription?
                for try await result in group { if let result { found = result } }
                return try #require(found)
            }
            let seen = try await take(publishers * perPublisher, from: subscription)
            #expect(seen.map(\.seq) == Array(1...Int64(publishers * perPublisher)))
            // Nothing more: the next event is the one published now.
            let marker = try await bus.publish([event("marker")])
            let next = try await take(1, from: subscription)
            #expect(next.map(\.seq) == marker.map(\.seq))
        }
    }

    @Test("subscribers joining at different points each see every later event exactly once, in order")
    func manySubscribersJoiningDuringPublishing() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            let total = 200
            let results = try await withThrowingTaskGroup(of: (Int64, [Int64])?.self) { group in
                group.addTask {
                    for i in 0..<total { try await bus.publish([event(n: i)]) }
                    return nil
                }
                for joiner in 0..<6 {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(5 * joiner))
                        let after = try await storage.liveEvents.latestSeq()
                        let subscription = try await bus.subscribe(after: after, viewer: nil)
                        let events = try await take(total - Int(after), from: subscription)
                        return (after, events.map(\.seq))
                    }
                }
                var results: [(Int64, [Int64])] = []
                for try await result in group { if let result { results.append(result) } }
                return results
            }
            #expect(results.count == 6)
            for (after, seqs) in results {
                #expect(seqs == Array((after + 1)...Int64(total)), "joined after \(after)")
            }
        }
    }

    @Test("an agent receives neither staff-only events nor another user's; a viewer's catch-up skips them too")
    func audienceFiltering() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            try await bus.publish([event("staff", .staff), event("mine", .users([7])), event("theirs", .users([8])),
                                   event("all", .everyone)])
            let catchingUp = try await bus.subscribe(after: 0, viewer: agent)
            let live = try await bus.subscribe(after: nil, viewer: agent)
            try await bus.publish([event("staff", .staff), event("agents", .roles([.agent])), event("theirs", .users([8]))])
            #expect(try await take(3, from: catchingUp).map(\.topic) == ["mine", "all", "agents"])
            #expect(try await take(1, from: live).map(\.topic) == ["agents"])
            let staff = try await bus.subscribe(after: 0, viewer: supervisor)
            #expect(try await take(3, from: staff).map(\.topic) == ["staff", "all", "staff"])
        }
    }

    @Test("an agent whose catch-up finds only events it may not see still goes live")
    func catchUpPastInvisibleEvents() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            for _ in 0..<5 { try await bus.publish([event("staff", .staff)]) }
            let subscription = try await bus.subscribe(after: 1, viewer: agent)
            async let next = take(1, from: subscription)
            // Once it is live, publish one it may see.
            try await waitUntilLive(bus, count: 1)
            let seen = try await bus.publish([event("all")])
            #expect(try await next.map(\.seq) == seen.map(\.seq))
        }
    }

    @Test("a client whose sequence number predates what is kept, or that this database never issued, must resync")
    func resync() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            let old = Date().addingTimeInterval(-7200)
            try await bus.publish((0..<3).map { _ in NewLiveEvent(at: old, topic: "old", audience: .everyone) })
            try await bus.publish([event("new"), event("new")])
            #expect(try await storage.liveEvents.deleteOlder(than: Date().addingTimeInterval(-3600)) == 3)
            let stale = try await bus.subscribe(after: 1, viewer: nil)
            #expect(stale.resync && stale.startSeq == 5)
            let current = try await bus.subscribe(after: 3, viewer: nil)
            #expect(!current.resync && current.startSeq == 3)
            #expect(try await take(2, from: current).map(\.seq) == [4, 5])
            let foreign = try await bus.subscribe(after: 99, viewer: nil)
            #expect(foreign.resync && foreign.startSeq == 5)
            let fresh = try await bus.subscribe(after: nil, viewer: nil)
            #expect(!fresh.resync && fresh.startSeq == 5)
        }
    }

    @Test("a subscriber that stops reading fails with tooSlow, its overflow handler runs, and others are unaffected")
    func slowSubscriber() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            let slow = try await bus.subscribe(after: nil, viewer: nil, bufferLimit: 5)
            let fast = try await bus.subscribe(after: nil, viewer: nil, bufferLimit: 100)
            // Both go live once they have read the (empty) store: wait for that, then one event each.
            async let firstOfSlow = take(1, from: slow)
            async let firstOfFast = take(1, from: fast)
            try await waitUntilLive(bus, count: 2)
            try await bus.publish([event()])
            _ = try await (firstOfSlow, firstOfFast)
            let overflowed = Flag()
            slow.onOverflow { overflowed.set() }
            for i in 0..<10 { try await bus.publish([event(n: i)]) }
            #expect(overflowed.isSet)
            await #expect(throws: LiveSubscriptionError.tooSlow) { try await slow.next() }
            #expect(try await take(10, from: fast).count == 10)
        }
    }

    @Test("events another node commits reach this node's subscribers through the transport")
    func otherNodes() async throws {
        try await withStorage { storage in
            let wire = FakeWire()
            let nodeA = try await EventBus(store: storage.liveEvents, transport: wire.endpoint())
            let nodeB = try await EventBus(store: storage.liveEvents, transport: wire.endpoint())
            let following = Task { await nodeB.followOtherNodes() }
            defer { following.cancel() }
            let onB = try await nodeB.subscribe(after: nil, viewer: nil)
            let onA = try await nodeA.subscribe(after: nil, viewer: nil)
            try await nodeA.publish([event("a1"), event("a2")])
            try await nodeB.publish([event("b1")])
            try await nodeA.publish([event("a3")])
            #expect(try await take(4, from: onB).map(\.topic) == ["a1", "a2", "b1", "a3"])
            #expect(try await take(4, from: onA).map(\.topic) == ["a1", "a2", "b1", "a3"])
            wire.finish()
        }
    }

    @Test("the coalescer publishes the first event of a key at once and merges the rest of the interval into one")
    func coalescing() async throws {
        try await withStorage { storage in
            let bus = try await EventBus(store: storage.liveEvents)
            // Long enough that the 20 publishes below always fall inside one interval, even on a loaded machine.
            let coalescer = LiveEventCoalescer(bus: bus, interval: .seconds(4), logger: Logger(label: "test"))
            let running = Task { try await coalescer.run() }
            defer { running.cancel() }
            for i in 1...20 { await coalescer.publish(key: "dialer:1", event("dialer.progress", n: i)) }
            await coalescer.publish(key: "dialer:2", event("dialer.progress", n: 100))
            // The trailing event of dialer 1 carries the last payload; poll for it with a deadline.
            let deadline = ContinuousClock.now + .seconds(15)
            var stored: [LiveEvent] = []
            while ContinuousClock.now < deadline {
                stored = try await storage.liveEvents.events(after: 0, visibleTo: nil, limit: 100)
                if stored.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            // Keys are independent, so dialer 2's event may come before or after dialer 1's first; within dialer 1
            // the first payload goes at once and the merged trailing one carries the last.
            let payloads = stored.map(\.payload)
            #expect(payloads.count == 3)
            #expect(Set(payloads) == ["{\"n\":1}", "{\"n\":100}", "{\"n\":20}"])
            #expect((payloads.firstIndex(of: "{\"n\":1}") ?? 9) < (payloads.firstIndex(of: "{\"n\":20}") ?? 0))
        }
    }
}

final class Flag: Sendable {
    private let box = Mutexed(false)
    func set() { box.set(true) }
    var isSet: Bool { box.get() }
}

final class Mutexed<T: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func get() -> T { lock.withLock { value } }
    func set(_ newValue: T) { lock.withLock { value = newValue } }
    func update(_ body: (inout T) -> Void) { lock.withLock { body(&value) } }
}

/// An in-memory stand-in for LISTEN/NOTIFY: every endpoint hears every announcement.
final class FakeWire: Sendable {
    private let listeners = Mutexed<[AsyncStream<Int64>.Continuation]>([])

    struct Endpoint: LiveEventTransport {
        let wire: FakeWire
        let stream: AsyncStream<Int64>
        func announce(upTo seq: Int64) async { wire.broadcast(seq) }
        func announcements() -> AsyncStream<Int64> { stream }
    }

    func endpoint() -> Endpoint {
        let (stream, continuation) = AsyncStream.makeStream(of: Int64.self)
        listeners.update { $0.append(continuation) }
        return Endpoint(wire: self, stream: stream)
    }

    func broadcast(_ seq: Int64) { for listener in listeners.get() { listener.yield(seq) } }
    func finish() { for listener in listeners.get() { listener.finish() } }
}
