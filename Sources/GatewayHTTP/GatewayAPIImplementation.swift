import GatewayAPI
import OpenAPIRuntime
import OptOutMirror
import OptOuts

/// The gateway's operations, as declared in `openapi.yaml`: each finds its service and hands over to
/// `OptOutHandlers`, passing only its own 200. Every documented outcome is returned
/// as its typed case; nothing a caller can cause is thrown.
struct GatewayAPIImplementation: APIProtocol {
    let services: OptOutServices
    /// The mirror of each service that has one, by name.
    let mirrors: [String: any MirrorReading]
    let metrics: any GatewayHTTPMetrics
    let mirrorRetryAfterSeconds: Int
    let answers: OptOutAnswers
    var handlers: OptOutHandlers { OptOutHandlers(metrics: metrics, answers: answers) }
    var mirrorHandlers: MirrorHandlers { MirrorHandlers(retryAfterSeconds: mirrorRetryAfterSeconds) }

    // MARK: The default service (/v1/unsubscribes…)

    func registerOptOuts(_ input: Operations.RegisterOptOuts.Input) async throws -> Operations.RegisterOptOuts.Output {
        guard case .json(let request) = input.body else { preconditionFailure("the runtime answers 415 to other bodies") }
        return try await handlers.write(.register, request, in: services.defaultService)
    }

    func removeOptOuts(_ input: Operations.RemoveOptOuts.Input) async throws -> Operations.RemoveOptOuts.Output {
        guard case .json(let request) = input.body else { preconditionFailure("the runtime answers 415 to other bodies") }
        return try await handlers.write(.remove, request, in: services.defaultService)
    }

    func removeOptOut(_ input: Operations.RemoveOptOut.Input) async throws -> Operations.RemoveOptOut.Output {
        try await handlers.removeOne(input.path.phoneNumber, in: services.defaultService)
    }

    func listOptOuts(_ input: Operations.ListOptOuts.Input) async throws -> Operations.ListOptOuts.Output {
        let query = input.query
        return await handlers.list(
            APIMapping.query(phoneNumber: query.phoneNumber, from: query.from, to: query.to, page: query.page, pageSize: query.pageSize),
            cacheControl: input.headers.cacheControl, in: services.defaultService,
            ok: { answer, query in .ok(.init(headers: .init(xCache: APIMapping.xCache(answer.origin), age: answer.ageSeconds),
                                             body: .json(APIMapping.page(answer, query)))) })
    }

    func checkOptOut(_ input: Operations.CheckOptOut.Input) async throws -> Operations.CheckOptOut.Output {
        await handlers.check(
            input.path.phoneNumber, cacheControl: input.headers.cacheControl, in: services.defaultService,
            ok: { answer, number in .ok(.init(headers: .init(xCache: APIMapping.xCache(answer.origin), age: answer.ageSeconds),
                                              body: .json(APIMapping.status(number, answer)))) })
    }

    func filterOptOuts(_ input: Operations.FilterOptOuts.Input) async throws -> Operations.FilterOptOuts.Output {
        throw FilterMiddleware<GatewayRequestContext>.NotAnsweredHere()
    }

    func listOptOutChanges(_ input: Operations.ListOptOutChanges.Input) async throws -> Operations.ListOptOutChanges.Output {
        await mirrorHandlers.changes(after: input.query.after, limit: input.query.limit, mirror: mirrors[services.defaultService.name])
    }

    func getMirrorStatus(_ input: Operations.GetMirrorStatus.Input) async throws -> Operations.GetMirrorStatus.Output {
        .ok(.init(body: .json(.init(services: services.all.map { MirrorHandlers.status($0, mirror: mirrors[$0.name]) }))))
    }

    // MARK: Named services (/v1/services/{service}/unsubscribes…)

    func filterServiceOptOuts(_ input: Operations.FilterServiceOptOuts.Input) async throws -> Operations.FilterServiceOptOuts.Output {
        throw FilterMiddleware<GatewayRequestContext>.NotAnsweredHere()
    }

    func listServiceOptOutChanges(_ input: Operations.ListServiceOptOutChanges.Input) async throws -> Operations.ListServiceOptOutChanges.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        return await mirrorHandlers.changes(after: input.query.after, limit: input.query.limit, mirror: mirrors[service.name])
    }

    func getServiceMirrorStatus(_ input: Operations.GetServiceMirrorStatus.Input) async throws -> Operations.GetServiceMirrorStatus.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        return .ok(.init(body: .json(MirrorHandlers.status(service, mirror: mirrors[service.name]))))
    }

    func listServices(_ input: Operations.ListServices.Input) async throws -> Operations.ListServices.Output {
        .ok(.init(body: .json(.init(services: services.all.map {
            .init(name: $0.name, serviceId: $0.serviceID, _default: $0.name == services.defaultService.name)
        }))))
    }

    func registerServiceOptOuts(_ input: Operations.RegisterServiceOptOuts.Input) async throws -> Operations.RegisterServiceOptOuts.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        guard case .json(let request) = input.body else { preconditionFailure("the runtime answers 415 to other bodies") }
        return try await handlers.write(.register, request, in: service)
    }

    func removeServiceOptOuts(_ input: Operations.RemoveServiceOptOuts.Input) async throws -> Operations.RemoveServiceOptOuts.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        guard case .json(let request) = input.body else { preconditionFailure("the runtime answers 415 to other bodies") }
        return try await handlers.write(.remove, request, in: service)
    }

    func removeServiceOptOut(_ input: Operations.RemoveServiceOptOut.Input) async throws -> Operations.RemoveServiceOptOut.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        return try await handlers.removeOne(input.path.phoneNumber, in: service)
    }

    func listServiceOptOuts(_ input: Operations.ListServiceOptOuts.Input) async throws -> Operations.ListServiceOptOuts.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        let query = input.query
        return await handlers.list(
            APIMapping.query(phoneNumber: query.phoneNumber, from: query.from, to: query.to, page: query.page, pageSize: query.pageSize),
            cacheControl: input.headers.cacheControl, in: service,
            ok: { answer, query in .ok(.init(headers: .init(xCache: APIMapping.xCache(answer.origin), age: answer.ageSeconds),
                                             body: .json(APIMapping.page(answer, query)))) })
    }

    func checkServiceOptOut(_ input: Operations.CheckServiceOptOut.Input) async throws -> Operations.CheckServiceOptOut.Output {
        guard let service = services.named(input.path.service) else { return .notFound(Problems.serviceNotFound(input.path.service, among: services)) }
        return await handlers.check(
            input.path.phoneNumber, cacheControl: input.headers.cacheControl, in: service,
            ok: { answer, number in .ok(.init(headers: .init(xCache: APIMapping.xCache(answer.origin), age: answer.ageSeconds),
                                              body: .json(APIMapping.status(number, answer)))) })
    }

    // MARK: Operations

    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    /// Not ready only when no service can be served: every replica shares the same SENS, so one service's
    /// outage is not a reason to take replicas away from the others.
    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        let states = services.all.map { (name: $0.name, problem: $0.health.problem()) }
        // The mirror is reported, never judged: the SENS path still serves while it syncs or is stale.
        let perService: [Components.Schemas.Readiness.ServicesPayloadPayload] = states.map {
            .init(name: $0.name, status: $0.problem == nil ? .ready : .notReady,
                  reason: $0.problem.flatMap { .init(rawValue: $0.reason) }, detail: $0.problem?.detail,
                  mirror: MirrorHandlers.state(mirrors[$0.name]?.status().state ?? .disabled))
        }
        guard states.allSatisfy({ $0.problem != nil }), let first = states.first?.problem else {
            return .ok(.init(body: .json(.init(status: .ready, services: perService))))
        }
        return .serviceUnavailable(.init(body: .json(.init(status: .notReady, reason: .init(rawValue: first.reason),
                                                           detail: first.detail, services: perService))))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        .ok(.init(body: .plainText(HTTPBody(metrics.exposition()))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(EmbeddedOpenAPIDocument.text))))
    }
}
