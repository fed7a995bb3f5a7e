import Foundation
import GRDB

/// Copies the write-ahead log into the database file in the background, on a connection of its own.
///
/// SQLite's default runs a checkpoint inside whichever commit crosses 1,000 WAL pages: that commit then
/// copies all of them and syncs the database file while every other writer waits behind it. Here automatic
/// checkpoints are off and this task runs a PASSIVE checkpoint every 200 ms, which takes no writer lock
/// (commits go on appending to the WAL meanwhile). Under a steady stream of commits such a checkpoint never
/// catches up with the end of the WAL, and SQLite rewinds the WAL only once everything in it is copied and
/// no reader is behind; so when the WAL holds more than `rewindFrames` pages, a RESTART checkpoint runs under
/// the database's write lock: by then only the pages of the last 200 ms are left to copy, and the next commit
/// starts the WAL over. The WAL thus stays within `rewindFrames` plus 200 ms of writes.
/// Crash safety is SQLite's either way: committed transactions are in the WAL until copied.
final class WALCheckpointer: Sendable {
    private let queue: DatabaseQueue
    private let task: Task<Void, Never>
    static let interval: Duration = .milliseconds(200)
    /// About 4 MB of 4 kB pages, SQLite's own automatic checkpoint threshold.
    static let rewindFrames = 1000

    init(path: String, writeLock: AsyncLock) throws {
        var config = Configuration()
        config.busyMode = .timeout(1)
        let queue = try DatabaseQueue(path: path, configuration: config)
        self.queue = queue
        task = Task.detached(priority: .utility) {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.interval)
                guard let (log, _) = try? await Self.checkpoint(queue, "PASSIVE") else { continue }
                if log >= Self.rewindFrames {
                    _ = try? await writeLock.withLock { try await Self.checkpoint(queue, "RESTART") }
                }
            }
        }
    }

    /// A checkpoint (`PASSIVE` or `RESTART`): the WAL's size and how much of it is now in the database, in pages.
    private static func checkpoint(_ queue: DatabaseQueue, _ mode: String) async throws -> (log: Int, copied: Int) {
        try await queue.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(\(mode))")
            return (row?[1] ?? 0, row?[2] ?? 0)
        }
    }

    /// Stops the background checkpoints and closes the connection (the last connection to close
    /// checkpoints what is left).
    func stop() async {
        task.cancel()
        _ = await task.value
        try? queue.close()
    }
}
