import Hummingbird

/// `application/x-www-form-urlencoded` fields (also used for query strings),
/// in the order received; `+` is a space, as every provider writes it.
struct FormFields: Sendable {
    var pairs: [(name: String, value: String)]

    init(_ pairs: [(name: String, value: String)] = []) {
        self.pairs = pairs
    }

    /// Parses a form body or a query string.
    init(parsing bytes: some Collection<UInt8>) {
        var pairs: [(name: String, value: String)] = []
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        func flush() {
            if !name.isEmpty || inValue {
                pairs.append((Self.decode(name), Self.decode(value)))
            }
            name.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            inValue = false
        }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "&"): flush()
            case UInt8(ascii: "=") where !inValue: inValue = true
            default:
                if inValue { value.append(byte) } else { name.append(byte) }
            }
        }
        flush()
        self.pairs = pairs
    }

    init(query: String?) {
        self.init(parsing: (query ?? "").utf8)
    }

    init(body: ByteBuffer) {
        self.init(parsing: body.readableBytesView)
    }

    /// The first value of `name`.
    subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// The first value of any of `names`, in the order of `names`.
    func first(of names: [String]) -> String? {
        for name in names {
            if let value = self[name] { return value }
        }
        return nil
    }

    /// The fields encoded as a form body or query string.
    var encoded: String {
        var out = ""
        out.reserveCapacity(pairs.count * 24)
        for (index, pair) in pairs.enumerated() {
            if index > 0 { out.append("&") }
            Self.escape(pair.name, into: &out)
            out.append("=")
            Self.escape(pair.value, into: &out)
        }
        return out
    }

    static func escape(_ text: String, into out: inout String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "*"):
                bytes.append(byte)
            case UInt8(ascii: " "):
                bytes.append(UInt8(ascii: "+"))
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(Hex.digit(byte >> 4, uppercase: true))
                bytes.append(Hex.digit(byte & 0xF, uppercase: true))
            }
        }
        out.append(String(decoding: bytes, as: UTF8.self))
    }

    static func decode(_ bytes: [UInt8]) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                      let high = Hex.value(bytes[index + 1]), let low = Hex.value(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Hexadecimal digits, for ids, escapes and digests.
enum Hex {
    static func digit(_ nibble: UInt8, uppercase: Bool) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : (uppercase ? UInt8(ascii: "A") : UInt8(ascii: "a")) + nibble - 10
    }

    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `value` as exactly `width` hex digits (the low ones).
    static func string(_ value: UInt64, width: Int, uppercase: Bool = false) -> String {
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while index >= 0 {
            bytes[index] = digit(UInt8(rest & 0xF), uppercase: uppercase)
            rest >>= 4
            index -= 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digit(byte >> 4, uppercase: false))
            out.append(digit(byte & 0xF, uppercase: false))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
