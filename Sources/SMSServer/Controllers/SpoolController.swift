import Foundation
import Hummingbird
import SMSCore
import SMSDispatch
import SMSStore

/// The dialer monitor (SPEC D7, D12, S5): per-campaign status and funnel,
/// start/finish through the dialer routes, delete unprocessed, unitary and
/// bulk sends, DNCR upload, and reports with CSV export.
struct SpoolController {
    let storage: Storage
    let messages: MessageController
    let dataDirectory: String
    /// Live `dialer.progress` events, so open monitors follow deletes, sends and uploads.
    var progress: DialerProgress = .disabled

    struct CampaignMonitor: Encodable, Sendable {
        struct Dialer: Encodable, Sendable {
            var id: Int64
            var name: String
            var enabled: Bool
            var inDate: Bool
            var failoverActive: Bool
            var providerId: Int64
        }
        var campaignId: Int64
        var campaign: String
        /// A dialer serving the campaign is enabled.
        var active: Bool
        /// A dialer serving the campaign is inside its schedule now.
        var inDate: Bool
        /// Handed to the provider (sent or delivered).
        var processed: Int
        /// Still to go (held, to process, sending).
        var notProcessed: Int
        /// Invalid numbers, failures, expired.
        var other: Int
        /// Blocked by the DNCR or an opt-out.
        var locked: Int
        var possibleDuplicates: Int
        /// Count per spool state (the delivery funnel, SPEC D12).
        var funnel: [String: Int]
        var dialers: [Dialer]
    }

    struct Monitor: Encodable, Sendable {
        var at: Date
        var campaigns: [CampaignMonitor]
    }

    struct Cancelled: Encodable, Sendable { var cancelled: Int }
    struct MessageList: Encodable, Sendable {
        var messages: [MessageController.MessageDTO]
        var nextBefore: Int64?
    }
    struct UnitaryRequest: Decodable {
        var campaign: String
        var to: String
        var text: String
    }

    func addRoutes(to routes: APIRoutes) {
        let staff = routes.group(.staff)
        staff.on(.get, "/api/v1/dialer-monitor", RouteDoc("Per-campaign dialer status, counts and delivery funnel", tag: "dialer monitor",
            response: .object([("at", .string(format: "date-time")), ("campaigns", .array(.object([], required: [])))],
                              required: ["at", "campaigns"])), use: monitor)
        staff.on(.post, "/api/v1/campaigns/{id}/spool/cancel", RouteDoc(
            "Cancel every not-yet-processed message of the campaign", tag: "dialer monitor",
            response: .object([("cancelled", .integer)], required: ["cancelled"])), use: cancel)
        staff.on(.post, "/api/v1/spool/unitary", RouteDoc("Send one message to one number (outgoing unitary)", tag: "dialer monitor",
            request: .object([("campaign", .string()), ("to", .string()), ("text", .string())], required: ["campaign", "to", "text"]),
            status: 202, response: .object([("message", MessageController.messageSchema)], required: ["message"])), use: unitary)
        staff.on(.post, "/api/v1/spool/import", RouteDoc(
            "Upload a bulk CSV as the request body (?fileName=…&dryRun=true for a dry run); refused whole with every bad line listed",
            tag: "dialer monitor", status: 200, response: .object([("report", .object([], required: []))], required: ["report"])),
            use: importSpool)
        staff.on(.post, "/api/v1/dncr/import", RouteDoc("Upload a DNCR CSV (number;campaign;) as the request body", tag: "dncr",
            response: .object([("report", .object([], required: []))], required: ["report"])), use: importDNCR)
        staff.on(.get, "/api/v1/spool", RouteDoc(
            "Report: messages by campaignId, state (comma list), number (partial), from/to (ISO dates); ?format=csv exports",
            tag: "dialer monitor", response: .object([("messages", .array(MessageController.messageSchema))], required: ["messages"])),
            use: report)
    }

    @Sendable func monitor(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Monitor> {
        let now = Date()
        let dialers = try await storage.dialers.list()
        var result: [CampaignMonitor] = []
        for campaign in try await storage.campaigns.list() {
            let serving = dialers.filter { $0.campaignIDs.contains(campaign.id) }
            let counts = try await storage.spool.counts(campaignID: campaign.id)
            let dialerViews = serving.map { d in
                CampaignMonitor.Dialer(id: d.id, name: d.name, enabled: d.enabled,
                                       inDate: DialerSchedule.parse(d.schedule)?.isOpen(at: now) ?? false,
                                       failoverActive: d.failoverActive, providerId: d.providerID)
            }
            result.append(CampaignMonitor(
                campaignId: campaign.id, campaign: campaign.name, active: serving.contains(where: \.enabled),
                inDate: dialerViews.contains(where: \.inDate),
                processed: counts[.sent] + counts[.delivered],
                notProcessed: counts[.held] + counts[.toProcess] + counts[.sending],
                other: counts[.invalid] + counts[.failed] + counts[.expired],
                locked: counts[.blocked], possibleDuplicates: counts.possibleDuplicates,
                funnel: Dictionary(uniqueKeysWithValues: SpoolState.allCases.map { ($0.rawValue, counts[$0]) }),
                dialers: dialerViews))
        }
        return JSONResponse(Monitor(at: now, campaigns: result))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Cancelled> {
        guard let id = context.parameters.get("id", as: Int64.self), let campaign = try await storage.campaigns.campaign(id: id) else {
            throw APIError.notFound("no such campaign")
        }
        let principal = try context.requirePrincipal()
        let count = try await storage.spool.cancelUnprocessed(campaignID: campaign.id, reason: "deleted by \(principal.displayName)", at: Date())
        try await storage.audit.append(AuditEntry(at: Date(), actorUserID: principal.userID, actorName: principal.displayName,
                                                  action: "spool.cancel", targetType: "campaign", targetID: String(id),
                                                  details: "cancelled=\(count)", clientAddress: context.clientAddress))
        await progress.changed(campaignID: campaign.id, reason: "cancelled")
        return JSONResponse(Cancelled(cancelled: count))
    }

    @Sendable func unitary(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<MessageController.MessageEnvelope> {
        let body = try await request.decodeJSON(UnitaryRequest.self, context: context)
        let (message, _) = try await messages.queue(campaign: body.campaign, campaignField: "campaign", to: body.to, text: body.text,
                                                    priority: 0, notBefore: nil, idempotencyKey: nil, source: .unitary, context: context)
        return JSONResponse(MessageController.MessageEnvelope(message: MessageController.dto(message, history: nil)), status: .accepted)
    }

    /// Streams the request body to a temporary file in the data directory (both passes read it from there).
    func spoolToFile(_ request: Request) async throws -> String {
        let folder = (dataDirectory as NSString).appendingPathComponent("uploads")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = (folder as NSString).appendingPathComponent(UUID().uuidString + ".csv")
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { throw APIError.badRequest("cannot store the upload") }
        defer { try? handle.close() }
        var size = 0
        for try await buffer in request.body {
            size += buffer.readableBytes
            guard size <= 2_000_000_000 else { throw APIError(status: .contentTooLarge, code: "too_large", message: "file larger than 2 GB") }
            try handle.write(contentsOf: buffer.readableBytesView)
        }
        return path
    }

    struct ImportAnswer<R: Encodable & Sendable>: Encodable, Sendable { var report: R }

    @Sendable func importSpool(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ImportAnswer<SpoolImportReport>> {
        let fileName = request.uri.queryParameters["fileName"].map(String.init) ?? "upload.csv"
        let dryRun = ["1", "true", "yes"].contains(request.uri.queryParameters["dryRun"].map(String.init) ?? "")
        let path = try await spoolToFile(request)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let principal = try context.requirePrincipal()
        let report = try await SpoolImport(storage: storage).run(path: path, fileName: fileName, dryRun: dryRun, createdBy: principal.userID)
        if !dryRun, !report.refused {
            try await storage.audit.append(AuditEntry(at: Date(), actorUserID: principal.userID, actorName: principal.displayName,
                                                      action: "spool.import", targetType: "file", targetID: fileName,
                                                      details: "queued=\(report.queued)", clientAddress: context.clientAddress))
            await progress.changed(reason: "imported")
        }
        return JSONResponse(ImportAnswer(report: report), status: report.refused ? .unprocessableContent : .ok)
    }

    @Sendable func importDNCR(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ImportAnswer<DNCRImport.Report>> {
        let path = try await spoolToFile(request)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let principal = try context.requirePrincipal()
        let report = try await DNCRImport(storage: storage).run(path: path, createdBy: principal.userID)
        if !report.refused {
            try await storage.audit.append(AuditEntry(at: Date(), actorUserID: principal.userID, actorName: principal.displayName,
                                                      action: "dncr.import", details: "added=\(report.added)", clientAddress: context.clientAddress))
            await progress.changed(reason: "dncr")
        }
        return JSONResponse(ImportAnswer(report: report), status: report.refused ? .unprocessableContent : .ok)
    }

    @Sendable func report(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = request.uri.queryParameters
        var filter = SpoolFilter()
        filter.campaignID = q["campaignId"].flatMap { Int64(String($0)) }
        filter.states = (q["state"].map(String.init) ?? "").split(separator: ",").compactMap { SpoolState(rawValue: String($0)) }
        filter.number = q["number"].map(String.init)
        let iso = ISO8601DateFormatter()
        filter.createdFrom = q["from"].flatMap { iso.date(from: String($0)) }
        filter.createdBefore = q["to"].flatMap { iso.date(from: String($0)) }
        let csv = q["format"].map(String.init) == "csv"
        if csv {
            return try await exportCSV(filter)
        }
        let limit = min(500, max(1, q["limit"].flatMap { Int(String($0)) } ?? 100))
        let page = try await storage.spool.list(filter, limit: limit, beforeID: q["before"].flatMap { Int64(String($0)) })
        let list = MessageList(messages: page.map { MessageController.dto($0, history: nil) },
                               nextBefore: page.count == limit ? page.last?.id : nil)
        return try JSONResponse(list).response(from: request, context: context)
    }

    /// The whole report as CSV, fetched page by page; cells that a spreadsheet would run as a formula are quoted with a leading '.
    func exportCSV(_ filter: SpoolFilter) async throws -> Response {
        var lines = ["id;campaign_id;destination;message;priority;state;attempts;provider_message_id;error_code;error;created_at;sent_at;delivered_at"]
        var before: Int64?
        let iso = ISO8601DateFormatter()
        while true {
            let page = try await storage.spool.list(filter, limit: 1000, beforeID: before)
            for m in page {
                let cells: [String] = [
                    String(m.id), String(m.campaignID), m.destination, m.message, String(m.priority), m.state.rawValue, String(m.attempts),
                    m.providerMessageID ?? "", m.errorCode ?? "", m.errorText ?? "", iso.string(from: m.createdAt),
                    m.sentAt.map(iso.string) ?? "", m.deliveredAt.map(iso.string) ?? "",
                ]
                lines.append(SpreadsheetCSV.row(cells))
            }
            guard page.count == 1000, let last = page.last else { break }
            before = last.id
        }
        var response = Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: lines.joined(separator: "\r\n") + "\r\n")))
        response.headers[.contentDisposition] = "attachment; filename=\"spool-report.csv\""
        return response
    }
}
