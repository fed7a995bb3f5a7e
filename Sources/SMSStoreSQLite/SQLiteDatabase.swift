import Foundation
import GRDB
import GRDBSQLite
import SMSStore

/// The embedded backend: one SQLite file through GRDB, in WAL mode, so
/// readers run concurrently with the single writer.
///
/// Transactions take a process-wide async lock and hold GRDB's writer
/// connection across awaits (`allowsUnsafeTransactions`), so store code can be
/// written once as `async` for both backends.
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    private let pool: DatabasePool
    private let writeLock = AsyncLock()

    /// Opens (creating if needed) the database file at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.allowsUnsafeTransactions = true
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 32 MiB of page cache (SQLite's default is 2 MiB), taken only as needed: large transactions (bulk
            // imports) otherwise spill dirty index pages to the WAL again and again.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError.configuration("cannot open SQLite database \(path): \(error)")
        }
    }

    @discardableResult
    public func query(_ sql: SMSStore.SQL) async throws -> [SQLRow] {
        let (text, binds) = sql.render(for: .sqlite)
        if Self.isRead(text) {
            return try await Self.translate { try await self.pool.read { db in try Self.run(db, text, binds) } }
        }
        return try await writeLock.withLock {
            try await Self.translate { try await self.pool.writeWithoutTransaction { db in try Self.run(db, text, binds) } }
        }
    }

    @discardableResult
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            try await self.finish("BEGIN IMMEDIATE")
            do {
                let result = try await body(TransactionExecutor(pool: pool))
                try await self.finish("COMMIT")
                return result
            } catch {
                try? await self.finish("ROLLBACK")
                throw error
            }
        }
    }

    /// Runs BEGIN/COMMIT/ROLLBACK even when the calling task is cancelled, so a
    /// cancelled request never leaves the writer inside a transaction.
    private func finish(_ statement: String) async throws {
        let pool = self.pool
        try await Task { try await Self.translate { try await pool.writeWithoutTransaction { db in try db.execute(sql: statement) } } }.value
    }

    public func lockForMigration(in tx: any SQLExecutor) async throws {
        // BEGIN IMMEDIATE already holds SQLite's write lock for the whole transaction.
    }

    public func ping() async -> Bool {
        (try? await query("SELECT 1 AS one").first?.int("one")) == 1
    }

    public func close() async throws {
        try pool.close()
    }

    /// Copies the live database into a new file with SQLite's online backup: one step from a read snapshot, so the
    /// copy is consistent while other connections (or processes) keep writing. The copy is a single file (rollback
    /// journal, no `-wal`), fit to be moved or archived alone.
    public func backup(to path: String) async throws {
        let destination = try DatabaseQueue(path: path)
        do {
            try await Self.translate {
                try pool.backup(to: destination)
                try await destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            }
            try destination.close()
        } catch {
            try? destination.close()
            throw error
        }
    }

    struct TransactionExecutor: SQLBatchExecutor, SQLBulkExecutor {
        let pool: DatabasePool
        var dialect: SQLDialect { .sqlite }

        func queryBatch(_ statements: [SMSStore.SQL]) async throws -> [[SQLRow]] {
            let rendered = statements.map { $0.render(for: .sqlite) }
            return try await SQLiteDatabase.translate {
                try await pool.writeWithoutTransaction { db in try rendered.map { try SQLiteDatabase.run(db, $0.text, $0.binds) } }
            }
        }
        func query(_ sql: SMSStore.SQL) async throws -> [SQLRow] {
            let (text, binds) = sql.render(for: .sqlite)
            return try await SQLiteDatabase.translate {
                try await pool.writeWithoutTransaction { db in try SQLiteDatabase.run(db, text, binds) }
            }
        }

        func insertRows(into table: String, columns: [String], _ rows: [[SQLValue]]) async throws -> [Int64] {
            guard !rows.isEmpty else { return [] }
            // Planned here, so the writer's thread only binds and steps.
            let plan = try BulkInsert(into: table, columns: columns, rows)
            return try await SQLiteDatabase.translate {
                try await pool.writeWithoutTransaction { db in try plan.run(db) }
            }
        }
    }

    /// SQLite's "copy the bytes now" destructor (SQLITE_TRANSIENT, a macro Swift does not import).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Rows for one table, inserted row by row when they are few, otherwise through a staging table: a TEMP
    /// table with no index (one per connection and column list, emptied after each use) loaded with one
    /// prepared statement bound through the C API, then moved into the table by one `INSERT … SELECT`, which
    /// keeps the table's and its indexes' cursors open across rows. Columns with the same value in every row
    /// (states, sources, timestamps of a bulk file) are not staged but bound once as constants of that
    /// statement. The new rows get consecutive ids: the statement runs under the write lock and each row
    /// takes the largest id so far plus one.
    struct BulkInsert: Sendable {
        /// Batches smaller than this are inserted row by row.
        static let stagingMinimumRows = 16

        let table: String
        let expected: Int
        /// Row by row: the `INSERT … VALUES` statement. Staged: the staging table's statements.
        let insert: String
        let rows: [[SQLValue]]
        let staging: (create: String, empty: String, move: String, constants: [SQLValue])?

        init(into table: String, columns: [String], _ rows: [[SQLValue]]) throws {
            guard let first = rows.first, rows.allSatisfy({ $0.count == columns.count }) else {
                throw StoreError.database("insertRows into \(table): every row needs \(columns.count) values")
            }
            self.table = table
            expected = rows.count
            let list = columns.joined(separator: ", ")
            func placeholders(_ n: Int) -> String { Array(repeating: "?", count: n).joined(separator: ", ") }
            if rows.count < Self.stagingMinimumRows {
                insert = "INSERT INTO main.\(table) (\(list)) VALUES (\(placeholders(columns.count)))"
                self.rows = rows
                staging = nil
                return
            }
            var staged = columns.indices.filter { c in rows.contains { $0[c] != first[c] } }
            if staged.isEmpty { staged = [0] }
            let stagedList = staged.map { columns[$0] }.joined(separator: ", ")
            let name = "staging_\(table)_\(SQLiteDatabase.fingerprint(stagedList))"
            insert = "INSERT INTO temp.\(name) VALUES (\(placeholders(staged.count)))"
            self.rows = staged.count == columns.count ? rows : rows.map { row in staged.map { row[$0] } }
            let selected = columns.indices.map { staged.contains($0) ? columns[$0] : "?" }.joined(separator: ", ")
            staging = (create: "CREATE TEMP TABLE IF NOT EXISTS \(name) (\(stagedList))",
                       empty: "DELETE FROM temp.\(name)",
                       move: "INSERT INTO main.\(table) (\(list)) SELECT \(selected) FROM temp.\(name) ORDER BY rowid",
                       constants: columns.indices.filter { !staged.contains($0) }.map { first[$0] })
        }

        /// Runs on the writer connection, inside its transaction; returns the new rows' ids in order.
        func run(_ db: Database) throws -> [Int64] {
            guard let connection = db.sqliteConnection else { throw DatabaseError(message: "the database is closed") }
            guard let staging else { return try SQLiteDatabase.bindEach(connection, insert, rows, ids: true) }
            // Straight through SQLite: GRDB treats any DDL, even a CREATE … IF NOT EXISTS that does nothing, as a
            // schema change and recompiles its cached statements, which costs more than the batch itself.
            try SQLiteDatabase.exec(connection, staging.create)
            try SQLiteDatabase.exec(connection, staging.empty)
            defer { try? SQLiteDatabase.exec(connection, staging.empty) }
            try SQLiteDatabase.bindEach(connection, insert, rows, ids: false)
            try db.cachedStatement(sql: staging.move).execute(arguments: StatementArguments(staging.constants.map(databaseValue)))
            let last = sqlite3_last_insert_rowid(connection)
            let count = Int64(sqlite3_changes(connection))
            guard count == Int64(expected) else {
                throw DatabaseError(message: "insertRows into \(table): \(count) rows inserted of \(expected)")
            }
            return Array((last - count + 1)...last)
        }
    }

    static func exec(_ connection: OpaquePointer, _ sql: String) throws {
        let code = sqlite3_exec(connection, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw Self.error(connection, code, sql) }
    }

    /// A short stable name for a column list (FNV-1a), so different column lists get different staging tables.
    static func fingerprint(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(hash, radix: 36)
    }

    /// Prepares `sql` once and runs it for each row of arguments, binding with the C API directly (no per-row
    /// statement compilation or argument boxing); with `ids`, returns the row id each step inserted.
    @discardableResult
    static func bindEach(_ connection: OpaquePointer, _ sql: String, _ arguments: [[SQLValue]], ids wanted: Bool) throws -> [Int64] {
        var prepared: OpaquePointer?
        var code = sqlite3_prepare_v2(connection, sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let statement = prepared else {
            throw Self.error(connection, code, sql)
        }
        defer { sqlite3_finalize(statement) }
        var ids: [Int64] = []
        if wanted { ids.reserveCapacity(arguments.count) }
        for row in arguments {
            var index: Int32 = 0
            for value in row {
                index += 1
                switch value {
                case .null: code = sqlite3_bind_null(statement, index)
                case .integer(let i): code = sqlite3_bind_int64(statement, index, i)
                case .bool(let b): code = sqlite3_bind_int64(statement, index, b ? 1 : 0)
                case .real(let d): code = sqlite3_bind_double(statement, index, d)
                case .text(let text): code = bindText(statement, index, text)
                case .blob(let bytes):
                    code = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
                }
                guard code == SQLITE_OK else { throw Self.error(connection, code, sql) }
            }
            code = sqlite3_step(statement)
            guard code == SQLITE_DONE else {
                let failure = Self.error(connection, sqlite3_extended_errcode(connection), sql)
                sqlite3_reset(statement)
                throw failure
            }
            if wanted { ids.append(sqlite3_last_insert_rowid(connection)) }
            sqlite3_reset(statement)  // every parameter is bound again for the next row
        }
        return ids
    }

    /// Binds a text (copied by SQLite), reading a native string's bytes in place; '' stays '' and not NULL.
    private static func bindText(_ statement: OpaquePointer, _ index: Int32, _ text: String) -> Int32 {
        if text.isEmpty { return sqlite3_bind_text(statement, index, "", 0, Self.transient) }
        if let code = text.utf8.withContiguousStorageIfAvailable({ bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), Self.transient)
            }
        }) {
            return code
        }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(statement, index, $0.baseAddress, Int32($0.count), Self.transient)
            }
        }
    }

    private static func error(_ connection: OpaquePointer, _ code: Int32, _ sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }

    static func isRead(_ text: String) -> Bool {
        let head = text.drop(while: { $0.isWhitespace }).prefix(6).uppercased()
        return head == "SELECT"
    }

    /// Statements with at most this many parameters are kept compiled.
    static let cachedStatementMaximumBinds = 40

    static func run(_ db: Database, _ text: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        // Statements with few parameters come from a bounded set of texts: keep them compiled (per
        // connection), which saves SQLite's parse and GRDB's authorizer pass on every call. Long ones
        // (multi-row inserts, long IN lists) vary with their size and are compiled each time.
        let statement = binds.count <= Self.cachedStatementMaximumBinds && text.utf8.count <= 4096
            ? try db.cachedStatement(sql: text) : try db.makeStatement(sql: text)
        try statement.setArguments(StatementArguments(binds.map(databaseValue)))
        let columns = statement.columnNames
        var rows: [SQLRow] = []
        let cursor = try Row.fetchCursor(statement)
        while let row = try cursor.next() {
            rows.append(SQLRow(columns: columns, values: row.databaseValues.map(sqlValue)))
        }
        return rows
    }

    static func databaseValue(_ v: SQLValue) -> DatabaseValue {
        switch v {
        case .null: .null
        case .integer(let i): i.databaseValue
        case .real(let d): d.databaseValue
        case .text(let s): s.databaseValue
        case .blob(let b): Data(b).databaseValue
        case .bool(let b): (b ? Int64(1) : Int64(0)).databaseValue
        }
    }

    static func sqlValue(_ v: DatabaseValue) -> SQLValue {
        switch v.storage {
        case .null: .null
        case .int64(let i): .integer(i)
        case .double(let d): .real(d)
        case .string(let s): .text(s)
        case .blob(let d): .blob([UInt8](d))
        }
    }

    /// Maps SQLite errors to `StoreError`; a broken UNIQUE rule becomes `.conflict`.
    static func translate<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError {
            if error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
                || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw StoreError.conflict(field: "", message: error.message ?? "unique constraint failed")
            }
            throw StoreError.database(error.message ?? "\(error.resultCode)")
        }
    }
}

/// A first-in, first-out async mutex. Waiting is not cancellable, so the
/// holder always releases what it took.
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func unlock() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }

    nonisolated func withLock<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await lock()
        do {
            let result = try await body()
            await unlock()
            return result
        } catch {
            await unlock()
            throw error
        }
    }
}
