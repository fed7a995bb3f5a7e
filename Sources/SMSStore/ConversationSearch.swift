import Foundation

/// The campaigns a person may see: every one (admins), or a list (a supervisor sees the campaigns an
/// admin assigned them to, and nothing else).
public enum CampaignScope: Sendable, Equatable {
    case all
    case only(Set<Int64>)

    /// Whether conversations of the campaign are visible.
    public func allows(_ campaignID: Int64) -> Bool {
        switch self {
        case .all: true
        case .only(let ids): ids.contains(campaignID)
        }
    }
}

/// A conversation search (SPEC S4, "recordings"). A conversation matches when it belongs to a campaign
/// in `scope` (and `campaignID`, when given), was taken by `agentID` (when given), its client number
/// contains `number` (when given), and one of its messages — the client's or an outgoing one — was
/// written in [`from`, `to`) (a bound left out is open).
public struct ConversationSearch: Sendable, Equatable {
    public var scope: CampaignScope
    public var campaignID: Int64?
    public var agentID: Int64?
    /// Part of the client number; only its letters and digits count (`+598 99-12` looks for `5989912`).
    public var number: String?
    /// A message at or after this time.
    public var from: Date?
    /// A message before this time.
    public var to: Date?

    public init(scope: CampaignScope = .all, campaignID: Int64? = nil, agentID: Int64? = nil, number: String? = nil,
                from: Date? = nil, to: Date? = nil) {
        self.scope = scope
        self.campaignID = campaignID
        self.agentID = agentID
        self.number = number
        self.from = from
        self.to = to
    }

    /// What the number filter looks for in stored client numbers: the letters (upper-cased, as alphanumeric
    /// senders are stored) and digits of `number`; nil when it has none (no number filter).
    public static func numberTerm(_ number: String?) -> String? {
        guard let number else { return nil }
        let kept = number.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.uppercased()
        return kept.isEmpty ? nil : kept
    }
}

/// A conversation with all its messages, as the search export writes it.
public struct ConversationTranscript: Sendable, Equatable {
    public var conversation: ConversationRecord
    public var campaignName: String
    public var agentName: String?
    /// Oldest first, with the delivery state of outgoing ones.
    public var messages: [ConversationMessage]

    public init(conversation: ConversationRecord, campaignName: String, agentName: String?, messages: [ConversationMessage]) {
        self.conversation = conversation
        self.campaignName = campaignName
        self.agentName = agentName
        self.messages = messages
    }
}
