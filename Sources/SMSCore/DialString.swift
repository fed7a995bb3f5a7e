extension SMSCoreError {
    /// Why a dial string is rejected (items are counted from 1).
    public enum DialStringProblem: Sendable, Hashable, CustomStringConvertible {
        /// Nothing but whitespace.
        case empty
        /// An empty item between commas (`1,,2`) or at either end.
        case emptyItem(number: Int)
        /// An item that is not `N` or `N.M` with decimal digits.
        case notAPortOrRange(item: String)
        /// A port written with a minus sign.
        case negativePort(item: String)
        /// A range whose start is above its end.
        case reversedRange(item: String, start: Int, end: Int)
        /// A port above `DialString.maximumPort`.
        case portTooLarge(item: String, maximum: Int)
        /// A port listed twice, directly or through overlapping ranges.
        case duplicatePort(Int, item: String)

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .empty:
                return "is empty (expected ports such as \"0.3\" or \"0.3,6.7\")"
            case .emptyItem(let number):
                return "item \(number) is empty"
            case .notAPortOrRange(let item):
                return "\"\(item)\" is not a port (N) or a range (N.M)"
            case .negativePort(let item):
                return "\"\(item)\" has a negative port"
            case .reversedRange(let item, let start, let end):
                return "range \(item) is reversed (start \(start) > end \(end))"
            case .portTooLarge(let item, let maximum):
                return "\"\(item)\" has a port above \(maximum)"
            case .duplicatePort(let port, let item):
                return "port \(port) in \"\(item)\" is already listed"
            }
        }
    }
}

/// A gateway channel list (SPEC D2): comma-separated ports (`2`) or inclusive ranges (`0.3`), such as `0.3,6.7`.
///
/// Whitespace around items and around the numbers of a range is ignored. Ports are listed in
/// the order written (that is the rotation order); a port listed twice, even through
/// overlapping ranges, is rejected as a likely typo. Ports are 0...`maximumPort`.
public struct DialString: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The largest port accepted (GSM gateways have at most a few hundred channels).
    public static let maximumPort = 255

    /// The text as written.
    public let text: String
    /// The ports in rotation order, never empty, without duplicates.
    public let ports: [Int]

    /// Parses a dial string; throws naming the dial string and the offending item.
    public init(_ text: String) throws(SMSCoreError) {
        func fail(_ problem: SMSCoreError.DialStringProblem) -> SMSCoreError {
            .invalidDialString(input: text, problem: problem)
        }
        guard !text.allSatisfy(\.isWhitespace) else { throw fail(.empty) }
        var ports: [Int] = []
        var seen = Set<Int>()
        for (index, rawItem) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let item = rawItem.trimmingWhitespace()
            guard !item.isEmpty else { throw fail(.emptyItem(number: index + 1)) }
            let bounds = item.split(separator: ".", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() }
            guard bounds.count <= 2 else { throw fail(.notAPortOrRange(item: item)) }
            var numbers: [Int] = []
            for bound in bounds {
                if bound.hasPrefix("-"), !bound.dropFirst().isEmpty, bound.dropFirst().allSatisfy(\.isASCIIDigit) {
                    throw fail(.negativePort(item: item))
                }
                guard !bound.isEmpty, bound.allSatisfy(\.isASCIIDigit) else { throw fail(.notAPortOrRange(item: item)) }
                // Digits beyond 4 (leading zeros aside) are certainly above the maximum; avoid overflow.
                let significant = bound.drop { $0 == "0" }
                guard significant.count <= 4, let value = Int(bound), value <= Self.maximumPort else {
                    throw fail(.portTooLarge(item: item, maximum: Self.maximumPort))
                }
                numbers.append(value)
            }
            let first = numbers[0]
            let last = numbers.count == 2 ? numbers[1] : first
            guard first <= last else { throw fail(.reversedRange(item: item, start: first, end: last)) }
            for port in first...last {
                guard seen.insert(port).inserted else { throw fail(.duplicatePort(port, item: item)) }
                ports.append(port)
            }
        }
        self.text = text
        self.ports = ports
    }

    /// The text as written.
    public var description: String { text }

    /// Decodes from the dial string text, validating it.
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes as the dial string text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Round-robin over a dial string's ports (0-1-2-3-0-…), deterministic from its position: persist `position` to resume.
public struct PortRotation: Sendable, Hashable {
    /// The ports in rotation order (never empty).
    public let ports: [Int]
    /// How many ports have been handed out so far; the next port is `port(at: position)`.
    public private(set) var position: Int

    /// A rotation over the dial string's ports, resuming after `position` ports already used.
    public init(_ dialString: DialString, position: Int = 0) {
        self.ports = dialString.ports
        self.position = position
    }

    /// The port used for the n-th message (counting from 0; negative n counts back).
    public func port(at n: Int) -> Int {
        let count = ports.count
        return ports[((n % count) + count) % count]
    }

    /// Returns the next port and advances the rotation.
    public mutating func next() -> Int {
        let port = port(at: position)
        position = position == .max ? position % ports.count + 1 : position + 1  // same port sequence, no overflow
        return port
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    func trimmingWhitespace() -> String {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? start
        return String(self[start..<end])
    }
}
