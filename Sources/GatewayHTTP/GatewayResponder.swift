import CallScope
import GatewayAPI
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore
import Tracing

/// The gateway's HTTP surface: every request gets its scope (an id, a deadline, one access-log line and the
/// request metrics), goes through the one pass of `RequestRules`, has its body read when its operation takes one
/// collected, and is answered by the operation its spec operation id names (`OperationDispatch`).
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayRequestContext

    /// What the HTTP layer is configured with (`GatewayConfiguration` gives it, from the settings table).
    public struct Settings: Sendable {
        public var maxBodyBytes: Int
        public var filterMaxBodyBytes: Int
        /// Every request is answered within this (a 504 at worst); counted again once a body is in.
        public var deadline: Duration
        /// `Retry-After` of a mirror that cannot answer now.
        public var mirrorRetryAfterSeconds: Int
        /// The offset the answers' times are written in.
        public var responseUTCOffsetSeconds: Int
        /// `MIRROR_CHANGE_RETENTION_DAYS`, nil when every change is kept.
        public var changeRetentionDays: Int?
        /// The in-process simulator's address, with `--simulator`, for `/v1/mirror`.
        public var simulatorURL: String?

        public init(
            maxBodyBytes: Int,
            filterMaxBodyBytes: Int,
            deadline: Duration,
            mirrorRetryAfterSeconds: Int,
            responseUTCOffsetSeconds: Int,
            changeRetentionDays: Int? = nil,
            simulatorURL: String? = nil
        ) {
            self.simulatorURL = simulatorURL
            self.changeRetentionDays = changeRetentionDays
            self.maxBodyBytes = maxBodyBytes
            self.filterMaxBodyBytes = filterMaxBodyBytes
            self.deadline = deadline
            self.mirrorRetryAfterSeconds = mirrorRetryAfterSeconds
            self.responseUTCOffsetSeconds = responseUTCOffsetSeconds
        }

        /// The operations that read their body as it arrives, with their bound.
        public var streamedBodyLimits: [String: Int] {
            ["filterOptOuts": filterMaxBodyBytes, "filterServiceOptOuts": filterMaxBodyBytes]
        }
    }

    let services: OptOutServices
    let rules: RequestRules
    let dispatch: OperationDispatch
    let requestIDs = RequestIDGenerator()
    let accessLog: any AccessLog
    let metrics: any GatewayHTTPMetrics
    let deadline: Duration
    let delivery: AnswerDelivery
    /// Each request's server span, when traces are on.
    let tracing: RequestTracing?

    /// `mirrors` holds the mirror of each service that has one, by service name.
    public init(
        services: OptOutServices,
        mirrors: [String: any MirrorReading],
        metrics: any GatewayHTTPMetrics,
        accessLog: any AccessLog,
        clock: any EpochClock,
        delivery: AnswerDelivery,
        settings: Settings,
        tracer: (any Tracer)? = nil,
        readsCallersTraceContext: Bool = true
    ) throws {
        self.tracing = tracer.map { RequestTracing(tracer: $0, readsCallersContext: readsCallersTraceContext) }
        self.services = services
        self.delivery = delivery
        self.rules = RequestRules(
            routes: .embedded,
            maxBodyBytes: settings.maxBodyBytes,
            streamedBodyLimits: settings.streamedBodyLimits
        )
        self.accessLog = accessLog
        self.metrics = metrics
        self.deadline = settings.deadline
        let encoder = OptOutEncoder(utcOffsetSeconds: settings.responseUTCOffsetSeconds)
        let check = CheckOptOut(encoder: encoder)
        let list = ListOptOuts(encoder: encoder)
        let register = WriteOptOuts(write: .register, metrics: metrics, encoder: encoder)
        let remove = WriteOptOuts(write: .remove, metrics: metrics, encoder: encoder)
        let removeOne = RemoveOptOut(remove: remove)
        let filter = FilterOptOuts(
            mirrors: mirrors,
            retryAfterSeconds: settings.mirrorRetryAfterSeconds,
            utcOffsetSeconds: settings.responseUTCOffsetSeconds,
            clock: clock
        )
        let changes = ListOptOutChanges(
            mirrors: mirrors,
            retryAfterSeconds: settings.mirrorRetryAfterSeconds,
            encoder: encoder,
            retentionDays: settings.changeRetentionDays,
            utcOffsetSeconds: settings.responseUTCOffsetSeconds
        )
        let export = ExportOptOuts(
            mirrors: mirrors,
            retryAfterSeconds: settings.mirrorRetryAfterSeconds,
            utcOffsetSeconds: settings.responseUTCOffsetSeconds
        )
        let mirrorStatus = GetMirrorStatus(
            services: services,
            mirrors: mirrors,
            simulatorURL: settings.simulatorURL,
            utcOffsetSeconds: settings.responseUTCOffsetSeconds
        )
        self.dispatch = try OperationDispatch(
            [
                "checkOptOut": check, "checkServiceOptOut": check,
                "listOptOuts": list, "listServiceOptOuts": list,
                "registerOptOuts": register, "registerServiceOptOuts": register,
                "removeOptOuts": remove, "removeServiceOptOuts": remove,
                "removeOptOut": removeOne, "removeServiceOptOut": removeOne,
                "filterOptOuts": filter, "filterServiceOptOuts": filter,
                "listOptOutChanges": changes, "listServiceOptOutChanges": changes,
                "exportOptOuts": export, "exportServiceOptOuts": export,
                "getMirrorStatus": mirrorStatus, "getServiceMirrorStatus": mirrorStatus,
                "listServices": ListServices(services: services),
                "getHealth": GetHealth(),
                "getReadiness": GetReadiness(services: services, mirrors: mirrors),
                "getMetrics": GetMetrics(metrics: metrics),
                "getOpenAPIDocument": GetOpenAPIDocument(),
            ],
            routes: rules.routes
        )
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let method = RequestMethod.of(request).rawValue
        let requestID = request.headers[.requestID].flatMap(Self.sane) ?? requestIDs.next()
        var scope = RequestMetadata(
            requestID: requestID,
            callerHeader: request.headers[.caller].flatMap(Self.sane),
            peerAddress: context.peerAddress,
            logger: context.logger
        )
        let answer: Response
        let route: String
        if let tracing {
            let span = tracing.start(request.headers, method: method)
            (scope.traceID, scope.spanID) = (span.traceID, span.spanID)
            (answer, route) = await ServiceContext.$current.withValue(span.span.context) { [scope] in
                await scoped(request, method: method, started: started, metadata: scope)
            }
            tracing.end(span, method: method, route: route, status: Int(answer.status.code), requestID: requestID)
        } else {
            (answer, route) = await scoped(request, method: method, started: started, metadata: scope)
        }
        let metadata = scope
        var response = answer
        response.headers[.requestID] = requestID
        let status = response.status.code
        guard let length = response.body.contentLength, length >= Self.answerWatchedBytes else {
            record(
                method: method,
                route: route,
                status: status,
                started: started,
                requestID: requestID,
                metadata: metadata
            )
            return response
        }
        // A large answer (a filter's, say) to a slow reader can be cut: by the client going away, or by the drain
        // bound at shutdown. Its line is written once it is written out whole, or says it was cut (status 499).
        delivery.watch(&response, connection: context.connection) { [self] cut in
            if cut {
                metadata.logger.warning(
                    "answer cut before it was all sent",
                    metadata: ["status": "\(status)", "bytes": "\(length)"]
                )
            }
            record(
                method: method,
                route: route,
                status: cut ? Self.cutStatus : status,
                started: started,
                requestID: requestID,
                metadata: metadata
            )
        }
        return response
    }

    /// The answer in the request's scope: its metadata (id, caller, trace) and its deadline.
    private func scoped(
        _ request: Request,
        method: String,
        started: ContinuousClock.Instant,
        metadata: RequestMetadata
    ) async -> (Response, String) {
        await RequestMetadata.$current.withValue(metadata) {
            await RequestDeadline.$current.withValue(started + deadline) { await handle(request, method: method) }
        }
    }

    /// The access-log line and the request metrics of a finished request.
    private func record(
        method: String,
        route: String,
        status: Int,
        started: ContinuousClock.Instant,
        requestID: String,
        metadata: RequestMetadata
    ) {
        let elapsed = started.duration(to: .now)
        let microseconds =
            elapsed.components.seconds * 1_000_000
            + (elapsed.components.attoseconds + 500_000_000_000) / 1_000_000_000_000
        accessLog.record(
            AccessLogEntry(
                method: method,
                route: route,
                status: status,
                microseconds: microseconds,
                requestID: requestID,
                traceID: metadata.traceID
            ),
            metadata: metadata
        )
        metrics.recordRequest(route: route, method: method, status: status, duration: elapsed)
    }

    /// Answers at least this large are logged once sent, or as cut.
    static let answerWatchedBytes = 256 * 1024
    /// The status the access log and the metrics give an answer cut before it was all sent (nginx's "client
    /// closed request").
    static let cutStatus = 499

    /// The answer, and the route template it is counted under (`unmatched` when the path names none).
    private func handle(_ request: Request, method: String) async -> (Response, String) {
        var request = request
        let admitted: RequestRules.Admitted
        switch rules.admit(request, method: method) {
        case .success(let found): admitted = found
        case .failure(let refusal):
            return (
                Self.problem(refusal, request), rules.routes.match(Self.path(request))?.template.path ?? "unmatched"
            )
        }
        let route = admitted.route
        let service: OptOutService
        if let name = admitted.parameters["service"] {
            guard let named = services.named(name) else {
                var problem = Problems.serviceNotFoundProblem(name, among: services)
                problem.instance = String(Self.path(request))
                return (.problem(problem), route.path)
            }
            service = named
        } else {
            service = services.defaultService
        }
        let operation = dispatch[route.operationID]
        var body = ByteBuffer()
        if route.hasRequestBody, !operation.streamsBody {
            switch await BodyReading.collect(&request, limit: admitted.bodyLimit) {
            case .success(let collected): body = collected
            case .failure(let failure): return (Self.problem(failure.refusal, request), route.path)
            }
        } else if !route.hasRequestBody, request.headers.announcesBody {
            // A chunked body may still be empty (some clients send one on every DELETE).
            switch await BodyReading.collect(&request, limit: 0) {
            case .success: break
            case .failure(.tooLarge):
                return (
                    Self.problem(.init(status: 400, detail: "\(route.method) \(route.path) takes no body"), request),
                    route.path
                )
            case .failure(let failure): return (Self.problem(failure.refusal, request), route.path)
            }
        }
        let operationRequest = OperationRequest(
            request: request,
            route: route,
            service: service,
            parameters: admitted.parameters,
            query: admitted.query,
            body: body,
            bodyLimit: admitted.bodyLimit
        )
        guard route.hasRequestBody, !operation.streamsBody else {
            return (await operation.answer(operationRequest), route.path)
        }
        // The request's time to answer starts again once its body is in: a slow upload does not eat into the
        // SENS calls' time.
        let answer = await RequestDeadline.$current.withValue(ContinuousClock.now + deadline) {
            await operation.answer(operationRequest)
        }
        return (answer, route.path)
    }

    private static func path(_ request: Request) -> Substring {
        (request.head.path ?? "/").prefix { $0 != "?" }
    }

    private static func problem(_ refusal: RequestRules.Refusal, _ request: Request) -> Response {
        var problem = Problems.make(
            status: refusal.status,
            detail: refusal.detail,
            invalidParams: refusal.invalidParams.map { ($0.name, $0.reason) }
        )
        problem.instance = String(path(request))
        var response = Response.problem(problem)
        if !refusal.allow.isEmpty { response.headers[.allow] = refusal.allow.joined(separator: ", ") }
        return response
    }

    /// 1–128 characters of letters, digits and `._:-`; anything else is replaced, never logged.
    static func sane(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count), value.utf8.allSatisfy(Self.isIDByte) else { return nil }
        return value
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let caller = Self("X-Caller")!
}

/// What the HTTP layer reports: requests by route template, and numbers written by service.
public protocol GatewayHTTPMetrics: Sendable {
    /// `route` is the matched route template (never the raw path, which may hold a phone number).
    func recordRequest(route: String, method: String, status: Int, duration: Duration)
    /// Numbers the source confirmed registered or removed.
    func recordWritten(service: String, operation: String, count: Int)
    /// The Prometheus text exposition of every metric.
    func exposition() -> String
}
