import Foundation

/// Small named values shared by every node (e.g. where a provider poll stopped).
public protocol SettingsStore: Sendable {
    func value(_ name: String) async throws -> String?
    func set(_ name: String, _ value: String) async throws
}

struct SQLSettingsStore: SettingsStore {
    let db: any SQLDatabase

    func value(_ name: String) async throws -> String? {
        try await db.queryFirst("SELECT value FROM settings WHERE name = \(name)")?.string("value")
    }

    func set(_ name: String, _ value: String) async throws {
        try await db.query("""
            INSERT INTO settings (name, value) VALUES (\(name), \(value))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value
            """)
    }
}
