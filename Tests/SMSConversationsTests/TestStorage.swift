import Foundation
import Logging
import SMSStore
import SMSStorePostgres
import SMSStoreSQLite
import Testing

/// The two storage backends the routing cases run against.
enum Backend: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    /// The PostgreSQL server for tests, from `SMSDESK_TEST_DATABASE_URL` (set by `scripts/test`).
    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["SMSDESK_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Runs `body` on a fresh, migrated database of `backend`, removed afterwards.
func withFreshStorage(_ backend: Backend, _ body: (Storage) async throws -> Void) async throws {
    switch backend {
    case .sqlite:
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("smsdesk-conv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await run(Storage(database: try SQLiteDatabase(path: dir.appendingPathComponent("test.sqlite").path)), body)
    case .postgres:
        let adminURL = try #require(Backend.postgresURL, "SMSDESK_TEST_DATABASE_URL is not set")
        let name = "smsdesk_c_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let logger = Logger(label: "test.postgres")
        let admin = try PostgresDatabase(url: adminURL, logger: logger)
        try await admin.query(SQL(unsafeRaw: "CREATE DATABASE \(name)"))
        do {
            var components = try #require(URLComponents(string: adminURL))
            components.path = "/" + name
            let database = try PostgresDatabase(url: try #require(components.string), logger: logger)
            try await run(Storage(database: database), body)
        } catch {
            _ = try? await admin.query(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            try? await admin.close()
            throw error
        }
        try await admin.query(SQL(unsafeRaw: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        try await admin.close()
    }
}

private func run(_ storage: Storage, _ body: (Storage) async throws -> Void) async throws {
    do {
        try await storage.migrate()
        try await body(storage)
    } catch {
        try? await storage.database.close()
        throw error
    }
    try await storage.database.close()
}
