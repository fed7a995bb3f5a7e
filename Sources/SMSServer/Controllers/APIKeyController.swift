import Foundation
import Hummingbird
import SMSStore

/// API keys for integrations: created (key shown once), listed, revoked.
struct APIKeyController {
    let storage: Storage
    let accounts: Accounts

    struct CreateRequest: Decodable { var name: String }
    struct KeyList: Encodable, Sendable { var apiKeys: [APIKeyDTO] }
    struct CreatedKey: Encodable, Sendable {
        var apiKey: APIKeyDTO
        var key: String
    }

    func addRoutes(to routes: APIRoutes) {
        let admin = routes.group(.admin)
        admin.on(.get, "/api/v1/apikeys", RouteDoc("List API keys", tag: "apikeys",
            response: .object([("apiKeys", .array(APIKeyDTO.schema))], required: ["apiKeys"])), use: list)
        admin.on(.post, "/api/v1/apikeys", RouteDoc("Create an API key; the key is in the answer, once", tag: "apikeys",
            request: .object([("name", .string())], required: ["name"]), status: 201,
            response: .object([("apiKey", APIKeyDTO.schema), ("key", .string())], required: ["apiKey", "key"])), use: create)
        admin.on(.delete, "/api/v1/apikeys/{id}", RouteDoc("Revoke an API key", tag: "apikeys", status: 204), use: revoke)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<KeyList> {
        JSONResponse(KeyList(apiKeys: try await storage.apiKeys.list().map(APIKeyDTO.init)))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CreatedKey> {
        let body = try await request.decodeJSON(CreateRequest.self, context: context)
        let (principal, user) = try context.requireUser()
        let (apiKey, key) = try await accounts.createAPIKey(name: body.name, createdBy: user.id)
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: user.id, actorName: principal.displayName, action: "apikey.create",
            targetType: "apikey", targetID: String(apiKey.id), details: "name=\(apiKey.name)",
            clientAddress: context.clientAddress))
        return JSONResponse(CreatedKey(apiKey: APIKeyDTO(apiKey), key: key), status: .created)
    }

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.validation(field: "id", "API key id must be a number")
        }
        let principal = try context.requirePrincipal()
        do {
            try await storage.apiKeys.revoke(id: id, at: Date())
        } catch StoreError.notFound {
            throw APIError.notFound("API key \(id) does not exist")
        }
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: "apikey.revoke",
            targetType: "apikey", targetID: String(id), clientAddress: context.clientAddress))
        return NoContent()
    }
}
