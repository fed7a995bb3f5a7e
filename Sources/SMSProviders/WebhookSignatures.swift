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

    /// Name/value pairs in order; a malformed escape is kept as sent.
    static func decode(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}
