import GatewayAPI
import Hummingbird
import OptOutMirror
import OptOuts

/// `getReadiness`: `GET /readyz`. Not ready only when no service can be served: every replica shares the same
/// SENS, so one service's outage is not a reason to take replicas away from the others. The mirror is reported,
/// never judged: the SENS path still serves while it syncs or is stale.
struct GetReadiness: GatewayOperation {
    let services: OptOutServices
    let mirrors: [String: any MirrorReading]

    func answer(_ request: OperationRequest) async -> Response {
        let states = services.all.map { (name: $0.name, problem: $0.health.problem()) }
        let perService: [Components.Schemas.Readiness.ServicesPayloadPayload] = states.map {
            .init(
                name: $0.name,
                status: $0.problem == nil ? .ready : .notReady,
                reason: $0.problem.flatMap { .init(rawValue: $0.reason) },
                detail: $0.problem?.detail,
                mirror: GetMirrorStatus.state(mirrors[$0.name]?.status().state ?? .disabled)
            )
        }
        guard states.allSatisfy({ $0.problem != nil }), let first = states.first?.problem else {
            return .json(
                JSONAnswer.encode(
                    Components.Schemas.Readiness(status: .ready, services: perService),
                    utcOffsetSeconds: 0
                )
            )
        }
        let notReady = Components.Schemas.Readiness(
            status: .notReady,
            reason: .init(rawValue: first.reason),
            detail: first.detail,
            services: perService
        )
        return .json(JSONAnswer.encode(notReady, utcOffsetSeconds: 0), status: .serviceUnavailable)
    }
}
