import Crypto
import Foundation
import SMSStore
import Testing

/// Retention (issue 8 item 5): what is deleted or anonymised after N days, and what never is.
enum RetentionCases {
    static let all: [ConformanceCase] = [
        .init(name: "retention: the policy is stored, keep is the default, and a policy without days is refused naming days",
              run: policyStored),
        .init(name: "retention: delete removes finished spool messages, their history, closed conversations, unrouted messages and reports older than the cutoff only",
              run: deleteOld),
        .init(name: "retention: anonymise empties old texts and hashes numbers (equal numbers equal), keeps counts, DNCR and search of kept rows; a second run changes nothing",
              run: anonymiseOld),
        .init(name: "retention: one caller per day claims the daily run", run: dailyClaim),
        .init(name: "retention: finished webhook deliveries older than the cutoff go, with their attempts, in either mode",
              run: webhookDeliveries),
    ]

    static let t0 = ConversationCases.t0
    static func day(_ n: Double) -> Date { t0.addingTimeInterval(n * 86_400) }
    /// "Now" of every run: 100 days after t0; with 30 days the cutoff is day 70.
    static let now = day(100)
    static let pseudonym = NumberPseudonym(key: SymmetricKey(data: Data(repeating: 7, count: 32)))

    struct World {
        var oldSpool: [Int64]       // delivered/failed at day 0: two to +59899000001, one to +59899000002
        var pendingOldSpool: Int64  // to_process since day 0: kept
        var openReply: Int64        // delivered at day 0, a reply in the conversation still open: kept
        var newSpool: Int64         // delivered at day 90
        var oldClosed: Int64        // +59899000001, closed at day 1
        var oldOpen: Int64          // +59899000004, opened at day 0, still open: kept
        var recent: Int64           // +59899000003 at day 90
        var oldUnrouted: Int64
        var newUnrouted: Int64
        var oldReport: Int64
        var newReport: Int64
        var oldSpoolEvents: Int
        var oldClosedMessages: Int
    }

    static func world(_ storage: Storage) async throws -> World {
        let f = try await ConversationCases.fixture(storage, name: "Ventas", agents: 1)
        let provider = try await storage.providers.create(ConformanceCases.provider("retention"))
        func enqueue(_ number: String, _ text: String, at: Date, state: String, conversation: Int64? = nil) async throws -> Int64 {
            let id = try #require(try await storage.spool.enqueue(
                [NewSpoolMessage(campaignID: f.campaign.id, destination: number, message: text, extra: "ref=\(text)", source: .api,
                                 conversationID: conversation)], at: at).first)
            try await storage.database.query("UPDATE spool SET state = \(state), created_at = \(at) WHERE id = \(id)")
            return id
        }
        let old = [try await enqueue("+59899000001", "Tu código es 1234", at: t0, state: "delivered"),
                   try await enqueue("+59899000001", "Recordatorio de pago", at: t0, state: "failed"),
                   try await enqueue("+59899000002", "Hola Ana", at: t0, state: "sent")]
        let pending = try await enqueue("+59899000005", "en espera", at: t0, state: "to_process")
        let fresh = try await enqueue("+59899000001", "Mensaje nuevo", at: day(90), state: "delivered")
        let events = try await storage.database.queryFirst("SELECT COUNT(*) AS n FROM spool_events WHERE spool_id IN \(list: old)")?.int("n") ?? 0

        let closed = try ConversationCases.conversation(try await ConversationCases.deliver(storage, f, from: "+59899000001", text: "quiero pagar", at: t0))
        _ = try await ConversationCases.deliver(storage, f, from: "+59899000001", text: "mi cuenta 555", at: t0.addingTimeInterval(60))
        _ = try await storage.conversations.close(conversationID: closed.id, agentID: nil, reason: "ok", at: day(1))
        let open = try ConversationCases.conversation(try await ConversationCases.deliver(storage, f, from: "+59899000004", text: "sigo aquí", at: t0))
        let openReply = try await enqueue("+59899000004", "te respondo", at: t0, state: "delivered", conversation: open.id)
        let recent = try ConversationCases.conversation(try await ConversationCases.deliver(storage, f, from: "+59899000003", text: "hola de nuevo", at: day(90)))
        let closedMessages = try await storage.database.queryFirst("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = \(closed.id)")?.int("n") ?? 0

        let oldUnrouted = try #require(try await storage.inbound.record(InboundMessage(
            providerID: provider.id, providerMessageID: "U1", from: "+59899000001", to: "+59820009999", body: "¿quién es?", receivedAt: t0)))
        let newUnrouted = try #require(try await storage.inbound.record(InboundMessage(
            providerID: provider.id, providerMessageID: "U2", from: "+59899000006", to: "+59820009999", body: "hola", receivedAt: day(95))))
        let oldReport = try #require(try await storage.inbound.record(DeliveryReportRecord(
            providerID: provider.id, providerMessageID: "R1", outcome: "delivered", detail: "handset +59899000001", reportedAt: t0, receivedAt: t0)))
        let newReport = try #require(try await storage.inbound.record(DeliveryReportRecord(
            providerID: provider.id, providerMessageID: "R2", outcome: "delivered", detail: "handset", reportedAt: day(99), receivedAt: day(99))))
        _ = try await storage.dncr.add([DNCREntry(number: "+59899000001", campaignID: nil, source: "test", createdAt: t0)])
        return World(oldSpool: old, pendingOldSpool: pending, openReply: openReply, newSpool: fresh, oldClosed: closed.id, oldOpen: open.id, recent: recent.id,
                     oldUnrouted: oldUnrouted.id, newUnrouted: newUnrouted.id, oldReport: oldReport.id, newReport: newReport.id,
                     oldSpoolEvents: Int(events), oldClosedMessages: Int(closedMessages))
    }

    static func ids(_ storage: Storage, _ table: String) async throws -> Set<Int64> {
        Set(try await storage.database.query(SQL(unsafeRaw: "SELECT id FROM \(table)")).map { try $0.int("id") })
    }

    static func apply(_ storage: Storage, _ mode: RetentionMode, dryRun: Bool = false) async throws -> RetentionReport {
        // A batch of 2 makes every step take several transactions.
        try await storage.retention.apply(RetentionPolicy(mode: mode, days: 30), now: now, pseudonym: pseudonym, batchSize: 2, dryRun: dryRun)
    }

    // MARK: cases

    static func policyStored(_ storage: Storage) async throws {
        #expect(try await storage.retention.policy() == .keepEverything)
        try await storage.retention.setPolicy(RetentionPolicy(mode: .anonymise, days: 90))
        #expect(try await storage.retention.policy() == RetentionPolicy(mode: .anonymise, days: 90))
        await #expect(throws: RetentionPolicyError(field: "days", message: "days is required when mode is delete")) {
            try await storage.retention.setPolicy(RetentionPolicy(mode: .delete))
        }
        await #expect(throws: RetentionPolicyError.self) { try await storage.retention.setPolicy(RetentionPolicy(mode: .delete, days: 0)) }
        #expect(try await storage.retention.policy() == RetentionPolicy(mode: .anonymise, days: 90), "a refused policy changes nothing")
        let keep = try await storage.retention.apply(.keepEverything, now: now, pseudonym: pseudonym, batchSize: 10, dryRun: false)
        #expect(keep.cutoff == nil && keep.countsSummary == RetentionReport(mode: .keep, days: nil, cutoff: nil, at: now, dryRun: false).countsSummary)
        #expect(try await storage.retention.lastReport() == nil)
        var report = RetentionReport(mode: .delete, days: 30, cutoff: day(70), at: now, dryRun: false)
        report.spool = 3
        try await storage.retention.recordReport(report)
        #expect(try await storage.retention.lastReport() == report)
    }

    static func deleteOld(_ storage: Storage) async throws {
        let w = try await world(storage)
        let spoolBefore = try await ids(storage, "spool"), messagesBefore = try await ids(storage, "messages")
        let dry = try await apply(storage, .delete, dryRun: true)
        #expect(dry.spool == 3 && dry.spoolEvents == w.oldSpoolEvents && dry.conversations == 1)
        #expect(dry.messages == w.oldClosedMessages + 1 && dry.deliveryReports == 1)
        let spoolAfterDry = try await ids(storage, "spool"), messagesAfterDry = try await ids(storage, "messages")
        #expect(spoolAfterDry == spoolBefore && messagesAfterDry == messagesBefore, "a dry run changes nothing")

        let report = try await apply(storage, .delete)
        #expect(report.cutoff == day(70))
        #expect(report.spool == 3 && report.spoolEvents == w.oldSpoolEvents && w.oldSpoolEvents >= 3)
        #expect(report.conversations == 1 && report.messages == w.oldClosedMessages + 1 && w.oldClosedMessages == 2)
        #expect(report.deliveryReports == 1)
        #expect(try await ids(storage, "spool") == [w.pendingOldSpool, w.openReply, w.newSpool])
        #expect(try await storage.spool.history(id: w.oldSpool[0]).isEmpty)
        #expect(try await !storage.spool.history(id: w.newSpool).isEmpty)
        #expect(try await ids(storage, "conversations") == [w.oldOpen, w.recent])
        let messages = try await ids(storage, "messages")
        #expect(messages.contains(w.newUnrouted) && !messages.contains(w.oldUnrouted))
        #expect(try await ids(storage, "delivery_reports") == [w.newReport])
        #expect(try await storage.dncr.list(number: "+59899000001", limit: 10).count == 1, "the DNCR is never touched")
        let found = try await storage.conversations.search(ConversationSearch(number: "59899000003"), limit: 10, beforeID: nil, at: now)
        #expect(found.map(\.conversation.id) == [w.recent])
        let again = try await apply(storage, .delete)
        #expect(again.countsSummary == RetentionReport(mode: .delete, days: 30, cutoff: nil, at: now, dryRun: false).countsSummary)
    }

    static func anonymiseOld(_ storage: Storage) async throws {
        let w = try await world(storage)
        let dry = try await apply(storage, .anonymise, dryRun: true)
        #expect(dry.spool == 3 && dry.conversations == 1 && dry.messages == w.oldClosedMessages + 1 && dry.deliveryReports == 1)
        let report = try await apply(storage, .anonymise)
        #expect(report.spool == 3 && report.spoolEvents == 0 && report.conversations == 1)
        #expect(report.messages == w.oldClosedMessages + 1 && report.deliveryReports == 1)

        let one = pseudonym.pseudonym("+59899000001"), two = pseudonym.pseudonym("+59899000002")
        #expect(one.hasPrefix("anon:") && one != two && one == pseudonym.pseudonym("+59899000001"))
        #expect(one != NumberPseudonym(key: SymmetricKey(data: Data(repeating: 8, count: 32))).pseudonym("+59899000001"))
        let spool = try await storage.database.query("SELECT id, destination, message, extra FROM spool ORDER BY id")
        let byID = Dictionary(uniqueKeysWithValues: try spool.map { (try $0.int("id"), $0) })
        #expect(try w.oldSpool.map { try byID[$0]!.string("destination") } == [one, one, two])
        #expect(try w.oldSpool.allSatisfy { try byID[$0]!.string("message") == "" && byID[$0]!.optionalString("extra") == nil })
        #expect(try byID[w.newSpool]!.string("message") == "Mensaje nuevo" && byID[w.newSpool]!.string("destination") == "+59899000001")
        #expect(try byID[w.pendingOldSpool]!.string("message") == "en espera")
        #expect(try byID[w.openReply]!.string("message") == "te respondo" && byID[w.openReply]!.string("destination") == "+59899000004")
        #expect(try await storage.spool.history(id: w.oldSpool[0]).count >= 1, "anonymised messages keep their state history")
        // Counts per number still add up: the two old messages to +59899000001 share one pseudonym.
        let perNumber = try await storage.database.query(
            "SELECT destination, COUNT(*) AS n FROM spool WHERE destination LIKE 'anon:%' GROUP BY destination")
        #expect(try Dictionary(uniqueKeysWithValues: perNumber.map { (try $0.string("destination"), try $0.int("n")) }) == [one: 2, two: 1])

        let conversations = try await storage.database.query("SELECT id, client_number FROM conversations ORDER BY id")
        #expect(try conversations.map { try $0.string("client_number") } == [one, "+59899000004", "+59899000003"])
        let oldMessages = try await storage.database.query(
            "SELECT body, client_number FROM messages WHERE conversation_id = \(w.oldClosed) OR id = \(w.oldUnrouted)")
        #expect(oldMessages.count == w.oldClosedMessages + 1)
        #expect(try oldMessages.allSatisfy { try $0.string("body") == "" && $0.string("client_number") == one })
        let kept = try await storage.database.query("SELECT body FROM messages WHERE conversation_id = \(w.oldOpen) OR id = \(w.newUnrouted)")
        #expect(try kept.map { try $0.string("body") }.sorted() == ["hola", "sigo aquí"])
        let reports = try await storage.database.query("SELECT id, detail FROM delivery_reports ORDER BY id")
        #expect(try reports.map { try $0.optionalString("detail") } == [nil, "handset"])
        #expect(try await storage.dncr.list(number: "+59899000001", limit: 10).map(\.number) == ["+59899000001"], "the DNCR is never touched")

        let found = try await storage.conversations.search(ConversationSearch(number: "59899000003"), limit: 10, beforeID: nil, at: now)
        #expect(found.map(\.conversation.id) == [w.recent])
        let transcript = try await storage.conversations.transcripts(ConversationSearch(number: "59899000003"), limit: 10, beforeID: nil)
        #expect(transcript.first?.messages.map(\.body) == ["hola de nuevo"])
        #expect(try await storage.conversations.search(ConversationSearch(number: "59899000001"), limit: 10, beforeID: nil, at: now).isEmpty)

        let again = try await apply(storage, .anonymise)
        #expect(again.spool == 0 && again.conversations == 0 && again.messages == 0 && again.deliveryReports == 0, "a second run changes nothing")
    }

    static func dailyClaim(_ storage: Storage) async throws {
        async let a = storage.retention.claimDailyRun(day: "2026-11-26")
        async let b = storage.retention.claimDailyRun(day: "2026-11-26")
        async let c = storage.retention.claimDailyRun(day: "2026-11-26")
        let claims = try await [a, b, c]
        #expect(claims.filter { $0 }.count == 1)
        #expect(try await !storage.retention.claimDailyRun(day: "2026-11-26"))
        #expect(try await !storage.retention.claimDailyRun(day: "2026-11-25"))
        #expect(try await storage.retention.claimDailyRun(day: "2026-11-27"))
    }

    static func webhookDeliveries(_ storage: Storage) async throws {
        for mode in [RetentionMode.delete, .anonymise] {
            let hook = try await storage.webhooks.create(url: "https://crm.example.com/\(mode.rawValue)", events: [.messageInbound],
                                                         enabled: true, secretCiphertext: [1], at: day(0))
            var ids: [String: Int64] = [:]
            for (name, state, at) in [("oldDelivered", "delivered", day(10)), ("oldFailed", "failed", day(10)),
                                      ("oldPending", "pending", day(10)), ("newDelivered", "delivered", day(90))] {
                let row = try #require(try await storage.database.queryFirst("""
                    INSERT INTO webhook_deliveries (webhook_id, event, payload, state, attempts, created_at, expires_at)
                    VALUES (\(hook.id), 'message.inbound', '{"text":"hola","from":"+59899000001"}', \(state), 1, \(at), \(at))
                    RETURNING id
                    """))
                ids[name] = try row.int("id")
                try await storage.database.query("""
                    INSERT INTO webhook_attempts (delivery_id, at, status, duration_ms) VALUES (\(ids[name]!), \(at), 200, 5)
                    """)
            }
            let dry = try await apply(storage, mode, dryRun: true)
            #expect(dry.webhookDeliveries == 2)
            let report = try await apply(storage, mode)
            #expect(report.webhookDeliveries == 2, "\(mode)")
            let left = try await storage.database.query("SELECT id FROM webhook_deliveries WHERE webhook_id = \(hook.id)").map { try $0.int("id") }
            #expect(Set(left) == [ids["oldPending"]!, ids["newDelivered"]!], "a pending delivery and a recent one stay")
            let attempts = try await storage.database.query("""
                SELECT delivery_id FROM webhook_attempts WHERE delivery_id IN \(list: Array(ids.values))
                """).map { try $0.int("delivery_id") }
            #expect(Set(attempts) == Set(left))
        }
    }
}
