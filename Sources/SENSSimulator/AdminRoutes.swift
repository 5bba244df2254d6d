import Hummingbird
import SENSCore

/// `/_simulator/...`: unsigned controls for tests, benchmarks and demos. Not part of SENS.
///
/// - `GET /_simulator/stats`: call counts; `DELETE /_simulator/stats` resets them.
/// - `GET /_simulator/faults`, `PUT /_simulator/faults`: the injected faults (``FaultSettings`` as JSON).
/// - `POST /_simulator/unsubscribes[?serviceId=…]`: seed opt-outs as SENS would hold them, e.g. ARS ones:
///   `[{"clientTelNo":"01012345678","registerType":"C","registerTime":"2025-11-26T10:11:59.271"}]`, into the
///   main service unless `serviceId` names another.
struct AdminRoutes<Context: RequestContext> {
    let stores: [String: UnsubscribeStore]
    let defaultServiceID: String
    let faults: FaultInjector
    let stats: SimulatorStats
    let clock: any EpochClock
    let localTime: SENSLocalTime

    func add(to group: RouterGroup<Context>) {
        group.get("stats") { _, _ in Response.json(status: 200, stats.snapshot) }
        group.delete("stats") { _, _ in
            stats.reset()
            return Response(status: .noContent)
        }
        group.get("faults") { _, _ in Response.json(status: 200, faults.settings) }
        group.put("faults") { request, _ in
            let settings = try await request.decodeJSON(FaultSettings.self, limit: 4096)
            if let problem = settings.problem { throw SimulatorError.badRequest(problem) }
            faults.settings = settings
            return Response.json(status: 200, settings)
        }
        group.post("unsubscribes") { request, _ in
            let serviceID = request.uri.queryParameters.get("serviceId") ?? defaultServiceID
            guard let store = stores[serviceID] else { throw SimulatorError.badRequest("no service \(serviceID)") }
            let records = try await request.decodeJSON([SeedRecord].self, limit: 16 << 20)
            for record in records {
                let time = try record.registerTime.map { text in
                    guard let milliseconds = localTime.parse(text) else {
                        throw SimulatorError.badRequest("registerTime must be YYYY-MM-DDTHH:mm:ss.sss")
                    }
                    return milliseconds
                } ?? clock.nowMilliseconds()
                store.register([record.clientTelNo], type: record.registerType ?? .ars, at: time)
            }
            return Response.json(status: 200, ["seeded": records.count])
        }
    }

    struct SeedRecord: Decodable {
        var clientTelNo: String
        var registerType: SENSRegisterType?
        var registerTime: String?
    }
}
