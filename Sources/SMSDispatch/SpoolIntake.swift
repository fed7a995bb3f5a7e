import Foundation
import SMSCore
import SMSStore

/// Turns a send request (CSV row, API call, agent reply, unitary send) into
/// a spool message: encoding and segments computed, and the number checked
/// against the number pattern of the provider that will send it (SPEC P5):
/// a number that fails is stored as `invalid` and never sent.
public struct SpoolIntake: Sendable {
    let storage: Storage

    public init(storage: Storage) { self.storage = storage }

    /// The number pattern that applies to a campaign: that of the provider of the first
    /// dialer serving it, else the campaign's own provider, else the default provider.
    public func numberPattern(for campaign: CampaignRecord) async throws -> (NumberPattern, String)? {
        var providerID: Int64?
        for dialer in try await storage.dialers.list() where dialer.campaignIDs.contains(campaign.id) {
            providerID = dialer.providerID
            break
        }
        providerID = providerID ?? campaign.providerID
        let provider: ProviderRecord?
        if let providerID { provider = try await storage.providers.provider(id: providerID) } else {
            provider = try await storage.providers.effectiveDefault()
        }
        guard let text = provider?.numberPattern, !text.isEmpty else { return nil }
        return (try NumberPattern(text), text)
    }

    /// A spool message for `text` to `destination`, `invalid` when the number fails `pattern`.
    public static func message(campaignID: Int64, destination rawDestination: String, text: String, priority: Int,
                               source: SpoolSource, pattern: (NumberPattern, String)?, createdBy: Int64? = nil,
                               idempotencyKey: String? = nil, extra: String? = nil, notBefore: Date? = nil,
                               analysis known: SMSAnalysis? = nil) -> NewSpoolMessage {
        let destination = rawDestination.trimmingCharacters(in: .whitespaces)
        let analysis = known ?? SMSText.analyze(text)
        var message = NewSpoolMessage(
            campaignID: campaignID, destination: destination, message: text, priority: priority, extra: extra, source: source,
            createdBy: createdBy, idempotencyKey: idempotencyKey, notBefore: notBefore,
            encoding: analysis.encoding.rawValue, segments: analysis.segments)
        if let (compiled, source) = pattern, !compiled.matches(destination) {
            message.state = .invalid
            message.reason = "\(destination) does not match the provider's number pattern \(source)"
        }
        return message
    }
}
