import OptOuts
import Tracing

extension MirrorSync {
    /// A sync (`full`, `incremental`, `verify`) in a span of its own, the parent of its SENS calls' and windows'
    /// spans, when traces are on. Its failure is the span's error.
    func traced(_ kind: String, _ body: () async throws(OptOutError) -> Void) async throws(OptOutError) {
        let span = mirror.tracer.startSpan("mirror sync \(kind)")
        defer { span.end() }
        span.attributes["sens_gateway.service"] = mirror.name
        span.attributes["sens_gateway.sync.kind"] = kind
        let failure: OptOutError? = await ServiceContext.$current.withValue(span.context) {
            do throws(OptOutError) {
                try await body()
                return nil
            } catch {
                return error
            }
        }
        if let failure {
            span.setStatus(SpanStatus(code: .error, message: failure.reason))
            throw failure
        }
    }
}
