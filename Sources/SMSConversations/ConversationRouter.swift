import Foundation
import Logging
import SMSCore
import SMSStore

/// Gives waiting conversations to agents (SPEC C3, C8, C9): each campaign's queue is served oldest
/// first by the campaign's strategy (`Assignment.decide`, a pure function over a member snapshot), as
/// soon as a member has capacity; an offer nobody accepts in time goes back to the queue and to the
/// next member, skipping those who let it time out.
///
/// Every decision runs in one store transaction that reads the snapshot and writes the offers
/// (`ConversationStore.routeNext`), so concurrent messages and several nodes never give one
/// conversation to two agents nor exceed a cap. Capacity frees when a conversation closes, an agent
/// becomes available, or an offer expires or is withdrawn: the caller then calls `assignWaiting`.
/// `OfferTimeouts` expires offers every second and retries every waiting queue every few seconds,
/// which also covers a trigger lost to a crash and an agent who just signed in.
public struct ConversationRouter: Sendable {
    let storage: Storage
    public let events: ConversationEvents
    let logger: Logger
    let decide: @Sendable (AssignmentSnapshot) -> AssignmentDecision

    /// Conversations offered per `assignWaiting` call at most (the rest wait for the next trigger or sweep).
    static let maximumOffersPerCall = 500

    /// `decide` picks the members; by default `Assignment.decide` with the system's random generator.
    public init(storage: Storage, events: ConversationEvents = .disabled, logger: Logger,
                decide: @escaping @Sendable (AssignmentSnapshot) -> AssignmentDecision = ConversationRouter.decide) {
        self.storage = storage
        self.events = events
        self.logger = logger
        self.decide = decide
    }

    /// `Assignment.decide` drawing from the system's random generator (for `random` and `wrandom`).
    @Sendable public static func decide(_ snapshot: AssignmentSnapshot) -> AssignmentDecision {
        var random = SystemRandomNumberGenerator()
        return Assignment.decide(snapshot, using: &random)
    }

    /// Offers the campaign's waiting conversations, oldest first, while a member can take one; returns how many.
    @discardableResult
    public func assignWaiting(campaignID: Int64, at now: Date = Date()) async throws -> Int {
        var offered = 0
        while offered < Self.maximumOffersPerCall {
            switch try await storage.conversations.routeNext(campaignID: campaignID, at: now, decide: decide) {
            case .idle, .waiting:
                return offered
            case .offered(let conversation, let offers):
                offered += 1
                logger.info("conversation offered", metadata: [
                    "conversation": "\(conversation.id)", "campaign": "\(campaignID)", "agents": "\(offers.map(\.userID))",
                ])
                await events.offered(conversation.id, to: offers.map(\.userID), at: now)
            }
        }
        return offered
    }

    /// `assignWaiting` for each campaign; a failure in one is logged and the others still run.
    public func assignWaiting(campaignIDs: some Sequence<Int64>, at now: Date = Date()) async {
        for id in Set(campaignIDs).sorted() {
            do { try await assignWaiting(campaignID: id, at: now) } catch {
                logger.error("could not assign waiting conversations", metadata: ["campaign": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Capacity of `userID` freed (a close, a status change): serve the queues of the campaigns they are a member of.
    public func agentFreed(_ userID: Int64, at now: Date = Date()) async {
        do {
            await assignWaiting(campaignIDs: try await storage.conversations.memberCampaignIDs(userID: userID), at: now)
        } catch {
            logger.error("could not read the agent's campaigns", metadata: ["user": "\(userID)", "error": "\(error)"])
        }
    }

    /// Serves every campaign that has a waiting conversation.
    public func assignEveryQueue(at now: Date = Date()) async throws {
        await assignWaiting(campaignIDs: try await storage.conversations.campaignsWithQueue(), at: now)
    }

    /// SPEC C9: offers nobody accepted in time go back to the queue, which is served again at once (the
    /// members who let them time out are skipped). Returns the conversations that expired.
    @discardableResult
    public func expireOffers(at now: Date = Date()) async throws -> [ExpiredOffer] {
        let expired = try await storage.conversations.expireOffers(at: now)
        guard !expired.isEmpty else { return [] }
        for offer in expired {
            logger.info("offer timed out", metadata: [
                "conversation": "\(offer.conversation.id)", "agents": "\(offer.agents)",
            ])
            await events.updated(offer.conversation.id, reason: "offer_expired", agents: offer.agents, at: now)
        }
        await assignWaiting(campaignIDs: expired.map(\.conversation.campaignID), at: now)
        return expired
    }
}
