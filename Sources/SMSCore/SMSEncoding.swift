/// The two SMS data codings SMSDesk sends: the GSM 03.38 7-bit default alphabet or UCS-2 (UTF-16 on the wire).
public enum SMSEncoding: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// GSM 03.38 default alphabet plus its extension table; length counted in septets.
    case gsm7 = "GSM-7"
    /// UCS-2 / UTF-16; length counted in UTF-16 code units (a non-BMP emoji counts 2).
    case ucs2 = "UCS-2"

    /// Units that fit in a message sent as one SMS (160 septets / 70 code units).
    public var singleSegmentLimit: Int {
        switch self {
        case .gsm7: 160
        case .ucs2: 70
        }
    }

    /// Units per segment of a concatenated message (153 / 67: the 6-octet UDH takes the rest).
    public var concatenatedSegmentLimit: Int {
        switch self {
        case .gsm7: 153
        case .ucs2: 67
        }
    }

    /// The storage and display name, `GSM-7` or `UCS-2`.
    public var description: String { rawValue }

    /// Cost of one Unicode scalar in this encoding, or nil when GSM-7 cannot carry it.
    func cost(of scalar: Unicode.Scalar) -> Int? {
        switch self {
        case .gsm7: GSM7.septets(for: scalar)
        case .ucs2: scalar.utf16.count
        }
    }
}

/// A provider's "SMS encoding" setting (SPEC P2): always GSM-7, always UCS-2, or chosen per message.
public enum SMSEncodingSetting: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// GSM-7 when every character is in GSM 03.38, otherwise UCS-2 for the whole message.
    case auto
    /// Always GSM-7; a text with characters outside GSM 03.38 is refused, never mangled.
    case gsm7 = "GSM-7"
    /// Always UCS-2, even for pure GSM text.
    case ucs2 = "UCS-2"

    /// The storage and display name: `auto`, `GSM-7` or `UCS-2`.
    public var description: String { rawValue }
}

/// The GSM 03.38 default alphabet and its extension table, as Unicode scalars.
public enum GSM7 {
    /// The 127 characters of the basic table (every code except 0x1B, the escape), in code order; 1 septet each.
    public static let basicCharacters: [Unicode.Scalar] = Array(
        ("@£$¥èéùìòÇ\nØø\rÅå"
            + "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
            + " !\"#¤%&'()*+,-./"
            + "0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
            + "¿abcdefghijklmnopqrstuvwxyzäöñüà").unicodeScalars
    )

    /// The 10 characters of the extension table (form feed, `^{}\[~]|€`); 2 septets each (ESC + code).
    public static let extensionCharacters: [Unicode.Scalar] = Array("\u{0C}^{}\\[~]|€".unicodeScalars)

    private static let basicSet = Set(basicCharacters)
    private static let extensionSet = Set(extensionCharacters)

    /// Septets of the scalars U+0000...U+00FF (0 = not in GSM 03.38): most GSM text is Latin-1, and a
    /// table lookup is far cheaper than hashing each scalar into the sets.
    static let latin1Septets: [UInt8] = (0..<256).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        return basicSet.contains(scalar) ? 1 : extensionSet.contains(scalar) ? 2 : 0
    }

    /// Septets needed for a scalar: 1 (basic table), 2 (extension table) or nil (not in GSM 03.38).
    @inline(__always)
    public static func septets(for scalar: Unicode.Scalar) -> Int? {
        if scalar.value < 256 {
            let septets = latin1Septets[Int(scalar.value)]
            return septets == 0 ? nil : Int(septets)
        }
        if basicSet.contains(scalar) { return 1 }
        if extensionSet.contains(scalar) { return 2 }
        return nil
    }

    /// Septets of a text made only of ASCII bytes that all are in GSM 03.38, else nil. The fast path of
    /// `SMSText.analyze` for typical bulk text.
    static func asciiSeptets(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { bytes -> Int? in
            latin1Septets.withUnsafeBufferPointer { table -> Int? in
                var total = 0
                for byte in bytes {
                    guard byte < 0x80 else { return nil }
                    let septets = table[Int(byte)]
                    guard septets != 0 else { return nil }
                    total &+= Int(septets)
                }
                return total
            }
        }
    }

    /// Whether every scalar of the text is in the basic or extension table (the empty text is).
    public static func canEncode(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { septets(for: $0) != nil }
    }
}
