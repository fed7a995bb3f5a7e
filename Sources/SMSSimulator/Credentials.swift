import Crypto
import Foundation

/// Credentials as a request presents them, and the checks the providers make.
enum Credentials {
    /// User and password of an `Authorization: Basic …` header.
    static func basic(_ header: String?) -> (user: String, password: String)? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else {
            return nil
        }
        let decoded = String(decoding: data, as: UTF8.self)
        guard let colon = decoded.firstIndex(of: ":") else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }

    /// Whether `given` matches the configured value; an unconfigured value matches anything.
    static func matches(_ given: String?, _ configured: String?) -> Bool {
        guard let configured else { return true }
        guard let given else { return false }
        return constantTimeEqual(given, configured)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func md5Hex(_ text: String) -> String {
        Hex.string(Insecure.MD5.hash(data: Array(text.utf8)))
    }
}

/// HTTP Digest authentication (RFC 2617, MD5, `qop=auth`) as Dinstar gateways ask for it.
struct DigestChallenge: Sendable {
    let realm: String
    let nonce: String
    let opaque: String

    var header: String {
        "Digest realm=\"\(realm)\", qop=\"auth\", nonce=\"\(nonce)\", opaque=\"\(opaque)\""
    }

    /// The parameters of an `Authorization: Digest …` header.
    static func parameters(_ header: String) -> [String: String]? {
        guard header.count > 7, header.prefix(7).lowercased() == "digest " else { return nil }
        var result: [String: String] = [:]
        var rest = Substring(header.dropFirst(7))
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value: Substring
            if rest.first == "\"" {
                rest = rest.dropFirst()
                let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                value = rest[..<end]
                rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end]
                rest = rest[end...]
            }
            result[name] = value.trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// Whether a Digest `Authorization` header proves `user`/`password` for `method`.
    /// Any nonce is taken (the simulator does not track nonce freshness).
    static func verify(_ header: String, method: String, user: String?, password: String?) -> Bool {
        guard let p = parameters(header), let name = p["username"], let realm = p["realm"], let nonce = p["nonce"],
              let uri = p["uri"], let response = p["response"]?.lowercased() else { return false }
        guard Credentials.matches(name, user) else { return false }
        guard let password else { return true }
        let ha1 = Credentials.md5Hex("\(name):\(realm):\(password)")
        let ha2 = Credentials.md5Hex("\(method):\(uri)")
        let expected: String
        if let qop = p["qop"], let nc = p["nc"], let cnonce = p["cnonce"] {
            expected = Credentials.md5Hex("\(ha1):\(nonce):\(nc):\(cnonce):\(qop):\(ha2)")
        } else {
            expected = Credentials.md5Hex("\(ha1):\(nonce):\(ha2)")
        }
        return Credentials.constantTimeEqual(expected, response)
    }
}

/// Webhook signatures the providers compute.
enum WebhookSignature {
    /// `X-Twilio-Signature`: HMAC-SHA1 (key: AuthToken) over the full URL
    /// followed by each POST parameter's name and value, sorted by name; Base64.
    static func twilio(url: String, parameters: [(name: String, value: String)], authToken: String) -> String {
        var text = url
        let sorted = parameters.sorted { lhs, rhs in
            lhs.name == rhs.name ? lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
                : lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8)
        }
        var previous: (String, String)?
        for parameter in sorted {
            // Repeated name/value pairs count once (as the SDK validators do).
            if let previous, previous == (parameter.name, parameter.value) { continue }
            text += parameter.name + parameter.value
            previous = (parameter.name, parameter.value)
        }
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: Array(authToken.utf8)))
        return Data(code).base64EncodedString()
    }

    /// Vonage `sig`, md5hash method: parameters other than `sig` sorted by name,
    /// `&` and `=` in values replaced by `_`, written `&k=v…`, the secret appended, MD5 in hex.
    static func vonageMD5(parameters: [(name: String, value: String)], secret: String) -> String {
        var text = ""
        for parameter in parameters.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) })
        where parameter.name != "sig" {
            let value = parameter.value.replacingOccurrences(of: "&", with: "_").replacingOccurrences(of: "=", with: "_")
            text += "&\(parameter.name)=\(value)"
        }
        return Credentials.md5Hex(text + secret)
    }
}
