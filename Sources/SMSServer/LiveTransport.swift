import Logging
import SMSLive
import SMSStore
import SMSStorePostgres

extension Storage {
    /// How this node hears of live events committed by other nodes: `LISTEN`/`NOTIFY` on PostgreSQL
    /// (several nodes may share it), nothing on SQLite (one node).
    func liveEventTransport(logger: Logger) -> any LiveEventTransport {
        if let postgres = database as? PostgresDatabase {
            return PostgresLiveEventTransport(database: postgres, logger: logger)
        }
        return LocalLiveEventTransport()
    }
}
