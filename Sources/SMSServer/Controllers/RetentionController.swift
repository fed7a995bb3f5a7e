import Foundation
import Hummingbird
import SMSStore

/// The retention setting (issue 8): how long message texts and numbers are kept. Admins only.
struct RetentionController {
    let storage: Storage

    struct RetentionInput: Decodable {
        var mode: String?
        var days: Int?
    }

    struct LastRunDTO: Encodable, Sendable {
        var at: Date
        var cutoff: Date?
        var mode: String
        var spool: Int
        var spoolEvents: Int
        var conversations: Int
        var messages: Int
        var deliveryReports: Int
        var webhookDeliveries: Int
    }

    struct RetentionDTO: Encodable, Sendable {
        var mode: String
        var days: Int?
        var lastRun: LastRunDTO?
    }

    static let schema = JSONSchema.object([
        ("mode", .enumeration(RetentionMode.allCases.map(\.rawValue))), ("days", .nullable(.integer)),
        ("lastRun", .nullable(.object([
            ("at", .string(format: "date-time")), ("cutoff", .nullable(.string(format: "date-time"))), ("mode", .string()),
            ("spool", .integer), ("spoolEvents", .integer), ("conversations", .integer), ("messages", .integer),
            ("deliveryReports", .integer), ("webhookDeliveries", .integer),
        ], required: ["at", "mode", "spool", "spoolEvents", "conversations", "messages", "deliveryReports", "webhookDeliveries"]))),
    ], required: ["mode"])

    func addRoutes(to routes: APIRoutes) {
        let admin = routes.group(.admin)
        admin.on(.get, "/api/v1/settings/retention", RouteDoc(
            "The retention setting (keep everything, or delete or anonymise messages after `days`) and its last run",
            tag: "settings", response: Self.schema), use: show)
        admin.on(.put, "/api/v1/settings/retention", RouteDoc(
            "Change the retention setting; it applies at the next daily run", tag: "settings",
            request: .object([("mode", .enumeration(RetentionMode.allCases.map(\.rawValue))), ("days", .integer)], required: ["mode"]),
            response: Self.schema), use: update)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<RetentionDTO> {
        JSONResponse(try await current())
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<RetentionDTO> {
        let input = try await request.decodeJSON(RetentionInput.self, context: context)
        guard let modeText = input.mode else { throw APIError.validation(field: "mode", "mode is required: keep, delete or anonymise") }
        guard let mode = RetentionMode(rawValue: modeText) else {
            throw APIError.validation(field: "mode", "mode must be keep, delete or anonymise")
        }
        let policy = RetentionPolicy(mode: mode, days: mode == .keep ? nil : input.days)
        if let problem = policy.problem { throw APIError.validation(field: problem.field, problem.message) }
        try await storage.retention.setPolicy(policy)
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: "retention.update",
            targetType: "settings", targetID: "retention", details: "mode=\(mode.rawValue) days=\(policy.days.map(String.init) ?? "-")",
            clientAddress: context.clientAddress))
        return JSONResponse(try await current())
    }

    func current() async throws -> RetentionDTO {
        let policy = try await storage.retention.policy()
        let last = try await storage.retention.lastReport().map {
            LastRunDTO(at: $0.at, cutoff: $0.cutoff, mode: $0.mode.rawValue, spool: $0.spool, spoolEvents: $0.spoolEvents,
                       conversations: $0.conversations, messages: $0.messages, deliveryReports: $0.deliveryReports,
                       webhookDeliveries: $0.webhookDeliveries)
        }
        return RetentionDTO(mode: policy.mode.rawValue, days: policy.days, lastRun: last)
    }
}
