import Foundation
import SMSCore

/// The decisions every dialect shares: credentials configured or not, which
/// destinations fail and how, recording, ids, and scheduling the webhooks
/// that follow an accepted message.
final class Simulation: Sendable {
    let options: SimulatorOptions
    let recorder: Recorder
    let dialect: any WireDialect
    let poster: WebhookPoster?
    /// Random per process, so ids differ between runs.
    let salt: UInt64

    init(options: SimulatorOptions, recorder: Recorder, dialect: any WireDialect, poster: WebhookPoster?) {
        self.options = options
        self.recorder = recorder
        self.dialect = dialect
        self.poster = poster
        salt = UInt64.random(in: 1...UInt64.max)
    }

    enum Verdict: Equatable {
        case accept(delivered: Bool)
        case reject
        case retry
    }

    /// What happens to a message for `destination`, by its last digits.
    func verdict(for destination: String) -> Verdict {
        let destination = destination.trimmingCharacters(in: .whitespaces)
        if !options.failSuffix.isEmpty, destination.hasSuffix(options.failSuffix) { return .reject }
        if !options.retrySuffix.isEmpty, destination.hasSuffix(options.retrySuffix) { return .retry }
        if !options.undeliveredSuffix.isEmpty, destination.hasSuffix(options.undeliveredSuffix) {
            return .accept(delivered: false)
        }
        return .accept(delivered: true)
    }

    /// The configured latency, before a provider endpoint answers.
    func pause() async {
        if options.latency > .zero { try? await Task.sleep(for: options.latency) }
    }

    /// Records an accepted message and schedules its delivery report and auto-reply.
    @discardableResult
    func accept(_ message: ReceivedMessage, delivered: Bool, details: MessageDetails = MessageDetails(),
                mintID: (Int) -> String) -> AcceptedMessage {
        let (recorded, serial) = recorder.record(to: message.to, from: message.from, text: message.text,
                                                 reference: message.reference, encoding: message.encoding, outcome: .accepted,
                                                 mintID: mintID)
        let accepted = AcceptedMessage(
            serial: serial, providerID: recorded.providerID ?? "", to: message.to, from: message.from, text: message.text,
            reference: message.reference, acceptedAt: recorded.receivedAt, delivered: delivered,
            parts: Self.parts(of: message.text), details: details)
        let delay = options.deliveryReportDelay
        poster?.enqueue(.deliveryReport(accepted), after: delay)
        if let reply = options.autoReply, dialect.carriesInbound {
            let serial = recorder.nextSerial()
            let inbound = InboundMessage(
                serial: serial, key: hexID(serial), from: message.to, to: message.from ?? options.ownNumber, text: reply,
                receivedAt: accepted.acceptedAt.addingTimeInterval(delay.seconds), port: details.port ?? 0,
                account: details.account)
            dialect.keep(inbound)
            poster?.enqueue(.inbound(inbound), after: delay)
        }
        return accepted
    }

    /// Records a message refused with the provider's permanent or retryable error.
    func refuse(_ message: ReceivedMessage, retryable: Bool) {
        recorder.record(to: message.to, from: message.from, text: message.text, reference: message.reference,
                        encoding: message.encoding, outcome: retryable ? .retryable : .rejected, mintID: { _ in "" })
    }

    /// Makes the destination of an earlier message write to us now (`POST /_sim/inbound`).
    func inject(from: String, to: String?, text: String) throws -> InboundMessage {
        guard dialect.carriesInbound else {
            throw SimulatorError("\(options.type) has no inbound messages (no webhook and no polling)")
        }
        let polled = options.type == .dinstar
        guard polled || poster?.postsInbound == true else {
            throw SimulatorError("no --webhook configured to post the inbound message to")
        }
        let serial = recorder.nextSerial()
        let inbound = InboundMessage(serial: serial, key: hexID(serial), from: from, to: to ?? options.ownNumber, text: text,
                                     receivedAt: Date(), port: 0, account: options.username)
        dialect.keep(inbound)
        if let poster, !poster.enqueue(.inbound(inbound), after: .zero), !polled {
            throw SimulatorError("the webhook queue is full")
        }
        return inbound
    }

    /// Whether the delivery report of a message accepted at `date` is due (for polled gateways).
    func reportIsDue(acceptedAt date: Date, now: Date = Date()) -> Bool {
        now.timeIntervalSince(date) >= options.deliveryReportDelay.seconds
    }

    // MARK: Ids

    /// 32 lower-case hex digits: the per-process salt, then the serial.
    func hexID(_ serial: Int, uppercase: Bool = false) -> String {
        Hex.string(salt, width: 16, uppercase: uppercase) + Hex.string(UInt64(serial), width: 16, uppercase: uppercase)
    }

    /// A UUID-shaped id from the salt and the serial.
    func uuidID(_ serial: Int) -> String {
        let hex = Array(hexID(serial).utf8)
        func part(_ range: Range<Int>) -> String { String(decoding: hex[range], as: UTF8.self) }
        return "\(part(0..<8))-\(part(8..<12))-\(part(12..<16))-\(part(16..<20))-\(part(20..<32))"
    }

    /// A decimal id: part of the salt, then the serial.
    func numericID(_ serial: Int) -> String {
        "\(salt % 9000 + 1000)\(String(serial + 100_000_000))"
    }

    static func parts(of text: String) -> Int {
        max(1, SMSText.analyze(text).segments)
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
