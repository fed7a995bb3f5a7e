import Foundation
import Hummingbird
import SMSCore
import SMSStore

/// Campaigns (SPEC C1-C9, D8, D10): configuration, DIDs, members, supervisors
/// and canned responses. Admins manage them; supervisors read them.
struct CampaignController {
    let storage: Storage

    // MARK: request and response bodies

    /// A JSON field that may be absent (keep the stored value), null (clear it) or set.
    enum Patch<Value> {
        case absent
        case null
        case value(Value)
    }

    struct ThresholdsInput: Decodable {
        var serviceLevelSeconds: Int?
        var abandonSeconds: Int?
        var chatTimeSeconds: Int?
        var acdWaitSeconds: Int?
        var acdQueueLength: Int?
    }

    struct CampaignInput: Decodable {
        var name: String?
        var enabled: Bool?
        var serviceLevelPercent: Double?
        var strategy: String?
        var timeZone: String?
        /// Null: always open.
        var schedule: Patch<Schedule> = .absent
        /// Why the given schedule is not valid, reported with the field's name.
        var scheduleProblem: String?
        var outOfTimeMessage: Patch<String> = .absent
        var maxInteractionsPerAgent: Int?
        var thresholds: ThresholdsInput?
        var offerTimeoutSeconds: Int?
        var optOutKeywords: [String]?
        var optOutAllKeywords: [String]?
        var optInKeywords: [String]?
        var transactional: Bool?
        /// Null or 0: no provider of its own.
        var providerId: Patch<Int64> = .absent
        var dids: [String]?

        enum CodingKeys: String, CodingKey {
            case name, enabled, serviceLevelPercent, strategy, timeZone, schedule, outOfTimeMessage, maxInteractionsPerAgent,
                 thresholds, offerTimeoutSeconds, optOutKeywords, optOutAllKeywords, optInKeywords, transactional, providerId, dids
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled)
            serviceLevelPercent = try c.decodeIfPresent(Double.self, forKey: .serviceLevelPercent)
            strategy = try c.decodeIfPresent(String.self, forKey: .strategy)
            timeZone = try c.decodeIfPresent(String.self, forKey: .timeZone)
            if c.contains(.schedule) {
                if try c.decodeNil(forKey: .schedule) {
                    schedule = .null
                } else {
                    do { schedule = .value(try c.decode(Schedule.self, forKey: .schedule)) } catch let error as DecodingError {
                        scheduleProblem = ErrorMiddleware.describe(error)
                    } catch {
                        scheduleProblem = "\(error)"
                    }
                }
            }
            outOfTimeMessage = try Self.patch(c, .outOfTimeMessage)
            maxInteractionsPerAgent = try c.decodeIfPresent(Int.self, forKey: .maxInteractionsPerAgent)
            thresholds = try c.decodeIfPresent(ThresholdsInput.self, forKey: .thresholds)
            offerTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .offerTimeoutSeconds)
            optOutKeywords = try c.decodeIfPresent([String].self, forKey: .optOutKeywords)
            optOutAllKeywords = try c.decodeIfPresent([String].self, forKey: .optOutAllKeywords)
            optInKeywords = try c.decodeIfPresent([String].self, forKey: .optInKeywords)
            transactional = try c.decodeIfPresent(Bool.self, forKey: .transactional)
            providerId = try Self.patch(c, .providerId)
            dids = try c.decodeIfPresent([String].self, forKey: .dids)
        }

        static func patch<T: Decodable>(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Patch<T> {
            guard c.contains(key) else { return .absent }
            if try c.decodeNil(forKey: key) { return .null }
            return .value(try c.decode(T.self, forKey: key))
        }
    }

    struct MemberInput: Decodable {
        var userId: Int64
        var penalty: Int?
    }

    struct MembersInput: Decodable { var members: [MemberInput] }
    struct SupervisorsInput: Decodable { var supervisorIds: [Int64] }

    struct CannedResponseInput: Decodable {
        var id: Int64?
        var title: String
        var body: String
    }

    struct CannedResponsesInput: Decodable { var cannedResponses: [CannedResponseInput] }

    struct ThresholdsDTO: Encodable, Sendable {
        var serviceLevelSeconds: Int
        var abandonSeconds: Int
        var chatTimeSeconds: Int
        var acdWaitSeconds: Int
        var acdQueueLength: Int
    }

    struct MemberDTO: Encodable, Sendable {
        var userId: Int64
        var username: String
        var displayName: String
        var disabled: Bool
        var penalty: Int
    }

    struct UserRefDTO: Encodable, Sendable {
        var userId: Int64
        var username: String
        var displayName: String
        var disabled: Bool
    }

    struct CannedResponseDTO: Encodable, Sendable {
        var id: Int64
        var title: String
        var body: String
    }

    struct CampaignDTO: Encodable, Sendable {
        var id: Int64
        var name: String
        var enabled: Bool
        var serviceLevelPercent: Double
        var strategy: String
        var timeZone: String
        var schedule: Schedule?
        var outOfTimeMessage: String?
        var maxInteractionsPerAgent: Int
        var thresholds: ThresholdsDTO
        var offerTimeoutSeconds: Int
        var optOutKeywords: [String]
        var optOutAllKeywords: [String]
        var optInKeywords: [String]
        /// The keywords are the standard set (`OptOutKeywords.standard`), not the campaign's own.
        var standardKeywords: Bool
        var transactional: Bool
        var providerId: Int64?
        var dids: [String]
        var members: [MemberDTO]
        var supervisors: [UserRefDTO]
        var cannedResponses: [CannedResponseDTO]
        var createdAt: Date
        var updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, name, enabled, serviceLevelPercent, strategy, timeZone, schedule, outOfTimeMessage, maxInteractionsPerAgent,
                 thresholds, offerTimeoutSeconds, optOutKeywords, optOutAllKeywords, optInKeywords, standardKeywords, transactional,
                 providerId, dids, members, supervisors, cannedResponses, createdAt, updatedAt
        }

        // Nulls are written out so clients see every field.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(enabled, forKey: .enabled)
            try c.encode(serviceLevelPercent, forKey: .serviceLevelPercent)
            try c.encode(strategy, forKey: .strategy)
            try c.encode(timeZone, forKey: .timeZone)
            try c.encode(schedule, forKey: .schedule)
            try c.encode(outOfTimeMessage, forKey: .outOfTimeMessage)
            try c.encode(maxInteractionsPerAgent, forKey: .maxInteractionsPerAgent)
            try c.encode(thresholds, forKey: .thresholds)
            try c.encode(offerTimeoutSeconds, forKey: .offerTimeoutSeconds)
            try c.encode(optOutKeywords, forKey: .optOutKeywords)
            try c.encode(optOutAllKeywords, forKey: .optOutAllKeywords)
            try c.encode(optInKeywords, forKey: .optInKeywords)
            try c.encode(standardKeywords, forKey: .standardKeywords)
            try c.encode(transactional, forKey: .transactional)
            try c.encode(providerId, forKey: .providerId)
            try c.encode(dids, forKey: .dids)
            try c.encode(members, forKey: .members)
            try c.encode(supervisors, forKey: .supervisors)
            try c.encode(cannedResponses, forKey: .cannedResponses)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(updatedAt, forKey: .updatedAt)
        }
    }

    struct CampaignList: Encodable, Sendable { var campaigns: [CampaignDTO] }
    struct CampaignEnvelope: Encodable, Sendable { var campaign: CampaignDTO }

    // MARK: limits

    static let nameLength = 1...100
    static let messageLength = 1...1600
    static let maxDIDs = 100
    static let maxMembers = 500
    static let penalties = 0...1000
    static let maxCannedResponses = 200
    static let titleLength = 1...100
    static let bodyLength = 1...1600
    static let maxKeywords = 50
    static let keywordLength = 1...50
    /// Valid ranges of the settings given as whole numbers, by field name.
    static let ranges: [String: ClosedRange<Int>] = [
        "maxInteractionsPerAgent": 1...100,
        "offerTimeoutSeconds": 5...86_400,
        "thresholds.serviceLevelSeconds": 1...86_400,
        "thresholds.abandonSeconds": 1...86_400,
        "thresholds.chatTimeSeconds": 1...604_800,
        "thresholds.acdWaitSeconds": 1...86_400,
        "thresholds.acdQueueLength": 1...100_000,
    ]

    // MARK: OpenAPI

    static let thresholdProperties: [(String, JSONSchema)] = [
        ("serviceLevelSeconds", .integer), ("abandonSeconds", .integer), ("chatTimeSeconds", .integer),
        ("acdWaitSeconds", .integer), ("acdQueueLength", .integer),
    ]
    static let scheduleSchema = JSONSchema.object([
        ("timeZone", .string()),
        ("weekly", .array(.object([("day", .string()), ("start", .string()), ("end", .string())], required: ["day", "start", "end"]))),
        ("exceptions", .array(.object([("date", .string(format: "date")), ("ranges", .array(.object([], required: [])))],
                                      required: ["date", "ranges"]))),
    ], required: ["timeZone", "weekly"])
    static let cannedSchema = JSONSchema.object([("id", .integer), ("title", .string()), ("body", .string())],
                                                required: ["id", "title", "body"])
    static let campaignSchema = JSONSchema.object([
        ("id", .integer), ("name", .string()), ("enabled", .boolean), ("serviceLevelPercent", .number),
        ("strategy", .enumeration(RoutingStrategy.allCases.map(\.rawValue))), ("timeZone", .string()),
        ("schedule", .nullable(scheduleSchema)), ("outOfTimeMessage", .nullable(.string())), ("maxInteractionsPerAgent", .integer),
        ("thresholds", .object(thresholdProperties, required: thresholdProperties.map(\.0))), ("offerTimeoutSeconds", .integer),
        ("optOutKeywords", .array(.string())), ("optOutAllKeywords", .array(.string())), ("optInKeywords", .array(.string())),
        ("standardKeywords", .boolean), ("transactional", .boolean), ("providerId", .nullable(.integer)),
        ("dids", .array(.string())),
        ("members", .array(.object([("userId", .integer), ("username", .string()), ("displayName", .string()),
                                    ("disabled", .boolean), ("penalty", .integer)],
                                   required: ["userId", "username", "displayName", "disabled", "penalty"]))),
        ("supervisors", .array(.object([("userId", .integer), ("username", .string()), ("displayName", .string()),
                                        ("disabled", .boolean)], required: ["userId", "username", "displayName", "disabled"]))),
        ("cannedResponses", .array(cannedSchema)),
        ("createdAt", .string(format: "date-time")), ("updatedAt", .string(format: "date-time")),
    ], required: ["id", "name", "enabled", "serviceLevelPercent", "strategy", "timeZone", "schedule", "outOfTimeMessage",
                  "maxInteractionsPerAgent", "thresholds", "offerTimeoutSeconds", "optOutKeywords", "optOutAllKeywords",
                  "optInKeywords", "standardKeywords", "transactional", "providerId", "dids", "members", "supervisors",
                  "cannedResponses", "createdAt", "updatedAt"])
    static let inputSchema = JSONSchema.object([
        ("name", .string()), ("enabled", .boolean), ("serviceLevelPercent", .number),
        ("strategy", .enumeration(RoutingStrategy.allCases.map(\.rawValue))), ("timeZone", .string()),
        ("schedule", .nullable(scheduleSchema)), ("outOfTimeMessage", .nullable(.string())), ("maxInteractionsPerAgent", .integer),
        ("thresholds", .object(thresholdProperties, required: [])), ("offerTimeoutSeconds", .integer),
        ("optOutKeywords", .array(.string())), ("optOutAllKeywords", .array(.string())), ("optInKeywords", .array(.string())),
        ("transactional", .boolean), ("providerId", .nullable(.integer)),
        ("dids", .array(.string(description: "numbers or gateway ports the campaign receives on"))),
    ], required: [])
    static let envelope = JSONSchema.object([("campaign", campaignSchema)], required: ["campaign"])

    func addRoutes(to routes: APIRoutes) {
        let staff = routes.group(.staff)
        let admin = routes.group(.admin)
        staff.on(.get, "/api/v1/campaigns", RouteDoc("List campaigns with their DIDs, members, supervisors and canned responses",
            tag: "campaigns", response: .object([("campaigns", .array(Self.campaignSchema))], required: ["campaigns"])), use: list)
        staff.on(.get, "/api/v1/campaigns/{id}", RouteDoc("One campaign", tag: "campaigns", response: Self.envelope), use: show)
        admin.on(.post, "/api/v1/campaigns", RouteDoc(
            "Create a campaign (name required; the time zone defaults to the schedule's, else UTC)", tag: "campaigns",
            request: Self.inputSchema, status: 201, response: Self.envelope), use: create)
        admin.on(.patch, "/api/v1/campaigns/{id}", RouteDoc("Change a campaign; absent fields keep their value", tag: "campaigns",
            request: Self.inputSchema, response: Self.envelope), use: update)
        admin.on(.delete, "/api/v1/campaigns/{id}", RouteDoc(
            "Delete a campaign that no dialer serves and that has no messages or conversations (disable it otherwise)",
            tag: "campaigns", status: 204), use: delete)
        admin.on(.put, "/api/v1/campaigns/{id}/members", RouteDoc(
            "Replace the members: agents in routing order, each with a penalty (lower is preferred)", tag: "campaigns",
            request: .object([("members", .array(.object([("userId", .integer), ("penalty", .integer)], required: ["userId"])))],
                             required: ["members"]),
            response: Self.envelope), use: setMembers)
        admin.on(.put, "/api/v1/campaigns/{id}/supervisors", RouteDoc("Replace the supervisors assigned to the campaign",
            tag: "campaigns", request: .object([("supervisorIds", .array(.integer))], required: ["supervisorIds"]),
            response: Self.envelope), use: setSupervisors)
        admin.on(.put, "/api/v1/campaigns/{id}/canned-responses", RouteDoc(
            "Replace the canned responses, in order (an item with the id of an existing one changes it; without id, adds one)",
            tag: "campaigns",
            request: .object([("cannedResponses", .array(.object([("id", .integer), ("title", .string()), ("body", .string())],
                                                                required: ["title", "body"])))], required: ["cannedResponses"]),
            response: Self.envelope), use: setCannedResponses)
    }

    // MARK: handlers

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignList> {
        JSONResponse(CampaignList(campaigns: try await storage.campaigns.listDetails().map(Self.dto)))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignEnvelope> {
        JSONResponse(CampaignEnvelope(campaign: Self.dto(try await existing(context))))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignEnvelope> {
        let input = try await request.decodeJSON(CampaignInput.self, context: context)
        guard input.name != nil else { throw APIError.validation(field: "name", "name is required") }
        let now = Date()
        let draft = CampaignRecord(name: "", timeZone: "UTC", schedule: "{}", createdAt: now, updatedAt: now)
        let (record, dids) = try await apply(input, to: draft)
        let created = try await storage.campaigns.create(record, dids: dids ?? [])
        try await audit(context, "campaign.create", created.id, details: created.name)
        return JSONResponse(CampaignEnvelope(campaign: Self.dto(try await details(created.id))), status: .created)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignEnvelope> {
        let current = try await existing(context)
        let input = try await request.decodeJSON(CampaignInput.self, context: context)
        let (record, dids) = try await apply(input, to: current.campaign)
        let updated = try await storage.campaigns.update(record, dids: dids, at: Date())
        var changed = Self.changedFields(current.campaign, updated)
        if let dids, dids != current.dids { changed.append("dids") }
        try await audit(context, "campaign.update", updated.id,
                        details: changed.isEmpty ? "no change" : "changed: " + changed.joined(separator: ", "))
        return JSONResponse(CampaignEnvelope(campaign: Self.dto(try await details(updated.id))))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> NoContent {
        let current = try await existing(context)
        do {
            try await storage.campaigns.delete(id: current.campaign.id)
        } catch let StoreError.conflict(field, message) {
            throw APIError(status: .conflict, code: "in_use", message: message, field: field)
        }
        try await audit(context, "campaign.delete", current.campaign.id, details: current.campaign.name)
        return NoContent()
    }

    @Sendable func setMembers(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignEnvelope> {
        let current = try await existing(context)
        let input = try await request.decodeJSON(MembersInput.self, context: context)
        guard input.members.count <= Self.maxMembers else {
            throw APIError.validation(field: "members", "a campaign has at most \(Self.maxMembers) members")
        }
        var seen = Set<Int64>()
        var members: [(userID: Int64, penalty: Int)] = []
        var names: [String] = []
        for (i, member) in input.members.enumerated() {
            let penalty = member.penalty ?? 0
            guard Self.penalties.contains(penalty) else {
                throw APIError.validation(field: "members[\(i)].penalty",
                                          "penalty must be \(Self.penalties.lowerBound) to \(Self.penalties.upperBound)")
            }
            guard seen.insert(member.userId).inserted else {
                throw APIError.validation(field: "members[\(i)].userId", "user \(member.userId) is listed twice")
            }
            guard let user = try await storage.users.user(id: member.userId) else {
                throw APIError.validation(field: "members[\(i)].userId", "user \(member.userId) does not exist")
            }
            guard user.role == .agent else {
                throw APIError.validation(field: "members[\(i)].userId",
                                          "\(user.username) is \(Self.article(user.role)) \(user.role.rawValue); only agents can be members")
            }
            members.append((user.id, penalty))
            names.append("\(user.username)(\(penalty))")
        }
        try await storage.campaigns.setMembers(campaignID: current.campaign.id, members, at: Date())
        try await audit(context, "campaign.members", current.campaign.id,
                        details: names.isEmpty ? "none" : names.joined(separator: ", "))
        return JSONResponse(CampaignEnvelope(campaign: Self.dto(try await details(current.campaign.id))))
    }

    @Sendable func setSupervisors(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignEnvelope> {
        let current = try await existing(context)
        let input = try await request.decodeJSON(SupervisorsInput.self, context: context)
        var seen = Set<Int64>()
        var ids: [Int64] = []
        var names: [String] = []
        for (i, id) in input.supervisorIds.enumerated() where seen.insert(id).inserted {
            guard let user = try await storage.users.user(id: id) else {
                throw APIError.validation(field: "supervisorIds[\(i)]", "user \(id) does not exist")
            }
            guard user.role == .supervisor else {
                throw APIError.validation(field: "supervisorIds[\(i)]",
                                          "\(user.username) is \(Self.article(user.role)) \(user.role.rawValue), not a supervisor")
            }
            ids.append(id)
            names.append(user.username)
        }
        try await storage.campaigns.setSupervisors(campaignID: current.campaign.id, ids, at: Date())
        try await audit(context, "campaign.supervisors", current.campaign.id,
                        details: names.isEmpty ? "none" : names.joined(separator: ", "))
        return JSONResponse(CampaignEnvelope(campaign: Self.dto(try await details(current.campaign.id))))
    }

    @Sendable func setCannedResponses(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<CampaignEnvelope> {
        let current = try await existing(context)
        let input = try await request.decodeJSON(CannedResponsesInput.self, context: context)
        guard input.cannedResponses.count <= Self.maxCannedResponses else {
            throw APIError.validation(field: "cannedResponses", "a campaign has at most \(Self.maxCannedResponses) canned responses")
        }
        let known = Set(current.cannedResponses.map(\.id))
        var seen = Set<Int64>()
        var responses: [CannedResponse] = []
        for (i, item) in input.cannedResponses.enumerated() {
            let title = item.title.trimmingCharacters(in: .whitespacesAndNewlines)
            let body = item.body.trimmingCharacters(in: .whitespacesAndNewlines)
            guard Self.titleLength.contains(title.count) else {
                throw APIError.validation(field: "cannedResponses[\(i)].title",
                                          "a title of \(Self.titleLength.lowerBound) to \(Self.titleLength.upperBound) characters is required")
            }
            guard Self.bodyLength.contains(body.count) else {
                throw APIError.validation(field: "cannedResponses[\(i)].body",
                                          "a text of \(Self.bodyLength.lowerBound) to \(Self.bodyLength.upperBound) characters is required")
            }
            let id = item.id ?? 0
            if id != 0 {
                guard known.contains(id) else {
                    throw APIError.validation(field: "cannedResponses[\(i)].id", "canned response \(id) is not one of this campaign's")
                }
                guard seen.insert(id).inserted else {
                    throw APIError.validation(field: "cannedResponses[\(i)].id", "canned response \(id) is listed twice")
                }
            }
            responses.append(CannedResponse(id: id, title: title, body: body))
        }
        try await storage.campaigns.setCannedResponses(campaignID: current.campaign.id, responses, at: Date())
        try await audit(context, "campaign.canned_responses", current.campaign.id, details: "\(responses.count) responses")
        return JSONResponse(CampaignEnvelope(campaign: Self.dto(try await details(current.campaign.id))))
    }

    // MARK: validation

    /// Validates the input against the stored providers and applies it; every problem names its field.
    /// Returns the DIDs, normalised, when the input gives them.
    func apply(_ input: CampaignInput, to base: CampaignRecord) async throws -> (CampaignRecord, [String]?) {
        var c = base
        if let name = input.name { c.name = name.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard Self.nameLength.contains(c.name.count) else {
            throw APIError.validation(field: "name", "name must have \(Self.nameLength.lowerBound) to \(Self.nameLength.upperBound) characters")
        }
        if let v = input.enabled { c.enabled = v }
        if let v = input.transactional { c.transactional = v }
        if let v = input.serviceLevelPercent {
            guard v.isFinite, (0...100).contains(v) else {
                throw APIError.validation(field: "serviceLevelPercent", "the service level must be 0 to 100 %")
            }
            c.serviceLevelPercent = v
        }
        if let text = input.strategy {
            guard let strategy = RoutingStrategy(rawValue: text) else {
                throw APIError.validation(field: "strategy",
                    "strategy must be one of \(RoutingStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            c.strategy = strategy
        }
        if let problem = input.scheduleProblem { throw APIError.validation(field: "schedule", "schedule: \(problem)") }
        switch input.schedule {
        case .absent: break
        case .null: c.schedule = "{}"
        case .value(let schedule):
            c.schedule = String(decoding: try JSONEncoder().encode(schedule), as: UTF8.self)
            if input.timeZone == nil { c.timeZone = schedule.timeZoneIdentifier }
        }
        if let zone = input.timeZone {
            let trimmed = zone.trimmingCharacters(in: .whitespaces)
            guard TimeZone(identifier: trimmed) != nil else {
                throw APIError.validation(field: "timeZone", "unknown time zone \"\(zone)\"")
            }
            c.timeZone = trimmed
        }
        switch input.outOfTimeMessage {
        case .absent: break
        case .null: c.outOfTimeMessage = nil
        case .value(let text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard trimmed.count <= Self.messageLength.upperBound else {
                throw APIError.validation(field: "outOfTimeMessage",
                                          "the out-of-time message has at most \(Self.messageLength.upperBound) characters")
            }
            c.outOfTimeMessage = trimmed.isEmpty ? nil : trimmed
        }
        func number(_ field: String, _ value: Int?, _ apply: (Int) -> Void) throws {
            guard let value else { return }
            let range = Self.ranges[field] ?? 0...Int.max
            guard range.contains(value) else {
                throw APIError.validation(field: field, "\(field) must be \(range.lowerBound) to \(range.upperBound)")
            }
            apply(value)
        }
        try number("maxInteractionsPerAgent", input.maxInteractionsPerAgent) { c.maxInteractionsPerAgent = $0 }
        try number("offerTimeoutSeconds", input.offerTimeoutSeconds) { c.offerTimeoutSeconds = $0 }
        if let t = input.thresholds {
            try number("thresholds.serviceLevelSeconds", t.serviceLevelSeconds) { c.thresholds.serviceLevelSeconds = $0 }
            try number("thresholds.abandonSeconds", t.abandonSeconds) { c.thresholds.abandonSeconds = $0 }
            try number("thresholds.chatTimeSeconds", t.chatTimeSeconds) { c.thresholds.chatTimeSeconds = $0 }
            try number("thresholds.acdWaitSeconds", t.acdWaitSeconds) { c.thresholds.acdWaitSeconds = $0 }
            try number("thresholds.acdQueueLength", t.acdQueueLength) { c.thresholds.acdQueueLength = $0 }
        }
        if input.optOutKeywords != nil || input.optOutAllKeywords != nil || input.optInKeywords != nil {
            c.keywords = try Self.keywords(input, current: c.effectiveKeywords)
        }
        switch input.providerId {
        case .absent: break
        case .null, .value(0): c.providerID = nil
        case .value(let id):
            guard try await storage.providers.provider(id: id) != nil else {
                throw APIError.validation(field: "providerId", "provider \(id) does not exist")
            }
            c.providerID = id
        }
        return (c, try input.dids.map(Self.dids))
    }

    /// The keyword lists, validated; nil when they are the standard set (so it keeps applying if it changes).
    static func keywords(_ input: CampaignInput, current: OptOutKeywords) throws -> OptOutKeywords? {
        func clean(_ list: [String]?, _ fallback: [String], field: String) throws -> [String] {
            guard let list else { return fallback }
            let words = list.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            guard words.count <= maxKeywords else { throw APIError.validation(field: field, "at most \(maxKeywords) keywords") }
            if let long = words.first(where: { !keywordLength.contains($0.count) }) {
                throw APIError.validation(field: field, "\"\(long.prefix(60))\" is longer than \(keywordLength.upperBound) characters")
            }
            return words
        }
        let optOut = try clean(input.optOutKeywords, current.optOut, field: "optOutKeywords")
        let optOutAll = try clean(input.optOutAllKeywords, current.optOutAll, field: "optOutAllKeywords")
        let optIn = try clean(input.optInKeywords, current.optIn, field: "optInKeywords")
        let keywords: OptOutKeywords
        do {
            keywords = try OptOutKeywords(optOut: optOut, optOutAll: optOutAll, optIn: optIn)
        } catch {
            // Name the list of the keyword at fault: the later one of a conflicting pair.
            var culprit = ""
            if case .invalidKeywords(let problem) = error {
                switch problem {
                case .emptyKeyword(let word): culprit = word
                case .conflictingKeywords(_, let second): culprit = second
                }
            }
            let field = optIn.contains(culprit) ? "optInKeywords" : optOutAll.contains(culprit) ? "optOutAllKeywords" : "optOutKeywords"
            throw APIError.validation(field: field, error.description)
        }
        return keywords == .standard ? nil : keywords
    }

    /// Normalised DIDs; every entry must be a number, short code, sender name or port.
    static func dids(_ list: [String]) throws -> [String] {
        var result: [String] = []
        for text in list where !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            guard let did = CampaignDID.normalized(text) else {
                throw APIError.validation(field: "dids",
                    """
                    "\(text.prefix(40))" is not a DID: use a number (+59899000001), a short code or a gateway port, \
                    up to \(CampaignDID.maximumLength) characters
                    """)
            }
            if !result.contains(did) { result.append(did) }
        }
        guard result.count <= maxDIDs else { throw APIError.validation(field: "dids", "a campaign has at most \(maxDIDs) DIDs") }
        return result
    }

    static func changedFields(_ a: CampaignRecord, _ b: CampaignRecord) -> [String] {
        var changed: [String] = []
        if a.name != b.name { changed.append("name") }
        if a.enabled != b.enabled { changed.append("enabled=\(b.enabled)") }
        if a.serviceLevelPercent != b.serviceLevelPercent { changed.append("serviceLevelPercent") }
        if a.strategy != b.strategy { changed.append("strategy=\(b.strategy.rawValue)") }
        if a.timeZone != b.timeZone { changed.append("timeZone") }
        if a.schedule != b.schedule { changed.append("schedule") }
        if a.outOfTimeMessage != b.outOfTimeMessage { changed.append("outOfTimeMessage") }
        if a.maxInteractionsPerAgent != b.maxInteractionsPerAgent { changed.append("maxInteractionsPerAgent") }
        if a.thresholds != b.thresholds { changed.append("thresholds") }
        if a.offerTimeoutSeconds != b.offerTimeoutSeconds { changed.append("offerTimeoutSeconds") }
        if a.keywords != b.keywords { changed.append("keywords") }
        if a.transactional != b.transactional { changed.append("transactional") }
        if a.providerID != b.providerID { changed.append("providerId") }
        return changed
    }

    static func article(_ role: Role) -> String { role == .admin || role == .agent || role == .integration ? "an" : "a" }

    // MARK: helpers

    func existing(_ context: AppRequestContext) async throws -> CampaignDetails {
        guard let id = context.parameters.get("id", as: Int64.self) else {
            throw APIError.validation(field: "id", "campaign id must be a number")
        }
        return try await details(id)
    }

    func details(_ id: Int64) async throws -> CampaignDetails {
        guard let details = try await storage.campaigns.details(id: id) else {
            throw APIError.notFound("campaign \(id) does not exist")
        }
        return details
    }

    static func dto(_ d: CampaignDetails) -> CampaignDTO {
        let c = d.campaign
        let keywords = c.effectiveKeywords
        return CampaignDTO(
            id: c.id, name: c.name, enabled: c.enabled, serviceLevelPercent: c.serviceLevelPercent, strategy: c.strategy.rawValue,
            timeZone: c.timeZone,
            schedule: c.schedule == "{}" || c.schedule.isEmpty
                ? nil : try? JSONDecoder().decode(Schedule.self, from: Data(c.schedule.utf8)),
            outOfTimeMessage: c.outOfTimeMessage, maxInteractionsPerAgent: c.maxInteractionsPerAgent,
            thresholds: ThresholdsDTO(serviceLevelSeconds: c.thresholds.serviceLevelSeconds, abandonSeconds: c.thresholds.abandonSeconds,
                                      chatTimeSeconds: c.thresholds.chatTimeSeconds, acdWaitSeconds: c.thresholds.acdWaitSeconds,
                                      acdQueueLength: c.thresholds.acdQueueLength),
            offerTimeoutSeconds: c.offerTimeoutSeconds, optOutKeywords: keywords.optOut, optOutAllKeywords: keywords.optOutAll,
            optInKeywords: keywords.optIn, standardKeywords: c.keywords == nil, transactional: c.transactional,
            providerId: c.providerID, dids: d.dids,
            members: d.members.map { MemberDTO(userId: $0.user.userID, username: $0.user.username, displayName: $0.user.displayName,
                                               disabled: $0.user.disabled, penalty: $0.penalty) },
            supervisors: d.supervisors.map { UserRefDTO(userId: $0.userID, username: $0.username, displayName: $0.displayName,
                                                        disabled: $0.disabled) },
            cannedResponses: d.cannedResponses.map { CannedResponseDTO(id: $0.id, title: $0.title, body: $0.body) },
            createdAt: c.createdAt, updatedAt: c.updatedAt)
    }

    func audit(_ context: AppRequestContext, _ action: String, _ id: Int64, details: String? = nil) async throws {
        let principal = try context.requirePrincipal()
        try await storage.audit.append(AuditEntry(
            at: Date(), actorUserID: principal.userID, actorName: principal.displayName, action: action, targetType: "campaign",
            targetID: String(id), details: details, clientAddress: context.clientAddress))
    }
}
