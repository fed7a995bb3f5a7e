import Foundation

/// A small JSON Schema value, enough to describe SMSDesk's request and response bodies.
public indirect enum JSONSchema: Sendable {
    case string(format: String? = nil, description: String? = nil)
    case integer
    case number
    case boolean
    case array(JSONSchema)
    case object([(String, JSONSchema)], required: [String])
    case nullable(JSONSchema)
    case enumeration([String])

    var json: Any {
        switch self {
        case .string(let format, let description):
            var d: [String: Any] = ["type": "string"]
            if let format { d["format"] = format }
            if let description { d["description"] = description }
            return d
        case .integer: return ["type": "integer", "format": "int64"]
        case .number: return ["type": "number"]
        case .boolean: return ["type": "boolean"]
        case .array(let item): return ["type": "array", "items": item.json]
        case .object(let properties, let required):
            var props: [String: Any] = [:]
            for (name, schema) in properties { props[name] = schema.json }
            var d: [String: Any] = ["type": "object", "properties": props]
            if !required.isEmpty { d["required"] = required }
            return d
        case .nullable(let inner):
            var d = inner.json as? [String: Any] ?? [:]
            d["nullable"] = true
            return d
        case .enumeration(let values): return ["type": "string", "enum": values]
        }
    }
}

/// Builds `/openapi.json` (OpenAPI 3.0) from the declared routes, so the
/// document cannot drift from what the server registers.
enum OpenAPIDocument {
    static func build(routes: [RouteSpec], version: String) throws -> Data {
        var paths: [String: [String: Any]] = [:]
        for route in routes {
            var operation: [String: Any] = [
                "summary": route.doc.summary,
                "tags": [route.doc.tag],
                "operationId": operationID(route),
                "x-smsdesk-access": route.access.description,
            ]
            let parameters = pathParameters(route.path).map { name -> [String: Any] in
                ["name": name, "in": "path", "required": true, "schema": ["type": "integer", "format": "int64"]]
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if let body = route.doc.requestBody {
                operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": body.json]]]
            }
            var success: [String: Any] = ["description": "Success"]
            if let response = route.doc.response {
                success["content"] = ["application/json": ["schema": response.json]]
            }
            var responses: [String: Any] = [String(route.doc.responseStatus): success]
            switch route.access {
            case .open: operation["security"] = [[String: [String]]]()
            case .providerWebhook:
                operation["security"] = [[String: [String]]]()
                responses["403"] = ["description": "Signature or token does not match"]
            case .roles:
                operation["security"] = [["session": [String]()], ["apiKey": [String]()]]
                responses["401"] = ["description": "Not signed in", "content": errorContent]
                responses["403"] = ["description": "Role not allowed, or CSRF token missing", "content": errorContent]
            }
            if route.doc.requestBody != nil {
                responses["400"] = ["description": "Invalid request", "content": errorContent]
            }
            operation["responses"] = responses
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = operation
        }
        let document: [String: Any] = [
            "openapi": "3.0.3",
            "info": ["title": "SMSDesk API", "version": version],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "session": ["type": "apiKey", "in": "cookie", "name": SessionCookie.name],
                    "apiKey": ["type": "http", "scheme": "bearer"],
                ],
                "schemas": ["Error": errorSchema.json],
            ],
        ]
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
    }

    static let errorSchema = JSONSchema.object([
        ("error", .object([
            ("code", .string()), ("message", .string()), ("field", .string()), ("retryAfter", .integer),
        ], required: ["code", "message"])),
    ], required: ["error"])

    static var errorContent: [String: Any] { ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]] }

    static func pathParameters(_ path: String) -> [String] {
        path.split(separator: "/").compactMap { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    static func operationID(_ route: RouteSpec) -> String {
        let words = route.path.split(separator: "/").filter { !$0.hasPrefix("{") && $0 != "api" && $0 != "v1" }
        return route.method.rawValue.lowercased() + words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
