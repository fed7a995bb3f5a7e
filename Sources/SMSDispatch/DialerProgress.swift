import Foundation
import SMSLive
import SMSStore

/// Tells the dialer monitor (admins and supervisors) that counts or states
/// changed: the `dialer.progress` live event, at most one per dialer every
/// half second however fast outcomes arrive. The monitor reloads its data
/// when it gets one.
public struct DialerProgress: Sendable {
    public static let topic = "dialer.progress"

    let coalescer: LiveEventCoalescer?

    public init(coalescer: LiveEventCoalescer?) { self.coalescer = coalescer }

    /// No live events (tools and tests without a bus).
    public static let disabled = DialerProgress(coalescer: nil)

    struct Payload: Encodable {
        var dialerId: Int64?
        var campaignId: Int64?
        var reason: String
    }

    /// Something of `dialerID` (or of `campaignID`, or of no particular dialer) changed; `reason` says what,
    /// e.g. `sent`, `started`, `report`.
    public func changed(dialerID: Int64? = nil, campaignID: Int64? = nil, reason: String) async {
        guard let coalescer, let event = try? NewLiveEvent(
            topic: Self.topic, audience: .staff, data: Payload(dialerId: dialerID, campaignId: campaignID, reason: reason))
        else { return }
        let key = dialerID.map { "dialer:\($0)" } ?? campaignID.map { "campaign:\($0)" } ?? "dialers"
        await coalescer.publish(key: "\(Self.topic):\(key)", event)
    }
}
