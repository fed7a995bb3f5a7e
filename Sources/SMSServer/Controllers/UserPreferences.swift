import Foundation

/// A person's own choice of web UI language and time zone. nil means "not
/// set": the browser's language and time zone are used.
struct UserPreferences: Sendable, Equatable {
    /// The languages the web UI has tables for (Web/js/i18n.js).
    static let languages = ["en", "es", "it"]

    var locale: String?
    var timeZone: String?

    /// Checks both values; a bad one is a 400 naming its field.
    init(locale: String?, timeZone: String?) throws {
        self.locale = try Self.checkedLocale(locale)
        self.timeZone = try Self.checkedTimeZone(timeZone)
    }

    static func checkedLocale(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard languages.contains(text) else {
            throw APIError.validation(field: "locale",
                                      "locale must be one of \(languages.joined(separator: ", ")) or null, not \"\(text.prefix(40))\"")
        }
        return text
    }

    /// A zone name Foundation's `TimeZone(identifier:)` knows under that very name, e.g.
    /// `America/Montevideo`, `Asia/Kolkata` or `UTC`. Offsets such as `GMT+5`, which Foundation
    /// renames (`GMT+0500`) and browsers do not take, are refused.
    static func checkedTimeZone(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard text.count <= 64, let zone = TimeZone(identifier: text), zone.identifier == text || text == "UTC" else {
            throw APIError.validation(field: "timeZone",
                                      "timeZone \"\(text.prefix(64))\" is not a known IANA time zone such as Europe/Madrid, or null")
        }
        return text
    }
}

extension KeyedDecodingContainer {
    /// Tells a key that is absent (`nil`: leave as it is) from one set to JSON `null` (`.some(nil)`: clear it).
    func decodeClearable(_ type: String.Type, forKey key: Key) throws -> String?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(String.self, forKey: key))
    }
}
