import Foundation
import SMSStore
import Testing

/// Live event cases of the conformance suite.
enum LiveEventCases {
    static let all: [ConformanceCase] = [
        .init(name: "live events: appended in order with increasing sequence numbers", run: appendAndRead),
        .init(name: "live events: a viewer reads only its audience's events", run: audience),
        .init(name: "live events: concurrent appends commit in sequence order", run: concurrentAppends),
        .init(name: "live events: pruning keeps recent events and always the newest", run: pruning),
    ]

    static let t0 = Date(millisecondsSince1970: 1_790_000_000_000)

    static func appendAndRead(_ storage: Storage) async throws {
        let store = storage.liveEvents
        #expect(try await store.latestSeq() == 0)
        #expect(try await store.oldestSeq() == nil)
        let first = try await store.append(NewLiveEvent(at: t0, topic: "dialer.progress", audience: .staff, payload: #"{"dialerId":1}"#))
        let batch = try await store.append((1...3).map {
            NewLiveEvent(at: t0.addingTimeInterval(Double($0)), topic: "t\($0)", audience: .everyone, payload: "{\"n\":\($0)}")
        })
        #expect(batch.map(\.topic) == ["t1", "t2", "t3"])
        #expect(batch.map(\.seq) == (1...3).map { first.seq + Int64($0) })
        #expect(try await store.latestSeq() == batch.last?.seq)
        #expect(try await store.oldestSeq() == first.seq)
        let all = try await store.events(after: 0, visibleTo: nil, limit: 100)
        #expect(all == [first] + batch)
        #expect(all.first?.audience == .staff && all.first?.payload == #"{"dialerId":1}"# && all.first?.at == t0)
        #expect(try await store.events(after: first.seq, visibleTo: nil, limit: 2) == Array(batch.prefix(2)))
        #expect(try await store.events(after: batch[2].seq, visibleTo: nil, limit: 10).isEmpty)
    }

    static func audience(_ storage: Storage) async throws {
        let store = storage.liveEvents
        _ = try await store.append([
            NewLiveEvent(at: t0, topic: "staff", audience: .staff),
            NewLiveEvent(at: t0, topic: "agents", audience: .roles([.agent])),
            NewLiveEvent(at: t0, topic: "user 7", audience: .users([7])),
            NewLiveEvent(at: t0, topic: "user 17", audience: .users([17])),
            NewLiveEvent(at: t0, topic: "supervisors and user 7", audience: LiveAudience(roles: [.supervisor], userIDs: [7])),
            NewLiveEvent(at: t0, topic: "everyone", audience: .everyone),
        ])
        func topics(_ viewer: LiveViewer) async throws -> [String] {
            try await store.events(after: 0, visibleTo: viewer, limit: 100).map(\.topic)
        }
        #expect(try await topics(LiveViewer(role: .agent, userID: 7)) == ["agents", "user 7", "supervisors and user 7", "everyone"])
        #expect(try await topics(LiveViewer(role: .agent, userID: 1)) == ["agents", "everyone"])
        #expect(try await topics(LiveViewer(role: .supervisor, userID: 2)) == ["staff", "supervisors and user 7", "everyone"])
        #expect(try await topics(LiveViewer(role: .integration, userID: nil)) == ["everyone"])
        let stored = try await store.events(after: 0, visibleTo: nil, limit: 100)
        #expect(stored[4].audience == LiveAudience(roles: [.supervisor], userIDs: [7]))
        #expect(stored[5].audience == .everyone)
    }

    static func concurrentAppends(_ storage: Storage) async throws {
        let store = storage.liveEvents
        // Writers append while a reader keeps reading: every read is a gapless prefix of what is finally stored.
        async let reading = readRepeatedly(store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask {
                    for i in 0..<25 {
                        _ = try await store.append(NewLiveEvent(at: t0, topic: "w\(w)", audience: .everyone, payload: "{\"i\":\(i)}"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let reads = try await reading
        let final = try await store.events(after: 0, visibleTo: nil, limit: 1000).map(\.seq)
        #expect(final.count == 100)
        #expect(final == final.sorted() && Set(final).count == 100)
        for read in reads { #expect(Array(final.prefix(read.count)) == read, "a reader saw a later event before an earlier one") }
    }

    static func readRepeatedly(_ store: any LiveEventStore) async throws -> [[Int64]] {
        var reads: [[Int64]] = []
        for _ in 0..<40 { reads.append(try await store.events(after: 0, visibleTo: nil, limit: 1000).map(\.seq)) }
        return reads
    }

    static func pruning(_ storage: Storage) async throws {
        let store = storage.liveEvents
        let old = try await store.append((0..<3).map { NewLiveEvent(at: t0.addingTimeInterval(Double($0)), topic: "old", audience: .everyone) })
        let recent = try await store.append(NewLiveEvent(at: t0.addingTimeInterval(7200), topic: "recent", audience: .everyone))
        #expect(try await store.deleteOlder(than: t0.addingTimeInterval(3600)) == 3)
        #expect(try await store.oldestSeq() == recent.seq)
        #expect(try await store.events(after: 0, visibleTo: nil, limit: 10) == [recent])
        // Even when everything is old, the newest stays: the sequence never goes back.
        #expect(try await store.deleteOlder(than: t0.addingTimeInterval(99_999)) == 0)
        #expect(try await store.latestSeq() == recent.seq)
        let next = try await store.append(NewLiveEvent(at: t0, topic: "next", audience: .everyone))
        #expect(next.seq > recent.seq && old.allSatisfy { $0.seq < next.seq })
    }
}
