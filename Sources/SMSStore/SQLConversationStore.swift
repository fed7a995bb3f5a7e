import Foundation
import SMSCore

/// `ConversationStore` in SQL shared by both backends.
///
/// `conversation_offers` holds, per conversation, the offers of the current round (live while the
/// conversation is `offered` and `expires_at` is ahead) and the expired offers of earlier rounds, which
/// record the members who let it time out (SPEC C9) until the conversation is accepted or closed.
struct SQLConversationStore: ConversationStore {
    let db: any SQLDatabase

    /// The advisory lock that serialises assignment decisions across nodes on PostgreSQL.
    static let assignmentLock: Int64 = 0x534D_5344_4153_474E

    static let columnNames = [
        "id", "campaign_id", "client_number", "did", "state", "agent_id", "previous_conversation_id", "opened_at", "queued_at",
        "assigned_at", "first_response_at", "last_activity_at", "closed_at", "close_reason", "unread_count", "out_of_time_replied",
    ]
    static let columns = columnNames.joined(separator: ", ")
    static let prefixedColumns = columnNames.map { "c." + $0 }.joined(separator: ", ")

    static func decode(_ row: SQLRow) throws -> ConversationRecord {
        let stateText = try row.string("state")
        guard let state = ConversationState(rawValue: stateText) else {
            throw StoreError.decoding(column: "state", reason: "unknown conversation state \(stateText)")
        }
        return ConversationRecord(
            id: try row.int("id"), campaignID: try row.optionalInt("campaign_id") ?? 0, clientNumber: try row.string("client_number"),
            did: try row.optionalString("did"), state: state, agentID: try row.optionalInt("agent_id"),
            previousConversationID: try row.optionalInt("previous_conversation_id"), openedAt: try row.date("opened_at"),
            queuedAt: try row.optionalDate("queued_at"), assignedAt: try row.optionalDate("assigned_at"),
            firstResponseAt: try row.optionalDate("first_response_at"), lastActivityAt: try row.date("last_activity_at"),
            closedAt: try row.optionalDate("closed_at"), closeReason: try row.optionalString("close_reason"),
            unreadCount: Int(try row.int("unread_count")), outOfTimeReplied: try row.bool("out_of_time_replied"))
    }

    static let messageColumns = """
        m.id, m.conversation_id, m.campaign_id, m.direction, m.client_number, m.did, m.body, m.agent_id, m.created_at, m.spool_id,
        s.state AS spool_state, s.not_before, s.sent_at, s.delivered_at, s.error_code, s.error_text, s.block_reason
        """
    static let messageFrom = "messages m LEFT JOIN spool s ON s.id = m.spool_id"

    static func decodeMessage(_ row: SQLRow) throws -> ConversationMessage {
        var delivery: MessageDelivery?
        if let spoolID = try row.optionalInt("spool_id"), let stateText = try row.optionalString("spool_state") {
            delivery = MessageDelivery(
                spoolID: spoolID, state: SpoolState(rawValue: stateText) ?? .failed, notBefore: try row.optionalDate("not_before"),
                sentAt: try row.optionalDate("sent_at"), deliveredAt: try row.optionalDate("delivered_at"),
                errorCode: try row.optionalString("error_code"), errorText: try row.optionalString("error_text"),
                blockReason: try row.optionalString("block_reason"))
        }
        return ConversationMessage(
            id: try row.int("id"), conversationID: try row.optionalInt("conversation_id"), campaignID: try row.optionalInt("campaign_id"),
            direction: try row.string("direction") == "out" ? .outbound : .inbound, clientNumber: try row.string("client_number"),
            did: try row.optionalString("did"), body: try row.string("body"), agentID: try row.optionalInt("agent_id"),
            createdAt: try row.date("created_at"), delivery: delivery)
    }

    static func decodeOffer(_ row: SQLRow) throws -> ConversationOffer {
        ConversationOffer(conversationID: try row.int("conversation_id"), userID: try row.int("user_id"),
                          offeredAt: try row.date("offered_at"), expiresAt: try row.date("expires_at"))
    }

    // MARK: helpers inside a transaction

    /// Serialises, across nodes, the transactions that change offers or assignments (routing, accepting,
    /// taking, closing, expiring, withdrawing). Besides keeping caps exact, one lock taken first means
    /// they never lock conversation and offer rows in different orders, so they cannot deadlock.
    /// Storing an inbound message and replying in one's own conversation do not take it.
    static func lockAssignments(_ tx: any SQLExecutor) async throws {
        if tx.dialect == .postgres { try await tx.query("SELECT pg_advisory_xact_lock(\(assignmentLock))") }
    }

    static func conversation(_ id: Int64, in executor: any SQLExecutor) async throws -> ConversationRecord? {
        try await executor.queryFirst("SELECT \(unsafeRaw: columns) FROM conversations WHERE id = \(id)").map(decode)
    }

    static func openConversation(campaignID: Int64, clientNumber: String, in executor: any SQLExecutor) async throws
        -> ConversationRecord? {
        try await executor.queryFirst("""
            SELECT \(unsafeRaw: columns) FROM conversations
            WHERE campaign_id = \(campaignID) AND client_number IN \(list: ClientNumber.equivalents(clientNumber)) AND closed_at IS NULL
            ORDER BY id LIMIT 1
            """).map(decode)
    }

    /// Opens a conversation in `state`, linked to the client's last one in the campaign; nil when another
    /// transaction opened one for the same client at the same moment.
    static func insertConversation(campaignID: Int64, clientNumber: String, did: String?, state: ConversationState,
                                   agentID: Int64?, unread: Int, at: Date, in tx: any SQLExecutor) async throws -> ConversationRecord? {
        let previous = try await tx.queryFirst("""
            SELECT MAX(id) AS id FROM conversations
            WHERE campaign_id = \(campaignID) AND client_number IN \(list: ClientNumber.equivalents(clientNumber))
            """)?.optionalInt("id")
        return try await tx.queryFirst("""
            INSERT INTO conversations (campaign_id, client_number, did, state, agent_id, previous_conversation_id, opened_at,
              queued_at, assigned_at, last_activity_at, unread_count, out_of_time_replied)
            VALUES (\(campaignID), \(clientNumber), \(did), \(state.rawValue), \(agentID), \(previous), \(at),
              \(state == .queued ? at : nil), \(state == .assigned ? at : nil), \(at), \(unread), \(false))
            ON CONFLICT (campaign_id, client_number) WHERE closed_at IS NULL DO NOTHING
            RETURNING \(unsafeRaw: columns)
            """).map(decode)
    }

    /// Inserts an outgoing message's spool row and its `messages` row; returns the message as the thread shows it.
    /// The delivery state of an outgoing message is its spool row's, always read joined (`messages.state` stays NULL).
    static func insertOutgoing(_ spool: NewSpoolMessage, conversationID: Int64?, clientNumber: String, did: String?,
                               agentID: Int64?, at: Date, in tx: any SQLExecutor) async throws -> ConversationMessage {
        var spool = spool
        spool.conversationID = conversationID
        guard let spoolID = try await SQLSpoolStore.insert([spool], at: at, in: tx).first else {
            throw StoreError.database("INSERT INTO spool returned no id")
        }
        guard let row = try await tx.queryFirst("""
            INSERT INTO messages (conversation_id, campaign_id, direction, client_number, did, body, spool_id, agent_id, state, created_at)
            VALUES (\(conversationID), \(spool.campaignID), 'out', \(clientNumber), \(did), \(spool.message), \(spoolID), \(agentID),
              NULL, \(at))
            RETURNING id
            """) else { throw StoreError.database("INSERT INTO messages returned no row") }
        guard let stored = try await message(try row.int("id"), in: tx) else { throw StoreError.database("outgoing message not found") }
        return stored
    }

    static func message(_ id: Int64, in executor: any SQLExecutor) async throws -> ConversationMessage? {
        try await executor.queryFirst("SELECT \(unsafeRaw: messageColumns) FROM \(unsafeRaw: messageFrom) WHERE m.id = \(id)")
            .map(decodeMessage)
    }

    /// Assigned conversations plus live offers of each user.
    static func openCounts(_ userIDs: [Int64], at: Date, in executor: any SQLExecutor) async throws -> [Int64: Int] {
        guard !userIDs.isEmpty else { return [:] }
        var counts: [Int64: Int] = [:]
        for row in try await executor.query("""
            SELECT agent_id AS user_id, COUNT(*) AS n FROM conversations
            WHERE state = 'assigned' AND closed_at IS NULL AND agent_id IN \(list: userIDs) GROUP BY agent_id
            """) {
            counts[try row.int("user_id"), default: 0] += Int(try row.int("n"))
        }
        for row in try await executor.query("""
            SELECT o.user_id, COUNT(*) AS n FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE c.state = 'offered' AND o.expires_at > \(at) AND o.user_id IN \(list: userIDs) GROUP BY o.user_id
            """) {
            counts[try row.int("user_id"), default: 0] += Int(try row.int("n"))
        }
        return counts
    }

    static func hasLiveOffer(conversationID: Int64, userID: Int64, at: Date, in executor: any SQLExecutor) async throws -> Bool {
        try await executor.queryFirst("""
            SELECT 1 AS yes FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE o.conversation_id = \(conversationID) AND o.user_id = \(userID) AND c.state = 'offered' AND o.expires_at > \(at)
            """) != nil
    }

    /// The agent takes a live offer of theirs: assigned to them, every offer of it ends. Nil when they have no live offer.
    static func take(conversationID: Int64, agentID: Int64, at: Date, in tx: any SQLExecutor) async throws -> TakenConversation? {
        guard let row = try await tx.queryFirst("""
            UPDATE conversations SET state = 'assigned', agent_id = \(agentID), assigned_at = \(at)
            WHERE id = \(conversationID) AND state = 'offered' AND EXISTS (
              SELECT 1 FROM conversation_offers o
              WHERE o.conversation_id = \(conversationID) AND o.user_id = \(agentID) AND o.expires_at > \(at))
            RETURNING \(unsafeRaw: columns)
            """) else { return nil }
        return TakenConversation(conversation: try decode(row), withdrawnFrom: try await endOffers(conversationID, except: agentID, at: at, in: tx))
    }

    /// Ends every live offer of a conversation that someone took; the rows stay (so an agent accepting late
    /// learns it was taken) until it closes. Returns the other members whose offers were live.
    static func endOffers(_ conversationID: Int64, except agentID: Int64?, at: Date, in tx: any SQLExecutor) async throws -> [Int64] {
        try await tx.query("""
            UPDATE conversation_offers SET expires_at = \(at)
            WHERE conversation_id = \(conversationID) AND expires_at > \(at)
            RETURNING user_id
            """).map { try $0.int("user_id") }.filter { $0 != agentID }.sorted()
    }

    /// Why an agent cannot take a conversation.
    static func refusal(conversationID: Int64, agentID: Int64, in executor: any SQLExecutor) async throws -> ConversationError {
        guard let current = try await conversation(conversationID, in: executor) else {
            return .notFound("conversation \(conversationID)")
        }
        let hadOffer = try await executor.queryFirst("""
            SELECT 1 AS yes FROM conversation_offers WHERE conversation_id = \(conversationID) AND user_id = \(agentID)
            """) != nil
        switch current.state {
        case .closed where current.agentID == agentID: return .closed(conversationID)
        case .assigned where current.agentID != agentID && hadOffer: return .taken(conversationID)
        case .offered where hadOffer, .queued where hadOffer: return .offerExpired(conversationID)
        default: return .notFound("conversation \(conversationID)")
        }
    }

    // MARK: inbound

    func ingest(_ m: InboundMessage, routing: InboundRouting, at: Date) async throws -> IngestOutcome {
        let campaignID: Int64? = switch routing {
        case .unrouted: nil
        case .campaignDisabled(let id), .keyword(let id, _, _), .conversation(let id, _): id
        }
        return try await db.transaction { tx in
            guard let row = try await tx.queryFirst("""
                INSERT INTO messages (conversation_id, campaign_id, direction, client_number, did, body, provider_id,
                  provider_message_id, state, created_at)
                VALUES (NULL, \(campaignID), 'in', \(m.from), \(m.to), \(m.body), \(m.providerID), \(m.providerMessageID),
                  'received', \(m.receivedAt))
                ON CONFLICT (provider_id, provider_message_id) WHERE direction = 'in' DO NOTHING
                RETURNING \(unsafeRaw: SQLInboundStore.messageColumns)
                """) else { return .duplicate }
            let stored = try SQLInboundStore.decodeMessage(row)
            switch routing {
            case .unrouted, .campaignDisabled:
                return .stored(stored)
            case .keyword(let campaignID, let action, let confirmation):
                return try await Self.applyKeyword(stored, campaignID: campaignID, action: action, confirmation: confirmation, at: at, in: tx)
            case .conversation(let campaignID, let outOfTimeReply):
                return try await Self.attach(stored, campaignID: campaignID, outOfTimeReply: outOfTimeReply, at: at, in: tx)
            }
        }
    }

    /// SPEC D8: the DNCR changes, the opt-out event and an audit row are written, and the confirmation is queued.
    static func applyKeyword(_ message: InboundMessage, campaignID: Int64, action: KeywordAction, confirmation: NewSpoolMessage?,
                             at: Date, in tx: any SQLExecutor) async throws -> IngestOutcome {
        let number = message.from
        let changed: Bool
        let keyword: String
        let details: String
        switch action {
        case .optOut(let word, let scope):
            keyword = word
            let dncrCampaign: Int64 = scope == .all ? 0 : campaignID
            changed = !(try await tx.query("""
                INSERT INTO dncr (number, campaign_id, source, reason, created_by, created_at)
                VALUES (\(number), \(dncrCampaign), 'opt_out', \("keyword \(word)"), NULL, \(at))
                ON CONFLICT (number, campaign_id) DO NOTHING RETURNING number
                """).isEmpty)
            try await tx.query("""
                INSERT INTO opt_out_events (number, campaign_id, keyword, action, message_id, at)
                VALUES (\(number), \(dncrCampaign), \(word), 'opt_out', \(message.id), \(at))
                """)
            // The open conversations it applies to record when the client opted out (an abandon in the metrics,
            // docs/metrics.md); they stay open with their agent.
            let campaigns: SQL = scope == .all ? "" : " AND campaign_id = \(campaignID)"
            try await tx.query("""
                UPDATE conversations SET opted_out_at = \(at)
                WHERE client_number IN \(list: ClientNumber.equivalents(number)) AND closed_at IS NULL AND opted_out_at IS NULL\(campaigns)
                """)
            details = "keyword \(word) to campaign \(campaignID): opted out of " + (scope == .all ? "all campaigns" : "campaign \(campaignID)")
                + (changed ? "" : " (already on the DNCR)")
        case .optIn(let word):
            keyword = word
            // Only the client's own opt-outs are lifted; an entry an operator or an import added stays.
            changed = !(try await tx.query("""
                DELETE FROM dncr WHERE number IN \(list: ClientNumber.equivalents(number)) AND source = 'opt_out'
                  AND campaign_id IN (0, \(campaignID))
                RETURNING number
                """).isEmpty)
            try await tx.query("""
                INSERT INTO opt_out_events (number, campaign_id, keyword, action, message_id, at)
                VALUES (\(number), \(campaignID), \(word), 'opt_in', \(message.id), \(at))
                """)
            details = "keyword \(word) to campaign \(campaignID): opted back in" + (changed ? "" : " (no opt-out to lift)")
        }
        try await tx.query("""
            INSERT INTO audit_log (at, actor_user_id, actor_name, action, target_type, target_id, details, client_address)
            VALUES (\(at), NULL, \(number), \(action.isOptOut ? "dncr.opt_out" : "dncr.opt_in"), 'number', \(number),
              \(details + " (message \(message.id), keyword \"\(keyword)\")"), NULL)
            """)
        var sent: ConversationMessage?
        if let confirmation {
            sent = try await insertOutgoing(confirmation, conversationID: nil, clientNumber: number, did: message.to,
                                            agentID: nil, at: at, in: tx)
        }
        return .keyword(message, dncrChanged: changed, confirmation: sent)
    }

    /// SPEC C10: into the client's open conversation, or a new queued one; the out-of-time reply once per conversation.
    static func attach(_ message: InboundMessage, campaignID: Int64, outOfTimeReply: NewSpoolMessage?, at: Date,
                       in tx: any SQLExecutor) async throws -> IngestOutcome {
        var message = message
        var opened = false
        var conversation = try await openConversation(campaignID: campaignID, clientNumber: message.from, in: tx)
        if conversation == nil {
            let number = ClientNumber.normalized(message.from) ?? message.from
            conversation = try await insertConversation(campaignID: campaignID, clientNumber: number, did: message.to,
                                                        state: .queued, agentID: nil, unread: 1, at: at, in: tx)
            opened = conversation != nil
            if conversation == nil {  // opened by a concurrent message of the same client: join it
                conversation = try await openConversation(campaignID: campaignID, clientNumber: message.from, in: tx)
            }
        }
        guard var current = conversation else { throw StoreError.database("no open conversation for \(message.from)") }
        if !opened {
            guard let row = try await tx.queryFirst("""
                UPDATE conversations SET unread_count = unread_count + 1,
                  last_activity_at = CASE WHEN last_activity_at < \(at) THEN \(at) ELSE last_activity_at END
                WHERE id = \(current.id)
                RETURNING \(unsafeRaw: columns)
                """) else { throw StoreError.database("conversation \(current.id) vanished") }
            current = try decode(row)
        }
        try await tx.query("UPDATE messages SET conversation_id = \(current.id) WHERE id = \(message.id)")
        message.conversationID = current.id
        message.campaignID = campaignID

        var reply: ConversationMessage?
        if let outOfTimeReply, let row = try await tx.queryFirst("""
            UPDATE conversations SET out_of_time_replied = \(true) WHERE id = \(current.id) AND out_of_time_replied = \(false)
            RETURNING \(unsafeRaw: columns)
            """) {
            current = try decode(row)
            reply = try await insertOutgoing(outOfTimeReply, conversationID: current.id, clientNumber: current.clientNumber,
                                             did: current.did, agentID: nil, at: at, in: tx)
        }
        var agents = Set(current.state == .assigned ? [current.agentID].compactMap { $0 } : [])
        if current.state == .offered {
            agents.formUnion(try await tx.query("""
                SELECT user_id FROM conversation_offers WHERE conversation_id = \(current.id) AND expires_at > \(at)
                """).map { try $0.int("user_id") })
        }
        return .conversation(message, current, opened: opened, outOfTimeReply: reply, agents: agents)
    }

    // MARK: assignment

    func routeNext(campaignID: Int64, at: Date, decide: @Sendable (AssignmentSnapshot) -> AssignmentDecision) async throws
        -> RoutingStep {
        try await db.transaction { tx in
            try await Self.lockAssignments(tx)
            guard let campaign = try await tx.queryFirst("""
                SELECT strategy, max_interactions_per_agent, offer_timeout_s, rr_cursor, time_zone, enabled FROM campaigns
                WHERE id = \(campaignID)
                """), try campaign.bool("enabled"),
                let strategy = RoutingStrategy(rawValue: try campaign.string("strategy")) else { return .idle }
            guard let head = try await tx.queryFirst("""
                SELECT \(unsafeRaw: Self.columns) FROM conversations
                WHERE campaign_id = \(campaignID) AND state = 'queued'
                ORDER BY queued_at, id LIMIT 1
                """).map(Self.decode) else { return .idle }
            let cap = Int(try campaign.int("max_interactions_per_agent"))
            let members = try await Self.members(campaignID: campaignID, timeZone: try campaign.string("time_zone"), at: at, in: tx)
            let excluded = Set(try await tx.query("SELECT user_id FROM conversation_offers WHERE conversation_id = \(head.id)")
                .map { try $0.int("user_id") })
            let cursor = try campaign.int("rr_cursor")
            var snapshot = AssignmentSnapshot(strategy: strategy, members: members, maxPerAgent: cap,
                                              rrCursor: cursor == 0 ? nil : cursor, now: at, excluded: excluded)
            var decision = decide(snapshot)
            if decision == .queue, !excluded.isEmpty {
                // Only members who let it time out could take it: start a new round with everyone.
                snapshot.excluded = []
                decision = decide(snapshot)
                if decision != .queue { try await tx.query("DELETE FROM conversation_offers WHERE conversation_id = \(head.id)") }
            }
            guard case .offer(let userIDs, let newCursor) = decision, !userIDs.isEmpty else { return .waiting(head) }

            let expires = at.addingTimeInterval(TimeInterval(max(1, try campaign.int("offer_timeout_s"))))
            var insert: SQL = "INSERT INTO conversation_offers (conversation_id, user_id, offered_at, expires_at) VALUES "
            for (i, user) in userIDs.enumerated() {
                insert += i == 0 ? "(\(head.id), \(user), \(at), \(expires))" : ", (\(head.id), \(user), \(at), \(expires))"
            }
            try await tx.query(insert)
            guard let row = try await tx.queryFirst("""
                UPDATE conversations SET state = 'offered' WHERE id = \(head.id) AND state = 'queued' RETURNING \(unsafeRaw: Self.columns)
                """) else { throw StoreError.database("conversation \(head.id) left the queue during its assignment") }
            if let newCursor { try await tx.query("UPDATE campaigns SET rr_cursor = \(newCursor) WHERE id = \(campaignID)") }
            // The decision read the counts under the same lock; this re-check guards the invariant itself.
            for (user, count) in try await Self.openCounts(userIDs, at: at, in: tx) where count > cap {
                throw StoreError.database("offering conversation \(head.id) to user \(user) would exceed the cap of \(cap)")
            }
            return .offered(try Self.decode(row), offers: userIDs.map {
                ConversationOffer(conversationID: head.id, userID: $0, offeredAt: at, expiresAt: expires)
            })
        }
    }

    /// The members as the routing rules see them: presence (available only with a live session and an
    /// enabled account), open conversations in every campaign, and conversations completed here today.
    static func members(campaignID: Int64, timeZone: String, at: Date, in tx: any SQLExecutor) async throws -> [AssignmentCandidate] {
        var members: [AssignmentCandidate] = []
        for row in try await tx.query("""
            SELECT m.user_id, m.position, m.penalty, m.last_ended_at, u.disabled, st.status,
              (SELECT COUNT(*) FROM sessions x WHERE x.user_id = m.user_id AND x.expires_at > \(at)) AS sessions
            FROM campaign_members m JOIN users u ON u.id = m.user_id LEFT JOIN agent_status st ON st.user_id = m.user_id
            WHERE m.campaign_id = \(campaignID)
            """) {
            var status = AssignmentCandidate.Status(rawValue: try row.optionalString("status") ?? "offline") ?? .offline
            let disabled = try row.bool("disabled")
            let signedIn = try row.int("sessions") > 0
            if status == .available, disabled || !signedIn { status = .offline }
            members.append(AssignmentCandidate(
                userID: try row.int("user_id"), position: Int(try row.int("position")), penalty: Int(try row.int("penalty")),
                status: status, lastCompletedAt: try row.optionalDate("last_ended_at")))
        }
        let ids = members.map(\.userID)
        guard !ids.isEmpty else { return [] }
        let open = try await openCounts(ids, at: at, in: tx)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC") ?? .current
        let today = calendar.startOfDay(for: at)
        var completed: [Int64: Int] = [:]
        for row in try await tx.query("""
            SELECT agent_id, COUNT(*) AS n FROM conversations
            WHERE campaign_id = \(campaignID) AND state = 'closed' AND closed_at >= \(today) AND agent_id IN \(list: ids)
            GROUP BY agent_id
            """) {
            completed[try row.int("agent_id")] = Int(try row.int("n"))
        }
        for i in members.indices {
            members[i].openConversations = open[members[i].userID] ?? 0
            members[i].completedCount = completed[members[i].userID] ?? 0
        }
        return members
    }

    func expireOffers(at: Date) async throws -> [ExpiredOffer] {
        // Runs every second: a read first, so that nothing to expire costs no write transaction.
        // Every offered conversation has offer rows: those whose rows all expired have no live offer left.
        guard try await db.queryFirst("""
            SELECT o.conversation_id FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE c.state = 'offered' GROUP BY o.conversation_id HAVING MAX(o.expires_at) <= \(at) LIMIT 1
            """) != nil else { return [] }
        return try await db.transaction { tx in
            try await Self.lockAssignments(tx)
            let expired = try await tx.query("""
                UPDATE conversations SET state = 'queued'
                WHERE state = 'offered' AND id IN (
                  SELECT conversation_id FROM conversation_offers GROUP BY conversation_id HAVING MAX(expires_at) <= \(at))
                RETURNING \(unsafeRaw: Self.columns)
                """).map(Self.decode)
            guard !expired.isEmpty else { return [] }
            var agents: [Int64: [Int64]] = [:]
            for row in try await tx.query("""
                SELECT conversation_id, user_id FROM conversation_offers WHERE conversation_id IN \(list: expired.map(\.id))
                ORDER BY user_id
                """) {
                agents[try row.int("conversation_id"), default: []].append(try row.int("user_id"))
            }
            return expired.sorted { $0.id < $1.id }.map { ExpiredOffer(conversation: $0, agents: agents[$0.id] ?? []) }
        }
    }

    func campaignsWithQueue() async throws -> [Int64] {
        try await db.query("""
            SELECT DISTINCT campaign_id FROM conversations WHERE state = 'queued' AND campaign_id IS NOT NULL ORDER BY campaign_id
            """).map { try $0.int("campaign_id") }
    }

    func accept(conversationID: Int64, agentID: Int64, at: Date) async throws -> TakenConversation {
        try await db.transaction { tx in
            try await Self.lockAssignments(tx)
            if let taken = try await Self.take(conversationID: conversationID, agentID: agentID, at: at, in: tx) { return taken }
            if let current = try await Self.conversation(conversationID, in: tx), current.state == .assigned, current.agentID == agentID {
                return TakenConversation(conversation: current, withdrawnFrom: [])  // accepted twice
            }
            throw try await Self.refusal(conversationID: conversationID, agentID: agentID, in: tx)
        }
    }

    // MARK: agent actions

    func reply(conversationID: Int64, agentID: Int64, message: NewSpoolMessage, at: Date) async throws -> SentReply {
        try await db.transaction { tx in
            let dueNow = message.notBefore.map { $0 <= at } ?? true
            var taken: TakenConversation?
            var row = try await Self.touchForReply(conversationID, agentID: agentID, dueNow: dueNow, at: at, in: tx)
            if row == nil {
                // Taking an offer changes offers: under the lock, after this transaction touched no conversation row.
                try await Self.lockAssignments(tx)
            }
            if row == nil, let took = try await Self.take(conversationID: conversationID, agentID: agentID, at: at, in: tx) {
                taken = took
                row = try await Self.touchForReply(conversationID, agentID: agentID, dueNow: dueNow, at: at, in: tx)
            }
            guard let conversation = row else {
                throw try await Self.refusal(conversationID: conversationID, agentID: agentID, in: tx)
            }
            let sent = try await Self.insertOutgoing(message, conversationID: conversation.id, clientNumber: conversation.clientNumber,
                                                     did: conversation.did, agentID: agentID, at: at, in: tx)
            return SentReply(conversation: conversation, message: sent, taken: taken, created: false)
        }
    }

    /// Records an agent's reply on their assigned conversation: activity, read, and the first response when it goes now.
    static func touchForReply(_ id: Int64, agentID: Int64, dueNow: Bool, at: Date, in tx: any SQLExecutor) async throws
        -> ConversationRecord? {
        let firstResponse: SQL = dueNow ? "COALESCE(first_response_at, \(at))" : "first_response_at"
        return try await tx.queryFirst("""
            UPDATE conversations SET last_activity_at = \(at), unread_count = 0, first_response_at = \(firstResponse)
            WHERE id = \(id) AND state = 'assigned' AND agent_id = \(agentID)
            RETURNING \(unsafeRaw: columns)
            """).map(decode)
    }

    func start(campaignID: Int64, clientNumber: String, agentID: Int64, requireMembership: Bool, message: NewSpoolMessage,
               at: Date) async throws -> SentReply {
        try await db.transaction { tx in
            try await Self.lockAssignments(tx)
            guard let campaign = try await tx.queryFirst("""
                SELECT enabled, max_interactions_per_agent FROM campaigns WHERE id = \(campaignID)
                """) else { throw ConversationError.notFound("campaign \(campaignID)") }
            guard try campaign.bool("enabled") else { throw ConversationError.campaignDisabled(campaignID: campaignID) }
            if requireMembership, try await tx.queryFirst("""
                SELECT 1 AS yes FROM campaign_members WHERE campaign_id = \(campaignID) AND user_id = \(agentID)
                """) == nil {
                throw ConversationError.notMember(campaignID: campaignID)
            }
            let cap = Int(try campaign.int("max_interactions_per_agent"))
            func checkCapacity(holdsOfferOf conversationID: Int64?) async throws {
                if let conversationID, try await Self.hasLiveOffer(conversationID: conversationID, userID: agentID, at: at, in: tx) {
                    return  // taking an offer of theirs adds nothing to their load
                }
                let open = try await Self.openCounts([agentID], at: at, in: tx)[agentID] ?? 0
                if open >= cap { throw ConversationError.atCapacity(limit: cap) }
            }
            var taken: TakenConversation?
            var created = false
            var conversation: ConversationRecord?
            for _ in 0..<2 where conversation == nil {
                if let open = try await Self.openConversation(campaignID: campaignID, clientNumber: clientNumber, in: tx) {
                    switch open.state {
                    case .assigned where open.agentID == agentID:
                        conversation = open
                    case .assigned, .closed:
                        throw ConversationError.otherAgent(conversationID: open.id)
                    case .queued, .offered:
                        try await checkCapacity(holdsOfferOf: open.id)
                        guard let row = try await tx.queryFirst("""
                            UPDATE conversations SET state = 'assigned', agent_id = \(agentID), assigned_at = \(at)
                            WHERE id = \(open.id) AND state IN ('queued', 'offered')
                            RETURNING \(unsafeRaw: Self.columns)
                            """) else { throw ConversationError.taken(open.id) }
                        conversation = try Self.decode(row)
                        taken = TakenConversation(conversation: try Self.decode(row),
                                                  withdrawnFrom: try await Self.endOffers(open.id, except: agentID, at: at, in: tx))
                    }
                } else {
                    try await checkCapacity(holdsOfferOf: nil)
                    conversation = try await Self.insertConversation(
                        campaignID: campaignID, clientNumber: clientNumber, did: nil, state: .assigned, agentID: agentID,
                        unread: 0, at: at, in: tx)
                    created = conversation != nil
                }
            }
            guard let opened = conversation,
                  let current = try await Self.touchForReply(opened.id, agentID: agentID, dueNow: message.notBefore.map { $0 <= at } ?? true,
                                                             at: at, in: tx) else {
                throw StoreError.database("could not open a conversation with \(clientNumber)")
            }
            let sent = try await Self.insertOutgoing(message, conversationID: current.id, clientNumber: current.clientNumber,
                                                     did: current.did, agentID: agentID, at: at, in: tx)
            return SentReply(conversation: current, message: sent, taken: taken, created: created)
        }
    }

    func close(conversationID: Int64, agentID: Int64?, reason: String?, at: Date) async throws -> ConversationRecord {
        try await db.transaction { tx in
            try await Self.lockAssignments(tx)
            let ownership: SQL = agentID.map { "state = 'assigned' AND agent_id = \($0)" } ?? "state <> 'closed'"
            guard let row = try await tx.queryFirst("""
                UPDATE conversations SET state = 'closed', closed_at = \(at), close_reason = \(reason), unread_count = 0
                WHERE id = \(conversationID) AND \(ownership)
                RETURNING \(unsafeRaw: Self.columns)
                """) else {
                guard let current = try await Self.conversation(conversationID, in: tx) else {
                    throw ConversationError.notFound("conversation \(conversationID)")
                }
                if current.state == .closed, agentID == nil || current.agentID == agentID { throw ConversationError.closed(conversationID) }
                throw ConversationError.notFound("conversation \(conversationID)")
            }
            let closed = try Self.decode(row)
            try await tx.query("DELETE FROM conversation_offers WHERE conversation_id = \(conversationID)")
            if let agent = closed.agentID {
                try await tx.query("""
                    UPDATE campaign_members SET last_ended_at = \(at) WHERE campaign_id = \(closed.campaignID) AND user_id = \(agent)
                    """)
            }
            return closed
        }
    }

    func markRead(conversationID: Int64) async throws -> ConversationRecord {
        guard let row = try await db.queryFirst("""
            UPDATE conversations SET unread_count = 0 WHERE id = \(conversationID) RETURNING \(unsafeRaw: Self.columns)
            """) else { throw ConversationError.notFound("conversation \(conversationID)") }
        return try Self.decode(row)
    }

    func cancelOutgoing(messageID: Int64, agentID: Int64?, reason: String, at: Date) async throws -> ConversationMessage {
        try await db.transaction { tx in
            guard let message = try await Self.message(messageID, in: tx), message.direction == .outbound,
                  agentID == nil || message.agentID == agentID else {
                throw ConversationError.notFound("message \(messageID)")
            }
            guard let delivery = message.delivery else { throw ConversationError.notCancellable(messageID: messageID, state: "not queued") }
            guard try await tx.queryFirst("""
                UPDATE spool SET state = 'cancelled', updated_at = \(at)
                WHERE id = \(delivery.spoolID) AND state IN ('to_process', 'none')
                RETURNING id
                """) != nil else {
                throw ConversationError.notCancellable(messageID: messageID, state: delivery.state.rawValue)
            }
            try await SQLSpoolStore.insertEvents([.init(id: delivery.spoolID, from: delivery.state, to: .cancelled, reason: reason)],
                                                 at: at, node: nil, in: tx)
            return try await Self.message(messageID, in: tx) ?? message
        }
    }

    func setStatus(_ status: AgentStatus, at: Date) async throws -> StatusChange {
        try await db.transaction { tx in
            try await Self.lockAssignments(tx)
            let since = status.since ?? at
            guard let row = try await tx.queryFirst("""
                INSERT INTO agent_status (user_id, status, reason, since) VALUES (\(status.userID), \(status.status.rawValue),
                  \(status.reason), \(since))
                ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
                  since = CASE WHEN agent_status.status = excluded.status
                    AND COALESCE(agent_status.reason, '') = COALESCE(excluded.reason, '') THEN agent_status.since ELSE excluded.since END
                RETURNING user_id, status, reason, since
                """) else { throw StoreError.database("agent status not stored") }
            let stored = try Self.decodeStatus(row)
            guard status.status != .available else { return StatusChange(status: stored, withdrawnOffers: [], requeued: []) }
            let withdrawn = try await tx.query("""
                DELETE FROM conversation_offers
                WHERE user_id = \(status.userID) AND expires_at > \(at)
                  AND conversation_id IN (SELECT id FROM conversations WHERE state = 'offered')
                RETURNING conversation_id
                """).map { try $0.int("conversation_id") }.sorted()
            guard !withdrawn.isEmpty else { return StatusChange(status: stored, withdrawnOffers: [], requeued: []) }
            let requeued = try await tx.query("""
                UPDATE conversations SET state = 'queued'
                WHERE id IN \(list: withdrawn) AND state = 'offered' AND NOT EXISTS (
                  SELECT 1 FROM conversation_offers o WHERE o.conversation_id = conversations.id AND o.expires_at > \(at))
                RETURNING \(unsafeRaw: Self.columns)
                """).map(Self.decode).sorted { $0.id < $1.id }
            return StatusChange(status: stored, withdrawnOffers: withdrawn, requeued: requeued)
        }
    }

    static func decodeStatus(_ row: SQLRow) throws -> AgentStatus {
        AgentStatus(userID: try row.int("user_id"),
                    status: AssignmentCandidate.Status(rawValue: try row.string("status")) ?? .offline,
                    reason: try row.optionalString("reason"), since: try row.optionalDate("since"))
    }

    func status(userID: Int64) async throws -> AgentStatus {
        try await db.queryFirst("SELECT user_id, status, reason, since FROM agent_status WHERE user_id = \(userID)")
            .map(Self.decodeStatus) ?? AgentStatus(userID: userID, status: .offline, since: nil)
    }

    // MARK: reads

    func conversation(id: Int64) async throws -> ConversationRecord? {
        try await Self.conversation(id, in: db)
    }

    static let itemSelect = """
        SELECT \(prefixedColumns), p.name AS campaign_name, u.display_name AS agent_name
        FROM conversations c LEFT JOIN campaigns p ON p.id = c.campaign_id LEFT JOIN users u ON u.id = c.agent_id
        """

    func item(id: Int64, at: Date) async throws -> ConversationListItem? {
        try await items("\(unsafeRaw: Self.itemSelect) WHERE c.id = \(id)", at: at).first
    }

    func inbox(agentID: Int64, at: Date) async throws -> [ConversationListItem] {
        try await items("""
            \(unsafeRaw: Self.itemSelect)
            WHERE (c.state = 'assigned' AND c.id IN (
                     SELECT x.id FROM conversations x WHERE x.agent_id = \(agentID) AND x.closed_at IS NULL))
               OR (c.state = 'offered' AND c.id IN (
                     SELECT o.conversation_id FROM conversation_offers o WHERE o.user_id = \(agentID) AND o.expires_at > \(at)))
            ORDER BY c.last_activity_at DESC, c.id DESC
            """, at: at)
    }

    func list(_ filter: ConversationFilter, limit: Int, beforeID: Int64?, at: Date) async throws -> [ConversationListItem] {
        var conditions: SQL = "c.id < \(beforeID ?? Int64.max)"
        if case .only(let campaigns) = filter.scope {
            guard !campaigns.isEmpty else { return [] }
            conditions += " AND c.campaign_id IN \(list: campaigns.sorted())"
        }
        if let campaign = filter.campaignID { conditions += " AND c.campaign_id = \(campaign)" }
        if !filter.states.isEmpty { conditions += " AND c.state IN \(list: filter.states.map(\.rawValue))" }
        if let agent = filter.agentID { conditions += " AND c.agent_id = \(agent)" }
        if let number = filter.number, !number.isEmpty {
            let escaped = number.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            conditions += " AND c.client_number LIKE \("%" + escaped + "%") ESCAPE '\\'"
        }
        return try await items("\(unsafeRaw: Self.itemSelect) WHERE \(conditions) ORDER BY c.id DESC LIMIT \(max(1, limit))", at: at)
    }

    /// Runs a conversation query and adds each one's last message, waiting time and live offers (three more queries).
    func items(_ sql: SQL, at: Date) async throws -> [ConversationListItem] {
        let rows = try await db.query(sql)
        guard !rows.isEmpty else { return [] }
        let conversations = try rows.map(Self.decode)
        let ids = conversations.map(\.id)
        var last: [Int64: ConversationMessage] = [:]
        for row in try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM \(unsafeRaw: Self.messageFrom)
            WHERE m.id IN (SELECT MAX(id) FROM messages WHERE conversation_id IN \(list: ids) GROUP BY conversation_id)
            """) {
            let message = try Self.decodeMessage(row)
            if let id = message.conversationID { last[id] = message }
        }
        var waiting: [Int64: Date] = [:]
        for row in try await db.query("""
            SELECT m.conversation_id, MIN(m.created_at) AS since FROM messages m
            WHERE m.conversation_id IN \(list: ids) AND m.direction = 'in' AND m.id > COALESCE((
              SELECT MAX(a.id) FROM messages a
              WHERE a.conversation_id = m.conversation_id AND a.direction = 'out' AND a.agent_id IS NOT NULL), 0)
            GROUP BY m.conversation_id
            """) {
            waiting[try row.int("conversation_id")] = try row.date("since")
        }
        var offers: [Int64: [ConversationOffer]] = [:]
        for row in try await db.query("""
            SELECT o.conversation_id, o.user_id, o.offered_at, o.expires_at
            FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE o.conversation_id IN \(list: ids) AND c.state = 'offered' AND o.expires_at > \(at)
            ORDER BY o.user_id
            """) {
            let offer = try Self.decodeOffer(row)
            offers[offer.conversationID, default: []].append(offer)
        }
        return try zip(rows, conversations).map { row, conversation in
            ConversationListItem(
                conversation: conversation, campaignName: try row.optionalString("campaign_name") ?? "",
                agentName: try row.optionalString("agent_name"), lastMessage: last[conversation.id],
                waitingSince: conversation.state == .closed ? nil : waiting[conversation.id], offers: offers[conversation.id] ?? [])
        }
    }

    func messages(conversationID: Int64) async throws -> [ConversationMessage] {
        try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM \(unsafeRaw: Self.messageFrom) WHERE m.conversation_id = \(conversationID)
            ORDER BY m.id
            """).map(Self.decodeMessage)
    }

    func message(id: Int64) async throws -> ConversationMessage? {
        try await Self.message(id, in: db)
    }

    func message(spoolID: Int64) async throws -> ConversationMessage? {
        try await db.queryFirst("SELECT \(unsafeRaw: Self.messageColumns) FROM \(unsafeRaw: Self.messageFrom) WHERE m.spool_id = \(spoolID)")
            .map(Self.decodeMessage)
    }

    func history(campaignID: Int64, clientNumber: String, beforeID: Int64?, limit: Int) async throws -> [ConversationMessage] {
        try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM \(unsafeRaw: Self.messageFrom)
            WHERE m.campaign_id = \(campaignID) AND m.client_number IN \(list: ClientNumber.equivalents(clientNumber))
              AND m.id < \(beforeID ?? Int64.max)
            ORDER BY m.id DESC LIMIT \(max(1, limit))
            """).map(Self.decodeMessage)
    }

    func otherConversations(of conversation: ConversationRecord, limit: Int, at: Date) async throws -> [ConversationListItem] {
        try await items("""
            \(unsafeRaw: Self.itemSelect)
            WHERE c.campaign_id = \(conversation.campaignID) AND c.client_number IN \(list: ClientNumber.equivalents(conversation.clientNumber))
              AND c.id <> \(conversation.id)
            ORDER BY c.id DESC LIMIT \(max(1, limit))
            """, at: at)
    }

    func liveOffers(conversationID: Int64, at: Date) async throws -> [ConversationOffer] {
        try await db.query("""
            SELECT o.conversation_id, o.user_id, o.offered_at, o.expires_at
            FROM conversation_offers o JOIN conversations c ON c.id = o.conversation_id
            WHERE o.conversation_id = \(conversationID) AND c.state = 'offered' AND o.expires_at > \(at)
            ORDER BY o.user_id
            """).map(Self.decodeOffer)
    }

    func scheduled(agentID: Int64?, at: Date) async throws -> [ConversationMessage] {
        let mine: SQL = agentID.map { " AND s.created_by = \($0) AND m.agent_id = \($0)" } ?? ""
        return try await db.query("""
            SELECT \(unsafeRaw: Self.messageColumns) FROM spool s JOIN messages m ON m.spool_id = s.id
            WHERE s.source = 'agent' AND s.state = 'to_process' AND s.not_before > \(at) AND m.direction = 'out'\(mine)
            ORDER BY s.not_before, m.id
            """).map(Self.decodeMessage)
    }

    func memberCampaignIDs(userID: Int64) async throws -> [Int64] {
        try await db.query("SELECT campaign_id FROM campaign_members WHERE user_id = \(userID) ORDER BY campaign_id")
            .map { try $0.int("campaign_id") }
    }
}

extension KeywordAction {
    var isOptOut: Bool {
        if case .optOut = self { return true }
        return false
    }
}
