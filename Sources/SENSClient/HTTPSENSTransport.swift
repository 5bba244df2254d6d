import AsyncHTTPClient
import CallScope
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SENSCore
import Tracing

#if canImport(Glibc)
import Glibc
#endif

/// The SENS transport over AsyncHTTPClient: signs each call with one service's NCP keys, bounds its time (the
/// attempt timeout, cut short by the request's deadline) and its answer's size, and classifies every failure to
/// get an answer. The `HTTPClient` is shared by every service and owned by the caller.
public struct HTTPSENSTransport: SENSTransport {
    let httpClient: HTTPClient
    let signer: NCPSigner
    let clock: any EpochClock
    let logger: Logger
    let attemptTimeoutMilliseconds: Int
    /// `scheme://host[:port]`, to which the signed path and query are appended.
    let origin: String
    /// The base URL's path prefix, signed along with the resource path.
    let pathPrefix: String
    /// The egress proxy, masked, for the log lines of calls it refused.
    let proxy: String?
    /// Writes the calling span's W3C trace context (`traceparent`) into each request, when traces are on.
    let tracer: any Tracer

    /// SENS answers larger than this are treated as unreadable (a full list page is about 10 KB).
    static var maxResponseBytes: Int { 1 << 20 }

    public init(
        httpClient: HTTPClient,
        settings: SENSServiceSettings,
        clock: any EpochClock = SystemEpochClock(),
        tracer: any Tracer = NoOpTracer(),
        logger: Logger
    ) {
        self.tracer = tracer
        self.httpClient = httpClient
        self.signer = NCPSigner(credentials: settings.credentials)
        self.clock = clock
        self.logger = logger
        self.attemptTimeoutMilliseconds = settings.attemptTimeoutMilliseconds
        self.pathPrefix = settings.baseURL.pathPrefix
        self.origin = String(settings.baseURL.text.dropLast(pathPrefix.count))
        self.proxy = settings.proxy?.masked
    }

    public func send(_ call: SENSRequest) async throws(SENSError) -> SENSAnswer {
        let pathAndQuery = pathPrefix + call.pathAndQuery
        var request = HTTPClientRequest(url: origin + pathAndQuery)
        request.method = HTTPMethod(rawValue: call.method.rawValue)
        let signed = signer.sign(
            method: call.method.rawValue,
            pathAndQuery: pathAndQuery,
            timestampMilliseconds: clock.nowMilliseconds()
        )
        for field in signed.fields { request.headers.add(name: field.name, value: field.value) }
        request.headers.add(name: "Accept", value: "application/json")
        // The span of this attempt (`ResilientUnsubscribes`) is SENS's parent. AsyncHTTPClient's own tracing is off:
        // its span would record the URL, and a list URL can hold a phone number.
        if let context = ServiceContext.current {
            tracer.inject(context, into: &request.headers, using: HeadersInjector())
        }
        if let body = call.body {
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // An attempt gets its own timeout, cut short by the incoming request's deadline.
        let attemptLimit = Duration.milliseconds(attemptTimeoutMilliseconds)
        let remaining = RequestDeadline.remaining ?? attemptLimit
        guard remaining > .zero else { throw .timedOut(.deadline(sent: false)) }
        let deadlineBinds = remaining < attemptLimit
        let timeout = TimeAmount.nanoseconds(Int64(min(attemptLimit, remaining) / .nanoseconds(1)))
        let response: HTTPClientResponse
        do {
            // AsyncHTTPClient gets no logger: at debug level it would log request URLs, and a list URL holds a
            // full phone number.
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw classify(error, operation: call.operation, deadlineBinds: deadlineBinds)
        }
        do {
            let body = try await response.body.collect(upTo: Self.maxResponseBytes)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }.map { max(0, $0) }
            return SENSAnswer(
                status: Int(response.status.code),
                retryAfterSeconds: retryAfter,
                body: Array(body.readableBytesView)
            )
        } catch {
            // SENS answered, then the answer broke off (or timed out, or grew too large): an unreadable answer.
            let classified = classify(error, operation: call.operation, deadlineBinds: deadlineBinds)
            if case .timedOut = classified { throw classified }
            if case .invalidResponse = classified { throw classified }
            throw .invalidResponse("the \(call.operation) answer was cut off")
        }
    }

    private func classify(_ error: any Error, operation: String, deadlineBinds: Bool) -> SENSError {
        var metadata: Logger.Metadata = ["operation": "\(operation)", "error": "\(String(reflecting: error))"]
        if let proxy { metadata["proxy"] = "\(proxy)" }
        RequestMetadata.logger(or: logger).warning("SENS call did not complete", metadata: metadata)
        if let error = error as? HTTPClientError {
            // The tunnel was refused or not opened: nothing reached SENS.
            if error == .proxyAuthenticationRequired {
                return .unreachable("the egress proxy asked for authorization the gateway does not have")
            }
            if error == .invalidProxyResponse || error == .httpProxyHandshakeTimeout {
                return .unreachable("the egress proxy did not open a tunnel to SENS")
            }
            if error == .deadlineExceeded || error == .readTimeout {
                return .timedOut(
                    deadlineBinds ? .deadline(sent: true) : .attempt(milliseconds: attemptTimeoutMilliseconds)
                )
            }
            if error == .connectTimeout { return .unreachable("could not connect to SENS in time") }
        }
        // No connection was made, so nothing was sent.
        if error is NIOConnectionError || (error as? IOError)?.errnoCode == ECONNREFUSED
            || (error as? ChannelError).map({ if case .connectTimeout = $0 { true } else { false } }) == true
        {
            return .unreachable("could not connect to SENS")
        }
        if error is NIOTooManyBytesError {
            return .invalidResponse("the \(operation) answer is larger than \(Self.maxResponseBytes) bytes")
        }
        return .unavailable("could not reach SENS")
    }
}

/// Writes propagated fields (`traceparent`, `tracestate`) into a SENS request's headers.
struct HeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}
