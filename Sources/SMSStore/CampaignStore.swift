import Foundation
import SMSCore

/// The live values a campaign's supervisor screens compare against (SPEC C4), in seconds except the queue length.
public struct CampaignThresholds: Sendable, Equatable {
    /// Time to the first agent reply that counts as answered within the service level.
    public var serviceLevelSeconds: Int
    /// A queued conversation with no agent reply in this time counts as abandoned.
    public var abandonSeconds: Int
    /// Longest conversation before it is highlighted.
    public var chatTimeSeconds: Int
    /// Longest wait in the queue before an alert.
    public var acdWaitSeconds: Int
    /// Longest queue before an alert.
    public var acdQueueLength: Int

    public init(serviceLevelSeconds: Int = 60, abandonSeconds: Int = 600, chatTimeSeconds: Int = 1800,
                acdWaitSeconds: Int = 300, acdQueueLength: Int = 10) {
        self.serviceLevelSeconds = serviceLevelSeconds
        self.abandonSeconds = abandonSeconds
        self.chatTimeSeconds = chatTimeSeconds
        self.acdWaitSeconds = acdWaitSeconds
        self.acdQueueLength = acdQueueLength
    }
}

/// A campaign's configuration (SPEC C1-C9, D8, D10). Its DIDs, members, supervisors and canned
/// responses are separate collections of the store (see `CampaignDetails`).
public struct CampaignRecord: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// A disabled campaign keeps its data but takes no new conversations and sends nothing (SPEC C6).
    public var enabled: Bool
    /// Target share of conversations answered within `thresholds.serviceLevelSeconds`, 0-100.
    public var serviceLevelPercent: Double
    public var strategy: RoutingStrategy
    /// IANA zone of the campaign: quiet hours when a number's own zone is unknown (SPEC D10).
    public var timeZone: String
    /// `Schedule` as JSON; `{}` means always open.
    public var schedule: String
    /// Automatic reply to an inbound SMS outside the schedule (SPEC C2); nil sends none.
    public var outOfTimeMessage: String?
    /// Simultaneous conversations per agent (SPEC C3).
    public var maxInteractionsPerAgent: Int
    public var thresholds: CampaignThresholds
    /// Seconds an offered or assigned conversation waits for the agent before it goes to the next (SPEC C9).
    public var offerTimeoutSeconds: Int
    /// Opt-out and opt-in keywords (SPEC D8); nil means `OptOutKeywords.standard`.
    public var keywords: OptOutKeywords?
    /// Transactional campaigns bypass quiet hours (SPEC D10).
    public var transactional: Bool
    public var providerID: Int64?
    /// Runtime state of the round-robin strategies; `update` never changes it.
    public var roundRobinCursor: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64 = 0, name: String, enabled: Bool = true, serviceLevelPercent: Double = 80,
                strategy: RoutingStrategy = .ringall, timeZone: String, schedule: String, outOfTimeMessage: String? = nil,
                maxInteractionsPerAgent: Int = 3, thresholds: CampaignThresholds = CampaignThresholds(),
                offerTimeoutSeconds: Int = 60, keywords: OptOutKeywords? = nil, transactional: Bool = false,
                providerID: Int64? = nil, roundRobinCursor: Int64 = 0, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.name = name
        self.enabled = enabled
        self.serviceLevelPercent = serviceLevelPercent
        self.strategy = strategy
        self.timeZone = timeZone
        self.schedule = schedule
        self.outOfTimeMessage = outOfTimeMessage
        self.maxInteractionsPerAgent = maxInteractionsPerAgent
        self.thresholds = thresholds
        self.offerTimeoutSeconds = offerTimeoutSeconds
        self.keywords = keywords
        self.transactional = transactional
        self.providerID = providerID
        self.roundRobinCursor = roundRobinCursor
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The keywords in force: the campaign's own, or the standard set.
    public var effectiveKeywords: OptOutKeywords { keywords ?? .standard }
}

/// A user as a campaign lists them.
public struct CampaignUser: Sendable, Equatable {
    public var userID: Int64
    public var username: String
    public var displayName: String
    public var role: Role
    public var disabled: Bool

    public init(userID: Int64, username: String, displayName: String, role: Role, disabled: Bool = false) {
        self.userID = userID
        self.username = username
        self.displayName = displayName
        self.role = role
        self.disabled = disabled
    }
}

/// An agent of a campaign (SPEC C7, C8), in the admin's order.
public struct CampaignMember: Sendable, Equatable {
    public var user: CampaignUser
    /// 0 at the top of the admin's order.
    public var position: Int
    /// Lower is preferred (a strict tier, except under `wrandom`).
    public var penalty: Int

    public init(user: CampaignUser, position: Int, penalty: Int) {
        self.user = user
        self.position = position
        self.penalty = penalty
    }
}

/// A text agents insert into their reply (SPEC C5, A3).
public struct CannedResponse: Sendable, Equatable {
    /// 0 for one not stored yet.
    public var id: Int64
    public var title: String
    public var body: String

    public init(id: Int64 = 0, title: String, body: String) {
        self.id = id
        self.title = title
        self.body = body
    }
}

/// A campaign with all its collections.
public struct CampaignDetails: Sendable, Equatable {
    public var campaign: CampaignRecord
    /// Normalised (see `CampaignDID`), sorted.
    public var dids: [String]
    public var members: [CampaignMember]
    public var supervisors: [CampaignUser]
    public var cannedResponses: [CannedResponse]

    public init(campaign: CampaignRecord, dids: [String] = [], members: [CampaignMember] = [],
                supervisors: [CampaignUser] = [], cannedResponses: [CannedResponse] = []) {
        self.campaign = campaign
        self.dids = dids
        self.members = members
        self.supervisors = supervisors
        self.cannedResponses = cannedResponses
    }
}

/// The numbers and ports a campaign receives on (SPEC C1). A DID is written as a number
/// (`+598 99 000 001`, `59899000001`), a short code, an alphanumeric sender, or a gateway
/// port (`3`); separators are dropped and letters upper-cased. `+59899000001` and
/// `59899000001` are the same DID, since providers differ in whether they send the `+`.
public enum CampaignDID {
    public static let maximumLength = 32

    /// The stored form, or nil when the text is not a DID.
    public static func normalized(_ text: String) -> String? {
        var result = ""
        for character in text.trimmingCharacters(in: .whitespacesAndNewlines) {
            if character.isWhitespace || "-.()/".contains(character) { continue }
            if character == "+" {
                guard result.isEmpty else { return nil }
                result.append(character)
            } else if character.isASCII, character.isLetter || character.isNumber {
                result.append(contentsOf: character.uppercased())
            } else {
                return nil
            }
        }
        let body = result.hasPrefix("+") ? result.dropFirst() : Substring(result)
        guard !body.isEmpty, result.count <= maximumLength else { return nil }
        if result.hasPrefix("+"), !body.allSatisfy(\.isNumber) { return nil }
        return result
    }

    /// The stored forms that mean the same DID: with and without a leading `+` for numbers.
    static func equivalents(_ normalized: String) -> [String] {
        let bare = normalized.hasPrefix("+") ? String(normalized.dropFirst()) : normalized
        return bare.allSatisfy(\.isNumber) ? [bare, "+" + bare] : [bare]
    }

    static func key(_ normalized: String) -> String {
        normalized.hasPrefix("+") ? String(normalized.dropFirst()) : normalized
    }
}

public protocol CampaignStore: Sendable {
    /// Creates a campaign with its DIDs (normalised by the caller, see `CampaignDID`);
    /// `StoreError.conflict` with field `name` or `dids`.
    func create(_ campaign: CampaignRecord, dids: [String]) async throws -> CampaignRecord
    /// Replaces the configuration (not the round-robin cursor) and, when `dids` is not nil, the DIDs.
    func update(_ campaign: CampaignRecord, dids: [String]?, at: Date) async throws -> CampaignRecord
    func campaign(id: Int64) async throws -> CampaignRecord?
    func campaign(named name: String) async throws -> CampaignRecord?
    /// The campaign an inbound SMS to `did` belongs to (any written form of the DID).
    func campaign(forDID did: String) async throws -> CampaignRecord?
    /// Every campaign by name (configuration only: the dialer engine reads this often).
    func list() async throws -> [CampaignRecord]
    func details(id: Int64) async throws -> CampaignDetails?
    /// Every campaign by name, with its collections.
    func listDetails() async throws -> [CampaignDetails]
    /// Replaces the members: `userID`s in the admin's order, each with a penalty.
    func setMembers(campaignID: Int64, _ members: [(userID: Int64, penalty: Int)], at: Date) async throws
    func setSupervisors(campaignID: Int64, _ userIDs: [Int64], at: Date) async throws
    /// The campaigns the user is a supervisor of (what a supervisor may see, SPEC S4).
    func supervisedCampaignIDs(userID: Int64) async throws -> [Int64]
    /// Replaces the canned responses, in order: a response with the `id` of one of the campaign's keeps
    /// that id, one with id 0 is added, and the campaign's others are removed. Returns them as stored.
    @discardableResult
    func setCannedResponses(campaignID: Int64, _ responses: [CannedResponse], at: Date) async throws -> [CannedResponse]
    /// The names of the dialers that serve the campaign.
    func dialerNames(servingCampaign id: Int64) async throws -> [String]
    /// Deletes a campaign that nothing refers to, with its DIDs, members, supervisors, canned responses
    /// and its own do-not-contact entries. `StoreError.conflict` while a dialer serves it or any message,
    /// conversation or opt-out refers to it: such a campaign is disabled instead, keeping its history.
    func delete(id: Int64) async throws
}

extension CampaignStore {
    public func create(_ campaign: CampaignRecord) async throws -> CampaignRecord {
        try await create(campaign, dids: [])
    }
}

struct SQLCampaignStore: CampaignStore {
    let db: any SQLDatabase
    static let columns = """
        id, name, enabled, service_level_percent, strategy, schedule, time_zone, out_of_time_message,
        max_interactions_per_agent, threshold_service_level_s, threshold_abandon_s, threshold_chat_time_s, threshold_acd_s,
        threshold_acd_queue, offer_timeout_s, opt_out_keywords, opt_in_keywords, transactional, provider_id, rr_cursor,
        created_at, updated_at
        """

    /// Opt-out keywords as stored: `{"optOut":[…],"optOutAll":[…]}` in one column, the opt-in list in the other.
    struct StoredOptOut: Codable {
        var optOut: [String]
        var optOutAll: [String]
    }

    static func decode(_ row: SQLRow) throws -> CampaignRecord {
        let strategyText = try row.string("strategy")
        guard let strategy = RoutingStrategy(rawValue: strategyText) else {
            throw StoreError.decoding(column: "strategy", reason: "unknown strategy \(strategyText)")
        }
        return CampaignRecord(
            id: try row.int("id"), name: try row.string("name"), enabled: try row.bool("enabled"),
            serviceLevelPercent: try row.double("service_level_percent"), strategy: strategy,
            timeZone: try row.string("time_zone"), schedule: try row.string("schedule"),
            outOfTimeMessage: try row.optionalString("out_of_time_message"),
            maxInteractionsPerAgent: Int(try row.int("max_interactions_per_agent")),
            thresholds: CampaignThresholds(
                serviceLevelSeconds: Int(try row.int("threshold_service_level_s")),
                abandonSeconds: Int(try row.int("threshold_abandon_s")),
                chatTimeSeconds: Int(try row.int("threshold_chat_time_s")),
                acdWaitSeconds: Int(try row.int("threshold_acd_s")),
                acdQueueLength: Int(try row.int("threshold_acd_queue"))),
            offerTimeoutSeconds: Int(try row.int("offer_timeout_s")),
            keywords: try decodeKeywords(optOut: row.optionalString("opt_out_keywords"), optIn: row.optionalString("opt_in_keywords")),
            transactional: try row.bool("transactional"), providerID: try row.optionalInt("provider_id"),
            roundRobinCursor: try row.int("rr_cursor"), createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }

    static func decodeKeywords(optOut: String?, optIn: String?) throws -> OptOutKeywords? {
        guard let optOut, let optIn else { return nil }
        do {
            let out = try JSONDecoder().decode(StoredOptOut.self, from: Data(optOut.utf8))
            let inList = try JSONDecoder().decode([String].self, from: Data(optIn.utf8))
            return try OptOutKeywords(optOut: out.optOut, optOutAll: out.optOutAll, optIn: inList)
        } catch {
            throw StoreError.decoding(column: "opt_out_keywords", reason: "\(error)")
        }
    }

    static func encodeKeywords(_ keywords: OptOutKeywords?) -> (optOut: String?, optIn: String?) {
        guard let keywords else { return (nil, nil) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let out = (try? encoder.encode(StoredOptOut(optOut: keywords.optOut, optOutAll: keywords.optOutAll))) ?? Data("{}".utf8)
        let inList = (try? encoder.encode(keywords.optIn)) ?? Data("[]".utf8)
        return (String(decoding: out, as: UTF8.self), String(decoding: inList, as: UTF8.self))
    }

    /// A broken uniqueness rule as the caller should see it: the name, or a DID taken at the same moment.
    static func conflict(_ databaseMessage: String, name: String) -> StoreError {
        databaseMessage.contains("campaign_dids")
            ? .conflict(field: "dids", message: "a DID of this campaign was just given to another campaign")
            : .conflict(field: "name", message: "a campaign named \"\(name)\" already exists")
    }

    func create(_ c: CampaignRecord, dids: [String]) async throws -> CampaignRecord {
        let keywords = Self.encodeKeywords(c.keywords)
        do {
            return try await db.transaction { tx in
                guard let row = try await tx.queryFirst("""
                    INSERT INTO campaigns (name, enabled, service_level_percent, strategy, schedule, time_zone, out_of_time_message,
                      max_interactions_per_agent, threshold_service_level_s, threshold_abandon_s, threshold_chat_time_s,
                      threshold_acd_s, threshold_acd_queue, offer_timeout_s, opt_out_keywords, opt_in_keywords, transactional,
                      provider_id, created_at, updated_at)
                    VALUES (\(c.name), \(c.enabled), \(c.serviceLevelPercent), \(c.strategy.rawValue), \(c.schedule), \(c.timeZone),
                      \(c.outOfTimeMessage), \(c.maxInteractionsPerAgent), \(c.thresholds.serviceLevelSeconds),
                      \(c.thresholds.abandonSeconds), \(c.thresholds.chatTimeSeconds), \(c.thresholds.acdWaitSeconds),
                      \(c.thresholds.acdQueueLength), \(c.offerTimeoutSeconds), \(keywords.optOut), \(keywords.optIn),
                      \(c.transactional), \(c.providerID), \(c.createdAt), \(c.updatedAt))
                    RETURNING \(unsafeRaw: Self.columns)
                    """) else { throw StoreError.database("INSERT INTO campaigns returned no row") }
                let created = try Self.decode(row)
                try await Self.setDIDs(campaignID: created.id, dids, in: tx)
                return created
            }
        } catch StoreError.conflict(let field, let message) where field.isEmpty {
            throw Self.conflict(message, name: c.name)
        }
    }

    func update(_ c: CampaignRecord, dids: [String]?, at: Date) async throws -> CampaignRecord {
        let keywords = Self.encodeKeywords(c.keywords)
        do {
            return try await db.transaction { tx in
                guard let row = try await tx.queryFirst("""
                    UPDATE campaigns SET name = \(c.name), enabled = \(c.enabled), service_level_percent = \(c.serviceLevelPercent),
                      strategy = \(c.strategy.rawValue), schedule = \(c.schedule), time_zone = \(c.timeZone),
                      out_of_time_message = \(c.outOfTimeMessage), max_interactions_per_agent = \(c.maxInteractionsPerAgent),
                      threshold_service_level_s = \(c.thresholds.serviceLevelSeconds), threshold_abandon_s = \(c.thresholds.abandonSeconds),
                      threshold_chat_time_s = \(c.thresholds.chatTimeSeconds), threshold_acd_s = \(c.thresholds.acdWaitSeconds),
                      threshold_acd_queue = \(c.thresholds.acdQueueLength), offer_timeout_s = \(c.offerTimeoutSeconds),
                      opt_out_keywords = \(keywords.optOut), opt_in_keywords = \(keywords.optIn), transactional = \(c.transactional),
                      provider_id = \(c.providerID), updated_at = \(at)
                    WHERE id = \(c.id)
                    RETURNING \(unsafeRaw: Self.columns)
                    """) else { throw StoreError.notFound("campaign \(c.id)") }
                if let dids { try await Self.setDIDs(campaignID: c.id, dids, in: tx) }
                return try Self.decode(row)
            }
        } catch StoreError.conflict(let field, let message) where field.isEmpty {
            throw Self.conflict(message, name: c.name)
        }
    }

    /// Replaces a campaign's DIDs; refuses one that another campaign receives on, in any written form.
    static func setDIDs(campaignID: Int64, _ dids: [String], in tx: any SQLExecutor) async throws {
        var seen = Set<String>()
        var unique: [String] = []
        for did in dids {
            guard let normalized = CampaignDID.normalized(did) else {
                throw StoreError.conflict(field: "dids", message: "\"\(did)\" is not a number or port")
            }
            if seen.insert(CampaignDID.key(normalized)).inserted { unique.append(normalized) }
        }
        let forms = unique.flatMap(CampaignDID.equivalents)
        if !forms.isEmpty, let taken = try await tx.queryFirst("""
            SELECT d.did, c.name FROM campaign_dids d JOIN campaigns c ON c.id = d.campaign_id
            WHERE d.did IN \(list: forms) AND d.campaign_id <> \(campaignID) ORDER BY d.did LIMIT 1
            """) {
            throw StoreError.conflict(field: "dids",
                message: "\(try taken.string("did")) already belongs to campaign \"\(try taken.string("name"))\"")
        }
        try await tx.query("DELETE FROM campaign_dids WHERE campaign_id = \(campaignID)")
        guard !unique.isEmpty else { return }
        var insert: SQL = "INSERT INTO campaign_dids (did, campaign_id) VALUES "
        for (i, did) in unique.enumerated() {
            insert += i == 0 ? "(\(did), \(campaignID))" : ", (\(did), \(campaignID))"
        }
        try await tx.query(insert)
    }

    func campaign(id: Int64) async throws -> CampaignRecord? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM campaigns WHERE id = \(id)").map(Self.decode)
    }

    func campaign(named name: String) async throws -> CampaignRecord? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.columns) FROM campaigns WHERE name = \(name)").map(Self.decode)
    }

    func campaign(forDID did: String) async throws -> CampaignRecord? {
        guard let normalized = CampaignDID.normalized(did) else { return nil }
        return try await db.queryFirst("""
            SELECT \(unsafeRaw: Self.columns) FROM campaigns
            WHERE id = (SELECT campaign_id FROM campaign_dids WHERE did IN \(list: CampaignDID.equivalents(normalized)) LIMIT 1)
            """).map(Self.decode)
    }

    func list() async throws -> [CampaignRecord] {
        try await db.query("SELECT \(unsafeRaw: Self.columns) FROM campaigns ORDER BY name").map(Self.decode)
    }

    func details(id: Int64) async throws -> CampaignDetails? {
        guard let campaign = try await campaign(id: id) else { return nil }
        return try await Self.details(of: [campaign], in: db).first
    }

    func listDetails() async throws -> [CampaignDetails] {
        try await Self.details(of: try await list(), in: db)
    }

    static let userColumns = "u.id AS user_id, u.username, u.display_name, u.role, u.disabled"

    static func decodeUser(_ row: SQLRow) throws -> CampaignUser {
        let roleText = try row.string("role")
        guard let role = Role(rawValue: roleText) else { throw StoreError.decoding(column: "role", reason: "unknown role \(roleText)") }
        return CampaignUser(userID: try row.int("user_id"), username: try row.string("username"),
                            displayName: try row.string("display_name"), role: role, disabled: try row.bool("disabled"))
    }

    /// The collections of `campaigns`, in four queries whatever their number.
    static func details(of campaigns: [CampaignRecord], in executor: any SQLExecutor) async throws -> [CampaignDetails] {
        guard !campaigns.isEmpty else { return [] }
        let ids = campaigns.map(\.id)
        var dids: [Int64: [String]] = [:]
        for row in try await executor.query("""
            SELECT campaign_id, did FROM campaign_dids WHERE campaign_id IN \(list: ids) ORDER BY did
            """) {
            dids[try row.int("campaign_id"), default: []].append(try row.string("did"))
        }
        var members: [Int64: [CampaignMember]] = [:]
        for row in try await executor.query("""
            SELECT m.campaign_id, m.position, m.penalty, \(unsafeRaw: userColumns)
            FROM campaign_members m JOIN users u ON u.id = m.user_id
            WHERE m.campaign_id IN \(list: ids) ORDER BY m.campaign_id, m.position, u.username
            """) {
            members[try row.int("campaign_id"), default: []].append(CampaignMember(
                user: try decodeUser(row), position: Int(try row.int("position")), penalty: Int(try row.int("penalty"))))
        }
        var supervisors: [Int64: [CampaignUser]] = [:]
        for row in try await executor.query("""
            SELECT s.campaign_id, \(unsafeRaw: userColumns)
            FROM campaign_supervisors s JOIN users u ON u.id = s.user_id
            WHERE s.campaign_id IN \(list: ids) ORDER BY s.campaign_id, u.username
            """) {
            supervisors[try row.int("campaign_id"), default: []].append(try decodeUser(row))
        }
        var canned: [Int64: [CannedResponse]] = [:]
        for row in try await executor.query("""
            SELECT id, campaign_id, title, body FROM canned_responses WHERE campaign_id IN \(list: ids) ORDER BY campaign_id, position, id
            """) {
            canned[try row.int("campaign_id"), default: []].append(
                CannedResponse(id: try row.int("id"), title: try row.string("title"), body: try row.string("body")))
        }
        return campaigns.map { c in
            CampaignDetails(campaign: c, dids: dids[c.id] ?? [], members: members[c.id] ?? [],
                            supervisors: supervisors[c.id] ?? [], cannedResponses: canned[c.id] ?? [])
        }
    }

    /// Marks the campaign changed; `StoreError.notFound` when there is none.
    static func touch(_ id: Int64, at: Date, in tx: any SQLExecutor) async throws {
        if try await tx.query("UPDATE campaigns SET updated_at = \(at) WHERE id = \(id) RETURNING id").isEmpty {
            throw StoreError.notFound("campaign \(id)")
        }
    }

    func setMembers(campaignID: Int64, _ members: [(userID: Int64, penalty: Int)], at: Date) async throws {
        try await db.transaction { tx in
            try await Self.touch(campaignID, at: at, in: tx)
            // Keep when each agent last ended a conversation here (the `leastrecent` strategy reads it).
            var lastEnded: [Int64: Int64] = [:]
            for row in try await tx.query("""
                SELECT user_id, last_ended_at FROM campaign_members WHERE campaign_id = \(campaignID) AND last_ended_at IS NOT NULL
                """) {
                lastEnded[try row.int("user_id")] = try row.int("last_ended_at")
            }
            try await tx.query("DELETE FROM campaign_members WHERE campaign_id = \(campaignID)")
            var seen = Set<Int64>()
            var insert: SQL = "INSERT INTO campaign_members (campaign_id, user_id, position, penalty, last_ended_at) VALUES "
            var position = 0
            for member in members where seen.insert(member.userID).inserted {
                if position > 0 { insert += ", " }
                insert += "(\(campaignID), \(member.userID), \(position), \(member.penalty), \(lastEnded[member.userID]))"
                position += 1
            }
            if position > 0 { try await tx.query(insert) }
        }
    }

    func setSupervisors(campaignID: Int64, _ userIDs: [Int64], at: Date) async throws {
        try await db.transaction { tx in
            try await Self.touch(campaignID, at: at, in: tx)
            try await tx.query("DELETE FROM campaign_supervisors WHERE campaign_id = \(campaignID)")
            var seen = Set<Int64>()
            let unique = userIDs.filter { seen.insert($0).inserted }
            guard !unique.isEmpty else { return }
            var insert: SQL = "INSERT INTO campaign_supervisors (campaign_id, user_id) VALUES "
            for (i, user) in unique.enumerated() {
                insert += i == 0 ? "(\(campaignID), \(user))" : ", (\(campaignID), \(user))"
            }
            try await tx.query(insert)
        }
    }

    func supervisedCampaignIDs(userID: Int64) async throws -> [Int64] {
        try await db.query("SELECT campaign_id FROM campaign_supervisors WHERE user_id = \(userID) ORDER BY campaign_id")
            .map { try $0.int("campaign_id") }
    }

    func setCannedResponses(campaignID: Int64, _ responses: [CannedResponse], at: Date) async throws -> [CannedResponse] {
        try await db.transaction { tx in
            try await Self.touch(campaignID, at: at, in: tx)
            let existing = Set(try await tx.query("SELECT id FROM canned_responses WHERE campaign_id = \(campaignID)")
                .map { try $0.int("id") })
            let kept = Set(responses.map(\.id).filter { $0 != 0 })
            if let foreign = kept.subtracting(existing).first {
                throw StoreError.notFound("canned response \(foreign) of campaign \(campaignID)")
            }
            let removed = Array(existing.subtracting(kept))
            if !removed.isEmpty { try await tx.query("DELETE FROM canned_responses WHERE id IN \(list: removed)") }
            var stored: [CannedResponse] = []
            for (position, response) in responses.enumerated() {
                if response.id != 0 {
                    try await tx.query("""
                        UPDATE canned_responses SET title = \(response.title), body = \(response.body), position = \(position)
                        WHERE id = \(response.id)
                        """)
                    stored.append(response)
                } else {
                    guard let row = try await tx.queryFirst("""
                        INSERT INTO canned_responses (campaign_id, title, body, position)
                        VALUES (\(campaignID), \(response.title), \(response.body), \(position)) RETURNING id
                        """) else { throw StoreError.database("INSERT INTO canned_responses returned no row") }
                    stored.append(CannedResponse(id: try row.int("id"), title: response.title, body: response.body))
                }
            }
            return stored
        }
    }

    func dialerNames(servingCampaign id: Int64) async throws -> [String] {
        try await Self.dialerNames(servingCampaign: id, in: db)
    }

    static func dialerNames(servingCampaign id: Int64, in executor: any SQLExecutor) async throws -> [String] {
        try await executor.query("""
            SELECT d.name FROM dialers d JOIN dialer_campaigns dc ON dc.dialer_id = d.id WHERE dc.campaign_id = \(id) ORDER BY d.name
            """).map { try $0.string("name") }
    }

    func delete(id: Int64) async throws {
        try await db.transaction { tx in
            let dialers = try await Self.dialerNames(servingCampaign: id, in: tx)
            guard dialers.isEmpty else {
                let one = dialers.count == 1
                throw StoreError.conflict(field: "dialers", message: """
                    dialer\(one ? "" : "s") \(dialers.joined(separator: ", ")) serve\(one ? "s" : "") this campaign; \
                    take it off \(one ? "that dialer" : "those dialers") first, or disable the campaign instead
                    """)
            }
            // Existence only: counting a busy campaign's spool would hold the write transaction for long.
            let history = try await tx.queryFirst("""
                SELECT
                  EXISTS (SELECT 1 FROM spool WHERE campaign_id = \(id)) AS spool,
                  EXISTS (SELECT 1 FROM conversations WHERE campaign_id = \(id)) AS conversations,
                  EXISTS (SELECT 1 FROM messages WHERE campaign_id = \(id)) AS messages,
                  EXISTS (SELECT 1 FROM opt_out_events WHERE campaign_id = \(id)) AS opt_outs
                """)
            let kinds = try [("spool", "queued or sent messages"), ("conversations", "conversations"), ("messages", "messages"),
                             ("opt_outs", "opt-outs")].filter { try history?.bool($0.0) ?? false }.map(\.1)
            guard kinds.isEmpty else {
                throw StoreError.conflict(field: "history", message: """
                    the campaign has \(kinds.joined(separator: ", ")); disable it instead \
                    (a disabled campaign keeps its history and takes no new work)
                    """)
            }
            try await tx.query("DELETE FROM dncr WHERE campaign_id = \(id)")
            if try await tx.query("DELETE FROM campaigns WHERE id = \(id) RETURNING id").isEmpty {
                throw StoreError.notFound("campaign \(id)")
            }
        }
    }
}
