import Foundation
import SMSCore

/// A request template of the generic URL providers (PROVIDERS.md section 7,
/// `docs/generic-providers.md`): literal text with `{{placeholder|filter|…}}`
/// values, escaped by where they sit unless a filter says otherwise.
///
/// - Placeholders: see `Placeholder`; uContact's `${phone}`, `${message}` and
///   `${id}` are accepted as aliases of `{{to}}`, `{{text}}` and `{{id}}`.
/// - Filters run left to right. `url`, `form`, `json`, `xml` and `raw` are
///   *escaping* filters; the others transform the value. When no escaping filter
///   is given, the value is escaped for its position (URL path, URL query, form,
///   JSON or XML body, header) after the transforms; when one is given it
///   replaces the automatic escaping, so a value is never encoded twice by accident.
/// - Literal text is copied as written (it is the template author's job to
///   write a valid URL or body around the values).
public struct URLTemplate: Sendable, Equatable {
    /// The values a template can insert.
    public enum Placeholder: String, Sendable, CaseIterable {
        /// Destination as stored (E.164 with `+`).
        case to
        /// Sender: the message's sender, else the provider's "SMS From".
        case from
        /// The message text (UTF-8).
        case text
        /// Our message id (the spool reference).
        case id
        /// The gateway port chosen from the dial string, or empty.
        case port
        /// `gsm7` or `ucs2` (or the names set by the `encoding_values` setting).
        case encoding
        /// Number of SMS segments the text is sent as.
        case segments
        /// The provider's user.
        case username
        /// The provider's password / token.
        case password
        /// Our webhook URL for this provider (delivery reports and replies).
        case callbackURL = "callback_url"
    }

    /// Filters applied to a value, left to right.
    public enum Filter: String, Sendable, CaseIterable {
        /// RFC 3986 percent-encoding of everything but unreserved characters (space `%20`).
        case url
        /// `application/x-www-form-urlencoded` (space `+`).
        case form
        /// JSON string escaping, without the surrounding quotes.
        case json
        /// XML entity escaping (for text and attribute values).
        case xml
        /// No escaping at all.
        case raw
        /// Only the ASCII digits 0-9.
        case digits
        /// Without a leading `+`.
        case noplus
        /// `+` followed by the value's digits.
        case e164
        /// UTF-16BE code units as uppercase hex (4 digits each).
        case ucs2hex
        /// GSM 03.38 septets, unpacked, as uppercase hex (extension characters as `1B` + code).
        case gsm7hex

        /// Whether the filter escapes (and so replaces the automatic escaping by position).
        public var isEscaping: Bool {
            switch self {
            case .url, .form, .json, .xml, .raw: true
            case .digits, .noplus, .e164, .ucs2hex, .gsm7hex: false
            }
        }
    }

    /// Where a value sits, which decides its automatic escaping.
    public enum Position: String, Sendable, Equatable {
        /// In a URL before `?`: percent-encoded like a path segment (`/` too).
        case urlPath
        /// In a URL after `?` or `#`: percent-encoded as a query component (`&`, `=`, `+`, `#` too; space `%20`).
        case urlQuery
        /// In an `application/x-www-form-urlencoded` body (space `+`).
        case form
        /// In a JSON body, inside quotes the author wrote.
        case json
        /// In an XML body.
        case xml
        /// In an HTTP header value: copied, with line breaks turned into spaces.
        case header
        /// In any other body: copied as is.
        case raw
    }

    /// What the template text is.
    public enum Kind: Sendable, Equatable {
        /// A URL: values before `?` are path values, after it query values.
        case url
        /// A request body in a format.
        case body(BodyFormat)
        /// An HTTP header value.
        case header
    }

    /// The format of a body template, from its content type.
    public enum BodyFormat: String, Sendable, Equatable {
        case form, json, xml, raw

        /// `…x-www-form-urlencoded` → form, `…json` → JSON, `…xml` → XML, anything else raw.
        public init(contentType: String?) {
            let type = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            if type == "application/x-www-form-urlencoded" {
                self = .form
            } else if type == "application/json" || type.hasSuffix("+json") || type == "text/json" {
                self = .json
            } else if type == "application/xml" || type == "text/xml" || type.hasSuffix("+xml") {
                self = .xml
            } else {
                self = .raw
            }
        }

        var position: Position {
            switch self {
            case .form: .form
            case .json: .json
            case .xml: .xml
            case .raw: .raw
            }
        }
    }

    /// The values to fill in; unset ones are empty.
    public struct Values: Sendable, Equatable {
        public var to: String
        public var from: String
        public var text: String
        public var id: String
        public var port: String
        public var encoding: String
        public var segments: String
        public var username: String
        public var password: String
        public var callbackURL: String

        public init(to: String = "", from: String = "", text: String = "", id: String = "", port: String = "",
                    encoding: String = "", segments: String = "", username: String = "", password: String = "",
                    callbackURL: String = "") {
            self.to = to
            self.from = from
            self.text = text
            self.id = id
            self.port = port
            self.encoding = encoding
            self.segments = segments
            self.username = username
            self.password = password
            self.callbackURL = callbackURL
        }

        public subscript(placeholder: Placeholder) -> String {
            switch placeholder {
            case .to: to
            case .from: from
            case .text: text
            case .id: id
            case .port: port
            case .encoding: encoding
            case .segments: segments
            case .username: username
            case .password: password
            case .callbackURL: callbackURL
            }
        }
    }

    /// A template that cannot be parsed, with the 1-based character position of the problem.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Problem: Sendable, Equatable {
            /// `{{` (or `${`) without its closing `}}` (or `}`).
            case unclosed
            /// `{{}}` or `{{|url}}`.
            case emptyPlaceholder
            /// A name that is not a placeholder or alias (as written).
            case unknownPlaceholder(String)
            /// A filter that does not exist (as written).
            case unknownFilter(String)
        }

        public var problem: Problem
        /// 1-based position, in characters, of the offending text in the template.
        public var position: Int

        public init(_ problem: Problem, at position: Int) {
            self.problem = problem
            self.position = position
        }

        public var description: String {
            switch problem {
            case .unclosed:
                "unclosed placeholder at character \(position): '{{' needs a closing '}}' ('${' a closing '}')"
            case .emptyPlaceholder:
                "empty placeholder at character \(position)"
            case .unknownPlaceholder(let name):
                "unknown placeholder '\(name)' at character \(position); known: "
                    + Placeholder.allCases.map(\.rawValue).joined(separator: ", ") + ", ${phone}, ${message}, ${id}"
            case .unknownFilter(let name):
                "unknown filter '\(name)' at character \(position); known: "
                    + Filter.allCases.map(\.rawValue).joined(separator: ", ")
            }
        }
    }

    /// A value a filter cannot represent (`gsm7hex` of a text outside GSM 03.38).
    public struct RenderError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    enum Part: Sendable, Equatable {
        case literal(String)
        case value(Placeholder, filters: [Filter], position: Position)
    }

    /// The template as written.
    public let source: String
    public let kind: Kind
    let parts: [Part]

    /// uContact's variables.
    static let aliases: [String: Placeholder] = ["phone": .to, "message": .text, "id": .id]

    /// Parses a template; throws `ParseError` with the position of an unknown
    /// placeholder or filter or an unclosed `{{`.
    public init(_ source: String, kind: Kind) throws(ParseError) {
        self.source = source
        self.kind = kind
        let characters = Array(source)
        var parts: [Part] = []
        var literal = ""
        var inQuery = false
        var index = 0

        func flushLiteral() {
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
        }
        func position() -> Position {
            switch kind {
            case .url: inQuery ? .urlQuery : .urlPath
            case .body(let format): format.position
            case .header: .header
            }
        }

        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if character == "{", next == "{" {
                guard let close = Self.find(["}", "}"], in: characters, from: index + 2) else {
                    throw ParseError(.unclosed, at: index + 1)
                }
                let (placeholder, filters) = try Self.parseInner(characters, from: index + 2, to: close, alias: false)
                flushLiteral()
                parts.append(.value(placeholder, filters: filters, position: position()))
                index = close + 2
            } else if character == "$", next == "{" {
                guard let close = Self.find(["}"], in: characters, from: index + 2) else {
                    throw ParseError(.unclosed, at: index + 1)
                }
                let (placeholder, filters) = try Self.parseInner(characters, from: index + 2, to: close, alias: true)
                flushLiteral()
                parts.append(.value(placeholder, filters: filters, position: position()))
                index = close + 1
            } else {
                if kind == .url, character == "?" || character == "#" { inQuery = true }
                literal.append(character)
                index += 1
            }
        }
        flushLiteral()
        self.parts = parts
    }

    /// The placeholders the template uses, in order of first use.
    public var placeholders: [Placeholder] {
        var seen: [Placeholder] = []
        for case .value(let placeholder, _, _) in parts where !seen.contains(placeholder) { seen.append(placeholder) }
        return seen
    }

    /// The template with the values filled in.
    public func render(_ values: Values) throws(RenderError) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .literal(let text):
                output += text
            case .value(let placeholder, let filters, let position):
                var value = values[placeholder]
                for filter in filters { value = try Self.apply(filter, to: value) }
                if !filters.contains(where: \.isEscaping) { value = Self.escape(value, for: position) }
                output += value
            }
        }
        return output
    }

    // MARK: - Parsing

    private static func find(_ needle: [Character], in characters: [Character], from start: Int) -> Int? {
        var index = start
        while index + needle.count <= characters.count {
            if Array(characters[index..<index + needle.count]) == needle { return index }
            // A new opening before the close means this one was never closed.
            if characters[index] == "{" { return nil }
            index += 1
        }
        return nil
    }

    /// Parses `name|filter|…` between `from` and `to` (exclusive); positions reported 1-based.
    private static func parseInner(_ characters: [Character], from start: Int, to end: Int, alias: Bool) throws(ParseError)
        -> (Placeholder, [Filter])
    {
        // Split on `|`, remembering where each piece starts (after its leading spaces).
        var pieces: [(text: String, position: Int)] = []
        var current = ""
        var currentStart = start
        for index in start...end {
            if index == end || characters[index] == "|" {
                let leading = current.prefix { $0 == " " }.count
                pieces.append((current.trimmingCharacters(in: .whitespaces), currentStart + leading + 1))
                current = ""
                currentStart = index + 1
            } else {
                current.append(characters[index])
            }
        }
        let name = pieces[0]
        guard !name.text.isEmpty else { throw ParseError(.emptyPlaceholder, at: start - 1) }
        let placeholder: Placeholder
        if alias {
            guard let found = aliases[name.text] else {
                throw ParseError(.unknownPlaceholder("${\(name.text)}"), at: name.position)
            }
            placeholder = found
        } else {
            guard let found = Placeholder(rawValue: name.text) else {
                throw ParseError(.unknownPlaceholder(name.text), at: name.position)
            }
            placeholder = found
        }
        var filters: [Filter] = []
        for piece in pieces.dropFirst() {
            guard let filter = Filter(rawValue: piece.text) else {
                throw ParseError(.unknownFilter(piece.text), at: piece.position)
            }
            filters.append(filter)
        }
        return (placeholder, filters)
    }

    // MARK: - Filters and escaping

    /// Applies one filter to a value.
    public static func apply(_ filter: Filter, to value: String) throws(RenderError) -> String {
        switch filter {
        case .url: return percentEncoded(value)
        case .form: return formEncoded(value)
        case .json: return jsonEscaped(value)
        case .xml: return xmlEscaped(value)
        case .raw: return value
        case .digits: return String(value.filter { $0.isASCII && $0.isNumber })
        case .noplus: return value.hasPrefix("+") ? String(value.dropFirst()) : value
        case .e164:
            let digits = String(value.filter { $0.isASCII && $0.isNumber })
            return digits.isEmpty ? "" : "+" + digits
        case .ucs2hex:
            return value.utf16.map { hex($0, width: 4) }.joined()
        case .gsm7hex:
            var output = ""
            for scalar in value.unicodeScalars {
                if let index = GSM7.basicCharacters.firstIndex(of: scalar) {
                    // The basic table lists every code but 0x1B (the escape), so later codes sit one index lower.
                    output += hex(UInt16(index < 0x1B ? index : index + 1), width: 2)
                } else if let code = gsm7ExtensionCodes[scalar] {
                    output += "1B" + hex(UInt16(code), width: 2)
                } else {
                    throw RenderError("the text has '\(Character(scalar))', which GSM-7 cannot carry (filter gsm7hex)")
                }
            }
            return output
        }
    }

    /// The automatic escaping of a value at a position.
    public static func escape(_ value: String, for position: Position) -> String {
        switch position {
        case .urlPath, .urlQuery: percentEncoded(value)
        case .form: formEncoded(value)
        case .json: jsonEscaped(value)
        case .xml: xmlEscaped(value)
        case .header: String(value.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
        case .raw: value
        }
    }

    /// GSM 03.38 extension table codes (sent after the 0x1B escape).
    static let gsm7ExtensionCodes: [Unicode.Scalar: UInt8] = [
        "\u{0C}": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
    ]

    private static func hex(_ value: UInt16, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// RFC 3986 unreserved characters: the only ones never percent-encoded in a URL value.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func percentEscape(_ byte: UInt8) -> String { "%" + hex(UInt16(byte), width: 2) }

    static func percentEncoded(_ value: String) -> String {
        var output = ""
        for byte in value.utf8 {
            if isUnreserved(byte) { output.unicodeScalars.append(Unicode.Scalar(byte)) } else { output += percentEscape(byte) }
        }
        return output
    }

    /// The WHATWG `application/x-www-form-urlencoded` byte serializer: `*-._` and alphanumerics kept, space `+`.
    static func formEncoded(_ value: String) -> String {
        var output = ""
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") {
                output += "+"
            } else if byte != UInt8(ascii: "~"), isUnreserved(byte) || byte == UInt8(ascii: "*") {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                output += percentEscape(byte)
            }
        }
        return output
    }

    static func jsonEscaped(_ value: String) -> String {
        var output = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\u{2028}": output += "\\u2028"
            case "\u{2029}": output += "\\u2029"
            default:
                if scalar.value < 0x20 { output += "\\u" + hex(UInt16(scalar.value), width: 4) } else { output.unicodeScalars.append(scalar) }
            }
        }
        return output
    }

    static func xmlEscaped(_ value: String) -> String {
        var output = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            // Character references keep line breaks and tabs even inside attribute values.
            case "\n": output += "&#10;"
            case "\r": output += "&#13;"
            case "\t": output += "&#9;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
