import Testing

@testable import SMSSimulator

/// How the simulator is set up to answer one provider's fixture, and where
/// that provider's requests carry the destination.
struct Provider: Sendable, CustomTestStringConvertible {
    let type: SimulatorType
    let fixture: String
    let username: String?
    let secret: String?
    let destination: DestinationField

    var testDescription: String { type.rawValue }

    func options() -> SimulatorOptions {
        var options = SimulatorOptions(type: type)
        options.username = username
        options.secret = secret
        return options
    }

    func load() throws -> ProviderFixture { try ProviderFixture(fixture) }

    static let twilio = Provider(type: .twilio, fixture: "twilio", username: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                 secret: "12345", destination: .form("To"))
    static let nexmo = Provider(type: .nexmo, fixture: "vonage", username: "abcd1234", secret: "abcdef0123456789",
                                destination: .form("to"))
    static let infobip = Provider(type: .infobip, fixture: "infobip", username: nil,
                                  secret: "0123456789abcdef0123456789abcdef-01234567-89ab-cdef-0123-456789abcdef",
                                  destination: .json(["messages", "0", "destinations", "0", "to"]))
    static let dinstar = Provider(type: .dinstar, fixture: "dinstar", username: "admin", secret: "admin",
                                  destination: .json(["param", "0", "number"]))
    static let smsmasivo = Provider(type: .smsmasivo, fixture: "smsmasivos", username: nil,
                                    secret: "0123456789abcdef0123456789abcdef01234567", destination: .json(["numbers"]))
    /// The generic URL examples carry no credentials (the Basic-auth ones are tested apart).
    static let generic = Provider(type: .generic, fixture: "generic_url", username: nil, secret: nil, destination: .query("to"))
}

/// Where a request carries its destination.
enum DestinationField: Sendable {
    case form(String)
    case query(String)
    case json([String])

    /// `request` with the destination replaced.
    func replacing(in request: FixtureRequest, with destination: String) -> FixtureRequest {
        var request = request
        switch self {
        case .form(let name):
            request.body = .form(request.body.fields.map { $0.0 == name ? (name, destination) : $0 })
        case .query(let name):
            request.query = request.query.map { $0.0 == name ? (name, destination) : $0 }
            request.rawQuery = nil
        case .json(let path):
            if var json = request.body.json {
                json.set(path, to: .string(destination))
                request.body = .json(json)
            }
        }
        return request
    }
}
