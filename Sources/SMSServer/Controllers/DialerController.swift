import Foundation
import Hummingbird
import SMSCore
import SMSDispatch
import SMSStore

/// Dialers (SPEC D1, D2, D11) and the do-not-contact register (SPEC D7, D8).
/// Campaigns have their own `CampaignController`.
struct DialerController {
    let storage: Storage
    /// Live `dialer.progress` events, so open monitors follow start/finish and dialer changes.
    var progress: DialerProgress = .disabled

    struct DialerInput: Decodable {
        var name: String?
        var providerId: Int64?
        var fallbackProviderId: Int64?
        var schedule: Schedule?
        var dialString: String?
        var intervalMs: Int?
        var enabled: Bool?
        var dncrCheck: Bool?
        var campaignIds: [Int64]?
    }

    struct DialerDTO: Encodable, Sendable {
        var id: Int64
        var name: String
        var providerId: Int64
        var fallbackProviderId: Int64?
        var schedule: Schedule?
        var dialString: String?
        var intervalMs: Int
        var enabled: Bool
        var dncrCheck: Bool
        var failoverActive: Bool
        var campaignIds: [Int64]
    }

    struct DNCRInput: Decodable {
        var number: String
        var campaignId: Int64?
        var reason: String?
    }

    struct DNCRDTO: Encodable, Sendable {
        var number: String
        var campaignId: Int64?
        var source: String
        var reason: String?
        var createdAt: Date
    }

    struct DialerList: Encodable, Sendable { var dialers: [DialerDTO] }
    struct DialerEnvelope: Encodable, Sendable { var dialer: DialerDTO }
    struct DNCRList: Encodable, Sendable { var entries: [DNCRDTO] }

    static let dialerSchema = JSONSchema.object([
        ("id", .integer), ("name", .string()), ("providerId", .integer), ("fallbackProviderId", .nullable(.integer)),
        ("schedule", .nullable(.object([], required: []))), ("dialString", .nullable(.string())), ("intervalMs", .integer),
        ("enabled", .boolean), ("dncrCheck", .boolean), ("failoverActive", .boolean), ("campaignIds", .array(.integer)),
    ], required: ["id", "name", "providerId", "intervalMs", "enabled", "dncrCheck", "failoverActive", "campaignIds"])
    static let dialerInput = JSONSchema.object([
        ("name", .string()), ("providerId", .integer), ("fallbackProviderId", .integer), ("schedule", .object([], required: [])),
        ("dialString", .string()), ("intervalMs", .integer), ("enabled", .boolean), ("dncrCheck", .boolean),
        ("campaignIds", .array(.integer)),
    ], required: [])

    func addRoutes(to routes: APIRoutes) {
        let staff = routes.group(.staff)
        let admin = routes.group(.admin)
        staff.on(.get, "/api/v1/dialers", RouteDoc("List dialers", tag: "dialers",
            response: .object([("dialers", .array(Self.dialerSchema))], required: ["dialers"])), use: listDialers)
        admin.on(.post, "/api/v1/dialers", RouteDoc("Create a dialer", tag: "dialers", request: Self.dialerInput, status: 201,
            response: .object([("dialer", Self.dialerSchema)], required: ["dialer"])), use: createDialer)
        admin.on(.patch, "/api/v1/dialers/{id}", RouteDoc("Change a dialer", tag: "dialers", request: Self.dialerInput,
            response: .object([("dialer", Self.dialerSchema)], required: ["dialer"])), use: updateDialer)
        admin.on(.delete, "/api/v1/dialers/{id}", RouteDoc("Delete a dialer", tag: "dialers", status: 204), use: deleteDialer)
        staff.on(.post, "/api/v1/dialers/{id}/start", RouteDoc("Start sending (enable the dialer)", tag: "dialers",
            response: .object([("dialer", Self.dialerSchema)], required: ["dialer"])), use: start)
        staff.on(.post, "/api/v1/dialers/{id}/finish", RouteDoc("Stop sending (pause the dialer)", tag: "dialers",
            response: .object([("dialer", Self.dialerSchema)], required: ["dialer"])), use: finish)
        let dncrSchema = JSONSchema.object([("number", .string()), ("campaignId", .nullable(.integer)), ("source", .string()),
                                            ("reason", .nullable(.string())), ("createdAt", .string(format: "date-time"))],
                                           required: ["number", "source", "createdAt"])
        staff.on(.get, "/api/v1/dncr", RouteDoc("Do-not-contact entries (optionally ?number=)", tag: "dncr",
            response: .object([("entries", .array(dncrSchema))], required: ["entries"])), use: listDNCR)
        staff.on(.post, "/api/v1/dncr", RouteDoc("Add a number to the do-not-contact register (no campaignId: all campaigns)",
            tag: "dncr", request: .object([("number", .string()), ("campaignId", .integer), ("reason", .string())], required: ["number"]),
            status: 201, response: .object([("entries", .array(dncrSchema))], required: ["entries"])), use: addDNCR)
        staff.on(.delete, "/api/v1/dncr/{number}", RouteDoc("Remove a number (?campaignId= for a campaign's entry)", tag: "dncr",
            status: 204), use: removeDNCR)
    }

    // MARK: dialers

    static func dto(_ d: DialerRecord) -> DialerDTO {
        DialerDTO(id: d.id, name: d.name, providerId: d.providerID, fallbackProviderId: d.fallbackProviderID,
                  schedule: d.schedule == "{}" || d.schedule.isEmpty ? nil : try? JSONDecoder().decode(Schedule.self, from: Data(d.schedule.utf8)),
                  dialString: d.dialString, intervalMs: d.intervalMs, enabled: d.enabled, dncrCheck: d.dncrCheck,
                  failoverActive: d.failoverActive, campaignIds: d.campaignIDs)
    }

    func dialer(_ context: AppRequestContext) async throws -> DialerRecord {
        guard let id = context.parameters.get("id", as: Int64.self) else { throw APIError.validation(field: "id", "dialer id must be a number") }
        guard let dialer = try await storage.dialers.dialer(id: id) else { throw APIError.notFound("dialer \(id) does not exist") }
        return dialer
    }

    /// Validates the input against the stored providers and campaigns and applies it.
    func apply(_ input: DialerInput, to base: DialerRecord) async throws -> DialerRecord {
        var d = base
        if let name = input.name { d.name = name.trimmingCharacters(in: .whitespaces) }
        guard (1...100).contains(d.name.count) else { throw APIError.validation(field: "name", "name must have 1 to 100 characters") }
        if let v = input.providerId { d.providerID = v }
        guard try await storage.providers.provider(id: d.providerID) != nil else {
            throw APIError.validation(field: "providerId", "provider \(d.providerID) does not exist")
        }
        if let v = input.fallbackProviderId { d.fallbackProviderID = v == 0 ? nil : v }
        if let fallback = d.fallbackProviderID {
            guard try await storage.providers.provider(id: fallback) != nil else {
                throw APIError.validation(field: "fallbackProviderId", "provider \(fallback) does not exist")
            }
            guard fallback != d.providerID else {
                throw APIError.validation(field: "fallbackProviderId", "the fallback provider must differ from the provider")
            }
        }
        if let schedule = input.schedule {
            d.schedule = String(decoding: try JSONEncoder().encode(schedule), as: UTF8.self)
            d.timeZone = schedule.timeZoneIdentifier
        }
        if let v = input.dialString {
            let trimmed = v.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { d.dialString = nil } else {
                do { _ = try DialString(trimmed) } catch { throw APIError.validation(field: "dialString", "\(error)") }
                d.dialString = trimmed
            }
        }
        if let v = input.intervalMs {
            guard (0...3_600_000).contains(v) else { throw APIError.validation(field: "intervalMs", "interval must be 0 to 3600000 ms") }
            d.intervalMs = v
        }
        if let v = input.enabled { d.enabled = v }
        if let v = input.dncrCheck { d.dncrCheck = v }
        if let v = input.campaignIds {
            for id in v where try await storage.campaigns.campaign(id: id) == nil {
                throw APIError.validation(field: "campaignIds", "campaign \(id) does not exist")
            }
            d.campaignIDs = v
        }
        return d
    }

    @Sendable func listDialers(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DialerList> {
        JSONResponse(DialerList(dialers: try await storage.dialers.list().map(Self.dto)))
    }

    @Sendable func createDialer(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DialerEnvelope> {
        let input = try await request.decodeJSON(DialerInput.self, context: context)
        guard input.providerId != nil else { throw APIError.validation(field: "providerId", "a provider is required") }
        let now = Date()
        let draft = DialerRecord(name: "", providerID: 0, schedule: "{}", timeZone: "UTC", createdAt: now, updatedAt: now)
        let created = try await storage.dialers.create(try await apply(input, to: draft))
        try await audit(context, "dialer.create", "dialer", created.id)
        await progress.changed(dialerID: created.id, reason: "created")
        return JSONResponse(DialerEnvelope(dialer: Self.dto(created)), status: .created)
    }

    @Sendable func updateDialer(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DialerEnvelope> {
        let current = try await dialer(context)
        let input = try await request.decodeJSON(DialerInput.self, context: context)
        let updated = try await storage.dialers.update(try await apply(input, to: current), at: Date())
        try await audit(context, "dialer.update", "dialer", updated.id)
        await progress.changed(dialerID: updated.id, reason: "updated")
        return JSONResponse(DialerEnvelope(dialer: Self.dto(updated)))
    }

    @Sendable func deleteDialer(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        let current = try await dialer(context)
        try await storage.dialers.delete(id: current.id)
        try await audit(context, "dialer.delete", "dialer", current.id)
        await progress.changed(dialerID: current.id, reason: "deleted")
        return NoContent()
    }

    func setEnabled(_ enabled: Bool, _ context: AppRequestContext) async throws -> JSONResponse<DialerEnvelope> {
        let current = try await dialer(context)
        try await storage.dialers.setEnabled(id: current.id, enabled, at: Date())
        try await audit(context, enabled ? "dialer.start" : "dialer.finish", "dialer", current.id)
        await progress.changed(dialerID: current.id, reason: enabled ? "started" : "finished")
        return JSONResponse(DialerEnvelope(dialer: Self.dto(try await dialer(context))))
    }

    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DialerEnvelope> {
        try await setEnabled(true, context)
    }

    @Sendable func finish(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DialerEnvelope> {
        try await setEnabled(false, context)
    }

    // MARK: DNCR

    static func dto(_ e: DNCREntry) -> DNCRDTO {
        DNCRDTO(number: e.number, campaignId: e.campaignID, source: e.source, reason: e.reason, createdAt: e.createdAt)
    }

    @Sendable func listDNCR(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DNCRList> {
        let number = request.uri.queryParameters["number"].map(String.init)
        return JSONResponse(DNCRList(entries: try await storage.dncr.list(number: number, limit: 1000).map(Self.dto)))
    }

    @Sendable func addDNCR(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DNCRList> {
        let input = try await request.decodeJSON(DNCRInput.self, context: context)
        let number = input.number.trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty, number.count <= 32 else { throw APIError.validation(field: "number", "a number of 1 to 32 characters is required") }
        if let id = input.campaignId, try await storage.campaigns.campaign(id: id) == nil {
            throw APIError.validation(field: "campaignId", "campaign \(id) does not exist")
        }
        let principal = try context.requirePrincipal()
        try await storage.dncr.add([DNCREntry(number: number, campaignID: input.campaignId, source: "manual", reason: input.reason,
                                              createdBy: principal.userID, createdAt: Date())])
        try await audit(context, "dncr.add", "number", nil, details: number)
        return JSONResponse(DNCRList(entries: try await storage.dncr.list(number: number, limit: 100).map(Self.dto)), status: .created)
    }

    @Sendable func removeDNCR(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        let number = context.parameters.get("number")?.removingPercentEncoding ?? ""
        let campaign = request.uri.queryParameters["campaignId"].flatMap { Int64(String($0)) }
        guard try await storage.dncr.remove(number: number, campaignID: campaign) else {
            throw APIError.notFound("\(number) is not on the do-not-contact register" + (campaign.map { " of campaign \($0)" } ?? ""))
        }
        try await audit(context, "dncr.remove", "number", nil, details: number)
        return NoContent()
    }

    func audit(_ context: AppRequestContext, _ action: String, _ type: String, _ id: Int64?, details: String? = nil) async throws {
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: action, targetType: type,
            targetID: id.map(String.init), details: details, clientAddress: context.clientAddress))
    }
}
