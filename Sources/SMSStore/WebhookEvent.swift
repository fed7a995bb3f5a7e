import Foundation
import SMSCore

/// The events an outgoing webhook can subscribe to. The names are the contract with receivers
/// (docs/webhooks.md): never rename one.
public enum WebhookEventName: String, Sendable, CaseIterable, Codable {
    /// An inbound SMS was stored, routed or not.
    case messageInbound = "message.inbound"
    /// An outgoing spool message reached a new state (sent, delivered, failed, blocked, invalid, cancelled).
    case messageStatus = "message.status"
    /// A conversation was closed (wrapped up).
    case conversationClosed = "conversation.closed"
    /// An opt-out or opt-in keyword was handled.
    case optOut = "optout"
    /// The admin's "send test event": goes to one webhook only, subscribed or not.
    case ping

    /// What an admin may subscribe to (`ping` is sent on request only).
    public static let subscribable: [WebhookEventName] = [.messageInbound, .messageStatus, .conversationClosed, .optOut]
}

/// One event as it is sent: its name and the JSON body every subscribed webhook receives, built
/// once when the event happens (`{"event", "occurredAt", "data"}`).
public struct WebhookEvent: Sendable, Equatable {
    public var name: WebhookEventName
    public var occurredAt: Date
    public var body: String

    public init(name: WebhookEventName, occurredAt: Date, data: [String: any Sendable]) {
        self.name = name
        self.occurredAt = occurredAt
        let envelope: [String: Any] = ["event": name.rawValue, "occurredAt": Self.timestamp(occurredAt), "data": Self.jsonSafe(data)]
        // JSONSerialization only fails on values that are not JSON; `jsonSafe` leaves none.
        let data = (try? JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        body = String(decoding: data, as: UTF8.self)
    }

    /// ISO 8601 in UTC with milliseconds, as every timestamp of a payload.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Optional values become JSON null; dates ISO 8601 strings.
    static func jsonSafe(_ value: Any) -> Any {
        if let optional = value as? any OptionalValue {
            guard let unwrapped = optional.unwrapped else { return NSNull() }
            return jsonSafe(unwrapped)
        }
        switch value {
        case let dictionary as [String: any Sendable]: return dictionary.mapValues { jsonSafe($0) }
        case let dictionary as [String: Any]: return dictionary.mapValues { jsonSafe($0) }
        case let array as [Any]: return array.map { jsonSafe($0) }
        case let date as Date: return timestamp(date)
        case let int as Int64: return NSNumber(value: int)
        default: return value
        }
    }

    // MARK: - The events

    /// `message.inbound`: an inbound SMS was stored; campaign and conversation are null when it was not routed.
    public static func messageInbound(_ message: InboundMessage, campaignName: String?, at: Date) -> WebhookEvent {
        WebhookEvent(name: .messageInbound, occurredAt: at, data: [
            "id": message.id, "campaignId": message.campaignID as Int64?, "campaign": campaignName,
            "conversationId": message.conversationID as Int64?, "from": message.from, "to": message.to, "text": message.body,
            "providerId": message.providerID, "providerMessageId": message.providerMessageID, "receivedAt": message.receivedAt,
        ])
    }

    /// `message.status`: an outgoing message reached `state`.
    public static func messageStatus(id: Int64, campaignID: Int64?, campaignName: String?, conversationID: Int64?, to: String,
                                     source: String, previousState: String?, state: String, reason: String?, errorCode: String?,
                                     providerID: Int64?, providerMessageID: String?, at: Date) -> WebhookEvent {
        WebhookEvent(name: .messageStatus, occurredAt: at, data: [
            "id": id, "campaignId": campaignID, "campaign": campaignName, "conversationId": conversationID, "to": to,
            "source": source, "previousState": previousState, "state": state, "reason": reason, "errorCode": errorCode,
            "providerId": providerID, "providerMessageId": providerMessageID,
        ])
    }

    /// `conversation.closed`.
    public static func conversationClosed(_ conversation: ConversationRecord, at: Date) -> WebhookEvent {
        WebhookEvent(name: .conversationClosed, occurredAt: at, data: [
            "id": conversation.id, "campaignId": conversation.campaignID, "clientNumber": conversation.clientNumber,
            "did": conversation.did, "agentId": conversation.agentID, "openedAt": conversation.openedAt,
            "closedAt": conversation.closedAt ?? at, "wrapUp": conversation.closeReason,
        ])
    }

    /// `optout`: `kind` is `optout` or `optin`; `scope` (`campaign` or `all`) for an opt-out.
    public static func optOut(number: String, campaignID: Int64, campaignName: String?, action: KeywordAction,
                              registerChanged: Bool, messageID: Int64, at: Date) -> WebhookEvent {
        var data: [String: any Sendable] = ["number": number, "campaignId": campaignID, "campaign": campaignName,
                                            "registerChanged": registerChanged, "messageId": messageID]
        switch action {
        case .optOut(let keyword, let scope):
            data["kind"] = "optout"
            data["keyword"] = keyword
            data["scope"] = scope.rawValue
        case .optIn(let keyword):
            data["kind"] = "optin"
            data["keyword"] = keyword
            let noScope: String? = nil
            data["scope"] = noScope as any Sendable
        }
        return WebhookEvent(name: .optOut, occurredAt: at, data: data)
    }

    /// `ping`: the admin's test event.
    public static func ping(webhookID: Int64, at: Date) -> WebhookEvent {
        WebhookEvent(name: .ping, occurredAt: at, data: ["webhookId": webhookID, "message": "SMSDesk test event"])
    }
}

/// Lets `jsonSafe` see through an `Optional` held as `Any`.
protocol OptionalValue { var unwrapped: Any? { get } }
extension Optional: OptionalValue {
    var unwrapped: Any? { self.map { $0 as Any } }
}
