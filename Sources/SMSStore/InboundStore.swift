import Foundation

/// An SMS received from a client, as stored.
public struct InboundMessage: Sendable, Equatable {
    public var id: Int64
    public var providerID: Int64
    public var providerMessageID: String?
    public var from: String
    public var to: String
    public var body: String
    public var campaignID: Int64?
    public var conversationID: Int64?
    public var receivedAt: Date

    public init(id: Int64 = 0, providerID: Int64, providerMessageID: String?, from: String, to: String, body: String,
                campaignID: Int64? = nil, conversationID: Int64? = nil, receivedAt: Date) {
        self.id = id
        self.providerID = providerID
        self.providerMessageID = providerMessageID
        self.from = from
        self.to = to
        self.body = body
        self.campaignID = campaignID
        self.conversationID = conversationID
        self.receivedAt = receivedAt
    }
}

/// A delivery report as received from a provider.
public struct DeliveryReportRecord: Sendable, Equatable {
    public var id: Int64
    public var providerID: Int64
    public var providerMessageID: String
    /// `delivered`, `failed` or `pending`.
    public var outcome: String
    public var code: String?
    public var detail: String?
    public var reportedAt: Date
    public var receivedAt: Date
    public var spoolID: Int64?

    public init(id: Int64 = 0, providerID: Int64, providerMessageID: String, outcome: String, code: String? = nil,
                detail: String? = nil, reportedAt: Date, receivedAt: Date, spoolID: Int64? = nil) {
        self.id = id
        self.providerID = providerID
        self.providerMessageID = providerMessageID
        self.outcome = outcome
        self.code = code
        self.detail = detail
        self.reportedAt = reportedAt
        self.receivedAt = receivedAt
        self.spoolID = spoolID
    }
}

/// Inbound messages and delivery reports, recorded once however often a provider retries.
public protocol InboundStore: Sendable {
    /// Stores an inbound message; nil when the provider already delivered this message id (a retry).
    func record(_ message: InboundMessage) async throws -> InboundMessage?
    /// Inbound messages not yet routed to a campaign, newest first.
    func unrouted(limit: Int) async throws -> [InboundMessage]
    /// Newest inbound messages first.
    func recent(limit: Int) async throws -> [InboundMessage]
    /// Stores a delivery report; nil when the same report (provider, message id, outcome) was already stored.
    func record(_ report: DeliveryReportRecord) async throws -> DeliveryReportRecord?
    func deliveryReports(providerID: Int64, providerMessageID: String) async throws -> [DeliveryReportRecord]
}

struct SQLInboundStore: InboundStore {
    let db: any SQLDatabase

    static let messageColumns = "id, provider_id, provider_message_id, client_number, did, body, campaign_id, conversation_id, created_at"

    static func decodeMessage(_ row: SQLRow) throws -> InboundMessage {
        InboundMessage(
            id: try row.int("id"), providerID: try row.optionalInt("provider_id") ?? 0,
            providerMessageID: try row.optionalString("provider_message_id"), from: try row.string("client_number"),
            to: try row.optionalString("did") ?? "", body: try row.string("body"),
            campaignID: try row.optionalInt("campaign_id"), conversationID: try row.optionalInt("conversation_id"),
            receivedAt: try row.date("created_at"))
    }

    func record(_ m: InboundMessage) async throws -> InboundMessage? {
        do {
            guard let row = try await db.queryFirst("""
                INSERT INTO messages (conversation_id, campaign_id, direction, client_number, did, body, provider_id,
                  provider_message_id, state, created_at)
                VALUES (\(m.conversationID), \(m.campaignID), 'in', \(m.from), \(m.to), \(m.body), \(m.providerID),
                  \(m.providerMessageID), 'received', \(m.receivedAt))
                RETURNING \(unsafeRaw: Self.messageColumns)
                """) else { throw StoreError.database("INSERT INTO messages returned no row") }
            return try Self.decodeMessage(row)
        } catch StoreError.conflict {
            return nil
        }
    }

    func unrouted(limit: Int) async throws -> [InboundMessage] {
        try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM messages
            WHERE direction = 'in' AND campaign_id IS NULL ORDER BY id DESC LIMIT \(limit)
            """).map(Self.decodeMessage)
    }

    func recent(limit: Int) async throws -> [InboundMessage] {
        try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM messages WHERE direction = 'in' ORDER BY id DESC LIMIT \(limit)
            """).map(Self.decodeMessage)
    }

    static let reportColumns = "id, provider_id, provider_message_id, outcome, code, detail, reported_at, received_at, spool_id"

    static func decodeReport(_ row: SQLRow) throws -> DeliveryReportRecord {
        DeliveryReportRecord(
            id: try row.int("id"), providerID: try row.int("provider_id"),
            providerMessageID: try row.string("provider_message_id"), outcome: try row.string("outcome"),
            code: try row.optionalString("code"), detail: try row.optionalString("detail"),
            reportedAt: try row.date("reported_at"), receivedAt: try row.date("received_at"),
            spoolID: try row.optionalInt("spool_id"))
    }

    func record(_ r: DeliveryReportRecord) async throws -> DeliveryReportRecord? {
        do {
            guard let row = try await db.queryFirst("""
                INSERT INTO delivery_reports (provider_id, provider_message_id, outcome, code, detail, reported_at, received_at, spool_id)
                VALUES (\(r.providerID), \(r.providerMessageID), \(r.outcome), \(r.code), \(r.detail), \(r.reportedAt),
                  \(r.receivedAt), \(r.spoolID))
                RETURNING \(unsafeRaw: Self.reportColumns)
                """) else { throw StoreError.database("INSERT INTO delivery_reports returned no row") }
            return try Self.decodeReport(row)
        } catch StoreError.conflict {
            return nil
        }
    }

    func deliveryReports(providerID: Int64, providerMessageID: String) async throws -> [DeliveryReportRecord] {
        try await db.query("""
            SELECT \(unsafeRaw: Self.reportColumns) FROM delivery_reports
            WHERE provider_id = \(providerID) AND provider_message_id = \(providerMessageID) ORDER BY id
            """).map(Self.decodeReport)
    }
}
