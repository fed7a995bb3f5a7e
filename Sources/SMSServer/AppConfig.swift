import Foundation
import Logging
import SMSDispatch

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
    /// Base64 of the 32-byte key that encrypts secrets at rest; nil: the data directory's `secret.key`.
    public var secretKey: String?
    /// The address providers reach this server at (e.g. `https://sms.example.com`), used for the
    /// webhook URLs given to providers and for checking their signatures; nil: taken from each request.
    public var publicURL: String?
    /// Outgoing requests to providers: time to connect, and time for the whole answer.
    public var providerConnectTimeout: TimeInterval
    public var providerRequestTimeout: TimeInterval
    /// Seconds between polls of providers that do not push (Dinstar).
    public var pollInterval: Double = 10
    /// The dialer engine's behaviour; nil runs no engine in this process (tests of the HTTP API).
    public var dispatch: DispatchPolicy?
    /// `serve --demo`: run the demo's simulated clients, agents and bulk sends (see `Demo`).
    public var demo = false

    public init(
        dataDirectory: String = "data",
        host: String = "127.0.0.1",
        port: Int = 8080,
        databaseURL: String? = nil,
        logLevel: Logger.Level = .info,
        secureCookies: Bool = false,
        bcryptCost: UInt8 = 12,
        sessionIdleTimeout: TimeInterval = 12 * 3600,
        loginThrottle: LoginThrottle = LoginThrottle(),
        secretKey: String? = nil,
        publicURL: String? = nil,
        providerConnectTimeout: TimeInterval = 5,
        providerRequestTimeout: TimeInterval = 30,
        dispatch: DispatchPolicy? = DispatchPolicy()
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
        self.secretKey = secretKey
        self.publicURL = publicURL
        self.providerConnectTimeout = providerConnectTimeout
        self.providerRequestTimeout = providerRequestTimeout
        self.dispatch = dispatch
    }

    /// The SQLite file used when no database URL is given.
    public var sqlitePath: String { (dataDirectory as NSString).appendingPathComponent("smsdesk.sqlite") }
}
