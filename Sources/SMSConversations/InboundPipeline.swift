import Foundation
import Logging
import SMSProviders
import SMSStore

/// The single entry point of every inbound SMS, whether a webhook pushed it
/// or a poller fetched it: it is stored once (a provider's retry of the same
/// message id is recognised), then routed. Routing to campaigns and agents
/// builds on this (SPEC C1-C10); until a campaign claims the number it was
/// sent to, the message stays stored as unrouted, visible to admins.
public struct InboundPipeline: Sendable {
    public enum Outcome: Sendable, Equatable {
        case stored(InboundMessage)
        /// The provider sent this message id before.
        case duplicate
    }

    let storage: Storage
    let logger: Logger

    public init(storage: Storage, logger: Logger) {
        self.storage = storage
        self.logger = logger
    }

    public func receive(_ sms: InboundSMS, providerID: Int64, at now: Date = Date()) async throws -> Outcome {
        let message = InboundMessage(
            providerID: providerID, providerMessageID: sms.providerMessageID, from: sms.from, to: sms.to, body: sms.text,
            receivedAt: sms.receivedAt)
        guard let stored = try await storage.inbound.record(message) else {
            logger.debug("duplicate inbound message", metadata: ["provider": "\(providerID)", "id": "\(sms.providerMessageID ?? "-")"])
            return .duplicate
        }
        logger.info("inbound message stored", metadata: ["message": "\(stored.id)", "provider": "\(providerID)"])
        return .stored(stored)
    }
}
