import Foundation
import SMSCore
import SMSStore

/// Turns a send request (CSV row, API call, agent reply, unitary send) into
/// a spool message: encoding and segments computed, and the number checked
/// against the number pattern of the provider that will send it (SPEC P5):
/// a number that fails is stored as `invalid` and never sent.
public struct SpoolIntake: Sendable {
    let storage: Storage
    /// Patterns by campaign, kept a few seconds: an API sending thousands of messages a second
    /// should not read every dialer and provider for each one.
    let cache = PatternCache()

    public init(storage: Storage) { self.storage = storage }

    actor PatternCache {
        var entries: [Int64: (pattern: (NumberPattern, String)?, until: ContinuousClock.Instant)] = [:]

        func get(_ id: Int64) -> ((NumberPattern, String)?)? {
            guard let entry = entries[id], entry.until > .now else { return nil }
            return .some(entry.pattern)
        }

        func set(_ id: Int64, _ pattern: (NumberPattern, String)?) {
            entries[id] = (pattern, .now + .seconds(2))
        }
    }

    /// The number pattern that applies to a campaign (cached for two seconds, so a changed
    /// provider pattern applies to API sends within that time).
    public func numberPattern(for campaign: CampaignRecord) async throws -> (NumberPattern, String)? {
        if let cached = await cache.get(campaign.id) { return cached }
        let pattern = try await lookUpPattern(for: campaign)
        await cache.set(campaign.id, pattern)
        return pattern
    }

    /// That of the provider of the first dialer serving the campaign, else the campaign's own
    /// provider, else the default provider.
    func lookUpPattern(for campaign: CampaignRecord) async throws -> (NumberPattern, String)? {
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
        // Numbers from files and forms are usually trimmed already; Foundation's trim only when needed.
        let destination = rawDestination.first?.isWhitespace == true || rawDestination.last?.isWhitespace == true
            ? rawDestination.trimmingCharacters(in: .whitespaces) : rawDestination
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
