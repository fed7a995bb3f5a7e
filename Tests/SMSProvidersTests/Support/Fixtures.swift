import Foundation
import Testing

/// A provider fixture file (`Fixtures/<name>.json`, copied verbatim from the
/// provider wire-contract fixtures) and its example exchanges.
struct FixtureFile {
    let name: String
    let json: [String: Any]

    init(_ name: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name).json")
        let data = try Data(contentsOf: url)
        self.name = name
        json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    var credentials: [String: Any] { json["credentials"] as? [String: Any] ?? [:] }

    func credential(_ key: String) throws -> String {
        try #require(credentials[key] as? String, "\(name).json has no credential \(key)")
    }

    var exchangeIDs: [String] { (json["exchanges"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }

    func exchange(_ id: String) throws -> Exchange {
        let all = json["exchanges"] as? [[String: Any]] ?? []
        let raw = try #require(all.first { $0["id"] as? String == id }, "\(name).json has no exchange \(id)")
        return Exchange(raw: raw)
    }
}

/// One example exchange: the request a client makes and the answer it gets.
struct Exchange {
    let raw: [String: Any]

    var id: String { raw["id"] as? String ?? "" }
    var kind: String { raw["kind"] as? String ?? "" }
    /// For webhooks: the full URL the provider called (what it signed).
    var fullURL: String? { raw["full_url"] as? String }
    var request: [String: Any] { raw["request"] as? [String: Any] ?? [:] }
    var response: [String: Any] { raw["response"] as? [String: Any] ?? [:] }

    var method: String { request["method"] as? String ?? "GET" }
    var path: String { request["path"] as? String ?? "/" }
    var query: [(String, String)] { Self.pairs(request["query"]) }
    var requestHeaders: [String: String] { request["headers"] as? [String: String] ?? [:] }
    var requestBody: FixtureBody { FixtureBody(request["body"] as? [String: Any]) }

    var responseStatus: Int { response["status"] as? Int ?? 200 }
    var responseHeaders: [String: String] { response["headers"] as? [String: String] ?? [:] }
    var responseBody: FixtureBody { FixtureBody(response["body"] as? [String: Any]) }

    static func pairs(_ value: Any?) -> [(String, String)] {
        (value as? [[Any]] ?? []).compactMap { pair in
            guard pair.count == 2 else { return nil }
            return ("\(pair[0])", "\(pair[1])")
        }
    }
}

/// A fixture body: form fields, JSON, text or nothing.
enum FixtureBody {
    case none
    case form(fields: [(String, String)], raw: String?)
    case json(Any)
    case text(String)

    init(_ body: [String: Any]?) {
        guard let body, let type = body["type"] as? String else {
            self = .none
            return
        }
        switch type {
        case "form": self = .form(fields: Exchange.pairs(body["fields"]), raw: body["raw"] as? String)
        case "json": self = .json(body["json"] ?? NSNull())
        case "text": self = .text(body["text"] as? String ?? body["raw"] as? String ?? "")
        default: self = .none
        }
    }

    /// The bytes a server would send for this body.
    var bytes: [UInt8] {
        switch self {
        case .none: []
        case .form(let fields, let raw): Array((raw ?? FormCoding.encode(fields)).utf8)
        case .json(let value):
            Array((try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])) ?? Data())
        case .text(let text): Array(text.utf8)
        }
    }
}

/// `application/x-www-form-urlencoded` as browsers and providers write it.
enum FormCoding {
    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")

    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ s: String) -> String {
        (s.addingPercentEncoding(withAllowedCharacters: unreserved.union(.init(charactersIn: " "))) ?? s)
            .replacingOccurrences(of: " ", with: "+")
    }

    static func decode(_ body: String) -> [(String, String)] {
        body.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}
