import Foundation
import Logging
import SMSCore
import SMSDispatch
import SMSProviders
import SMSStore

/// The single entry point of every inbound SMS, whether a webhook pushed it or a poller fetched it.
/// In order:
///
/// 1. **Dedupe**: a provider's retry of the same message id changes nothing (`.duplicate`).
/// 2. **Campaign** by the number it was sent to (SPEC C1). An unknown DID: the message is stored as
///    unrouted (shown to admins, `GET /api/v1/inbound?unrouted=true`), never dropped.
/// 3. **Opt-out / opt-in keywords** of the campaign (SPEC D8): the DNCR changes, one confirmation is
///    queued (it bypasses quiet hours, and for an opt-out the DNCR it was just put on), an opt-out
///    event and an audit row are written, and the message goes to no agent. Honoured for a disabled
///    campaign too, but then no confirmation is sent (a disabled campaign sends nothing, SPEC C6).
/// 4. A disabled campaign takes no new conversations: the message is stored with the campaign only.
/// 5. **Out of schedule** (SPEC C2): the campaign's out-of-time reply is queued once per
///    conversation, not per message; it bypasses quiet hours, being an answer to the client.
///    The conversation is still queued, so it is answered when agents are available: an agent
///    who is available out of hours gets it at once.
/// 6. **Conversation** (SPEC C10): the client's open thread in the campaign, else a new one linked
///    to their last closed one.
/// 7. **Queue and assignment**: a new conversation joins the campaign's FIFO queue, which is served
///    at once (`ConversationRouter.assignWaiting`).
///
/// Steps 1-6 are one transaction (`ConversationStore.ingest`); a failure of step 7 is logged and
/// retried by `OfferTimeouts`' sweep, since the message is safely stored.
public struct InboundPipeline: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Stored, with the campaign and conversation it went to (both nil when unrouted).
        case stored(InboundMessage)
        /// The provider sent this message id before.
        case duplicate
    }

    let storage: Storage
    let router: ConversationRouter
    let intake: SpoolIntake
    let logger: Logger

    public init(storage: Storage, router: ConversationRouter, logger: Logger) {
        self.storage = storage
        self.router = router
        self.intake = SpoolIntake(storage: storage)
        self.logger = logger
    }

    /// A pipeline whose router publishes no live events.
    public init(storage: Storage, logger: Logger) {
        self.init(storage: storage, router: ConversationRouter(storage: storage, logger: logger), logger: logger)
    }

    public func receive(_ sms: InboundSMS, providerID: Int64, at now: Date = Date()) async throws -> Outcome {
        // One written form per client, so the thread, the DNCR and the replies' destination agree.
        let sms = Self.storable(sms)
        let from = ClientNumber.normalized(sms.from) ?? sms.from.trimmingCharacters(in: .whitespaces)
        let message = InboundMessage(
            providerID: providerID, providerMessageID: sms.providerMessageID, from: from, to: sms.to, body: sms.text,
            receivedAt: sms.receivedAt)
        let campaign = try await storage.campaigns.campaign(forDID: sms.to)
        let routing = try await routing(message, campaign: campaign, at: now)
        var metadata: Logger.Metadata = ["provider": "\(providerID)", "campaign": "\(campaign?.id ?? 0)"]
        switch try await storage.conversations.ingest(message, routing: routing, at: now) {
        case .duplicate:
            logger.debug("duplicate inbound message", metadata: ["provider": "\(providerID)", "id": "\(sms.providerMessageID ?? "-")"])
            return .duplicate

        case .stored(let stored):
            metadata["message"] = "\(stored.id)"
            await publish([.messageInbound(stored, campaignName: campaign?.name, at: now)], metadata: metadata)
            if campaign == nil {
                logger.notice("inbound message to a number no campaign receives on: stored as unrouted", metadata: metadata)
                await router.events.unrouted(stored, at: now)
            } else {
                logger.info("inbound message for a disabled campaign: stored, not routed", metadata: metadata)
            }
            return .stored(stored)

        case .keyword(let stored, let changed, let confirmation):
            metadata["message"] = "\(stored.id)"
            metadata["dncrChanged"] = "\(changed)"
            metadata["confirmation"] = "\(confirmation?.id ?? 0)"
            var events: [WebhookEvent] = [.messageInbound(stored, campaignName: campaign?.name, at: now)]
            if case .keyword(let campaignID, let action, _) = routing {
                events.append(.optOut(number: stored.from, campaignID: campaignID, campaignName: campaign?.name, action: action,
                                      registerChanged: changed, messageID: stored.id, at: now))
            }
            await publish(events, metadata: metadata)
            logger.info("opt-out keyword handled", metadata: metadata)
            return .stored(stored)

        case .conversation(let stored, let conversation, let opened, let reply, let agents):
            metadata["message"] = "\(stored.id)"
            metadata["conversation"] = "\(conversation.id)"
            logger.info(opened ? "inbound message opened a conversation" : "inbound message joined its conversation", metadata: metadata)
            await publish([.messageInbound(stored, campaignName: campaign?.name, at: now)], metadata: metadata)
            await router.events.message(stored.id, in: conversation.id, agents: Array(agents), at: now)
            if let reply { await router.events.message(reply.id, in: conversation.id, agents: Array(agents), at: now) }
            if conversation.state == .queued {
                do { try await router.assignWaiting(campaignID: conversation.campaignID, at: now) } catch {
                    logger.error("could not assign the waiting conversation; the queue sweep retries",
                                 metadata: metadata.merging(["error": "\(error)"]) { $1 })
                }
            }
            return .stored(stored)
        }
    }

    /// The message with every NUL character (U+0000) shown as U+FFFD: neither database can store one, and a
    /// gateway that passes raw GSM-7 septets sends it for '@'. Refusing the message would make the provider retry
    /// it for ever.
    static func storable(_ sms: InboundSMS) -> InboundSMS {
        func clean(_ text: String) -> String {
            text.unicodeScalars.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
        }
        var sms = sms
        sms.text = clean(sms.text)
        sms.from = clean(sms.from)
        sms.to = clean(sms.to)
        sms.providerMessageID = sms.providerMessageID.map(clean)
        return sms
    }

    /// Queues the outgoing webhook events of a stored message (only outbox rows: nothing waits on a
    /// receiver). The message is stored whatever happens here; a failure is logged.
    func publish(_ events: [WebhookEvent], metadata: Logger.Metadata) async {
        do { try await storage.webhooks.enqueue(events, at: Date()) } catch {
            logger.error("could not queue the webhook events of an inbound message",
                         metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    /// What to do with the message (steps 2-5), decided before the transaction that stores it.
    func routing(_ message: InboundMessage, campaign: CampaignRecord?, at now: Date) async throws -> InboundRouting {
        guard let campaign else { return .unrouted }
        switch campaign.effectiveKeywords.match(message.body) {
        case .optOut(let keyword, let scope):
            let action = KeywordAction.optOut(keyword: keyword, scope: scope)
            return .keyword(campaignID: campaign.id, action, confirmation: try await confirmation(action, to: message.from, campaign: campaign))
        case .optIn(let keyword):
            let action = KeywordAction.optIn(keyword: keyword)
            return .keyword(campaignID: campaign.id, action, confirmation: try await confirmation(action, to: message.from, campaign: campaign))
        case .none:
            break
        }
        guard campaign.enabled else { return .campaignDisabled(campaignID: campaign.id) }
        var reply: NewSpoolMessage?
        if let text = campaign.outOfTimeMessage?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty {
            if let schedule = DialerSchedule.parse(campaign.schedule) {
                if !schedule.isOpen(at: now) {
                    reply = SpoolIntake.message(
                        campaignID: campaign.id, destination: message.from, text: text, priority: Inbox.replyPriority,
                        source: .autoReply, pattern: try await intake.numberPattern(for: campaign))
                }
            } else {
                logger.error("campaign schedule is not valid; treated as open", metadata: ["campaign": "\(campaign.id)"])
            }
        }
        return .conversation(campaignID: campaign.id, outOfTimeReply: reply)
    }

    func confirmation(_ action: KeywordAction, to number: String, campaign: CampaignRecord) async throws -> NewSpoolMessage? {
        guard campaign.enabled else { return nil }
        return SpoolIntake.message(
            campaignID: campaign.id, destination: number, text: KeywordConfirmation.text(action, keywords: campaign.effectiveKeywords),
            priority: Inbox.replyPriority, source: .optOutConfirmation, pattern: try await intake.numberPattern(for: campaign))
    }
}

/// The one confirmation of an opt-out or opt-in (SPEC D8), in Spanish when the client wrote one of the
/// standard Spanish keywords, else in English, naming the keyword that undoes it. Written without
/// accented vowels outside GSM-7, so a confirmation stays one GSM-7 segment.
enum KeywordConfirmation {
    static let spanishKeywords: Set<String> = ["BAJA", "CANCELAR", "ALTO", "ALTA"]

    static func text(_ action: KeywordAction, keywords: OptOutKeywords) -> String {
        switch action {
        case .optOut(let keyword, let scope):
            let spanish = isSpanish(keyword)
            let undo = suggestion(keywords.optIn, spanish: spanish) ?? (spanish ? "ALTA" : "START")
            if spanish {
                return (scope == .all ? "Listo: te diste de baja de todas nuestras comunicaciones" : "Listo: te diste de baja")
                    + " y no te enviaremos otros mensajes. Responde \(undo) para volver a suscribirte."
            }
            return (scope == .all ? "You have been unsubscribed from all our messages" : "You have been unsubscribed")
                + " and will get no more messages from us. Reply \(undo) to subscribe again."
        case .optIn(let keyword):
            let spanish = isSpanish(keyword)
            let stop = suggestion(keywords.optOut, spanish: spanish) ?? (spanish ? "BAJA" : "STOP")
            return spanish
                ? "Listo: volviste a suscribirte. Responde \(stop) para darte de baja."
                : "You are subscribed again. Reply \(stop) to unsubscribe."
        }
    }

    static func isSpanish(_ keyword: String) -> Bool { spanishKeywords.contains(keyword.uppercased()) }

    /// A keyword of `list` in the client's language, else the first one.
    static func suggestion(_ list: [String], spanish: Bool) -> String? {
        list.first { isSpanish($0) == spanish } ?? list.first
    }
}
