import Foundation

/// Errors of the storage layer, with a message fit for an operator.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A uniqueness rule was broken (e.g. a user name that exists).
    case conflict(field: String, message: String)
    /// The row does not exist.
    case notFound(String)
    /// A stored value could not be read back as the expected type.
    case decoding(column: String, reason: String)
    /// The database refused or could not run a statement.
    case database(String)
    /// The schema is not what this version expects.
    case migration(String)
    /// The database URL or file could not be used.
    case configuration(String)

    public var description: String {
        switch self {
        case .conflict(_, let message): message
        case .notFound(let what): "\(what) not found"
        case .decoding(let column, let reason): "cannot read column \(column): \(reason)"
        case .database(let message): "database error: \(message)"
        case .migration(let message): "migration error: \(message)"
        case .configuration(let message): "storage configuration error: \(message)"
        }
    }
}
