import Foundation
import SMSStore

/// Why a subscription ended with an error.
public enum LiveSubscriptionError: Error, Equatable, CustomStringConvertible {
    /// More than the buffer limit of live events waited for the subscriber: it must reconnect and
    /// catch up from the store.
    case tooSlow

    public var description: String {
        switch self {
        case .tooSlow: "the subscriber fell too far behind the live events"
        }
    }
}

/// The events after a sequence number, for one subscriber (one consumer).
///
/// It first reads the store page by page from its start, then asks the bus to
/// switch it to live delivery. The bus agrees only if it has not delivered
/// anything past what the subscriber read (else the subscriber reads the store
/// again), and from then on every delivered event reaches the subscriber's
/// buffer. Events at or below the last one it has are dropped, so the
/// subscriber sees a strictly increasing sequence with nothing missing.
public final class LiveSubscription: @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only with `lock` held.

    /// Events before this one were not delivered (the client's `after`, or the newest event at the
    /// time of subscribing for a new client or a resync).
    public let startSeq: Int64
    /// Events after the client's `after` may have been lost: it must reload its data.
    public let resync: Bool
    public let viewer: LiveViewer?
    let bus: EventBus
    let bufferLimit: Int

    private let lock = NSLock()
    /// The last event handed to the consumer, or the start.
    private var cursor: Int64
    /// Events read from the store, not yet handed out.
    private var page: [LiveEvent] = []
    private var pageIndex = 0
    /// Every event the viewer may see up to here is in `page`.
    private var pageEnd: Int64 = 0
    private var live = false
    /// The highest sequence number put in `buffer` (or known to be covered by the store reads).
    private var lastQueued: Int64 = 0
    private var buffer: [LiveEvent] = []
    private var bufferIndex = 0
    private var waiter: CheckedContinuation<Void, Never>?
    private var failure: LiveSubscriptionError?
    private var closed = false
    private var overflowHandler: (@Sendable () -> Void)?

    init(bus: EventBus, viewer: LiveViewer?, start: Int64, resync: Bool, bufferLimit: Int) {
        self.bus = bus
        self.viewer = viewer
        startSeq = start
        cursor = start
        self.resync = resync
        self.bufferLimit = Swift.max(1, bufferLimit)
    }

    /// Runs `handler` (once, on the publisher's side) when the subscriber falls too far behind:
    /// the place to drop a connection whose writes no longer progress.
    public func onOverflow(_ handler: @escaping @Sendable () -> Void) {
        lock.withLock { overflowHandler = handler }
    }

    /// The next event, waiting for one; nil after `close()`. Throws `LiveSubscriptionError.tooSlow`,
    /// a store error, or `CancellationError`.
    public func next() async throws -> LiveEvent? {
        while true {
            try Task.checkCancellation()
            enum Step { case event(LiveEvent), end, fail(LiveSubscriptionError), readStore(Int64), wait }
            let step: Step = lock.withLock {
                if let failure { return .fail(failure) }
                if closed { return .end }
                if pageIndex < page.count {
                    let event = page[pageIndex]
                    pageIndex += 1
                    cursor = event.seq
                    if pageIndex == page.count { cursor = Swift.max(cursor, pageEnd) }
                    return .event(event)
                }
                guard live else { return .readStore(cursor) }
                while bufferIndex < buffer.count {
                    let event = buffer[bufferIndex]
                    bufferIndex += 1
                    if event.seq > cursor {
                        cursor = event.seq
                        compactBuffer()
                        return .event(event)
                    }
                }
                compactBuffer()
                return .wait
            }
            switch step {
            case .event(let event): return event
            case .end: return nil
            case .fail(let error): throw error
            case .readStore(let after):
                // The store returns only what the viewer may see: the newest sequence number read first tells
                // how far a short page covers (appends commit in sequence order).
                let horizon = try await bus.store.latestSeq()
                let events = try await bus.store.events(after: after, visibleTo: viewer, limit: EventBus.pageSize)
                let covered = events.count < EventBus.pageSize ? Swift.max(horizon, events.last?.seq ?? 0) : events.last?.seq ?? after
                if events.isEmpty {
                    let through = Swift.max(after, covered)
                    lock.withLock { cursor = Swift.max(cursor, through) }
                    // Caught up with the store: go live, unless the bus delivered past it meanwhile (read again).
                    _ = await bus.attach(self, at: through)
                } else {
                    lock.withLock {
                        page = events
                        pageIndex = 0
                        pageEnd = covered
                    }
                }
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = lock.withLock {
                            if failure != nil || closed || bufferIndex < buffer.count || Task.isCancelled { return true }
                            waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    wake()
                }
            }
        }
    }

    /// Ends the subscription: a waiting `next()` returns nil, and the bus forgets it.
    public func close() async {
        lock.withLock { closed = true }
        wake()
        await bus.detach(self)
    }

    // MARK: called by the bus (on its actor)

    func goLive(after seq: Int64) {
        lock.withLock {
            live = true
            lastQueued = Swift.max(lastQueued, seq)
        }
    }

    func offer(_ events: [LiveEvent]) {
        let overflowed: (@Sendable () -> Void)?? = lock.withLock {
            guard live, !closed, failure == nil else { return nil }
            for event in events where event.seq > lastQueued {
                lastQueued = event.seq
                if viewer.map(event.audience.includes) ?? true { buffer.append(event) }
            }
            guard buffer.count - bufferIndex > bufferLimit else { return nil }
            failure = .tooSlow
            buffer = []
            bufferIndex = 0
            return .some(overflowHandler)
        }
        wake()
        if case .some(let handler) = overflowed { handler?() }
    }

    // MARK: private

    private func wake() {
        let continuation = lock.withLock {
            let w = waiter
            waiter = nil
            return w
        }
        continuation?.resume()
    }

    /// Drops handed-out events from the front of the buffer once they are many (lock held).
    private func compactBuffer() {
        if bufferIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            bufferIndex = 0
        } else if bufferIndex > 256, bufferIndex * 2 > buffer.count {
            buffer.removeFirst(bufferIndex)
            bufferIndex = 0
        }
    }
}

extension LiveSubscription: AsyncSequence {
    public typealias Element = LiveEvent

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: LiveSubscription
        public mutating func next() async throws -> LiveEvent? { try await subscription.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }
}
