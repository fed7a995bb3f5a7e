import Crypto
import Foundation

/// The webhook signature algorithms of the providers that sign their calls
/// (SPEC P7): Twilio's `X-Twilio-Signature` and Vonage's signed parameters.
/// Pure functions, so the adapters and their tests compute the same thing.
public enum WebhookSignatures {
    // MARK: Twilio

    /// The string Twilio signs: the URL exactly as called, then for each
    /// parameter name in sorted order its name and value with no separators.
    /// A repeated name contributes each distinct value once, values sorted
    /// (what Twilio's SDK validators do).
    public static func twilioSigningString(url: String, parameters: [(name: String, value: String)]) -> String {
        var valuesByName: [String: Set<String>] = [:]
        for (name, value) in parameters { valuesByName[name, default: []].insert(value) }
        var result = url
        for name in valuesByName.keys.sorted(by: codePointOrder) {
            for value in (valuesByName[name] ?? []).sorted(by: codePointOrder) {
                result += name + value
            }
        }
        return result
    }

    /// `base64(HMAC-SHA1(authToken, twilioSigningString(url, parameters)))`.
    public static func twilioSignature(url: String, parameters: [(name: String, value: String)], authToken: String) -> String {
        let key = SymmetricKey(data: Data(authToken.utf8))
        let mac = HMAC<Insecure.SHA1>.authenticationCode(
            for: Data(twilioSigningString(url: url, parameters: parameters).utf8), using: key)
        return Data(mac).base64EncodedString()
    }

    /// Whether `signature` is Twilio's signature of a request to `url` with
    /// the form `parameters` and raw `body`.
    ///
    /// As Twilio's SDK validators do, the URL is tried as given, with the
    /// scheme's default port added (`:443`/`:80`) and with a default port
    /// removed, because Twilio's backend is not consistent about it. When the
    /// URL carries `bodySHA256` (JSON-bodied webhooks) the HMAC covers the URL
    /// alone and that parameter must be the hex SHA-256 of the raw body.
    public static func isValidTwilioSignature(_ signature: String, url: String, parameters: [(name: String, value: String)],
                                              body: [UInt8], authToken: String) -> Bool {
        var signed = parameters
        if let bodyHash = queryValue(named: "bodySHA256", in: url) {
            let actual = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
            guard constantTimeEquals(actual, bodyHash.lowercased()) else { return false }
            signed = []
        }
        var valid = false
        for candidate in urlVariants(url) {
            // Every candidate is checked so the time taken does not say which one matched.
            if constantTimeEquals(twilioSignature(url: candidate, parameters: signed, authToken: authToken), signature) {
                valid = true
            }
        }
        return valid
    }

    /// The URL as given, with the default port added when it has none, and
    /// without the port when it is the scheme's default.
    static func urlVariants(_ url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [url] }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let defaultPort: String
        switch scheme {
        case "https": defaultPort = "443"
        case "http": defaultPort = "80"
        default: return [url]
        }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = url[authorityStart...].firstIndex { "/?#".contains($0) } ?? url.endIndex
        let authority = url[authorityStart..<authorityEnd]
        // The host starts after any user info; an IPv6 host is bracketed.
        let hostStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hostAndPort = authority[hostStart...]
        let portColon: String.Index? = if let bracket = hostAndPort.lastIndex(of: "]") {
            hostAndPort[bracket...].firstIndex(of: ":")
        } else {
            hostAndPort.lastIndex(of: ":")
        }
        let prefix = String(url[..<hostStart])
        let rest = String(url[authorityEnd...])
        guard let portColon else {
            return [url, prefix + String(hostAndPort) + ":" + defaultPort + rest]
        }
        let port = hostAndPort[hostAndPort.index(after: portColon)...]
        guard port == defaultPort else { return [url] }
        return [url, prefix + String(hostAndPort[..<portColon]) + rest]
    }

    /// The decoded value of a query parameter of `url`.
    static func queryValue(named name: String, in url: String) -> String? {
        guard let questionMark = url.firstIndex(of: "?") else { return nil }
        var query = url[url.index(after: questionMark)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        return URLEncodedForm.decode(String(query)).first { $0.name == name }?.value
    }

    // MARK: Vonage

    /// The string Vonage signs: every parameter but `sig`, sorted by name, as
    /// `&name=value` with `&` and `=` inside values replaced by `_`.
    public static func vonageSigningString(_ parameters: [(name: String, value: String)]) -> String {
        parameters.filter { $0.name != "sig" }
            .sorted { codePointOrder($0.name, $1.name) }
            .map { "&\($0.name)=\($0.value.replacingOccurrences(of: "&", with: "_").replacingOccurrences(of: "=", with: "_"))" }
            .joined()
    }

    /// The lower-case hex signature Vonage computes for `parameters` with a
    /// signature secret: `md5(string + secret)` for `md5hash`, else
    /// `HMAC(secret, string)` with the method's hash.
    public static func vonageSignature(_ parameters: [(name: String, value: String)],
                                       method: NexmoProvider.SignatureMethod, secret: String) -> String {
        let string = Data(vonageSigningString(parameters).utf8)
        let key = SymmetricKey(data: Data(secret.utf8))
        let bytes: [UInt8] = switch method {
        case .md5hash: Array(Insecure.MD5.hash(data: string + Data(secret.utf8)))
        case .md5: Array(HMAC<Insecure.MD5>.authenticationCode(for: string, using: key))
        case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: string, using: key))
        case .sha256: Array(HMAC<SHA256>.authenticationCode(for: string, using: key))
        case .sha512: Array(HMAC<SHA512>.authenticationCode(for: string, using: key))
        }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `parameters` carry a `sig` that Vonage computed with `secret`.
    public static func isValidVonageSignature(_ parameters: [(name: String, value: String)],
                                              method: NexmoProvider.SignatureMethod, secret: String) -> Bool {
        guard let sig = parameters.first(where: { $0.name == "sig" })?.value else { return false }
        return constantTimeEquals(vonageSignature(parameters, method: method, secret: secret), sig.lowercased())
    }

    // MARK: Shared

    /// Compares two strings in time that depends on their lengths only.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Ordering by Unicode code points (what the providers' SDKs sort by), not
    /// by Swift's canonical-equivalence ordering.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }
}

/// `application/x-www-form-urlencoded`, as providers write and read it.
enum URLEncodedForm {
    /// RFC 3986 unreserved characters; everything else is percent-encoded and a space becomes `+`.
    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func encode(_ fields: [(name: String, value: String)]) -> String {
        fields.map { "\(escape($0.name))=\(escape($0.value))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: " "))) ?? text)
            .replacingOccurrences(of: " ", with: "+")
    }

    /// Name/value pairs in order; a part with a malformed escape, or whose escapes are not UTF-8, is kept
    /// as sent (with `+` as space). Works on the bytes: webhooks are decoded several times per request
    /// (signature, messages, reports), and this is on the path of every inbound SMS.
    static func decode(_ text: String) -> [(name: String, value: String)] {
        var text = text
        return text.withUTF8 { decode(bytes: $0) }
    }

    static func decode(bytes: UnsafeBufferPointer<UInt8>) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                var equals = start
                while equals < end, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                let name = unescape(UnsafeBufferPointer(rebasing: bytes[start..<equals]))
                let value = equals < end ? unescape(UnsafeBufferPointer(rebasing: bytes[(equals + 1)..<end])) : ""
                pairs.append((name, value))
            }
            start = end + 1
        }
        return pairs
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func unescape(_ part: UnsafeBufferPointer<UInt8>) -> String {
        if !part.contains(UInt8(ascii: "%")) && !part.contains(UInt8(ascii: "+")) { return String(decoding: part, as: UTF8.self) }
        let spaced = part.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(spaced.count)
        var index = 0
        while index < spaced.count {
            let byte = spaced[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < spaced.count, let high = hexValue(spaced[index + 1]), let low = hexValue(spaced[index + 2]) else {
                    return String(decoding: spaced, as: UTF8.self)  // malformed escape: as sent
                }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        return String(validating: decoded, as: UTF8.self) ?? String(decoding: spaced, as: UTF8.self)
    }
}
