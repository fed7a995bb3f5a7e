import Foundation
import Logging

/// Everything the server needs to start, built once (CLI flags > environment
/// > defaults) by the executable and passed down. Nothing else reads the
/// environment.
public struct AppConfig: Sendable {
    /// Folder holding the SQLite database and other node-local files.
    public var dataDirectory: String
    public var host: String
    public var port: Int
    /// A PostgreSQL URL; nil selects the embedded SQLite database in `dataDirectory`.
    public var databaseURL: String?
    public var logLevel: Logger.Level
    /// Marks cookies `Secure`: set it when users reach the server over HTTPS.
    public var secureCookies: Bool
    /// bcrypt cost of password hashes (12 in production; tests lower it to stay fast).
    public var bcryptCost: UInt8
    /// Idle time after which a browser session ends.
    public var sessionIdleTimeout: TimeInterval
    /// Sign-in throttling rules.
    public var loginThrottle: LoginThrottle

    public init(
        dataDirectory: String = "data",
        host: String = "127.0.0.1",
        port: Int = 8080,
        databaseURL: String? = nil,
        logLevel: Logger.Level = .info,
        secureCookies: Bool = false,
        bcryptCost: UInt8 = 12,
        sessionIdleTimeout: TimeInterval = 12 * 3600,
        loginThrottle: LoginThrottle = LoginThrottle()
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.logLevel = logLevel
        self.secureCookies = secureCookies
        self.bcryptCost = bcryptCost
        self.sessionIdleTimeout = sessionIdleTimeout
        self.loginThrottle = loginThrottle
    }

    /// The SQLite file used when no database URL is given.
    public var sqlitePath: String { (dataDirectory as NSString).appendingPathComponent("smsdesk.sqlite") }
}
