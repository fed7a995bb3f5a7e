import Foundation
import Testing

/// A provider fixture file from `Tests/SMSProvidersTests/Fixtures` (the wire
/// contracts the adapters are tested against) and its example exchanges.
struct ProviderFixture: Sendable {
    let name: String
    private let exchanges: [String: FixtureExchange]
    let json: JSONValue

    init(_ name: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("SMSProvidersTests/Fixtures/\(name).json")
        let data = try Data(contentsOf: url)
        self.name = name
        json = try JSONDecoder().decode(JSONValue.self, from: data)
        let raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var exchanges: [String: FixtureExchange] = [:]
        for exchange in raw["exchanges"] as? [[String: Any]] ?? [] {
            let parsed = try FixtureExchange(exchange)
            exchanges[parsed.id] = parsed
        }
        self.exchanges = exchanges
    }

    func exchange(_ id: String) throws -> FixtureExchange {
        try #require(exchanges[id], "\(name).json has no exchange \(id)")
    }
}

/// One example exchange: the request a client makes and the answer it gets.
struct FixtureExchange: Sendable {
    let id: String
    let fullURL: String?
    var request: FixtureRequest
    let responseStatus: Int
    let responseHeaders: [String: String]
    let responseBody: FixtureBody

    init(_ raw: [String: Any]) throws {
        id = raw["id"] as? String ?? ""
        fullURL = raw["full_url"] as? String
        let request = raw["request"] as? [String: Any] ?? [:]
        let response = raw["response"] as? [String: Any] ?? [:]
        self.request = try FixtureRequest(request)
        responseStatus = response["status"] as? Int ?? 200
        responseHeaders = response["headers"] as? [String: String] ?? [:]
        responseBody = try FixtureBody(response["body"] as? [String: Any])
    }
}

struct FixtureRequest: Sendable {
    var method: String
    var path: String
    var query: [(String, String)]
    var rawQuery: String?
    var headers: [String: String]
    var body: FixtureBody

    init(_ raw: [String: Any]) throws {
        method = raw["method"] as? String ?? "GET"
        path = raw["path"] as? String ?? "/"
        query = pairs(raw["query"])
        rawQuery = raw["raw_query"] as? String
        headers = raw["headers"] as? [String: String] ?? [:]
        body = try FixtureBody(raw["body"] as? [String: Any])
    }

    /// The path with its query string.
    var target: String {
        if let rawQuery { return path + "?" + rawQuery }
        if query.isEmpty { return path }
        return path + "?" + FormEncoding.encode(query)
    }
}

/// A fixture body: form fields, JSON, text or nothing.
enum FixtureBody: Sendable {
    case none
    case form([(String, String)])
    case json(JSONValue)
    case text(String)

    init(_ body: [String: Any]?) throws {
        guard let body, let type = body["type"] as? String else {
            self = .none
            return
        }
        switch type {
        case "form": self = .form(pairs(body["fields"]))
        case "json":
            let data = try JSONSerialization.data(withJSONObject: body["json"] ?? [String: Any](), options: [.fragmentsAllowed])
            self = .json(try JSONDecoder().decode(JSONValue.self, from: data))
        case "text": self = .text(body["text"] as? String ?? "")
        default: self = .none
        }
    }

    var bytes: [UInt8] {
        switch self {
        case .none: []
        case .form(let fields): Array(FormEncoding.encode(fields).utf8)
        case .json(let value): Array((try? JSONEncoder().encode(value)) ?? Data())
        case .text(let text): Array(text.utf8)
        }
    }

    var json: JSONValue? {
        if case .json(let value) = self { return value }
        return nil
    }

    var fields: [(String, String)] {
        if case .form(let fields) = self { return fields }
        return []
    }
}

private func pairs(_ value: Any?) -> [(String, String)] {
    (value as? [[Any]] ?? []).compactMap { pair in
        pair.count == 2 ? ("\(pair[0])", "\(pair[1])") : nil
    }
}

/// `application/x-www-form-urlencoded`, as providers write it.
enum FormEncoding {
    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._*")

    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: unreserved.union(.init(charactersIn: " "))) ?? text)
            .replacingOccurrences(of: " ", with: "+")
    }

    static func decode(_ body: String) -> [(String, String)] {
        body.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}

/// A JSON document, compared by shape: the same keys with values of the same
/// kind (ids and other values may differ), arrays of the same length.
enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The kinds of the values, keys sorted; `ignoring` leaves out members of that name at any depth.
    func shape(ignoring: Set<String> = []) -> String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .array(let values): "[" + values.map { $0.shape(ignoring: ignoring) }.joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.filter { !ignoring.contains($0.key) }.sorted { $0.key < $1.key }
                .map { "\($0.key):\($0.value.shape(ignoring: ignoring))" }.joined(separator: ",") + "}"
        }
    }

    /// The value at a dotted path (`messages.0.status`).
    subscript(path: String) -> JSONValue? {
        var current: JSONValue? = self
        for step in path.split(separator: ".") {
            switch current {
            case .object(let members): current = members[String(step)]
            case .array(let values): current = Int(step).flatMap { values.indices.contains($0) ? values[$0] : nil }
            default: return nil
            }
        }
        return current
    }

    /// A scalar as text (numbers without a fraction as integers).
    var text: String? {
        switch self {
        case .string(let value): value
        case .number(let value): value == value.rounded() ? String(Int(value)) : String(value)
        case .bool(let value): String(value)
        default: nil
        }
    }

    /// Sets the value at a dotted path.
    mutating func set(_ path: [String], to value: JSONValue) {
        guard let step = path.first else {
            self = value
            return
        }
        let rest = Array(path.dropFirst())
        switch self {
        case .object(var members):
            var child = members[step] ?? .null
            child.set(rest, to: value)
            members[step] = child
            self = .object(members)
        case .array(var values):
            guard let index = Int(step), values.indices.contains(index) else { return }
            values[index].set(rest, to: value)
            self = .array(values)
        default:
            return
        }
    }
}
