import Foundation
import Hummingbird

/// SMS Masivos, Mexico (PROVIDERS.md §5).
///
/// - API v2: `POST /sms/send`, header `apikey`, JSON or form with `message`,
///   `numbers` (comma-separated national numbers), `country_code` → `200`
///   `{"success":true,"code":"sms_11","references":[…]}`. Fail suffix (or a
///   number that is not digits): `sms_04`; retry suffix: HTTP `500` with
///   `sms_12`; bad `apikey`: `auth_01`. Errors other than the retryable one are
///   HTTP 200 with `success:false`, as the provider answers.
/// - `POST /auth` with `apikey` → `{"success":true,…,"token":…}` (shape unverified).
/// - API v1: `/sms/api.envio.new.php` (GET or POST form) with `apikey`, `mensaje`,
///   `numcelular`, `numregion` → `{"estatus":"ok","mensaje":"Mensaje enviado"}`,
///   otherwise `estatus` `error` (texts unverified); retry suffix: HTTP 500 text.
/// - SMS Masivos has no delivery-report or inbound webhooks: none are posted.
struct SMSMasivoDialect: WireDialect {
    let type = SimulatorType.smsmasivo
    var carriesInbound: Bool { false }

    func addRoutes(to router: Router<BasicRequestContext>, simulation: Simulation) {
        router.post("/sms/send") { request, _ in try await sendV2(request, simulation: simulation) }
        router.post("/auth") { request, _ in try await sessionToken(request, simulation: simulation) }
        for path in ["/sms/api.envio.new.php", "/components/api/api.envio.sms.php"] {
            router.post(RouterPath(path)) { request, _ in try await sendV1(request, simulation: simulation) }
            router.get(RouterPath(path)) { request, _ in try await sendV1(request, simulation: simulation) }
        }
    }

    private func sendV2(_ request: Request, simulation: Simulation) async throws -> Response {
        await simulation.pause()
        let fields = try await request.parameters()
        guard Credentials.matches(request.header("apikey") ?? fields["apikey"], simulation.options.secret) else {
            simulation.recorder.refuseCredentials()
            return failure(code: "auth_01", message: "Usuario no autorizado")
        }
        guard let text = fields["message"], !text.isEmpty else {
            return failure(code: "sms_01", message: "El mensaje no está definido")
        }
        guard let list = fields["numbers"], !list.isEmpty else {
            return failure(code: "sms_03", message: "El número no está definido")
        }
        guard let country = fields["country_code"], !country.isEmpty else {
            return failure(code: "sms_05", message: "El código de país no está definido")
        }
        let numbers = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if numbers.count > 500 {
            return failure(code: "sms_15", message: "Máximo 500 mensajes por petición")
        }
        let messages = numbers.map { ReceivedMessage(to: $0, from: fields["sender"], text: text, reference: nil) }
        let verdicts = messages.map { simulation.verdict(for: $0.to) }
        if let bad = numbers.indices.first(where: { verdicts[$0] == .reject || !Self.isDigits(numbers[$0]) }) {
            for message in messages { simulation.refuse(message, retryable: false) }
            return failure(code: "sms_04", message: "Número con formato incorrecto", number: numbers[bad])
        }
        if verdicts.contains(.retry) {
            for message in messages { simulation.refuse(message, retryable: true) }
            return failure(code: "sms_12", message: "Error al enviar el mensaje", status: 500)
        }
        let accepted = zip(messages, verdicts).map { message, verdict in
            simulation.accept(message, delivered: verdict == .accept(delivered: true)) { serial in
                Hex.string(simulation.salt, width: 16) + Hex.string(UInt64(serial), width: 24)
            }
        }
        return Reply.json(200) { json in
            json.field("success", true)
            json.field("message", "Mensajes enviados")
            json.field("status", 200)
            json.field("code", "sms_11")
            json.array("references") { json in
                for message in accepted {
                    json.object { json in
                        json.field("reference", message.providerID)
                        let number = country + message.to
                        if let value = Int(number) { json.field("number", value) } else { json.field("number", number) }
                    }
                }
            }
        }
    }

    /// `POST /auth` with the `apikey`: a session token (shape beyond `success` and `token` unverified).
    private func sessionToken(_ request: Request, simulation: Simulation) async throws -> Response {
        let fields = try await request.parameters()
        guard let key = request.header("apikey") ?? fields["apikey"], Credentials.matches(key, simulation.options.secret) else {
            simulation.recorder.refuseCredentials()
            return failure(code: "auth_01", message: "Usuario no autorizado")
        }
        return Reply.json(200) { json in
            json.field("success", true)
            json.field("message", "Token generado")
            json.field("status", 200)
            json.field("code", "auth_00")
            json.field("token", simulation.hexID(simulation.recorder.nextSerial()))
        }
    }

    private func sendV1(_ request: Request, simulation: Simulation) async throws -> Response {
        await simulation.pause()
        let fields = try await request.parameters()
        func answer(_ status: String, _ message: String) -> Response {
            Reply.json(200) { json in
                json.field("estatus", status)
                json.field("mensaje", message)
            }
        }
        guard Credentials.matches(fields["apikey"], simulation.options.secret) else {
            simulation.recorder.refuseCredentials()
            return answer("error", "Usuario no autorizado")
        }
        guard let text = fields["mensaje"], !text.isEmpty, let number = fields["numcelular"], !number.isEmpty else {
            return answer("error", "Faltan parámetros")
        }
        let message = ReceivedMessage(to: number, from: fields["remitente"], text: text, reference: nil)
        switch simulation.verdict(for: number) {
        case .reject:
            simulation.refuse(message, retryable: false)
            return answer("error", "Número con formato incorrecto")
        case .retry:
            simulation.refuse(message, retryable: true)
            // A server error page, not an `estatus` answer: v1 clients take every `estatus` as final.
            return Reply.text(500, "Internal Server Error")
        case .accept(let delivered):
            if !Self.isDigits(number) {
                simulation.refuse(message, retryable: false)
                return answer("error", "Número con formato incorrecto")
            }
            simulation.accept(message, delivered: delivered) { String($0) }
            return answer("ok", "Mensaje enviado")
        }
    }

    private static func isDigits(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private func failure(code: String, message: String, number: String? = nil, status: Int = 200) -> Response {
        Reply.json(status) { json in
            json.field("success", false)
            json.field("message", message)
            json.field("code", code)
            if let number { json.field("number", number) }
            json.field("status", status)
        }
    }

    func deliveryReportCalls(for message: AcceptedMessage, target: WebhookTarget) -> [WebhookCall] { [] }
    func inboundCalls(for message: InboundMessage, target: WebhookTarget) -> [WebhookCall] { [] }
}
