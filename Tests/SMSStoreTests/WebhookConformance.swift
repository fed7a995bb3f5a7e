import Foundation
import SMSCore
import SMSStore
import Testing

/// Outgoing webhooks (SPEC X3): subscriptions, the outbox and the per-webhook ordered claim.
enum WebhookCases {
    static let all: [ConformanceCase] = [
        .init(name: "webhooks: create, update, rotate the secret, delete with the deliveries", run: crud),
        .init(name: "webhooks: events are queued only for enabled webhooks subscribed to them, seen at once after a change", run: subscriptions),
        .init(name: "webhooks: a claim takes only each webhook's oldest pending delivery; later ones wait behind a retry", run: orderedClaim),
        .init(name: "webhooks: an attempt is recorded only under its lease; an expired lease is claimed again", run: leases),
        .init(name: "webhooks: concurrent claims deliver each delivery once and each webhook's in order", run: concurrentClaims),
        .init(name: "webhooks: replay queues a delivery again, due now, for another 24 h; the log pages by state", run: replayAndLog),
        .init(name: "webhooks: spool state changes queue message.status in the same transaction", run: messageStatus),
    ]

    static let t0 = Date(millisecondsSince1970: 1_790_000_000_000)
    static let secret: [UInt8] = [1, 2, 3, 0, 255]

    static func event(_ name: WebhookEventName, _ n: Int, at: Date = t0) -> WebhookEvent {
        WebhookEvent(name: name, occurredAt: at, data: ["n": n])
    }

    static func event(_ n: Int) -> WebhookEvent { event(.messageInbound, n) }

    static func number(_ delivery: WebhookDelivery) throws -> Int {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(delivery.payload.utf8)) as? [String: Any])
        return try #require((json["data"] as? [String: Any])?["n"] as? Int)
    }

    static func crud(_ storage: Storage) async throws {
        let created = try await storage.webhooks.create(url: "https://example.com/a", events: [.messageStatus, .messageInbound],
                                                        enabled: true, secretCiphertext: secret, at: t0)
        #expect(created.events == [.messageInbound, .messageStatus])
        #expect(created.secretCiphertext == secret)
        let updated = try await storage.webhooks.update(id: created.id, url: "https://example.com/b", events: [.optOut],
                                                        enabled: false, at: t0.addingTimeInterval(5))
        #expect(updated.url == "https://example.com/b" && updated.events == [.optOut] && !updated.enabled)
        #expect(updated.updatedAt == t0.addingTimeInterval(5) && updated.createdAt == t0)
        try await storage.webhooks.rotateSecret(id: created.id, secretCiphertext: [9, 9], at: t0)
        #expect(try await storage.webhooks.webhook(id: created.id)?.secretCiphertext == [9, 9])
        let delivery = try await storage.webhooks.enqueue(.ping(webhookID: created.id, at: t0), webhookID: created.id, at: t0)
        #expect(delivery.event == "ping" && delivery.state == .pending)
        try await storage.webhooks.delete(id: created.id)
        #expect(try await storage.webhooks.webhook(id: created.id) == nil)
        #expect(try await storage.webhooks.delivery(id: delivery.id) == nil)
        await #expect(throws: StoreError.self) { try await storage.webhooks.delete(id: created.id) }
        await #expect(throws: StoreError.self) {
            try await storage.webhooks.update(id: created.id, url: "https://x", events: [.ping], enabled: true, at: t0)
        }
    }

    static func subscriptions(_ storage: Storage) async throws {
        #expect(try await storage.webhooks.enqueue([event(1)], at: t0) == 0, "no webhook: nothing queued")
        let inbound = try await storage.webhooks.create(url: "https://a", events: [.messageInbound], enabled: true,
                                                        secretCiphertext: secret, at: t0)
        let status = try await storage.webhooks.create(url: "https://b", events: [.messageStatus, .messageInbound], enabled: true,
                                                       secretCiphertext: secret, at: t0)
        let off = try await storage.webhooks.create(url: "https://c", events: [.messageInbound], enabled: false,
                                                    secretCiphertext: secret, at: t0)
        // Created just now: seen at once, not after the cache's age.
        #expect(try await storage.webhooks.enqueue([event(1), event(.messageStatus, 2)], at: t0) == 3)
        #expect(try await storage.webhooks.deliveries(webhookID: inbound.id, state: nil, limit: 10, beforeID: nil).count == 1)
        #expect(try await storage.webhooks.deliveries(webhookID: status.id, state: nil, limit: 10, beforeID: nil).map(\.event)
                == ["message.status", "message.inbound"])
        #expect(try await storage.webhooks.deliveries(webhookID: off.id, state: nil, limit: 10, beforeID: nil).isEmpty)
        // Disabled just now: not queued any more.
        _ = try await storage.webhooks.update(id: status.id, url: "https://b", events: [.messageInbound], enabled: false, at: t0)
        #expect(try await storage.webhooks.enqueue([event(3)], at: t0) == 1)
        let first = try #require(try await storage.webhooks.deliveries(webhookID: inbound.id, state: nil, limit: 10, beforeID: nil).last)
        #expect(first.createdAt == t0 && first.expiresAt == t0.addingTimeInterval(24 * 3600) && first.attempts == 0)
    }

    static func orderedClaim(_ storage: Storage) async throws {
        let a = try await storage.webhooks.create(url: "https://a", events: [.messageInbound], enabled: true, secretCiphertext: secret, at: t0)
        _ = try await storage.webhooks.enqueue([event(1), event(2), event(3)], at: t0)
        let b = try await storage.webhooks.create(url: "https://b", events: [.messageStatus], enabled: true, secretCiphertext: secret, at: t0)
        _ = try await storage.webhooks.enqueue([event(.messageStatus, 10)], at: t0)
        let lease = t0.addingTimeInterval(60)
        let first = try await storage.webhooks.claimDue(limit: 10, owner: "n1", leaseUntil: lease, now: t0)
        #expect(first.map(\.webhookID) == [a.id, b.id], "one delivery per webhook")
        #expect(try first.map(number) == [1, 10], "each webhook's oldest")
        #expect(try await storage.webhooks.claimDue(limit: 10, owner: "n2", leaseUntil: lease, now: t0).isEmpty,
                "the heads are leased and the others wait behind them")
        // A's head fails and waits 5 s: A's later deliveries wait too; B's next is independent.
        let retryAt = t0.addingTimeInterval(5)
        #expect(try await storage.webhooks.recordAttempt(
            WebhookAttempt(deliveryID: first[0].id, at: t0, status: 503, response: "busy", error: nil, durationMilliseconds: 12, node: "n1"),
            outcome: .retry(at: retryAt), owner: "n1"))
        #expect(try await storage.webhooks.recordAttempt(
            WebhookAttempt(deliveryID: first[1].id, at: t0, status: 200, response: "ok", error: nil, durationMilliseconds: 3, node: "n1"),
            outcome: .delivered, owner: "n1"))
        #expect(try await storage.webhooks.claimDue(limit: 10, owner: "n1", leaseUntil: lease, now: t0.addingTimeInterval(4)).isEmpty)
        let retried = try await storage.webhooks.claimDue(limit: 10, owner: "n1", leaseUntil: lease, now: retryAt)
        #expect(try retried.map(number) == [1])
        #expect(retried.first?.attempts == 1 && retried.first?.lastStatus == 503 && retried.first?.lastResponse == "busy")
        _ = try await storage.webhooks.recordAttempt(
            WebhookAttempt(deliveryID: retried[0].id, at: retryAt, status: 204, response: "", error: nil, durationMilliseconds: 1, node: "n1"),
            outcome: .delivered, owner: "n1")
        #expect(try await storage.webhooks.claimDue(limit: 10, owner: "n1", leaseUntil: lease, now: retryAt).map(number) == [2])
        // A disabled webhook's deliveries wait (they are not lost).
        _ = try await storage.webhooks.update(id: b.id, url: "https://b", events: [.messageStatus], enabled: false, at: t0)
        _ = try await storage.webhooks.enqueue(.ping(webhookID: b.id, at: t0), webhookID: b.id, at: t0)
        #expect(try await storage.webhooks.claimDue(limit: 10, owner: "n1", leaseUntil: lease, now: retryAt).isEmpty)
        let log = try await storage.webhooks.attempts(deliveryIDs: [first[0].id])
        #expect(log.map(\.status) == [503, 204])
        #expect(log.first?.response == "busy" && log.first?.durationMilliseconds == 12 && log.first?.node == "n1")
        let done = try #require(try await storage.webhooks.delivery(id: first[0].id))
        #expect(done.state == .delivered && done.deliveredAt == retryAt && done.attempts == 2)
    }

    static func leases(_ storage: Storage) async throws {
        _ = try await storage.webhooks.create(url: "https://a", events: [.messageInbound], enabled: true, secretCiphertext: secret, at: t0)
        _ = try await storage.webhooks.enqueue([event(1)], at: t0)
        let claimed = try await storage.webhooks.claimDue(limit: 5, owner: "dead", leaseUntil: t0.addingTimeInterval(60), now: t0)
        #expect(claimed.count == 1)
        // The node died: after its lease another one takes the delivery; the dead node's late outcome is refused.
        let again = try await storage.webhooks.claimDue(limit: 5, owner: "alive", leaseUntil: t0.addingTimeInterval(200),
                                                        now: t0.addingTimeInterval(61))
        #expect(again.map(\.id) == claimed.map(\.id))
        let attempt = WebhookAttempt(deliveryID: claimed[0].id, at: t0, status: 200, response: nil, error: nil, durationMilliseconds: 1,
                                     node: nil)
        #expect(try await storage.webhooks.recordAttempt(attempt, outcome: .delivered, owner: "dead") == false)
        #expect(try await storage.webhooks.attempts(deliveryIDs: [claimed[0].id]).isEmpty)
        #expect(try await storage.webhooks.recordAttempt(
            WebhookAttempt(deliveryID: claimed[0].id, at: t0, status: nil, response: nil, error: "connection refused",
                           durationMilliseconds: 1, node: "alive"), outcome: .failed, owner: "alive"))
        let failed = try #require(try await storage.webhooks.delivery(id: claimed[0].id))
        #expect(failed.state == .failed && failed.lastError == "connection refused" && failed.nextAttemptAt == nil)
    }

    static func concurrentClaims(_ storage: Storage) async throws {
        var hooks: [Int64] = []
        for i in 0..<3 {
            hooks.append(try await storage.webhooks.create(url: "https://h\(i)", events: [.messageInbound], enabled: true,
                                                           secretCiphertext: secret, at: t0).id)
        }
        _ = try await storage.webhooks.enqueue((0..<20).map { event($0) }, at: t0)
        let lease = t0.addingTimeInterval(60)
        @Sendable func node(_ name: String) async throws -> [(webhook: Int64, n: Int)] {
            var sent: [(Int64, Int)] = []
            var idle = 0
            while idle < 3 {
                let claimed = try await storage.webhooks.claimDue(limit: 2, owner: name, leaseUntil: lease, now: t0)
                if claimed.isEmpty { idle += 1; await Task.yield(); continue }
                idle = 0
                for delivery in claimed {
                    sent.append((delivery.webhookID, try number(delivery)))
                    let ok = try await storage.webhooks.recordAttempt(
                        WebhookAttempt(deliveryID: delivery.id, at: t0, status: 200, response: nil, error: nil, durationMilliseconds: 0,
                                       node: name), outcome: .delivered, owner: name)
                    #expect(ok)
                }
            }
            return sent
        }
        async let first = node("n1")
        async let second = node("n2")
        let (one, two) = try await (first, second)
        // Delivery order per webhook, whichever node sent it: the attempts' log is in commit order.
        for hook in hooks {
            let deliveries = try await storage.webhooks.deliveries(webhookID: hook, state: nil, limit: 100, beforeID: nil)
            #expect(deliveries.count == 20 && deliveries.allSatisfy { $0.state == .delivered && $0.attempts == 1 }, "each delivered once")
            let byDeliveredOrder = deliveries.sorted { ($0.deliveredAt ?? t0, $0.id) < ($1.deliveredAt ?? t0, $1.id) }
            #expect(try byDeliveredOrder.map(number) == Array(0..<20))
            let sentByNodes = (one + two).filter { $0.webhook == hook }.map(\.n)
            #expect(sentByNodes.sorted() == Array(0..<20), "no delivery sent twice")
        }
        let attempts = try await storage.webhooks.attempts(deliveryIDs: try await storage.webhooks.deliveries(
            webhookID: hooks[0], state: nil, limit: 100, beforeID: nil).map(\.id))
        #expect(attempts.count == 20)
    }

    static func replayAndLog(_ storage: Storage) async throws {
        let hook = try await storage.webhooks.create(url: "https://a", events: [.messageInbound], enabled: true, secretCiphertext: secret, at: t0)
        _ = try await storage.webhooks.enqueue((0..<5).map { event($0) }, at: t0)
        for _ in 0..<5 {
            let claimed = try await storage.webhooks.claimDue(limit: 1, owner: "n", leaseUntil: t0.addingTimeInterval(60), now: t0)
            let delivery = try #require(claimed.first)
            _ = try await storage.webhooks.recordAttempt(
                WebhookAttempt(deliveryID: delivery.id, at: t0, status: try number(delivery) == 2 ? 500 : 200, response: nil, error: nil,
                               durationMilliseconds: 0, node: "n"),
                outcome: try number(delivery) == 2 ? .failed : .delivered, owner: "n")
        }
        let failed = try await storage.webhooks.deliveries(webhookID: hook.id, state: .failed, limit: 10, beforeID: nil)
        #expect(try failed.map(number) == [2])
        let page1 = try await storage.webhooks.deliveries(webhookID: hook.id, state: nil, limit: 3, beforeID: nil)
        let page2 = try await storage.webhooks.deliveries(webhookID: hook.id, state: nil, limit: 3, beforeID: page1.last?.id)
        #expect(try (page1 + page2).map(number) == [4, 3, 2, 1, 0])
        let later = t0.addingTimeInterval(3 * 86_400)
        let replayed = try await storage.webhooks.replay(deliveryID: failed[0].id, webhookID: hook.id, at: later)
        #expect(replayed.state == .pending && replayed.nextAttemptAt == later && replayed.expiresAt == later.addingTimeInterval(86_400))
        #expect(replayed.attempts == 1, "its log is kept")
        let claimed = try await storage.webhooks.claimDue(limit: 5, owner: "n", leaseUntil: later.addingTimeInterval(60), now: later)
        #expect(claimed.map(\.id) == [failed[0].id])
        await #expect(throws: StoreError.self) {
            try await storage.webhooks.replay(deliveryID: failed[0].id, webhookID: hook.id + 1, at: later)
        }
    }

    static func messageStatus(_ storage: Storage) async throws {
        let campaign = try await SpoolCases.campaign(storage)
        let (provider, dialer) = try await SpoolCases.route(storage, campaign.id)
        let ids = try await storage.spool.enqueue(SpoolCases.messages(campaign.id, 3), at: t0)
        // No subscriber yet: state changes queue nothing.
        var claimed = try await storage.spool.claim(campaignIDs: [campaign.id], scope: .all, limit: 1, owner: "n",
                                                    leaseUntil: t0.addingTimeInterval(60), now: t0)
        _ = try await storage.spool.record([.sent(id: claimed[0].id, dialerID: dialer, providerID: provider, providerMessageID: "m0",
                                                  port: nil)], owner: "n", at: t0)
        let hook = try await storage.webhooks.create(url: "https://a", events: [.messageStatus], enabled: true, secretCiphertext: secret, at: t0)
        #expect(try await storage.webhooks.deliveries(webhookID: hook.id, state: nil, limit: 10, beforeID: nil).isEmpty)
        claimed = try await storage.spool.claim(campaignIDs: [campaign.id], scope: .all, limit: 2, owner: "n",
                                                leaseUntil: t0.addingTimeInterval(60), now: t0)
        #expect(try await storage.webhooks.deliveries(webhookID: hook.id, state: nil, limit: 10, beforeID: nil).isEmpty,
                "sending is not a reported state")
        let at = t0.addingTimeInterval(1)
        _ = try await storage.spool.record([
            .sent(id: claimed[0].id, dialerID: dialer, providerID: provider, providerMessageID: "m1", port: nil),
            .blocked(id: claimed[1].id, reason: "DNCR"),
        ], owner: "n", at: at)
        #expect(try await storage.spool.applyDeliveryReport(providerID: provider, providerMessageID: "m1", delivered: true, code: nil,
                                                            text: nil, at: at.addingTimeInterval(1)))
        let events = try await storage.webhooks.deliveries(webhookID: hook.id, state: nil, limit: 10, beforeID: nil).reversed()
        #expect(events.map(\.event) == ["message.status", "message.status", "message.status"])
        let payloads = try events.map { try #require(try JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any]) }
        let data = payloads.map { $0["data"] as? [String: Any] ?? [:] }
        #expect(data.map { $0["state"] as? String } == ["sent", "blocked", "delivered"])
        #expect(data.map { ($0["id"] as? Int).map(Int64.init) } == [claimed[0].id, claimed[1].id, claimed[0].id])
        #expect(data[0]["to"] as? String == claimed[0].destination)
        #expect(data[0]["campaign"] as? String == campaign.name && (data[0]["campaignId"] as? Int).map(Int64.init) == campaign.id)
        #expect(data[0]["providerMessageId"] as? String == "m1" && data[1]["reason"] as? String == "DNCR")
        #expect(data[2]["previousState"] as? String == "sent")
        #expect(payloads[0]["event"] as? String == "message.status" && payloads[0]["occurredAt"] as? String != nil)
        #expect(data[1]["providerMessageId"] is NSNull, "absent values are JSON null")
        // Cancelling the unprocessed ones reports each of them.
        _ = try await storage.spool.enqueue(SpoolCases.messages(campaign.id, 2), at: t0)
        #expect(try await storage.spool.cancelUnprocessed(campaignID: campaign.id, reason: "stop", at: at) == 2)
        let all = try await storage.webhooks.deliveries(webhookID: hook.id, state: nil, limit: 10, beforeID: nil)
        let cancelledStates = try all.prefix(2).map {
            ((try JSONSerialization.jsonObject(with: Data($0.payload.utf8)) as? [String: Any])?["data"] as? [String: Any])?["state"] as? String
        }
        #expect(all.count == 5 && cancelledStates == ["cancelled", "cancelled"])
        #expect(ids.count == 3)
    }
}
