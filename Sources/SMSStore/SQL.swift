import Foundation

/// A value bound to, or read from, a SQL statement. Timestamps are stored as
/// milliseconds since the Unix epoch (`integer`) in both backends.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case bool(Bool)
}

/// A type that can be bound as a SQL parameter.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension Int: SQLBindable { public var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .integer(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .real(self) } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .bool(self) } }
extension Date: SQLBindable { public var sqlValue: SQLValue { .integer(self.millisecondsSince1970) } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension Date {
    /// Milliseconds since 1970, the storage form of every timestamp.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
    /// A date from its storage form.
    public init(millisecondsSince1970 ms: Int64) { self.init(timeIntervalSince1970: Double(ms) / 1000) }
}

/// The SQL dialect of a backend; statements render their placeholders for it.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgres
}

/// A SQL statement whose interpolated values are bound as parameters, never
/// spliced into the text: `"SELECT * FROM users WHERE id = \(id)"`.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Part: Sendable { case text(String), bind(SQLValue) }
    var parts: [Part]

    public init(stringLiteral value: String) { parts = [.text(value)] }
    public init(stringInterpolation: StringInterpolation) { parts = stringInterpolation.parts }
    /// SQL text with no parameters, e.g. DDL from a migration.
    public init(unsafeRaw text: String) { parts = [.text(text)] }

    public struct StringInterpolation: StringInterpolationProtocol {
        var parts: [Part] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: String) { parts.append(.text(literal)) }
        public mutating func appendInterpolation(_ value: some SQLBindable) { parts.append(.bind(value.sqlValue)) }
        /// Binds an optional value; nil binds SQL NULL.
        public mutating func appendInterpolation<T: SQLBindable>(_ value: T?) { parts.append(.bind(value?.sqlValue ?? .null)) }
        /// Splices trusted SQL text (identifiers chosen by code, never user input).
        public mutating func appendInterpolation(unsafeRaw text: String) { parts.append(.text(text)) }
        /// Splices another statement, keeping its bindings.
        public mutating func appendInterpolation(_ sql: SQL) { parts.append(contentsOf: sql.parts) }
        /// A parenthesised list of bound values, for `IN (...)`.
        public mutating func appendInterpolation(list values: [some SQLBindable]) {
            parts.append(.text("("))
            for (i, v) in values.enumerated() {
                if i > 0 { parts.append(.text(", ")) }
                parts.append(.bind(v.sqlValue))
            }
            if values.isEmpty { parts.append(.text("NULL")) }
            parts.append(.text(")"))
        }
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var s = lhs
        s.parts += rhs.parts
        return s
    }

    /// Appends in place: building a many-row statement stays linear in its size.
    public static func += (lhs: inout SQL, rhs: SQL) {
        lhs.parts.append(contentsOf: rhs.parts)
    }

    /// The text with placeholders for `dialect` (`?` or `$n`) and the bound values in order.
    public func render(for dialect: SQLDialect) -> (text: String, binds: [SQLValue]) {
        var text = ""
        var binds: [SQLValue] = []
        for part in parts {
            switch part {
            case .text(let t): text += t
            case .bind(let v):
                binds.append(v)
                switch dialect {
                case .sqlite: text += "?"
                case .postgres: text += "$\(binds.count)"
                }
            }
        }
        return (text, binds)
    }

    public var description: String { render(for: .sqlite).text }
}

/// One result row: column names and values, with typed accessors that fail
/// with the column's name when the stored value has another type.
public struct SQLRow: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    public func value(_ column: String) throws -> SQLValue {
        guard let i = columns.firstIndex(of: column) else { throw StoreError.decoding(column: column, reason: "no such column") }
        return values[i]
    }

    public func int(_ column: String) throws -> Int64 {
        switch try value(column) {
        case .integer(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .real(let d) where d == d.rounded(): return Int64(d)
        case let other: throw StoreError.decoding(column: column, reason: "expected integer, found \(other)")
        }
    }

    public func optionalInt(_ column: String) throws -> Int64? {
        if case .null = try value(column) { return nil }
        return try int(column)
    }

    public func double(_ column: String) throws -> Double {
        switch try value(column) {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        case let other: throw StoreError.decoding(column: column, reason: "expected number, found \(other)")
        }
    }

    public func string(_ column: String) throws -> String {
        switch try value(column) {
        case .text(let v): return v
        case let other: throw StoreError.decoding(column: column, reason: "expected text, found \(other)")
        }
    }

    public func optionalString(_ column: String) throws -> String? {
        if case .null = try value(column) { return nil }
        return try string(column)
    }

    public func bool(_ column: String) throws -> Bool {
        switch try value(column) {
        case .bool(let b): return b
        case .integer(let v): return v != 0
        case let other: throw StoreError.decoding(column: column, reason: "expected boolean, found \(other)")
        }
    }

    public func date(_ column: String) throws -> Date { Date(millisecondsSince1970: try int(column)) }

    public func optionalDate(_ column: String) throws -> Date? {
        try optionalInt(column).map(Date.init(millisecondsSince1970:))
    }
}

/// Runs statements. Inside a transaction every statement sees the
/// transaction's own writes.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns its rows (use `RETURNING` to read back writes).
    @discardableResult
    func query(_ sql: SQL) async throws -> [SQLRow]
}

/// An executor that can run several statements in one round trip.
public protocol SQLBatchExecutor: SQLExecutor {
    func queryBatch(_ statements: [SQL]) async throws -> [[SQLRow]]
}

/// An executor that can load many rows into a table at SQLite's bulk speed (SQLite inside a transaction:
/// the rows are bound and stepped into a staging table with no index, then moved by one `INSERT … SELECT`,
/// which keeps the table's and its indexes' cursors open across rows; about twice as fast as stepping the
/// `INSERT` itself per row, and several times faster than building multi-row statements).
public protocol SQLBulkExecutor: SQLExecutor {
    /// Inserts one row into `table` per element of `rows` (values for `columns`, in order) and returns the
    /// row ids given, in order.
    func insertRows(into table: String, columns: [String], _ rows: [[SQLValue]]) async throws -> [Int64]
}

/// A database connection pool of one backend.
public protocol SQLDatabase: SQLExecutor {
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// Whether the database answers a trivial query.
    func ping() async -> Bool
    /// Takes a lock that serialises schema migrations between processes, for the duration of a transaction.
    func lockForMigration(in tx: any SQLExecutor) async throws
    func close() async throws
}

extension SQLExecutor {
    /// Runs several statements in order and returns each one's rows. Backends may run them in one round
    /// trip (SQLite: one hop to the writer connection), which matters for per-message updates of a batch.
    public func queryAll(_ statements: [SQL]) async throws -> [[SQLRow]] {
        if let batching = self as? any SQLBatchExecutor { return try await batching.queryBatch(statements) }
        var results: [[SQLRow]] = []
        results.reserveCapacity(statements.count)
        for statement in statements { results.append(try await query(statement)) }
        return results
    }

    /// The first row, or nil.
    public func queryFirst(_ sql: SQL) async throws -> SQLRow? { try await query(sql).first }
}
