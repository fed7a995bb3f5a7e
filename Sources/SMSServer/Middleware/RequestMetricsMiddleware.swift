import Hummingbird
import Prometheus

/// Counts requests and records their latency by method, route pattern (not
/// the raw path, to bound cardinality) and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let registry: PrometheusCollectorRegistry

    static var buckets: [Duration] {
        [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
         .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let status: Int
        let response: Response
        do {
            response = try await next(request, context)
            status = Int(response.status.code)
        } catch let error as any HTTPResponseError {
            record(request, context, status: Int(error.status.code), since: start)
            throw error
        } catch {
            record(request, context, status: 500, since: start)
            throw error
        }
        record(request, context, status: status, since: start)
        return response
    }

    private func record(_ request: Request, _ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let route = context.endpointPath ?? (status == 404 ? "unmatched" : "static")
        let method = request.method.rawValue
        registry.makeCounter(
            descriptor: .init(namespace: "smsdesk", metricName: "http_requests", unitName: "total",
                              helpText: "HTTP requests answered"),
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(namespace: "smsdesk", metricName: "http_request_duration", unitName: "seconds",
                              helpText: "HTTP request latency"),
            labels: [("method", method), ("route", route)],
            buckets: Self.buckets
        ).record(ContinuousClock.now - start)
    }
}
