import Foundation
import Hummingbird
import SMSCore
import SMSDispatch
import SMSProviders
import SMSStore

/// Providers (SPEC P1-P6): types and their fields, create, list, edit,
/// delete, the default rule and the Test action. Secrets are write-only.
struct ProviderController {
    let storage: Storage
    let catalog: ProviderCatalog
    let pool: ProviderPool
    let secrets: SecretBox
    let webhookURL: @Sendable (Int64, String) -> String?

    /// A provider as the API shows it: never its secrets.
    struct ProviderDTO: Encodable, Sendable {
        var id: Int64
        var name: String
        var type: String
        var url: String?
        var username: String?
        var hasSecret: Bool
        var secretSettings: [String]
        var sender: String?
        var ports: String?
        var numberPattern: String?
        var encoding: String
        var isDefault: Bool
        /// True when no provider is marked default and this one is first in the list (SPEC P3).
        var actsAsDefault: Bool
        var ratePerSecond: Double?
        var maxConcurrency: Int?
        var settings: [String: String]
        var webhookURL: String?
        var createdAt: Date
        var updatedAt: Date

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(type, forKey: .type)
            try c.encode(url, forKey: .url)
            try c.encode(username, forKey: .username)
            try c.encode(hasSecret, forKey: .hasSecret)
            try c.encode(secretSettings, forKey: .secretSettings)
            try c.encode(sender, forKey: .sender)
            try c.encode(ports, forKey: .ports)
            try c.encode(numberPattern, forKey: .numberPattern)
            try c.encode(encoding, forKey: .encoding)
            try c.encode(isDefault, forKey: .isDefault)
            try c.encode(actsAsDefault, forKey: .actsAsDefault)
            try c.encode(ratePerSecond, forKey: .ratePerSecond)
            try c.encode(maxConcurrency, forKey: .maxConcurrency)
            try c.encode(settings, forKey: .settings)
            try c.encode(webhookURL, forKey: .webhookURL)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(updatedAt, forKey: .updatedAt)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, type, url, username, hasSecret, secretSettings, sender, ports, numberPattern, encoding,
                 isDefault, actsAsDefault, ratePerSecond, maxConcurrency, settings, webhookURL, createdAt, updatedAt
        }
    }

    struct ProviderInput: Decodable {
        var name: String?
        var type: String?
        var url: String?
        var username: String?
        /// Write-only: absent or empty keeps the stored secret.
        var secret: String?
        var sender: String?
        var ports: String?
        var numberPattern: String?
        var encoding: String?
        var ratePerSecond: Double?
        var maxConcurrency: Int?
        var settings: [String: String]?
    }

    struct TestInput: Decodable {
        var destination: String
        var text: String
    }

    struct TestResult: Encodable, Sendable {
        struct Failure: Encodable, Sendable {
            var kind: String
            var code: String
            var text: String
        }
        var accepted: Bool
        var providerMessageId: String?
        var rawResponse: String?
        var error: Failure?
    }

    struct TypeDTO: Encodable, Sendable {
        struct Field: Encodable, Sendable {
            var name: String
            var required: Bool
            var label: String
            var help: String?
        }
        struct Setting: Encodable, Sendable {
            var key: String
            var required: Bool
            var label: String
            var help: String?
            var secret: Bool
        }
        var type: String
        var fields: [Field]
        var settings: [Setting]
        var note: String?
    }

    struct ProviderList: Encodable, Sendable { var providers: [ProviderDTO] }
    struct ProviderEnvelope: Encodable, Sendable { var provider: ProviderDTO }
    struct TypeList: Encodable, Sendable { var types: [TypeDTO] }

    static let dtoSchema = JSONSchema.object([
        ("id", .integer), ("name", .string()), ("type", .string()), ("url", .nullable(.string())),
        ("username", .nullable(.string())), ("hasSecret", .boolean), ("secretSettings", .array(.string())),
        ("sender", .nullable(.string())), ("ports", .nullable(.string())), ("numberPattern", .nullable(.string())),
        ("encoding", .enumeration(["auto", "GSM-7", "UCS-2"])), ("isDefault", .boolean), ("actsAsDefault", .boolean),
        ("ratePerSecond", .nullable(.number)), ("maxConcurrency", .nullable(.integer)), ("settings", .object([], required: [])),
        ("webhookURL", .nullable(.string())), ("createdAt", .string(format: "date-time")), ("updatedAt", .string(format: "date-time")),
    ], required: ["id", "name", "type", "hasSecret", "encoding", "isDefault", "actsAsDefault", "settings"])

    static let inputSchema = JSONSchema.object([
        ("name", .string()), ("type", .string()), ("url", .string()), ("username", .string()),
        ("secret", .string(description: "write-only")), ("sender", .string()), ("ports", .string()),
        ("numberPattern", .string()), ("encoding", .enumeration(["auto", "GSM-7", "UCS-2"])),
        ("ratePerSecond", .number), ("maxConcurrency", .integer), ("settings", .object([], required: [])),
    ], required: [])

    func addRoutes(to routes: APIRoutes) {
        let staff = routes.group(.staff)
        let admin = routes.group(.admin)
        staff.on(.get, "/api/v1/provider-types", RouteDoc("Provider types and the fields each uses", tag: "providers",
            response: .object([("types", .array(.object([], required: [])))], required: ["types"])), use: types)
        staff.on(.get, "/api/v1/providers", RouteDoc("List providers (secrets are never returned)", tag: "providers",
            response: .object([("providers", .array(Self.dtoSchema))], required: ["providers"])), use: list)
        staff.on(.get, "/api/v1/providers/{id}", RouteDoc("One provider", tag: "providers",
            response: .object([("provider", Self.dtoSchema)], required: ["provider"])), use: show)
        admin.on(.post, "/api/v1/providers", RouteDoc("Create a provider", tag: "providers", request: Self.inputSchema,
            status: 201, response: .object([("provider", Self.dtoSchema)], required: ["provider"])), use: create)
        admin.on(.patch, "/api/v1/providers/{id}", RouteDoc("Change a provider; an absent or empty secret keeps the stored one",
            tag: "providers", request: Self.inputSchema, response: .object([("provider", Self.dtoSchema)], required: ["provider"])),
            use: update)
        admin.on(.delete, "/api/v1/providers/{id}", RouteDoc("Delete a provider no dialer uses", tag: "providers", status: 204),
                 use: delete)
        admin.on(.post, "/api/v1/providers/{id}/default", RouteDoc("Make this the default provider (clears the previous one)",
            tag: "providers", response: .object([("provider", Self.dtoSchema)], required: ["provider"])), use: makeDefault)
        admin.on(.post, "/api/v1/providers/{id}/test", RouteDoc("Send one message and show the provider's raw answer",
            tag: "providers", request: .object([("destination", .string()), ("text", .string())], required: ["destination", "text"]),
            response: .object([("accepted", .boolean), ("providerMessageId", .nullable(.string())),
                               ("rawResponse", .nullable(.string())), ("error", .nullable(.object([], required: [])))],
                              required: ["accepted"])), use: test)
    }

    // MARK: handlers

    @Sendable func types(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<TypeList> {
        JSONResponse(TypeList(types: catalog.types.compactMap { type in
            guard let schema = catalog.fields(for: type) else { return nil }
            return TypeDTO(
                type: type.rawValue,
                fields: schema.entries.map { .init(name: $0.field.rawValue, required: $0.required, label: $0.label, help: $0.help) },
                settings: schema.settings.map { .init(key: $0.key, required: $0.required, label: $0.label, help: $0.help, secret: $0.secret) },
                note: schema.note)
        }))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ProviderList> {
        let records = try await storage.providers.list()
        let defaultID = records.first(where: \.isDefault)?.id ?? records.first?.id
        let admin = context.principal?.role == .admin
        return JSONResponse(ProviderList(providers: try records.map { try dto($0, defaultID: defaultID, showWebhook: admin) }))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ProviderEnvelope> {
        let record = try await existing(context)
        return JSONResponse(ProviderEnvelope(provider: try dto(record, defaultID: try await storage.providers.effectiveDefault()?.id,
                                                               showWebhook: context.principal?.role == .admin)))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ProviderEnvelope> {
        let input = try await request.decodeJSON(ProviderInput.self, context: context)
        let now = Date()
        let draft = ProviderRecord(name: "", type: "", webhookToken: Secrets.randomToken(length: 32), createdAt: now, updatedAt: now)
        let record = try apply(input, to: draft, existingSecrets: ProviderSecrets())
        let created = try await storage.providers.create(record)
        try await audit(context, "provider.create", created, details: "type=\(created.type)")
        return JSONResponse(ProviderEnvelope(provider: try dto(created, defaultID: try await storage.providers.effectiveDefault()?.id)),
                            status: .created)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ProviderEnvelope> {
        let current = try await existing(context)
        let input = try await request.decodeJSON(ProviderInput.self, context: context)
        let stored = try ProviderSecrets.open(current.secretCiphertext, with: secrets)
        let record = try apply(input, to: current, existingSecrets: stored)
        let updated = try await storage.providers.update(record, at: Date())
        try await audit(context, "provider.update", updated, details: input.secret?.isEmpty == false ? "secret replaced" : nil)
        return JSONResponse(ProviderEnvelope(provider: try dto(updated, defaultID: try await storage.providers.effectiveDefault()?.id)))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        let record = try await existing(context)
        do {
            try await storage.providers.delete(id: record.id)
        } catch let StoreError.conflict(field, message) {
            throw APIError(status: .conflict, code: "in_use", message: message, field: field)
        }
        await pool.forget(id: record.id)
        try await audit(context, "provider.delete", record)
        return NoContent()
    }

    @Sendable func makeDefault(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ProviderEnvelope> {
        let record = try await existing(context)
        try await storage.providers.makeDefault(id: record.id, at: Date())
        try await audit(context, "provider.default", record)
        let updated = try await existing(context)
        return JSONResponse(ProviderEnvelope(provider: try dto(updated, defaultID: updated.id)))
    }

    @Sendable func test(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<TestResult> {
        let record = try await existing(context)
        let input = try await request.decodeJSON(TestInput.self, context: context)
        let destination = input.destination.trimmingCharacters(in: .whitespaces)
        guard !destination.isEmpty else { throw APIError.validation(field: "destination", "destination is required") }
        guard !input.text.isEmpty else { throw APIError.validation(field: "text", "text is required") }
        if let pattern = record.numberPattern, !pattern.isEmpty {
            let compiled = try NumberPattern(pattern)
            guard compiled.matches(destination) else {
                throw APIError.validation(field: "destination", "\(destination) does not match the provider's number pattern \(pattern)")
            }
        }
        let adapter = try await pool.adapter(for: record)
        let config = try await pool.config(for: record)
        let message = OutgoingSMS(reference: "test-\(Secrets.randomToken(length: 12))", destination: destination,
                                  text: input.text, sender: config.sender,
                                  port: try config.ports.flatMap { $0.isEmpty ? nil : try DialString($0).ports.first })
        let result: TestResult
        do {
            let receipt = try await adapter.send(message)
            result = TestResult(accepted: true, providerMessageId: receipt.providerMessageID, rawResponse: receipt.rawResponse)
        } catch let error as ProviderError {
            result = TestResult(accepted: false, rawResponse: nil,
                                error: .init(kind: error.kind.rawValue, code: error.code, text: error.text))
        }
        try await audit(context, "provider.test", record, details: "destination=\(destination) accepted=\(result.accepted)")
        return JSONResponse(result)
    }

    // MARK: helpers

    func existing(_ context: AppRequestContext) async throws -> ProviderRecord {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.validation(field: "id", "provider id must be a number")
        }
        guard let record = try await storage.providers.provider(id: id) else {
            throw APIError.notFound("provider \(id) does not exist")
        }
        return record
    }

    /// The webhook URL holds the provider's secret token: only admins see it.
    func dto(_ r: ProviderRecord, defaultID: Int64?, showWebhook: Bool = true) throws -> ProviderDTO {
        let stored = try ProviderSecrets.open(r.secretCiphertext, with: secrets)
        return ProviderDTO(
            id: r.id, name: r.name, type: r.type, url: r.url, username: r.username,
            hasSecret: !(stored.secret ?? "").isEmpty, secretSettings: stored.settings.keys.sorted(), sender: r.sender,
            ports: r.ports, numberPattern: r.numberPattern, encoding: r.encoding, isDefault: r.isDefault,
            actsAsDefault: r.id == defaultID, ratePerSecond: r.ratePerSecond, maxConcurrency: r.maxConcurrency,
            settings: r.settings, webhookURL: showWebhook ? webhookURL(r.id, r.webhookToken) : nil, createdAt: r.createdAt, updatedAt: r.updatedAt)
    }

    /// Validates `input` against the type's schema and applies it; every problem names its field.
    func apply(_ input: ProviderInput, to base: ProviderRecord, existingSecrets: ProviderSecrets) throws -> ProviderRecord {
        var r = base
        func clean(_ s: String?) -> String? {
            guard let s = s?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
            return s
        }
        if let name = clean(input.name) { r.name = name }
        guard (1...100).contains(r.name.count) else {
            throw APIError.validation(field: "name", "name must have 1 to 100 characters")
        }
        if let typeText = clean(input.type) { r.type = typeText }
        guard let type = ProviderType(rawValue: r.type), let schema = catalog.fields(for: type) else {
            throw APIError.validation(field: "type", "type must be one of \(catalog.types.map(\.rawValue).joined(separator: ", "))")
        }
        if let v = input.url { r.url = clean(v).flatMap { $0.isEmpty ? nil : $0 } }
        if let v = input.username { r.username = clean(v).flatMap { $0.isEmpty ? nil : $0 } }
        if let v = input.sender { r.sender = clean(v).flatMap { $0.isEmpty ? nil : $0 } }
        if let v = input.ports { r.ports = clean(v).flatMap { $0.isEmpty ? nil : $0 } }
        if let v = input.numberPattern { r.numberPattern = v.isEmpty ? nil : v }
        if let v = input.encoding { r.encoding = v }
        if let v = input.ratePerSecond { r.ratePerSecond = v }
        if let v = input.maxConcurrency { r.maxConcurrency = v }

        var secrets = existingSecrets
        if let secret = input.secret, !secret.isEmpty { secrets.secret = secret }
        if let settings = input.settings {
            let known = Dictionary(uniqueKeysWithValues: schema.settings.map { ($0.key, $0) })
            var plain: [String: String] = [:]
            for (key, value) in settings {
                guard let setting = known[key] else {
                    throw APIError.validation(field: "settings.\(key)", "\(type.rawValue) has no setting \(key)")
                }
                if setting.secret {
                    if !value.isEmpty { secrets.settings[key] = value }
                } else if !value.isEmpty {
                    plain[key] = value
                }
            }
            r.settings = plain
        }

        if let url = r.url {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  ["http", "https"].contains(scheme), components.host?.isEmpty == false || url.contains("{{") else {
                throw APIError.validation(field: "url", "url must be an http:// or https:// address")
            }
        }
        guard SMSEncodingSetting(rawValue: r.encoding) != nil else {
            throw APIError.validation(field: "encoding", "encoding must be auto, GSM-7 or UCS-2")
        }
        if let pattern = r.numberPattern {
            do { _ = try NumberPattern(pattern) } catch {
                throw APIError.validation(field: "numberPattern", "\(error)")
            }
        }
        if let ports = r.ports {
            do { _ = try DialString(ports) } catch {
                throw APIError.validation(field: "ports", "\(error)")
            }
        }
        if let rate = r.ratePerSecond, !(rate > 0 && rate <= 100_000) {
            throw APIError.validation(field: "ratePerSecond", "rate must be more than 0 and at most 100000 messages per second")
        }
        if let concurrency = r.maxConcurrency, !(1...1000).contains(concurrency) {
            throw APIError.validation(field: "maxConcurrency", "concurrency must be 1 to 1000")
        }
        let config = ProviderConfig(
            type: type, url: r.url, username: r.username, secret: secrets.secret, sender: r.sender, ports: r.ports,
            numberPattern: r.numberPattern, encoding: SMSEncodingSetting(rawValue: r.encoding) ?? .auto,
            settings: r.settings.merging(secrets.settings) { $1 })
        if let problem = schema.problems(in: config).first {
            throw APIError.validation(field: problem.field, problem.message)
        }
        if secrets != existingSecrets || r.secretCiphertext == nil {
            r.secretCiphertext = try secrets.sealed(with: self.secrets)
        }
        return r
    }

    func audit(_ context: AppRequestContext, _ action: String, _ record: ProviderRecord, details: String? = nil) async throws {
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: action,
            targetType: "provider", targetID: String(record.id), details: details, clientAddress: context.clientAddress))
    }
}
