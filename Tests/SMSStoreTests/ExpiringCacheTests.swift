import Foundation
import SMSStore
import Testing

@Suite("ExpiringCache")
struct ExpiringCacheTests {
    final class Loads: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func next() -> Int { lock.withLock { count += 1; return count } }
    }

    @Test("a value is loaded once within its lifetime, again after it, and at once after removeAll; keys are separate")
    func lifetime() async throws {
        let cache = ExpiringCache<Int, Int>(lifetime: .milliseconds(200))
        let loads = Loads()
        #expect(await cache.value(1) { loads.next() } == 1)
        #expect(await cache.value(1) { loads.next() } == 1, "cached")
        #expect(await cache.value(2) { loads.next() } == 2, "another key loads")
        try await Task.sleep(for: .milliseconds(250))
        #expect(await cache.value(1) { loads.next() } == 3, "expired: loaded again")
        cache.removeAll()
        #expect(await cache.value(1) { loads.next() } == 4, "forgotten: loaded again")
    }

    @Test("a failed load caches nothing")
    func failedLoad() async throws {
        struct Failure: Error {}
        let cache = ExpiringCache<Int, Int>(lifetime: .seconds(60))
        await #expect(throws: Failure.self) { try await cache.value(1) { throw Failure() } }
        #expect(await cache.value(1) { 7 } == 7)
    }

    @Test("beyond its capacity the cache starts over instead of growing")
    func capacity() async throws {
        let cache = ExpiringCache<Int, Int>(lifetime: .seconds(60), capacity: 3)
        let loads = Loads()
        for key in 0..<3 { _ = await cache.value(key) { loads.next() } }
        _ = await cache.value(3) { loads.next() }  // the fourth key empties the cache first
        #expect(await cache.value(0) { loads.next() } == 5, "an early key was dropped and is loaded again")
    }
}
