import Foundation
import SMSCore
import SMSStore
import Testing

/// Spool, DNCR, campaign and dialer cases of the conformance suite.
enum SpoolCases {
    static let all: [ConformanceCase] = [
        .init(name: "spool: enqueue keeps order and records history", run: enqueue),
        .init(name: "spool: an idempotency key queues once", run: idempotency),
        .init(name: "spool: dialers claim bulk traffic, the conversation sender claims replies; reports find their message", run: claimScopes),
        .init(name: "spool: the first state's reason is recorded per message, also mixed in one batch", run: firstReasons),
        .init(name: "spool: bulk batches of identical rows, and a batch that fails leaves nothing for the next one", run: bulkBatches),
        .init(name: "spool: group commit answers each caller with its own message; a bad one fails only its caller", run: groupCommit),
        .init(name: "spool: claim takes due messages by priority then age, once", run: claimOrder),
        .init(name: "spool: concurrent claims never share a message", run: concurrentClaims),
        .init(name: "spool: outcomes apply only under the claim's lease", run: outcomes),
        .init(name: "spool: expired leases return flagged as possible duplicates", run: leaseRecovery),
        .init(name: "spool: delivery reports, also ones that arrive before the send is recorded", run: deliveryReports),
        .init(name: "spool: counts and cancelling unprocessed messages", run: countsAndCancel),
        .init(name: "DNCR: entries for one campaign or all, blocking and removal", run: dncr),
        .init(name: "dialers: create with campaigns, update, enable, runtime state", run: dialers),
    ]

    static let t0 = Date(millisecondsSince1970: 1_790_000_000_000)

    static func campaign(_ storage: Storage, _ name: String = "Cobranzas") async throws -> CampaignRecord {
        try await storage.campaigns.create(CampaignRecord(name: name, timeZone: "America/Montevideo", schedule: "{}",
                                                          createdAt: t0, updatedAt: t0))
    }

    /// A provider and a dialer serving `campaign`, for outcomes that name them.
    static func route(_ storage: Storage, _ campaign: Int64) async throws -> (provider: Int64, dialer: Int64) {
        let provider = try await storage.providers.create(ProviderRecord(name: "p\(campaign)", type: "Simulator",
                                                                          webhookToken: "t\(campaign)", createdAt: t0, updatedAt: t0))
        let dialer = try await storage.dialers.create(DialerRecord(name: "d\(campaign)", providerID: provider.id, schedule: "{}",
                                                                   timeZone: "UTC", campaignIDs: [campaign], createdAt: t0, updatedAt: t0))
        return (provider.id, dialer.id)
    }

    static func messages(_ campaign: Int64, _ count: Int, priority: Int = 0) -> [NewSpoolMessage] {
        (0..<count).map { NewSpoolMessage(campaignID: campaign, destination: "+5989900\(String(format: "%04d", $0))",
                                          message: "Hola \($0)", priority: priority, source: .csv) }
    }

    static func enqueue(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        var batch = messages(c.id, 1000)
        batch[3].state = .invalid
        batch[3].reason = "does not match ^\\+598"
        let ids = try await storage.spool.enqueue(batch, at: t0)
        #expect(ids.count == 1000)
        #expect(ids == ids.sorted())
        let fourth = try #require(try await storage.spool.message(id: ids[3]))
        #expect(fourth.destination == batch[3].destination)
        #expect(fourth.state == .invalid)
        #expect(fourth.errorText == "does not match ^\\+598")
        let history = try await storage.spool.history(id: ids[0])
        #expect(history.map(\.to) == [.toProcess])
        #expect(history.first?.reason == "queued (csv)")
        #expect(try await storage.spool.counts(campaignID: c.id)[.toProcess] == 999)
    }

    static func bulkBatches(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        // Every column the same in every row (SQLite stages one column and binds the others once).
        let same = Array(repeating: NewSpoolMessage(campaignID: c.id, destination: "+59899000001", message: "Hola", source: .csv),
                         count: 40)
        let ids = try await storage.spool.enqueue(same, at: t0)
        #expect(ids.count == 40 && Set(ids).count == 40 && ids == ids.sorted())
        for id in [ids[0], ids[39]] {
            let stored = try #require(try await storage.spool.message(id: id))
            #expect(stored.destination == "+59899000001" && stored.message == "Hola" && stored.state == .toProcess)
            #expect(try await storage.spool.history(id: id).map(\.reason) == ["queued (csv)"])
        }
        // Texts as written, whatever they hold (PostgreSQL's batch travels as JSON).
        let texts = ["comillas \" y barra \\ y \\u0041", "línea\nnueva\ty\r", "\u{1}\u{1F}\u{7F}fin", "emoji 😀 y ü",
                     "\u{2028}\u{2029}", "", "{\"json\": [1, 2]}", "null", "1e5"]
        var odd = (0..<20).map { NewSpoolMessage(campaignID: c.id, destination: "+5989900\(String(format: "%04d", $0))",
                                                 message: texts[$0 % texts.count], priority: $0 % 3, source: .api) }
        odd[4].extra = "{\"ref\": \"A\\\"1\"}"
        let stored = try await storage.spool.enqueueReturning(odd, at: t0)
        #expect(stored.map(\.message) == odd.map(\.message))
        #expect(stored.map(\.priority) == odd.map(\.priority))
        #expect(stored[4].extra == odd[4].extra && stored[5].extra == nil)
        #expect(try await storage.spool.history(id: stored[19].id).map(\.reason) == ["queued (api)"])
        // A batch refused by a unique key (an idempotency key used twice in it) queues nothing, and the
        // next batch is stored alone: nothing of the refused one comes along.
        var keyed = messages(c.id, 30)
        keyed[5].idempotencyKey = "k-1"
        keyed[17].idempotencyKey = "k-1"
        await #expect(throws: StoreError.self) { try await storage.spool.enqueue(keyed, at: t0) }
        #expect(try await storage.spool.counts(campaignID: c.id)[.toProcess] == 60)
        let next = try await storage.spool.enqueueReturning(messages(c.id, 20), at: t0)
        #expect(next.map(\.destination) == messages(c.id, 20).map(\.destination))
        #expect(try await storage.spool.counts(campaignID: c.id)[.toProcess] == 80)
    }

    static func firstReasons(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        var batch = messages(c.id, 6)
        batch[1].state = .invalid
        batch[1].reason = "does not match ^\\+598"
        batch[2].state = .held
        batch[2].reason = "held for review"
        batch[4].source = .api
        let stored = try await storage.spool.enqueueReturning(batch, at: t0)
        #expect(stored.map(\.destination) == batch.map(\.destination))
        #expect(stored.map(\.state) == [.toProcess, .invalid, .held, .toProcess, .toProcess, .toProcess])
        var reasons: [String?] = []
        for message in stored { reasons.append(try await storage.spool.history(id: message.id).first?.reason) }
        #expect(reasons == ["queued (csv)", "does not match ^\\+598", "held for review", "queued (csv)", "queued (api)", "queued (csv)"])
        // A batch of default reasons only (the bulk path's single statement on SQLite).
        let plain = try await storage.spool.enqueueReturning(messages(c.id, 3), at: t0)
        for message in plain { #expect(try await storage.spool.history(id: message.id).map(\.reason) == ["queued (csv)"]) }
    }

    static func groupCommit(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let commits = SpoolGroupCommit(spool: storage.spool, maximumGroup: 64)
        // Two callers use one idempotency key: whichever group holds both fails as a whole, and then
        // exactly one of them succeeds on the one-by-one retry.
        let results = await withTaskGroup(of: (Int, Result<SpoolMessage, any Error>).self) { group in
            for i in 0..<300 {
                group.addTask {
                    var m = NewSpoolMessage(campaignID: c.id, destination: "+5989910\(String(format: "%04d", i))",
                                            message: "Hola \(i)", source: .api)
                    if i == 17 || i == 18 { m.idempotencyKey = "same-key" }
                    do { return (i, .success(try await commits.enqueue(m))) } catch { return (i, .failure(error)) }
                }
            }
            var all: [Int: Result<SpoolMessage, any Error>] = [:]
            for await (i, result) in group { all[i] = result }
            return all
        }
        var ids = Set<Int64>()
        var failures = 0
        for (i, result) in results {
            switch result {
            case .success(let message):
                #expect(message.destination == "+5989910\(String(format: "%04d", i))")
                #expect(message.message == "Hola \(i)")
                #expect(message.state == .toProcess)
                ids.insert(message.id)
            case .failure:
                #expect(i == 17 || i == 18)
                failures += 1
            }
        }
        #expect(failures == 1)
        #expect(ids.count == 299)
        #expect(try await storage.spool.counts(campaignID: c.id)[.toProcess] == 299)
        let groups = await commits.groups
        #expect(groups < 300, "concurrent callers should have shared transactions")
    }

    static func claimScopes(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        var batch = messages(c.id, 4)
        batch[1].source = .agent
        batch[1].priority = 100
        batch[2].source = .autoReply
        batch[3].source = .optOutConfirmation
        let ids = try await storage.spool.enqueue(batch, at: t0)
        let lease = t0.addingTimeInterval(60)
        let bulk = try await storage.spool.claim(campaignIDs: [c.id], scope: .bulk, limit: 10, owner: "d", leaseUntil: lease, now: t0)
        #expect(bulk.map(\.id) == [ids[0]])
        let replies = try await storage.spool.claim(campaignIDs: [c.id], scope: .conversations, limit: 10, owner: "c", leaseUntil: lease, now: t0)
        #expect(replies.map(\.id) == [ids[1], ids[2], ids[3]], "priority first, then age")
        let (provider, dialer) = try await route(storage, c.id)
        #expect(try await storage.spool.record([.sent(id: ids[1], dialerID: nil, providerID: provider, providerMessageID: "SM-R1", port: nil)],
                                               owner: "c", at: t0) == 1)
        #expect(try await storage.spool.record([.sent(id: ids[0], dialerID: dialer, providerID: provider, providerMessageID: "SM-B1", port: nil)],
                                               owner: "d", at: t0) == 1)
        let found = try #require(try await storage.spool.message(providerID: provider, providerMessageID: "SM-R1"))
        #expect(found.id == ids[1] && found.dialerID == nil && found.state == .sent)
        #expect(try await storage.spool.message(providerID: provider, providerMessageID: "SM-B1")?.dialerID == dialer)
        #expect(try await storage.spool.message(providerID: provider, providerMessageID: "nope") == nil)
    }

    static func idempotency(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        var m = messages(c.id, 1)[0]
        m.idempotencyKey = "order-4711"
        m.source = .api
        let (first, created) = try await storage.spool.enqueueOnce(m, at: t0)
        #expect(created)
        var again = m
        again.message = "different text"
        let (second, createdAgain) = try await storage.spool.enqueueOnce(again, at: t0)
        #expect(!createdAgain)
        #expect(second.id == first.id)
        #expect(second.message == m.message)
        #expect(try await storage.spool.counts(campaignID: c.id)[.toProcess] == 1)
    }

    static func claimOrder(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let other = try await campaign(storage, "Otra")
        let low = try await storage.spool.enqueue(messages(c.id, 3, priority: 1), at: t0)
        let high = try await storage.spool.enqueue(messages(c.id, 2, priority: 5), at: t0)
        var later = messages(c.id, 1, priority: 9)[0]
        later.notBefore = t0.addingTimeInterval(3600)
        _ = try await storage.spool.enqueue([later], at: t0)
        _ = try await storage.spool.enqueue(messages(other.id, 2, priority: 9), at: t0)
        let lease = t0.addingTimeInterval(60)
        let first = try await storage.spool.claim(campaignIDs: [c.id], limit: 4, owner: "n1", leaseUntil: lease, now: t0)
        #expect(first.map(\.id) == high + low.prefix(2))
        #expect(first.allSatisfy { $0.state == .sending && $0.leaseOwner == "n1" && $0.attempts == 1 })
        let second = try await storage.spool.claim(campaignIDs: [c.id], limit: 10, owner: "n1", leaseUntil: lease, now: t0)
        #expect(second.map(\.id) == [low[2]])
        #expect(try await storage.spool.claim(campaignIDs: [c.id], limit: 10, owner: "n1", leaseUntil: lease, now: t0).isEmpty)
        let due = try await storage.spool.claim(campaignIDs: [c.id], limit: 10, owner: "n1", leaseUntil: lease,
                                                now: t0.addingTimeInterval(3601))
        #expect(due.count == 1)
        #expect(try await storage.spool.history(id: high[0]).map(\.to) == [.toProcess, .sending])
    }

    static func concurrentClaims(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        _ = try await storage.spool.enqueue(messages(c.id, 600), at: t0)
        let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for node in 0..<6 {
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let batch = try await storage.spool.claim(campaignIDs: [c.id], limit: 25, owner: "node\(node)",
                                                                  leaseUntil: t0.addingTimeInterval(60), now: t0)
                        if batch.isEmpty { return mine }
                        mine += batch.map(\.id)
                    }
                }
            }
            var all: [Int64] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(claimed.count == 600)
        #expect(Set(claimed).count == 600)
    }

    static func outcomes(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let (p, d) = try await route(storage, c.id)
        let ids = try await storage.spool.enqueue(messages(c.id, 5), at: t0)
        _ = try await storage.spool.claim(campaignIDs: [c.id], limit: 5, owner: "n1", leaseUntil: t0.addingTimeInterval(60), now: t0)
        let t1 = t0.addingTimeInterval(1)
        let stolen = try await storage.spool.record([.failed(id: ids[0], providerID: nil, code: "X", text: "not mine")], owner: "n2", at: t1)
        #expect(stolen == 0)
        let applied = try await storage.spool.record([
            .sent(id: ids[0], dialerID: d, providerID: p, providerMessageID: "SM1", port: 2),
            .retry(id: ids[1], at: t0.addingTimeInterval(30), code: "429", text: "throttled", countsAsAttempt: true),
            .retry(id: ids[2], at: t0.addingTimeInterval(30), code: nil, text: "quiet hours", countsAsAttempt: false),
            .failed(id: ids[3], providerID: p, code: "21211", text: "invalid To"),
            .blocked(id: ids[4], reason: "on the DNCR (all campaigns)"),
        ], owner: "n1", at: t1)
        #expect(applied == 5)
        let sent = try #require(try await storage.spool.message(id: ids[0]))
        #expect(sent.state == .sent && sent.providerMessageID == "SM1" && sent.port == 2 && sent.dialerID == d && sent.leaseOwner == nil)
        let retried = try #require(try await storage.spool.message(id: ids[1]))
        #expect(retried.state == .toProcess && retried.attempts == 1 && retried.errorCode == "429")
        #expect(try await storage.spool.message(id: ids[2])?.attempts == 0)
        #expect(try await storage.spool.message(id: ids[3])?.errorCode == "21211")
        #expect(try await storage.spool.message(id: ids[4])?.blockReason == "on the DNCR (all campaigns)")
        #expect(try await storage.spool.claim(campaignIDs: [c.id], limit: 5, owner: "n1", leaseUntil: t1, now: t1).isEmpty)
        let again = try await storage.spool.claim(campaignIDs: [c.id], limit: 5, owner: "n1", leaseUntil: t1.addingTimeInterval(60),
                                                  now: t0.addingTimeInterval(30))
        #expect(Set(again.map(\.id)) == [ids[1], ids[2]])
        #expect(try await storage.spool.history(id: ids[3]).map(\.to) == [.toProcess, .sending, .failed])

        // Several sends in one batch (one statement on PostgreSQL): each gets its own fields, and a message
        // another node holds is left alone even in the middle of the batch.
        let more = try await storage.spool.enqueue(messages(c.id, 4), at: t1)
        _ = try await storage.spool.claim(campaignIDs: [c.id], limit: 3, owner: "n1", leaseUntil: t1.addingTimeInterval(60), now: t1)
        _ = try await storage.spool.claim(campaignIDs: [c.id], limit: 3, owner: "n3", leaseUntil: t1.addingTimeInterval(60), now: t1)
        let held = try await storage.spool.message(id: more[3])
        #expect(held?.leaseOwner == "n3")
        let t2 = t0.addingTimeInterval(2)
        let batch = try await storage.spool.record([
            .sent(id: more[0], dialerID: d, providerID: p, providerMessageID: "SM-a", port: 1),
            .failed(id: more[1], providerID: p, code: "30003", text: "unreachable"),
            .sent(id: more[3], dialerID: d, providerID: p, providerMessageID: "SM-stolen", port: 3),
            .sent(id: more[2], dialerID: nil, providerID: p, providerMessageID: nil, port: nil),
        ], owner: "n1", at: t2)
        #expect(batch == 3)
        let a = try #require(try await storage.spool.message(id: more[0]))
        #expect(a.state == .sent && a.providerMessageID == "SM-a" && a.port == 1 && a.dialerID == d && a.sentAt == t2 && a.leaseOwner == nil)
        let b = try #require(try await storage.spool.message(id: more[2]))
        #expect(b.state == .sent && b.providerMessageID == nil && b.port == nil && b.dialerID == nil && b.providerID == p)
        #expect(try await storage.spool.message(id: more[1])?.state == .failed)
        let stolenSend = try #require(try await storage.spool.message(id: more[3]))
        #expect(stolenSend.state == .sending && stolenSend.leaseOwner == "n3" && stolenSend.providerMessageID == nil)
        #expect(try await storage.spool.history(id: more[0]).map(\.reason).last == "accepted by provider \(p) as SM-a")
        #expect(try await storage.spool.history(id: more[3]).map(\.to) == [.toProcess, .sending])
        #expect(try await storage.spool.message(providerID: p, providerMessageID: "SM-a")?.id == more[0])
    }

    static func leaseRecovery(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let ids = try await storage.spool.enqueue(messages(c.id, 3), at: t0)
        _ = try await storage.spool.claim(campaignIDs: [c.id], limit: 3, owner: "dead", leaseUntil: t0.addingTimeInterval(60), now: t0)
        #expect(try await storage.spool.recoverExpiredLeases(now: t0.addingTimeInterval(59), node: "n2") == 0)
        #expect(try await storage.spool.recoverExpiredLeases(now: t0.addingTimeInterval(61), node: "n2") == 3)
        let m = try #require(try await storage.spool.message(id: ids[0]))
        #expect(m.state == .toProcess && m.possibleDuplicate && m.leaseOwner == nil)
        #expect(try await storage.spool.counts(campaignID: c.id).possibleDuplicates == 3)
        // The dead node's late answer is ignored: it no longer holds the lease.
        let (p, d) = try await route(storage, c.id)
        #expect(try await storage.spool.record([.sent(id: ids[0], dialerID: d, providerID: p, providerMessageID: "late", port: nil)],
                                               owner: "dead", at: t0.addingTimeInterval(62)) == 0)
    }

    static func deliveryReports(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let (p, d) = try await route(storage, c.id)
        let ids = try await storage.spool.enqueue(messages(c.id, 2), at: t0)
        _ = try await storage.spool.claim(campaignIDs: [c.id], limit: 2, owner: "n1", leaseUntil: t0.addingTimeInterval(60), now: t0)
        // A report for the second message arrives before its send is recorded.
        _ = try await storage.inbound.record(DeliveryReportRecord(providerID: p, providerMessageID: "SM2", outcome: "failed",
                                                                  code: "30003", detail: "unreachable", reportedAt: t0, receivedAt: t0))
        _ = try await storage.spool.record([
            .sent(id: ids[0], dialerID: d, providerID: p, providerMessageID: "SM1", port: nil),
            .sent(id: ids[1], dialerID: d, providerID: p, providerMessageID: "SM2", port: nil),
        ], owner: "n1", at: t0)
        #expect(try await storage.spool.message(id: ids[1])?.state == .failed)
        #expect(try await storage.spool.message(id: ids[1])?.errorCode == "30003")
        #expect(try await storage.spool.applyDeliveryReport(providerID: p, providerMessageID: "SM1", delivered: true, code: nil,
                                                            text: nil, at: t0.addingTimeInterval(5)))
        let delivered = try #require(try await storage.spool.message(id: ids[0]))
        #expect(delivered.state == .delivered && delivered.deliveredAt == t0.addingTimeInterval(5))
        #expect(!(try await storage.spool.applyDeliveryReport(providerID: p, providerMessageID: "SM1", delivered: false, code: "x",
                                                              text: nil, at: t0)))
        #expect(try await storage.spool.history(id: ids[0]).map(\.to) == [.toProcess, .sending, .sent, .delivered])
    }

    static func countsAndCancel(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        var batch = messages(c.id, 4)
        batch[0].state = .held
        batch[1].state = .invalid
        let ids = try await storage.spool.enqueue(batch, at: t0)
        _ = try await storage.spool.claim(campaignIDs: [c.id], limit: 1, owner: "n1", leaseUntil: t0.addingTimeInterval(60), now: t0)
        let counts = try await storage.spool.counts(campaignID: c.id)
        #expect(counts[.held] == 1 && counts[.invalid] == 1 && counts[.sending] == 1 && counts[.toProcess] == 1)
        #expect(try await storage.spool.cancelUnprocessed(campaignID: c.id, reason: "deleted by supervisor", at: t0) == 2)
        let after = try await storage.spool.counts(campaignID: c.id)
        #expect(after[.cancelled] == 2 && after[.sending] == 1 && after[.invalid] == 1)
        #expect(try await storage.spool.message(id: ids[0])?.state == .cancelled)
    }

    static func dncr(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let other = try await campaign(storage, "Ventas")
        let added = try await storage.dncr.add([
            DNCREntry(number: "+59899000001", campaignID: nil, source: "manual", reason: "asked by phone", createdAt: t0),
            DNCREntry(number: "+59899000002", campaignID: c.id, source: "opt_out", reason: "BAJA", createdAt: t0),
            DNCREntry(number: "+59899000002", campaignID: c.id, source: "import", createdAt: t0),
        ])
        #expect(added == 2)
        let blocked = try await storage.dncr.blocked(["+59899000001", "+59899000002", "+59899000003"], campaignID: c.id)
        #expect(Set(blocked.keys) == ["+59899000001", "+59899000002"])
        #expect(blocked["+59899000002"]?.contains("opted out") == true)
        #expect(try await storage.dncr.blocked(["+59899000002"], campaignID: other.id).isEmpty)
        #expect(try await storage.dncr.blocked(["+59899000001"], campaignID: other.id).count == 1)
        // The whole register of a campaign at once, with the same reasons, unless it is larger than the limit.
        #expect(try await storage.dncr.blockedNumbers(campaignID: c.id, limit: 10) == blocked)
        #expect(try await storage.dncr.blockedNumbers(campaignID: c.id, limit: 2) == blocked)
        #expect(try await storage.dncr.blockedNumbers(campaignID: c.id, limit: 1) == nil)
        #expect(try await storage.dncr.blockedNumbers(campaignID: other.id, limit: 10)
                == (try await storage.dncr.blocked(["+59899000001", "+59899000002"], campaignID: other.id)))
        #expect(try await storage.dncr.remove(number: "+59899000001", campaignID: nil))
        #expect(!(try await storage.dncr.remove(number: "+59899000001", campaignID: nil)))
        #expect(try await storage.dncr.list(number: nil, limit: 10).map(\.number) == ["+59899000002"])
    }

    static func dialers(_ storage: Storage) async throws {
        let c = try await campaign(storage)
        let other = try await campaign(storage, "Ventas")
        let provider = try await storage.providers.create(ProviderRecord(name: "sim", type: "Simulator", webhookToken: "t",
                                                                          createdAt: t0, updatedAt: t0))
        var dialer = try await storage.dialers.create(DialerRecord(
            name: "Masivo", providerID: provider.id, schedule: "{}", timeZone: "UTC", dialString: "0.3", intervalMs: 100,
            campaignIDs: [c.id], createdAt: t0, updatedAt: t0))
        #expect(dialer.campaignIDs == [c.id])
        #expect(dialer.enabled == false)
        dialer.campaignIDs = [c.id, other.id]
        dialer.intervalMs = 0
        dialer = try await storage.dialers.update(dialer, at: t0)
        #expect(dialer.campaignIDs.sorted() == [c.id, other.id].sorted())
        try await storage.dialers.setEnabled(id: dialer.id, true, at: t0)
        try await storage.dialers.saveRuntime(id: dialer.id, portCursor: 3, failoverActive: true, consecutiveFailures: 5, at: t0)
        let saved = try #require(try await storage.dialers.dialer(id: dialer.id))
        #expect(saved.enabled && saved.portCursor == 3 && saved.failoverActive && saved.consecutiveFailures == 5)
        #expect(try await storage.providers.dialerNames(usingProvider: provider.id) == ["Masivo"])
    }
}
