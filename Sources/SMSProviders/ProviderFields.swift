import Foundation

/// The configuration fields of SPEC P2.
public enum ProviderField: String, Sendable, Codable, CaseIterable {
    case url
    case username
    case secret
    case sender
    case ports
    case numberPattern
    case encoding
}

/// Which fields a provider type uses and which it requires, with the label
/// each has for that type. It drives both API validation and the admin form.
public struct ProviderFieldSchema: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var field: ProviderField
        public var required: Bool
        /// What the field means for this type ("Account SID", "API key"…).
        public var label: String
        public var help: String?

        public init(_ field: ProviderField, required: Bool, label: String, help: String? = nil) {
            self.field = field
            self.required = required
            self.label = label
            self.help = help
        }
    }

    public var type: ProviderType
    public var entries: [Entry]
    /// Type-specific settings keys (e.g. generic templates) with whether each is required.
    public var settings: [Setting]
    /// A note shown in the admin form (e.g. that a type is a preset of the generic engine).
    public var note: String?

    public struct Setting: Sendable, Equatable {
        public var key: String
        public var required: Bool
        public var label: String
        public var help: String?
        /// A secret setting (e.g. a signature secret): stored encrypted, never returned, never logged.
        public var secret: Bool

        public init(_ key: String, required: Bool, label: String, help: String? = nil, secret: Bool = false) {
            self.key = key
            self.required = required
            self.label = label
            self.help = help
            self.secret = secret
        }
    }

    public init(type: ProviderType, entries: [Entry], settings: [Setting] = [], note: String? = nil) {
        self.type = type
        self.entries = entries
        self.settings = settings
        self.note = note
    }

    public func uses(_ field: ProviderField) -> Bool { entries.contains { $0.field == field } }
    public func requires(_ field: ProviderField) -> Bool { entries.contains { $0.field == field && $0.required } }

    /// Problems of `config` against this schema: a required field or setting that is missing, by name.
    public func problems(in config: ProviderConfig) -> [(field: String, message: String)] {
        var problems: [(String, String)] = []
        func blank(_ s: String?) -> Bool { (s ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
        for entry in entries where entry.required {
            let value: String? = switch entry.field {
            case .url: config.url
            case .username: config.username
            case .secret: config.secret
            case .sender: config.sender
            case .ports: config.ports
            case .numberPattern: config.numberPattern
            case .encoding: config.encoding.rawValue
            }
            if blank(value) { problems.append((entry.field.rawValue, "\(entry.label) is required for \(type.rawValue)")) }
        }
        for setting in settings where setting.required && blank(config.settings[setting.key]) {
            problems.append(("settings.\(setting.key)", "\(setting.label) is required for \(type.rawValue)"))
        }
        return problems
    }
}
