import Hummingbird

/// Counts and times every request by route template, method and final status. Outermost, so it sees the status
/// the caller gets, problem answers included.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: any GatewayHTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: response.status.code, started)
            return response
        } catch {
            record(request, context, status: (error as? HTTPError)?.status.code ?? 500, started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, _ started: ContinuousClock.Instant) {
        metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: RequestMethod.of(request).rawValue, status: status,
                              duration: started.duration(to: .now))
    }
}
