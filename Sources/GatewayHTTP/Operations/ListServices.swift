import GatewayAPI
import Hummingbird
import OptOuts

/// `listServices`: `GET /v1/services`, the services this gateway serves and which one is the default.
struct ListServices: GatewayOperation {
    let services: OptOutServices

    func answer(_ request: OperationRequest) async -> Response {
        let list = Components.Schemas.ServiceList(
            services: services.all.map {
                .init(name: $0.name, serviceId: $0.serviceID, _default: $0.name == services.defaultService.name)
            }
        )
        return .json(JSONAnswer.encode(list, utcOffsetSeconds: 0))
    }
}
