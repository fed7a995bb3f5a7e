import Foundation
import Logging
import PostgresNIO
import SMSStore

/// The multi-node backend: a PostgresNIO connection pool. Several SMSDesk
/// processes may share one PostgreSQL database.
public final class PostgresDatabase: SQLDatabase {
    public let dialect = SQLDialect.postgres
    let client: PostgresClient
    private let runTask: Task<Void, Never>

    /// Connects to `url` (`postgres://user:password@host:port/database`,
    /// optional `?sslmode=disable|prefer|require`). The pool runs until `close()`.
    public init(url: String, logger: Logger) throws {
        let configuration = try Self.configuration(from: url)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let client = self.client
        // The pool's run loop lives exactly as long as this object: `close()` cancels it.
        runTask = Task { await client.run() }
    }

    static func configuration(from url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else { throw StoreError.configuration("database URL must look like postgres://user:password@host:port/database") }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.configuration("database URL has no host")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw StoreError.configuration("database URL: unknown sslmode \(sslmode)")
        }
        var config = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = 20
        return config
    }

    @discardableResult
    public func query(_ sql: SQL) async throws -> [SQLRow] {
        try await client.withConnection { connection in
            try await Self.run(connection, sql)
        }
    }

    @discardableResult
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            _ = try await Self.run(connection, "BEGIN")
            do {
                let result = try await body(ConnectionExecutor(connection: connection))
                _ = try await Self.run(connection, "COMMIT")
                return result
            } catch {
                _ = try? await Self.run(connection, "ROLLBACK")
                throw error
            }
        }
    }

    public func lockForMigration(in tx: any SQLExecutor) async throws {
        // A transaction-scoped advisory lock: one node migrates, the others wait and then find it done.
        try await tx.query("SELECT pg_advisory_xact_lock(\(Int64(0x534D_5344_4553_4B)))")
    }

    public func ping() async -> Bool {
        (try? await query("SELECT 1 AS one").first?.int("one")) == 1
    }

    public func close() async throws {
        runTask.cancel()
        await runTask.value
    }

    struct ConnectionExecutor: SQLBulkExecutor {
        let connection: PostgresConnection
        var dialect: SQLDialect { .postgres }
        func query(_ sql: SQL) async throws -> [SQLRow] { try await PostgresDatabase.run(connection, sql) }

        /// The rows travel as one JSON array of objects, expanded by `json_populate_recordset` with the table's own
        /// row type (so every value takes its column's type), in array order: one statement and one round trip per
        /// batch instead of a multi-row `VALUES` with a parameter per value. Ids come from the table's sequence in
        /// that order; other sessions may take ids in between, so they are returned as they are, not as a range.
        func insertRows(into table: String, columns: [String], _ rows: [[SQLValue]]) async throws -> [Int64] {
            guard !rows.isEmpty else { return [] }
            guard rows.allSatisfy({ $0.count == columns.count }) else {
                throw StoreError.database("insertRows into \(table): every row needs \(columns.count) values")
            }
            let list = columns.joined(separator: ", ")
            let selected = columns.map { "r.\($0)" }.joined(separator: ", ")
            let sql: SQL = """
                INSERT INTO \(unsafeRaw: table) (\(unsafeRaw: list))
                SELECT \(unsafeRaw: selected)
                FROM ROWS FROM (json_populate_recordset(NULL::\(unsafeRaw: table), CAST(\(PostgresDatabase.jsonRecords(columns, rows)) AS json)))
                  WITH ORDINALITY AS r
                ORDER BY r.ordinality
                RETURNING id
                """
            let ids = try await PostgresDatabase.run(connection, sql).map { try $0.int("id") }.sorted()
            guard ids.count == rows.count else {
                throw StoreError.database("insertRows into \(table): \(ids.count) rows inserted of \(rows.count)")
            }
            return ids
        }
    }

    /// `[{"column": value, …}, …]`: strings escaped as JSON requires, byte arrays as bytea's hex text.
    static func jsonRecords(_ columns: [String], _ rows: [[SQLValue]]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 64 * max(1, columns.count / 4))
        let keys = columns.map { Array("\"\($0)\":".utf8) }
        out.append(UInt8(ascii: "["))
        for (r, row) in rows.enumerated() {
            if r > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            for (c, value) in row.enumerated() {
                if c > 0 { out.append(UInt8(ascii: ",")) }
                out += keys[c]
                switch value {
                case .null: out += Array("null".utf8)
                case .integer(let i): out += Array(String(i).utf8)
                case .bool(let b): out += Array((b ? "true" : "false").utf8)
                case .real(let d): out += d.isFinite ? Array("\(d)".utf8) : Array("null".utf8)
                case .text(let text): appendJSONString(text.utf8, to: &out)
                case .blob(let bytes):
                    appendJSONString(("\\x" + bytes.map { String(format: "%02x", $0) }.joined()).utf8, to: &out)
                }
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    static func appendJSONString<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func run(_ connection: PostgresConnection, _ sql: SQL) async throws -> [SQLRow] {
        let (text, values) = sql.render(for: .postgres)
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .real(let d): binds.append(d)
            case .text(let s): binds.append(s)
            case .blob(let b): binds.append(ByteBuffer(bytes: b))
            case .bool(let b): binds.append(b)
            }
        }
        do {
            let sequence = try await connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: quietLogger)
            var rows: [SQLRow] = []
            var columns: [String]?
            for try await row in sequence {
                var names: [String] = []
                var cells: [SQLValue] = []
                for cell in row {
                    if columns == nil { names.append(cell.columnName) }
                    cells.append(try decode(cell))
                }
                if columns == nil { columns = names }
                rows.append(SQLRow(columns: columns ?? names, values: cells))
            }
            return rows
        } catch let error as PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                let message = error.serverInfo?[.message] ?? state
                if state == "23505" { throw StoreError.conflict(field: "", message: message) }
                throw StoreError.database("\(message) (SQLSTATE \(state))")
            }
            throw StoreError.database("PostgreSQL: \(error.code)")
        }
    }

    static func decode(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric: return .real(Double(try cell.decode(String.self)) ?? .nan)
        case .bool: return .bool(try cell.decode(Bool.self))
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
        default: return .text(try cell.decode(String.self))
        }
    }

    private static let quietLogger = Logger(label: "smsdesk.store.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
