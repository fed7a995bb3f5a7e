import Crypto
import Foundation
import NIOHTTP1

/// One challenge of a `WWW-Authenticate` header: its scheme and parameters
/// (RFC 9110 §11.6.1). Parameter names are lowercased; values unquoted.
public struct AuthenticationChallenge: Sendable, Equatable {
    public var scheme: String
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// Every challenge in a `WWW-Authenticate` value, which may list several
    /// (`Digest realm="a", nonce="b", Basic realm="a"`). Malformed parts are skipped.
    public static func parse(_ header: String) -> [AuthenticationChallenge] {
        var scanner = ChallengeScanner(header)
        var challenges: [AuthenticationChallenge] = []
        while let scheme = scanner.nextScheme() {
            challenges.append(AuthenticationChallenge(scheme: scheme, parameters: scanner.parameters()))
        }
        return challenges
    }
}

/// A `Digest` challenge (RFC 7616, RFC 2617) the client can answer.
public struct DigestChallenge: Sendable, Equatable {
    public enum Algorithm: String, Sendable, CaseIterable {
        case md5 = "MD5"
        case md5Session = "MD5-sess"
        case sha256 = "SHA-256"
        case sha256Session = "SHA-256-sess"

        /// Lowercase hexadecimal digest of the UTF-8 text.
        func hash(_ text: String) -> String { hash(Data(text.utf8)) }

        func hash(_ data: Data) -> String {
            switch self {
            case .md5, .md5Session: Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined()
            case .sha256, .sha256Session: SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            }
        }

        var isSession: Bool { self == .md5Session || self == .sha256Session }
    }

    public var realm: String
    public var nonce: String
    public var opaque: String?
    public var algorithm: Algorithm
    /// The qop values the server offers (`auth`, `auth-int`); empty for an RFC 2069 server.
    public var qop: [String]
    /// The server says the nonce expired but the credentials were right.
    public var stale: Bool

    public init(realm: String, nonce: String, opaque: String? = nil, algorithm: Algorithm = .md5,
                qop: [String] = ["auth"], stale: Bool = false) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithm = algorithm
        self.qop = qop
        self.stale = stale
    }

    /// The Digest challenge in a parsed challenge, or nil when it is not one
    /// this client answers (another scheme, no nonce, an unsupported algorithm).
    public init?(_ challenge: AuthenticationChallenge) {
        guard challenge.scheme.caseInsensitiveCompare("Digest") == .orderedSame,
              let nonce = challenge.parameters["nonce"]
        else { return nil }
        let algorithmName = challenge.parameters["algorithm"] ?? "MD5"
        guard let algorithm = Algorithm.allCases.first(where: {
            $0.rawValue.caseInsensitiveCompare(algorithmName) == .orderedSame
        }) else { return nil }
        self.init(
            realm: challenge.parameters["realm"] ?? "", nonce: nonce, opaque: challenge.parameters["opaque"],
            algorithm: algorithm,
            qop: (challenge.parameters["qop"] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty },
            stale: challenge.parameters["stale"]?.lowercased() == "true")
    }

    /// The quality of protection used: `auth` when offered, else `auth-int`, else none (RFC 2069).
    var chosenQop: String? {
        if qop.contains("auth") { return "auth" }
        if qop.contains("auth-int") { return "auth-int" }
        return nil
    }
}

/// The Digest computation (RFC 7616 §3.4; RFC 2617 §3.2.2 for MD5).
public enum DigestAuth {
    /// The `response` value: `H(HA1:nonce:nc:cnonce:qop:HA2)`, or `H(HA1:nonce:HA2)` without qop.
    public static func response(challenge: DigestChallenge, method: String, uri: String, username: String,
                                password: String, cnonce: String, nonceCount: Int, body: [UInt8] = []) -> String {
        let h = challenge.algorithm
        var ha1 = h.hash("\(username):\(challenge.realm):\(password)")
        if h.isSession { ha1 = h.hash("\(ha1):\(challenge.nonce):\(cnonce)") }
        let qop = challenge.chosenQop
        let ha2 = qop == "auth-int"
            ? h.hash("\(method):\(uri):\(h.hash(Data(body)))")
            : h.hash("\(method):\(uri)")
        guard let qop else { return h.hash("\(ha1):\(challenge.nonce):\(ha2)") }
        return h.hash("\(ha1):\(challenge.nonce):\(nc(nonceCount)):\(cnonce):\(qop):\(ha2)")
    }

    /// The `Authorization` header value answering `challenge`, in the form
    /// curl and the Dinstar clients send (`algorithm` quoted, `qop` and `nc` bare).
    public static func authorization(challenge: DigestChallenge, method: String, uri: String, username: String,
                                     password: String, cnonce: String, nonceCount: Int, body: [UInt8] = []) -> String {
        let response = response(challenge: challenge, method: method, uri: uri, username: username,
                                password: password, cnonce: cnonce, nonceCount: nonceCount, body: body)
        var parts = [
            "username=\(quoted(username))", "realm=\(quoted(challenge.realm))", "nonce=\(quoted(challenge.nonce))",
            "uri=\(quoted(uri))", "algorithm=\(quoted(challenge.algorithm.rawValue))",
        ]
        if let qop = challenge.chosenQop {
            parts += ["qop=\(qop)", "nc=\(nc(nonceCount))", "cnonce=\(quoted(cnonce))"]
        }
        parts.append("response=\(quoted(response))")
        if let opaque = challenge.opaque { parts.append("opaque=\(quoted(opaque))") }
        return "Digest " + parts.joined(separator: ", ")
    }

    /// A fresh client nonce: 16 random hexadecimal digits.
    public static func randomCNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(format: "%016llx", generator.next() as UInt64)
    }

    /// The request-target of a URL as the digest `uri` (path and query, RFC 7616 §3.4).
    public static func requestTarget(of url: String) -> String {
        guard let components = URLComponents(string: url) else { return "/" }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        return components.percentEncodedQuery.map { path + "?" + $0 } ?? path
    }

    static func nc(_ count: Int) -> String { String(format: "%08x", count) }

    static func quoted(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// HTTP authentication that follows the server's challenge, as curl's
/// `--anyauth` does: a request goes out with the credentials the server asked
/// for last time (none at first); when the answer is 401 with a Digest or
/// Basic challenge, it is sent once more answering that challenge. The last
/// challenge is kept, so later requests need no extra round trip; the Digest
/// nonce count goes up with each use, as RFC 7616 requires.
///
/// Safe to share between tasks: the cached challenge is guarded by a lock.
public final class ChallengeAuthenticator: @unchecked Sendable {
    // @unchecked Sendable: `state` is the only mutable property and it is only
    // read and written while holding `lock`; the other properties are immutable.
    private let lock = NSLock()
    private var state: State = .unknown
    private let username: String
    private let password: String
    private let makeCNonce: @Sendable () -> String

    private enum State {
        case unknown
        case basic
        case digest(DigestChallenge, used: Int)
    }

    /// `cnonce` makes client nonces (random by default; fixed in tests that compare exact headers).
    public init(username: String, password: String,
                cnonce: @escaping @Sendable () -> String = DigestAuth.randomCNonce) {
        self.username = username
        self.password = password
        self.makeCNonce = cnonce
    }

    /// Sends through `http`, answering an authentication challenge once.
    /// Returns the final answer, which is still 401 when the server refused the credentials.
    public func send(_ http: ProviderHTTP, method: HTTPMethod, url: String, headers: [(String, String)] = [],
                     body: [UInt8]? = nil, timeout: TimeInterval) async throws -> ProviderHTTPResponse {
        let uri = DigestAuth.requestTarget(of: url)
        var firstHeaders = headers
        if let authorization = cachedAuthorization(method: method.rawValue, uri: uri, body: body ?? []) {
            firstHeaders.append(("Authorization", authorization))
        }
        let first = try await http.send(method: method, url: url, headers: firstHeaders, body: body, timeout: timeout)
        guard first.status == 401, let authorization = answer(first, method: method.rawValue, uri: uri, body: body ?? [])
        else { return first }
        return try await http.send(method: method, url: url, headers: headers + [("Authorization", authorization)],
                                   body: body, timeout: timeout)
    }

    /// The `Authorization` for the challenge seen last, or nil before any.
    func cachedAuthorization(method: String, uri: String, body: [UInt8]) -> String? {
        let cnonce = makeCNonce()
        return lock.withLock {
            switch state {
            case .unknown:
                return nil
            case .basic:
                return ProviderHTTP.basicAuthorization(user: username, password: password)
            case .digest(let challenge, let used):
                state = .digest(challenge, used: used + 1)
                return DigestAuth.authorization(challenge: challenge, method: method, uri: uri, username: username,
                                                password: password, cnonce: cnonce, nonceCount: used + 1, body: body)
            }
        }
    }

    /// Remembers the 401's challenge (Digest preferred over Basic) and answers it; nil when it has none we can answer.
    func answer(_ response: ProviderHTTPResponse, method: String, uri: String, body: [UInt8]) -> String? {
        let challenges = response.headers
            .filter { $0.name.caseInsensitiveCompare("WWW-Authenticate") == .orderedSame }
            .flatMap { AuthenticationChallenge.parse($0.value) }
        if let digest = challenges.lazy.compactMap(DigestChallenge.init).first {
            lock.withLock { state = .digest(digest, used: 0) }
            return cachedAuthorization(method: method, uri: uri, body: body)
        }
        if challenges.contains(where: { $0.scheme.caseInsensitiveCompare("Basic") == .orderedSame }) {
            lock.withLock { state = .basic }
            return ProviderHTTP.basicAuthorization(user: username, password: password)
        }
        return nil
    }
}

/// Reads `WWW-Authenticate` values: `scheme` tokens each followed by
/// comma-separated `name=token` or `name="quoted string"` parameters.
private struct ChallengeScanner {
    private let characters: [Character]
    private var index = 0

    init(_ text: String) { characters = Array(text) }

    private static let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

    private var atEnd: Bool { index >= characters.count }

    private mutating func skip(_ set: Set<Character>) {
        while !atEnd, set.contains(characters[index]) { index += 1 }
    }

    private mutating func token() -> String {
        let start = index
        while !atEnd, Self.tokenCharacters.contains(characters[index]) { index += 1 }
        return String(characters[start..<index])
    }

    /// The next scheme name, or nil at the end.
    mutating func nextScheme() -> String? {
        while !atEnd {
            skip([" ", "\t", ","])
            let scheme = token()
            if !scheme.isEmpty { return scheme }
            if !atEnd { index += 1 }  // a stray character: skip it
        }
        return nil
    }

    /// The parameters after a scheme, up to the next scheme or the end.
    mutating func parameters() -> [String: String] {
        var result: [String: String] = [:]
        while true {
            skip([" ", "\t", ","])
            let start = index
            let name = token()
            skip([" ", "\t"])
            guard !name.isEmpty, !atEnd, characters[index] == "=" else {
                index = start  // the next scheme (or the end)
                return result
            }
            index += 1
            skip([" ", "\t"])
            let value: String
            if !atEnd, characters[index] == "\"" {
                index += 1
                var text = ""
                while !atEnd, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < characters.count { index += 1 }
                    text.append(characters[index])
                    index += 1
                }
                index += 1
                value = text
            } else {
                value = token()
            }
            result[name.lowercased()] = value
        }
    }
}
