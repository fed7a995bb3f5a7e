import Foundation
import Hummingbird
import Prometheus
import SMSCore
import SMSStore

/// Health, Prometheus metrics and the OpenAPI document.
struct OperationsController {
    let storage: Storage
    let registry: PrometheusCollectorRegistry
    /// Filled once every route is declared.
    let openAPI: @Sendable () -> Data

    struct Health: Encodable, Sendable {
        struct Database: Encodable, Sendable {
            var backend: String
            var reachable: Bool
        }
        var status: String
        var version: String
        var database: Database
    }

    func addRoutes(to routes: APIRoutes) {
        routes.group(.open).on(.get, "/health", RouteDoc("Liveness and database reachability", tag: "operations",
            response: .object([
                ("status", .enumeration(["ok", "degraded"])), ("version", .string()),
                ("database", .object([("backend", .string()), ("reachable", .boolean)], required: ["backend", "reachable"])),
            ], required: ["status", "version", "database"])), use: health)
        routes.group(.roles([.admin, .supervisor, .integration])).on(.get, "/metrics", RouteDoc(
            "Prometheus metrics in text format (use an API key as bearer token)", tag: "operations"), use: metrics)
        routes.group(.anyone).on(.get, "/openapi.json", RouteDoc("This API description", tag: "operations"), use: document)
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Health> {
        let reachable = await storage.database.ping()
        return JSONResponse(
            Health(status: reachable ? "ok" : "degraded", version: SMSDeskVersion.current,
                   database: .init(backend: storage.database.dialect.rawValue, reachable: reachable)),
            status: reachable ? .ok : .serviceUnavailable)
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        buffer += Array(Self.exposition(try await storage.operations.gauges()).utf8)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    /// The database's gauges in Prometheus text format (read at scrape time, the same on every node).
    static func exposition(_ gauges: OperationalGauges) -> String {
        var text = ""
        func gauge<Key>(_ name: String, _ help: String, _ label: String, _ values: [Key: Int], _ key: (Key) -> String) {
            text += "# HELP smsdesk_\(name) \(help)\n# TYPE smsdesk_\(name) gauge\n"
            for (k, v) in values.map({ (key($0.key), $0.value) }).sorted(by: { $0.0 < $1.0 }) {
                text += "smsdesk_\(name){\(label)=\"\(k)\"} \(v)\n"
            }
        }
        gauge("spool_messages", "Messages in the spool by state", "state", gauges.spool) { $0.rawValue }
        gauge("open_conversations", "Conversations not closed, by state", "state", gauges.openConversations) { $0.rawValue }
        gauge("agents", "Enabled agents by the presence they set", "status", gauges.agents) { $0.rawValue }
        return text
    }

    @Sendable func document(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI())))
    }
}
