import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Random tokens, generated passwords and hashing of secrets.
public enum Secrets {
    private static let passwordAlphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    private static let tokenAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    /// A password of 20 characters without look-alikes (about 116 bits).
    public static func generatePassword() -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in passwordAlphabet.randomElement(using: &rng)! })
    }

    /// A random token of `length` alphanumeric characters (about 5.95 bits each).
    public static func randomToken(length: Int = 43) -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in tokenAlphabet.randomElement(using: &rng)! })
    }

    /// SHA-256 hex of a high-entropy token (session cookies, API keys). Such
    /// tokens need no slow hash: they cannot be guessed from a dictionary.
    public static func sha256Hex(_ text: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(text.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// bcrypt hash of a password, computed off the event loops.
    public static func hashPassword(_ password: String, cost: UInt8) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password against a bcrypt hash, off the event loops.
    public static func verifyPassword(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// Compares two strings in time independent of where they differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
