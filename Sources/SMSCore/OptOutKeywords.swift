import Foundation

extension SMSCoreError {
    /// Why an opt-out/opt-in keyword configuration is rejected.
    public enum KeywordProblem: Sendable, Hashable, CustomStringConvertible {
        /// A keyword with nothing left once whitespace and punctuation are removed.
        case emptyKeyword(String)
        /// Two keywords (possibly in different lists) that match the same messages.
        case conflictingKeywords(String, String)

        /// A human-readable reason.
        public var description: String {
            switch self {
            case .emptyKeyword(let keyword):
                return "\"\(keyword)\" has no letters or digits, so it can never match"
            case .conflictingKeywords(let first, let second):
                return "\"\(first)\" and \"\(second)\" match the same messages; list each keyword once"
            }
        }
    }
}

/// Whether an opt-out applies to the campaign the message came in on or to every campaign.
public enum OptOutScope: String, Sendable, Hashable, Codable, CaseIterable {
    /// Only the campaign the message arrived on.
    case campaign
    /// Every campaign (STOPALL).
    case all
}

/// What an inbound message means for opt-out handling.
public enum KeywordMatch: Sendable, Hashable {
    /// The message is an opt-out keyword, as configured.
    case optOut(keyword: String, scope: OptOutScope)
    /// The message is an opt-in keyword, as configured.
    case optIn(keyword: String)
    /// The message is not a keyword: route it as usual.
    case none
}

/// The opt-out and opt-in keywords of a campaign (SPEC D8), matched against the whole text of an inbound message.
///
/// A message matches a keyword when, after removing surrounding whitespace and punctuation
/// (`Baja.`, ` stop `, `¡Alto!`), folding case, accents and compatibility forms (`BÁJA`,
/// `ｓｔｏｐ`) and collapsing inner whitespace runs, it equals the keyword folded the same way.
/// Any other text is no match: `stop please`, `stopper` and `STOP 😡` are routed to an agent.
public struct OptOutKeywords: Sendable, Hashable, Codable {
    /// Keywords that opt the number out of the campaign.
    public let optOut: [String]
    /// Keywords that opt the number out of every campaign.
    public let optOutAll: [String]
    /// Keywords that opt the number back in.
    public let optIn: [String]

    /// STOP, UNSUBSCRIBE, CANCEL, END, QUIT, BAJA, CANCELAR, ALTO (campaign); STOPALL (all); START, ALTA, UNSTOP (opt-in).
    public static let standard = try! OptOutKeywords(  // fixed, distinct keywords: cannot fail
        optOut: ["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BAJA", "CANCELAR", "ALTO"],
        optOutAll: ["STOPALL"],
        optIn: ["START", "ALTA", "UNSTOP"]
    )

    /// A configuration; throws for a keyword without letters or digits, or two keywords that fold to the same text.
    public init(optOut: [String], optOutAll: [String] = [], optIn: [String]) throws(SMSCoreError) {
        var seen: [String: String] = [:]  // folded → as written
        for keyword in optOut + optOutAll + optIn {
            let folded = Self.fold(keyword)
            guard folded.contains(where: { $0.isLetter || $0.isNumber }) else {
                throw .invalidKeywords(.emptyKeyword(keyword))
            }
            if let earlier = seen[folded] { throw .invalidKeywords(.conflictingKeywords(earlier, keyword)) }
            seen[folded] = keyword
        }
        self.optOut = optOut
        self.optOutAll = optOutAll
        self.optIn = optIn
    }

    /// Every opt-out keyword, campaign and all scopes.
    public var allOptOutKeywords: [String] { optOut + optOutAll }

    /// Classifies an inbound message's whole text.
    public func match(_ text: String) -> KeywordMatch {
        let folded = Self.fold(text)
        guard !folded.isEmpty else { return .none }
        if let keyword = optOutAll.first(where: { Self.fold($0) == folded }) {
            return .optOut(keyword: keyword, scope: .all)
        }
        if let keyword = optOut.first(where: { Self.fold($0) == folded }) {
            return .optOut(keyword: keyword, scope: .campaign)
        }
        if let keyword = optIn.first(where: { Self.fold($0) == folded }) { return .optIn(keyword: keyword) }
        return .none
    }

    private enum CodingKeys: String, CodingKey { case optOut, optOutAll, optIn }

    /// Decodes and validates `{"optOut":[…],"optOutAll":[…],"optIn":[…]}` (optOutAll optional).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            optOut: container.decode([String].self, forKey: .optOut),
            optOutAll: container.decodeIfPresent([String].self, forKey: .optOutAll) ?? [],
            optIn: container.decode([String].self, forKey: .optIn)
        )
    }

    /// The comparison form: compatibility-decomposed, marks and invisible format characters
    /// removed, uppercased, trimmed of whitespace and punctuation, inner whitespace collapsed.
    static func fold(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.decomposedStringWithCompatibilityMapping.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark, .format: continue
            default: scalars.append(scalar)
            }
        }
        let characters = Array(String(scalars).uppercased())
        func isTrimmable(_ character: Character) -> Bool { character.isWhitespace || character.isPunctuation }
        guard let first = characters.firstIndex(where: { !isTrimmable($0) }),
            let last = characters.lastIndex(where: { !isTrimmable($0) })
        else { return "" }
        return String(characters[first...last]).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
