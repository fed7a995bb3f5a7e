import Foundation
import Logging
import PostgresNIO
import SMSLive
import SMSStore

/// Live events across nodes sharing one PostgreSQL database, with `LISTEN`/`NOTIFY`.
///
/// The events themselves stay in `live_events`; a notification on `smsdesk_live` carries only the
/// newest committed sequence number (a few bytes, far below NOTIFY's 8 kB payload limit), and each
/// node's `EventBus` reads what it has not delivered from the store. Appends commit in sequence
/// order across nodes (`pg_advisory_xact_lock` in `LiveEventStore.append`), so "up to N" is enough.
///
/// - `announce(upTo:)` only records the number: a background sender sends `pg_notify` with the
///   newest one, so a burst of publishes costs one notification per round trip, and a publisher
///   never waits for it.
/// - `announcements()` runs, until the stream is dropped: that sender; a dedicated `LISTEN`
///   connection (taken from the pool for as long as it lives), checked with a `SELECT 1` every
///   `healthCheck`, re-established after any failure (a dropped connection, a restarted server, an
///   unanswered check) and followed each time by a read of the newest sequence number, so nothing
///   committed while it was down is missed; and a safety poll of the newest sequence number every
///   `safetyPoll`, which also covers events appended by processes that do not notify (the CLI) or a
///   lost notification.
public final class PostgresLiveEventTransport: LiveEventTransport {
    public static let channel = "smsdesk_live"

    let database: PostgresDatabase
    let safetyPoll: Duration
    let retryDelay: Duration
    let healthCheck: Duration
    let logger: Logger
    private let outgoing: AsyncStream<Int64>
    private let outgoingContinuation: AsyncStream<Int64>.Continuation

    public init(database: PostgresDatabase, safetyPoll: Duration = .seconds(2), retryDelay: Duration = .milliseconds(500),
                healthCheck: Duration = .seconds(30), logger: Logger) {
        self.database = database
        self.safetyPoll = safetyPoll
        self.retryDelay = retryDelay
        self.healthCheck = healthCheck
        self.logger = logger
        (outgoing, outgoingContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func announce(upTo seq: Int64) async {
        outgoingContinuation.yield(seq)
    }

    /// Meant to be consumed once, by the node's `EventBus` (it also runs the sender of `announce`).
    public func announcements() -> AsyncStream<Int64> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            // Every number is passed on, repeated ones too: after a failed read of the store (the database
            // restarting), the bus catches up at the next one, e.g. the poll's.
            let heard = continuation
            let task = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.sendAnnouncements() }
                    group.addTask { await self.listen(heard) }
                    group.addTask { await self.poll(heard) }
                    await group.waitForAll()
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: the three loops

    /// Sends the newest announced number, one `pg_notify` at a time.
    private func sendAnnouncements() async {
        var sent: Int64 = 0
        for await seq in outgoing where seq > sent {
            do {
                try await database.query("SELECT pg_notify(\(Self.channel), \(String(seq)))")
                sent = seq
            } catch {
                // The other nodes' safety poll finds these events anyway.
                logger.warning("live event notification not sent", metadata: ["seq": "\(seq)", "error": "\(error)"])
            }
        }
    }

    /// Listens on the channel, reconnecting after a failure; after each (re)start, reads the newest
    /// sequence number so whatever was committed meanwhile is delivered.
    private func listen(_ heard: AsyncStream<Int64>.Continuation) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        if failures > 0 { logger.info("live events: LISTEN connection re-established") }
                        failures = 0
                        heard.yield(try await database.liveEventsLatestSeq())
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                // The notification sequence does not end when its task is cancelled (stopping):
                                // closing the connection ends it, so the pool gets it back and shutdown does not wait.
                                try await withTaskCancellationHandler {
                                    for try await notification in notifications {
                                        if let seq = Int64(notification.payload) { heard.yield(seq) }
                                    }
                                } onCancel: {
                                    Task { try? await connection.close() }
                                }
                            }
                            group.addTask { try await self.checkHealth(of: connection) }
                            // Either ends the other: the sequence (connection closed) or a failed health check.
                            _ = try await group.next()
                            group.cancelAll()
                        }
                    }
                }
                if Task.isCancelled { return }
                logger.warning("live events: LISTEN connection ended; reconnecting")
            } catch {
                if Task.isCancelled { return }
                failures += 1
                // The first failure is worth a warning; a database down for long is logged once per 20 tries.
                if failures == 1 || failures % 20 == 0 {
                    logger.warning("live events: LISTEN connection lost; reconnecting",
                                   metadata: ["error": "\(Self.describe(error))", "attempt": "\(failures)"])
                }
            }
            try? await Task.sleep(for: retryDelay)
        }
    }

    /// A connection that only listens sends nothing: a peer gone without a word (a dead network path)
    /// would go unnoticed. Every `healthCheck`, a `SELECT 1` on it must answer within 10 s, else the
    /// connection is closed (and the pool discards it) and the loop reconnects.
    private func checkHealth(of connection: PostgresConnection) async throws {
        while true {
            try await Task.sleep(for: healthCheck)
            let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    _ = try await PostgresDatabase.run(connection, "SELECT 1 AS one")
                    return true
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    // Closing fails the hung query too (the group waits for it before returning).
                    try? await connection.close()
                    return false
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !answered { throw StoreError.database("the LISTEN connection did not answer a health check within 10 s") }
        }
    }

    /// Reads the newest sequence number every `safetyPoll`.
    private func poll(_ heard: AsyncStream<Int64>.Continuation) async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: safetyPoll) } catch { return }
            if let seq = try? await database.liveEventsLatestSeq() { heard.yield(seq) }
        }
    }

    /// PSQLError's own description hides everything; its code and the server's message are safe to log.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        return [error.code.description, error.serverInfo?[.message]].compactMap { $0 }.joined(separator: ": ")
    }
}

extension PostgresDatabase {
    func liveEventsLatestSeq() async throws -> Int64 {
        try await query("SELECT MAX(seq) AS seq FROM live_events").first?.optionalInt("seq") ?? 0
    }
}
