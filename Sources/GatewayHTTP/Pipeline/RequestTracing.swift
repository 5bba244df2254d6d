import HTTPTypes
import Tracing

/// The server span of each request, when traces are on: its parent is the caller's W3C `traceparent` (when it
/// sent one), its name and attributes are the method and the route template (never the path, which may hold a
/// phone number), the status and the request id. The layers below make their spans its children through the
/// task's `ServiceContext`.
struct RequestTracing: Sendable {
    let tracer: any Tracer
    /// Whether a caller's `traceparent` is the span's parent (`OTEL_PROPAGATORS` names `tracecontext`).
    let readsCallersContext: Bool

    /// A span started for a request, and its ids for the log lines.
    struct Started {
        let span: any Span
        let traceID: String?
        let spanID: String?
    }

    func start(_ fields: HTTPFields, method: String) -> Started {
        var parent = ServiceContext.topLevel
        if readsCallersContext { tracer.extract(fields, into: &parent, using: HTTPFieldsExtractor()) }
        let span = tracer.startSpan(method, context: parent, ofKind: .server)
        // The log lines name the traces that are recorded: an unsampled request's (most of them, at a low ratio)
        // is exported nowhere, and writing out its ids costs a fifth of what its span does.
        guard span.isRecording else { return Started(span: span, traceID: nil, spanID: nil) }
        // The ids as the trace context carries them on (`traceparent`: version-trace-span-flags).
        var carrier: [String: String] = [:]
        tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
        let parts = carrier["traceparent"]?.split(separator: "-") ?? []
        return Started(
            span: span,
            traceID: parts.count == 4 ? String(parts[1]) : nil,
            spanID: parts.count == 4 ? String(parts[2]) : nil
        )
    }

    func end(_ started: Started, method: String, route: String, status: Int, requestID: String) {
        let span = started.span
        guard span.isRecording else { return span.end() }
        span.operationName = "\(method) \(route)"
        span.attributes["http.request.method"] = method
        span.attributes["http.route"] = route
        span.attributes["http.response.status_code"] = status
        span.attributes["sens_gateway.request_id"] = requestID
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        span.end()
    }
}

/// Reads a propagated field (`traceparent`, `tracestate`) from a request's header fields.
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from fields: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { fields[$0] }
    }
}

/// Writes propagated fields into a dictionary.
struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}
