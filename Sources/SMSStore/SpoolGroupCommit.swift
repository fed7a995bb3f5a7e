import Foundation

/// Group commit for single messages queued by many concurrent requests (the
/// sending API): each caller waits until its message is committed, but the
/// messages that arrive while one transaction is being written go together in
/// the next one. With one writer, a transaction costs about the same for one
/// message as for a few hundred, so under load this multiplies the accept
/// rate without weakening durability: no caller is answered before its
/// message is on disk.
///
/// When a group fails as a whole (say, one message breaks a constraint), its
/// messages are retried one by one, so one bad message fails only its own caller.
public actor SpoolGroupCommit {
    let spool: any SpoolStore
    /// Most messages written in one transaction.
    let maximumGroup: Int
    private var waiting: [(message: NewSpoolMessage, reply: CheckedContinuation<SpoolMessage, any Error>)] = []
    private var writing = false
    /// Groups written so far and messages in them (for tests and metrics).
    public private(set) var groups = 0
    public private(set) var messages = 0

    public init(spool: any SpoolStore, maximumGroup: Int = 500) {
        self.spool = spool
        self.maximumGroup = max(1, maximumGroup)
    }

    /// Queues `message` and returns it as stored, once its transaction has committed.
    public func enqueue(_ message: NewSpoolMessage) async throws -> SpoolMessage {
        try await withCheckedThrowingContinuation { reply in
            waiting.append((message, reply))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    /// Writes groups until nobody is waiting; callers arriving meanwhile join the next group.
    private func drain() async {
        while !waiting.isEmpty {
            let group = Array(waiting.prefix(maximumGroup))
            waiting.removeFirst(group.count)
            groups += 1
            messages += group.count
            let now = Date()
            do {
                let stored = try await spool.enqueueReturning(group.map(\.message), at: now)
                for (entry, message) in zip(group, stored) { entry.reply.resume(returning: message) }
            } catch where group.count > 1 {
                for entry in group {
                    do {
                        let stored = try await spool.enqueueReturning([entry.message], at: now)
                        entry.reply.resume(returning: stored[0])
                    } catch {
                        entry.reply.resume(throwing: error)
                    }
                }
            } catch {
                group[0].reply.resume(throwing: error)
            }
        }
        writing = false
    }
}
