import Hummingbird

/// Writes JSON text straight into a byte buffer with the keys in the order
/// given, so answers come out shaped (and ordered) like the provider's own,
/// with explicit `null`s where the provider writes them, and without building
/// an intermediate tree on the send path.
struct JSONWriter {
    private(set) var buffer: ByteBuffer
    private var needsComma = false

    init(capacity: Int = 512) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Writes a whole document with `body` and returns its bytes.
    static func document(capacity: Int = 512, _ body: (inout JSONWriter) -> Void) -> ByteBuffer {
        var writer = JSONWriter(capacity: capacity)
        body(&writer)
        return writer.buffer
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func array(_ body: (inout JSONWriter) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
        body(&self)
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ key: String) {
        separate()
        writeQuoted(key)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A string, or `null` when nil.
    mutating func value(_ string: String?) {
        separate()
        if let string { writeQuoted(string) } else { buffer.writeStaticString("null") }
        needsComma = true
    }

    mutating func value(_ number: Int) {
        separate()
        buffer.writeString(String(number))
        needsComma = true
    }

    mutating func value(_ number: Double) {
        separate()
        buffer.writeString(String(number))
        needsComma = true
    }

    mutating func value(_ flag: Bool) {
        separate()
        buffer.writeStaticString(flag ? "true" : "false")
        needsComma = true
    }

    mutating func field(_ name: String, _ string: String?) {
        key(name)
        value(string)
    }

    mutating func field(_ name: String, _ number: Int) {
        key(name)
        value(number)
    }

    mutating func field(_ name: String, _ number: Double) {
        key(name)
        value(number)
    }

    mutating func field(_ name: String, _ flag: Bool) {
        key(name)
        value(flag)
    }

    /// A member holding an object.
    mutating func object(_ name: String, _ body: (inout JSONWriter) -> Void) {
        key(name)
        object(body)
    }

    /// A member holding an array.
    mutating func array(_ name: String, _ body: (inout JSONWriter) -> Void) {
        key(name)
        array(body)
    }

    private mutating func separate() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
        needsComma = false
    }

    private mutating func writeQuoted(_ string: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var plain = true
        for byte in string.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            buffer.writeString(string)
        } else {
            for byte in string.utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                case ..<0x20:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Hex.digit(byte >> 4, uppercase: false))
                    buffer.writeInteger(Hex.digit(byte & 0xF, uppercase: false))
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
