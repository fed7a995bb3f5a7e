import Foundation
import Logging
import SMSStore
import SMSStorePostgres
import SMSStoreSQLite

extension Storage {
    /// Opens the database the configuration names (PostgreSQL URL, else the
    /// SQLite file in the data directory) and brings its schema up to date.
    public static func open(config: AppConfig, logger: Logger) async throws -> Storage {
        let database: any SQLDatabase
        if let url = config.databaseURL {
            database = try PostgresDatabase(url: url, logger: logger)
        } else {
            try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
            database = try SQLiteDatabase(path: config.sqlitePath)
        }
        let storage = Storage(database: database)
        do {
            let applied = try await storage.migrate()
            for migration in applied {
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        } catch {
            try? await database.close()
            throw error
        }
        return storage
    }
}
