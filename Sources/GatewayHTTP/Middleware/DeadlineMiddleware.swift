import CallScope
import Hummingbird

/// Gives every request its deadline: SENS attempts are cut short and retries stop so that the answer, a 504 at
/// worst, is sent in time.
struct DeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    let budget: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await RequestDeadline.$current.withValue(ContinuousClock.now + budget) {
            try await next(request, context)
        }
    }
}
