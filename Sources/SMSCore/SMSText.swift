/// What sending a text costs: encoding, length in units, segments, and room left; the browser counter mirrors it.
public struct SMSAnalysis: Sendable, Hashable, Codable {
    /// The encoding the text is sent with.
    public let encoding: SMSEncoding
    /// Length in the encoding's units: GSM-7 septets (extension characters count 2) or UTF-16 code units.
    public let units: Int
    /// Number of SMS segments the text is sent as (0 for the empty text).
    public let segments: Int
    /// Units allowed per segment at this length: 160/70 for 0 or 1 segment, 153/67 when concatenated.
    public let perSegmentLimit: Int
    /// Units still free in the last segment before one more segment is needed (from the real split).
    public let remainingInSegment: Int
    /// Distinct grapheme clusters, in order of first appearance, that are not GSM-7 (what forces UCS-2).
    public let nonGSMCharacters: [String]

    /// Creates an analysis from its parts (normally obtained from `SMSText.analyze`).
    public init(
        encoding: SMSEncoding, units: Int, segments: Int, perSegmentLimit: Int, remainingInSegment: Int,
        nonGSMCharacters: [String]
    ) {
        self.encoding = encoding
        self.units = units
        self.segments = segments
        self.perSegmentLimit = perSegmentLimit
        self.remainingInSegment = remainingInSegment
        self.nonGSMCharacters = nonGSMCharacters
    }
}

/// GSM 03.38 / UCS-2 encoding choice, length, segment count and splitting of SMS text.
///
/// Rules (PROVIDERS.md section 8, vectors in `gsm0338.json`):
/// - GSM-7 iff every Unicode scalar is in the basic or extension table, otherwise UCS-2 for the whole text.
///   No normalisation is applied: a decomposed `e` + U+0301 is not GSM-7 (callers that want it
///   should send `precomposedStringWithCanonicalMapping` and analyse that same string).
/// - A text of at most 160 septets / 70 code units is one segment; longer texts are split into
///   segments of at most 153 / 67 units.
/// - Splitting never cuts an ESC pair or a surrogate pair, and keeps each grapheme cluster
///   (flag, ZWJ emoji, CR LF, letter + accents) whole, as Twilio does; only a cluster larger
///   than a whole segment is cut, between its Unicode scalars.
/// - The empty text is 0 segments: there is nothing to send.
public enum SMSText {
    /// Analyses the text with the automatic encoding choice.
    public static func analyze(_ text: String) -> SMSAnalysis {
        // Fast path: one segment of plain ASCII GSM text needs no splitting and has no non-GSM characters.
        if !text.isEmpty, let septets = GSM7.asciiSeptets(text), septets <= SMSEncoding.gsm7.singleSegmentLimit {
            let limit = SMSEncoding.gsm7.singleSegmentLimit
            return SMSAnalysis(encoding: .gsm7, units: septets, segments: 1, perSegmentLimit: limit,
                               remainingInSegment: limit - septets, nonGSMCharacters: [])
        }
        let encoding: SMSEncoding = GSM7.canEncode(text) ? .gsm7 : .ucs2
        return analysis(of: text, encoding: encoding)
    }

    /// Analyses the text under a provider setting; `.gsm7` throws `notEncodableInGSM7` when the text is not GSM-7.
    public static func analyze(_ text: String, setting: SMSEncodingSetting) throws(SMSCoreError) -> SMSAnalysis {
        analysis(of: text, encoding: try encoding(for: text, setting: setting))
    }

    /// The encoding a text is sent with under a setting; throws when GSM-7 is forced on non-GSM text.
    public static func encoding(for text: String, setting: SMSEncodingSetting = .auto) throws(SMSCoreError)
        -> SMSEncoding
    {
        switch setting {
        case .auto:
            return GSM7.canEncode(text) ? .gsm7 : .ucs2
        case .ucs2:
            return .ucs2
        case .gsm7:
            let unencodable = nonGSMCharacters(in: text)
            guard unencodable.isEmpty else { throw .notEncodableInGSM7(characters: unencodable) }
            return .gsm7
        }
    }

    /// Distinct grapheme clusters containing a scalar outside GSM 03.38, in order of first appearance.
    public static func nonGSMCharacters(in text: String) -> [String] {
        // Keyed by scalars, not by `String` equality, which would merge canonically equivalent forms.
        var seen = Set<[UInt32]>()
        var result: [String] = []
        for character in text where !character.unicodeScalars.allSatisfy({ GSM7.septets(for: $0) != nil }) {
            if seen.insert(character.unicodeScalars.map(\.value)).inserted { result.append(String(character)) }
        }
        return result
    }

    /// Length of the text in units of an encoding, or nil when GSM-7 cannot carry it.
    public static func units(of text: String, in encoding: SMSEncoding) -> Int? {
        var total = 0
        for scalar in text.unicodeScalars {
            guard let cost = encoding.cost(of: scalar) else { return nil }
            total += cost
        }
        return total
    }

    /// The segments of the text with the automatic encoding; joining them gives the text back.
    public static func segments(of text: String) -> [String] {
        split(text, encoding: GSM7.canEncode(text) ? .gsm7 : .ucs2).segments
    }

    /// The segments of the text under a provider setting; `.gsm7` throws when the text is not GSM-7.
    public static func segments(of text: String, setting: SMSEncodingSetting) throws(SMSCoreError) -> [String] {
        split(text, encoding: try encoding(for: text, setting: setting)).segments
    }

    private static func analysis(of text: String, encoding: SMSEncoding) -> SMSAnalysis {
        let split = split(text, encoding: encoding)
        let limit = split.segments.count > 1 ? encoding.concatenatedSegmentLimit : encoding.singleSegmentLimit
        return SMSAnalysis(
            encoding: encoding,
            units: split.units,
            segments: split.segments.count,
            perSegmentLimit: limit,
            remainingInSegment: limit - split.unitsInLastSegment,
            nonGSMCharacters: nonGSMCharacters(in: text)
        )
    }

    /// Splits a text already known to be encodable in `encoding` (every scalar of a GSM-7 text must have a cost).
    private static func split(_ text: String, encoding: SMSEncoding) -> Split {
        func cost(_ scalar: Unicode.Scalar) -> Int { encoding.cost(of: scalar) ?? 1 }

        let total = text.unicodeScalars.reduce(0) { $0 + cost($1) }
        if text.isEmpty { return Split(segments: [], units: 0, unitsInLastSegment: 0) }
        if total <= encoding.singleSegmentLimit {
            return Split(segments: [text], units: total, unitsInLastSegment: total)
        }

        let limit = encoding.concatenatedSegmentLimit
        var segments: [String] = []
        var current = String.UnicodeScalarView()
        var used = 0
        func closeSegment() {
            segments.append(String(current))
            current = String.UnicodeScalarView()
            used = 0
        }
        for character in text {
            let characterCost = character.unicodeScalars.reduce(0) { $0 + cost($1) }
            if used + characterCost <= limit {
                current.append(contentsOf: character.unicodeScalars)
                used += characterCost
            } else if characterCost <= limit {
                closeSegment()
                current.append(contentsOf: character.unicodeScalars)
                used = characterCost
            } else {
                // A grapheme cluster longer than a whole segment: cut it between scalars (never inside one).
                for scalar in character.unicodeScalars {
                    let scalarCost = cost(scalar)
                    if used + scalarCost > limit { closeSegment() }
                    current.append(scalar)
                    used += scalarCost
                }
            }
        }
        if !current.isEmpty { segments.append(String(current)) }
        return Split(segments: segments, units: total, unitsInLastSegment: used)
    }

    private struct Split {
        let segments: [String]
        let units: Int
        let unitsInLastSegment: Int
    }
}
