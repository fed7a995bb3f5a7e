import Foundation
import Hummingbird
import NIOConcurrencyHelpers

/// What the simulator did with a message it received.
public enum SendOutcome: String, Sendable {
    /// Taken; a delivery report follows.
    case accepted
    /// Refused with the provider's permanent error.
    case rejected
    /// Refused with the provider's retryable error.
    case retryable
}

/// One message as a provider endpoint received it.
public struct RecordedMessage: Sendable, Equatable {
    /// 1, 2, 3… since the last reset.
    public var sequence: Int
    /// The id the simulator gave it (nil when refused).
    public var providerID: String?
    public var to: String
    public var from: String?
    public var text: String
    /// The sender's own reference when it sent one (Vonage `client-ref`,
    /// Infobip `messageId`, Dinstar `user_id`, generic `id`).
    public var reference: String?
    /// The data coding the request declared (`GSM-7`, `UCS-2`, or the protocol's own word), nil when
    /// the protocol carries none (Twilio, Infobip, generic).
    public var encoding: String?
    public var outcome: SendOutcome
    public var receivedAt: Date
}

/// Counts kept by the recorder.
public struct RecorderStats: Sendable, Equatable {
    public var received = 0
    public var accepted = 0
    public var rejected = 0
    public var retryable = 0
    /// Requests refused for bad or missing credentials (no message recorded).
    public var authFailures = 0
    /// Messages whose details no longer fit in memory (counts stay exact).
    public var forgotten = 0
    public var destinations = 0
}

/// Everything the simulator received: in memory for `/_sim/messages` and,
/// optionally, one JSON line per message appended to a file.
public final class Recorder: Sendable {
    private struct State {
        var messages: [RecordedMessage] = []
        var acceptedPerDestination: [String: Int] = [:]
        var stats = RecorderStats()
        var sequence = 0
        /// Never reset, so provider ids stay unique across `/_sim/reset`.
        var serial = 0
    }

    private let state = NIOLockedValueBox(State())
    private let file: NIOLockedValueBox<FileHandle>?
    private let maxRecords: Int

    init(maxRecords: Int, file path: String?) throws {
        self.maxRecords = max(0, maxRecords)
        if let path {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw SimulatorError("cannot create the record file \(path)")
                }
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw SimulatorError("cannot open the record file \(path)")
            }
            try handle.seekToEnd()
            file = NIOLockedValueBox(handle)
        } else {
            file = nil
        }
    }

    /// Records one received message; `mintID` names accepted messages from a
    /// serial number that is unique for the life of the process.
    @discardableResult
    func record(to: String, from: String?, text: String, reference: String?, encoding: String? = nil, outcome: SendOutcome,
                mintID: (Int) -> String) -> (message: RecordedMessage, serial: Int) {
        let now = Date()
        let (message, serial) = state.withLockedValue { state in
            state.sequence += 1
            state.serial += 1
            let message = RecordedMessage(
                sequence: state.sequence, providerID: outcome == .accepted ? mintID(state.serial) : nil,
                to: to, from: from, text: text, reference: reference, encoding: encoding, outcome: outcome, receivedAt: now)
            state.stats.received += 1
            switch outcome {
            case .accepted:
                state.stats.accepted += 1
                state.acceptedPerDestination[to, default: 0] += 1
            case .rejected: state.stats.rejected += 1
            case .retryable: state.stats.retryable += 1
            }
            if state.messages.count < maxRecords {
                state.messages.append(message)
            } else {
                state.stats.forgotten += 1
            }
            return (message, state.serial)
        }
        if let file {
            var line = Self.json(message)
            line.writeInteger(UInt8(ascii: "\n"))
            let data = Data(line.readableBytesView)
            // One write(2) per line: readable by a test right after the simulator is killed.
            file.withLockedValue { try? $0.write(contentsOf: data) }
        }
        return (message, serial)
    }

    /// A new serial number (for ids of inbound messages and gateway tasks).
    func nextSerial() -> Int {
        state.withLockedValue { state in
            state.serial += 1
            return state.serial
        }
    }

    func refuseCredentials() {
        state.withLockedValue { $0.stats.authFailures += 1 }
    }

    public var messages: [RecordedMessage] { state.withLockedValue { $0.messages } }
    public var acceptedPerDestination: [String: Int] { state.withLockedValue { $0.acceptedPerDestination } }

    public var stats: RecorderStats {
        state.withLockedValue { state in
            var stats = state.stats
            stats.destinations = state.acceptedPerDestination.count
            return stats
        }
    }

    /// Forgets every message and count (ids keep increasing).
    public func reset() {
        state.withLockedValue { state in
            state.messages = []
            state.acceptedPerDestination = [:]
            state.stats = RecorderStats()
            state.sequence = 0
        }
    }

    static func json(_ message: RecordedMessage) -> ByteBuffer {
        JSONWriter.document(capacity: 256) { json in
            json.object { json in
                write(message, into: &json)
            }
        }
    }

    static func write(_ message: RecordedMessage, into json: inout JSONWriter) {
        json.field("seq", message.sequence)
        json.field("id", message.providerID)
        json.field("to", message.to)
        json.field("from", message.from)
        json.field("text", message.text)
        json.field("reference", message.reference)
        json.field("encoding", message.encoding)
        json.field("outcome", message.outcome.rawValue)
        json.field("time", UTCTime(message.receivedAt).iso8601)
    }
}

/// A refusal of the simulator's configuration.
public struct SimulatorError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
