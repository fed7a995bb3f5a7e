import Foundation
import Hummingbird

/// The simulator's own endpoints under `/_sim`, for tests and demos:
///
/// - `GET /_sim/messages[?to=…]`: `{"type","count","received","forgotten",
///   "perDestination":{to: accepted count},"messages":[{seq,id,to,from,text,reference,encoding,outcome,time}]}`
///   (`encoding`: the data coding the send declared, `GSM-7` or `UCS-2`; null when the protocol has none)
/// - `GET /_sim/stats`: counts of messages, credentials refused and webhooks.
/// - `POST /_sim/reset`: forgets messages and counts (ids keep increasing).
/// - `POST /_sim/inbound` with `{"from","to","text"}`: an inbound message now
///   (`to` defaults to the simulator's own number); `202` with its serial, `409`
///   when it cannot be delivered (no webhook, or a provider without inbound).
struct SimulatorControl {
    let simulation: Simulation

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("messages") { request, _ in messages(request) }
        group.get("stats") { _, _ in stats() }
        group.post("reset") { _, _ in
            simulation.recorder.reset()
            simulation.dialect.reset()
            simulation.poster?.resetStats()
            return Reply.json(200) { json in json.field("reset", true) }
        }
        group.post("inbound") { request, _ in try await inbound(request) }
    }

    private func messages(_ request: Request) -> Response {
        let only = FormFields(query: request.uri.query)["to"]
        let recorder = simulation.recorder
        let all = recorder.messages
        let perDestination = recorder.acceptedPerDestination
        let stats = recorder.stats
        let chosen = only.map { to in all.filter { $0.to == to } } ?? all
        return Reply.json(200, JSONWriter.document(capacity: 256 + chosen.count * 200) { json in
            json.object { json in
                json.field("type", simulation.options.type.rawValue)
                json.field("count", chosen.count)
                json.field("received", stats.received)
                json.field("forgotten", stats.forgotten)
                json.object("perDestination") { json in
                    for (to, count) in perDestination.sorted(by: { $0.key < $1.key }) where only == nil || only == to {
                        json.field(to, count)
                    }
                }
                json.array("messages") { json in
                    for message in chosen {
                        json.object { json in Recorder.write(message, into: &json) }
                    }
                }
            }
        })
    }

    private func stats() -> Response {
        let stats = simulation.recorder.stats
        let webhooks = simulation.poster?.stats
        return Reply.json(200) { json in
            json.field("type", simulation.options.type.rawValue)
            json.field("received", stats.received)
            json.field("accepted", stats.accepted)
            json.field("rejected", stats.rejected)
            json.field("retryable", stats.retryable)
            json.field("authFailures", stats.authFailures)
            json.field("destinations", stats.destinations)
            json.object("webhooks") { json in
                json.field("configured", webhooks != nil)
                json.field("enqueued", webhooks?.enqueued ?? 0)
                json.field("pending", webhooks?.pending ?? 0)
                json.field("dropped", webhooks?.dropped ?? 0)
                json.field("posted", webhooks?.posted ?? 0)
                json.field("failed", webhooks?.failed ?? 0)
                json.field("retried", webhooks?.retried ?? 0)
            }
        }
    }

    private struct InboundRequest: Decodable {
        var from: String
        var to: String?
        var text: String
    }

    private func inbound(_ request: Request) async throws -> Response {
        let body = try await request.collectBody()
        guard let parsed = try? JSONDecoder().decode(InboundRequest.self, from: body) else {
            return Reply.json(400) { json in json.field("error", "expected JSON {\"from\",\"to\",\"text\"}") }
        }
        do {
            let message = try simulation.inject(from: parsed.from, to: parsed.to, text: parsed.text)
            return Reply.json(202) { json in
                json.field("queued", true)
                json.field("serial", message.serial)
                json.field("from", message.from)
                json.field("to", message.to)
            }
        } catch let error as SimulatorError {
            return Reply.json(409) { json in json.field("error", error.description) }
        }
    }
}
