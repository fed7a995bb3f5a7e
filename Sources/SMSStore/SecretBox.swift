import Crypto
import Foundation

/// Encrypts provider and webhook secrets at rest with AES-256-GCM. The key
/// comes from `SMSDESK_SECRET_KEY` (base64 of 32 bytes) or, failing that, from
/// `secret.key` in the data directory, generated on first use with mode 0600.
/// Every node sharing a PostgreSQL database needs the same key.
public struct SecretBox: Sendable {
    private let key: SymmetricKey
    /// A format byte, so the scheme can change later without guessing.
    private static let version: UInt8 = 1

    public init(key: SymmetricKey) { self.key = key }

    public enum KeyError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            switch self { case .invalid(let why): "secret key: \(why)" }
        }
    }

    /// The key from `base64` (the environment variable), else the data directory's key file, created if missing.
    public static func load(base64: String?, dataDirectory: String) throws -> SecretBox {
        if let base64, !base64.isEmpty {
            guard let data = Data(base64Encoded: base64), data.count == 32 else {
                throw KeyError.invalid("SMSDESK_SECRET_KEY must be the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")
            }
            return SecretBox(key: SymmetricKey(data: data))
        }
        let path = (dataDirectory as NSString).appendingPathComponent("secret.key")
        let fm = FileManager.default
        if let existing = fm.contents(atPath: path) {
            guard let data = Data(base64Encoded: String(decoding: existing, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                  data.count == 32 else { throw KeyError.invalid("\(path) does not hold a base64 32-byte key") }
            return SecretBox(key: SymmetricKey(data: data))
        }
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        guard fm.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw KeyError.invalid("cannot write \(path)")
        }
        return SecretBox(key: key)
    }

    /// A key for another purpose derived from this one (HKDF-SHA256), e.g. the key of retention's number pseudonyms:
    /// stable for as long as the secret key is, and revealing nothing about it.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data(purpose.utf8), outputByteCount: 32)
    }

    /// The base64 of the key, for `smsdesk backup --include-secret-key` only (never logged nor returned by the API).
    public var exportedBase64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    public func seal(_ plaintext: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key)
        guard let combined = box.combined else { throw KeyError.invalid("AES-GCM produced no output") }
        return [Self.version] + Array(combined)
    }

    public func open(_ sealed: [UInt8]) throws -> String {
        guard sealed.first == Self.version else { throw KeyError.invalid("unknown secret format") }
        let box = try AES.GCM.SealedBox(combined: Data(sealed.dropFirst()))
        return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
    }
}

/// The secret parts of a provider's configuration, stored together as one
/// encrypted blob: the main secret (password, token, API key) and any secret
/// settings (e.g. a webhook signature secret).
public struct ProviderSecrets: Codable, Sendable, Equatable {
    public var secret: String?
    public var settings: [String: String]

    public init(secret: String? = nil, settings: [String: String] = [:]) {
        self.secret = secret
        self.settings = settings
    }

    public var isEmpty: Bool { (secret ?? "").isEmpty && settings.isEmpty }

    public func sealed(with box: SecretBox) throws -> [UInt8]? {
        if isEmpty { return nil }
        let json = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        return try box.seal(json)
    }

    public static func open(_ sealed: [UInt8]?, with box: SecretBox) throws -> ProviderSecrets {
        guard let sealed else { return ProviderSecrets() }
        return try JSONDecoder().decode(ProviderSecrets.self, from: Data(try box.open(sealed).utf8))
    }
}
