import Hummingbird
import NIOCore
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/_simulator/...`: unsigned controls for tests, benchmarks and demos. Not part of SENS.
///
/// - `GET /_simulator/stats`: call counts; `DELETE /_simulator/stats` resets them.
/// - `GET /_simulator/faults`, `PUT /_simulator/faults`: the injected faults (``FaultSettings`` as JSON).
/// - `POST /_simulator/unsubscribes[?serviceId=…]`: seed opt-outs as SENS would hold them, e.g. ARS ones:
///   `[{"clientTelNo":"01012345678","registerType":"C","registerTime":"2025-11-26T10:11:59.271"}]`, or make many
///   with a generator: `{"count":1000000,"prefix":"0105"}` (see `Generator`); into the main service unless
///   `serviceId` names another.
/// - `DELETE /_simulator/unsubscribes[?serviceId=…]` `[{"clientTelNo":…}]`: remove behind the gateway's back, as
///   the NCP console would.
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
            let store = try store(request)
            var request = request
            let body = try await request.collectBody(upTo: 16 << 20)
            // An object is a generator; an array lists the records.
            if body.readableBytesView.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") {
                let generator = try decode(Generator.self, body)
                let records = try generator.records(now: clock.nowMilliseconds())
                return Response.json(status: 200, ["seeded": store.seed(records)])
            }
            let seeds = try decode([SeedRecord].self, body)
            let records = try seeds.map { seed in
                let time =
                    try seed.registerTime.map { text in
                        guard let milliseconds = localTime.parse(text) else {
                            throw SimulatorError.badRequest("registerTime must be YYYY-MM-DDTHH:mm:ss.sss")
                        }
                        return milliseconds
                    } ?? clock.nowMilliseconds()
                return StoredUnsubscribe(
                    clientTelNo: seed.clientTelNo,
                    registerType: seed.registerType ?? .ars,
                    registeredAtMilliseconds: time
                )
            }
            store.seed(records)
            return Response.json(status: 200, ["seeded": seeds.count])
        }
        // Removal behind the gateway's back, as the NCP console would do it.
        group.delete("unsubscribes") { request, _ in
            let store = try store(request)
            let numbers = try await request.decodeJSON([SENSUnsubscribeTarget].self, limit: 16 << 20).map(\.clientTelNo)
            return Response.json(status: 200, ["removed": store.delete(numbers)])
        }
    }

    private func store(_ request: Request) throws -> UnsubscribeStore {
        let serviceID = request.uri.queryParameters.get("serviceId") ?? defaultServiceID
        guard let store = stores[serviceID] else { throw SimulatorError.badRequest("no service \(serviceID)") }
        return store
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ body: ByteBuffer) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch {
            throw SimulatorError.badRequest("the body is not the documented JSON: \(error)")
        }
    }

    /// `{"count": 1000000, "prefix": "0105"}`: `count` numbers `prefix` + a zero-padded sequence (11 digits in
    /// all) from `start`, registered at times spread evenly from `fromMilliseconds` to `toMilliseconds` (default:
    /// the last 30 days), as `registerType` (default `C`, an ARS opt-out).
    struct Generator: Decodable {
        var count: Int
        var prefix: String
        var start: Int?
        var fromMilliseconds: Int64?
        var toMilliseconds: Int64?
        var registerType: SENSRegisterType?

        /// At most this many records a call, which bounds the store one call can grow.
        static var maxCount: Int { 10_000_000 }

        func records(now: Int64) throws -> [StoredUnsubscribe] {
            let width = 11 - prefix.utf8.count
            guard (1...10).contains(prefix.utf8.count), prefix.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw SimulatorError.badRequest("prefix must be 1 to 10 digits")
            }
            let start = self.start ?? 0
            let capacity = (0..<width).reduce(1) { value, _ in value * 10 }
            guard (0...Self.maxCount).contains(count), (0...capacity).contains(start), count <= capacity - start else {
                throw SimulatorError.badRequest(
                    "count must be 0 to \(Self.maxCount), and start + count fit the \(capacity) numbers prefix \(prefix) leaves room for"
                )
            }
            let to = toMilliseconds ?? now
            let from = fromMilliseconds ?? to - 30 * 86_400_000
            guard from <= to else {
                throw SimulatorError.badRequest("fromMilliseconds must not be after toMilliseconds")
            }
            let step = count > 1 ? Double(to - from) / Double(count - 1) : 0
            return (0..<count).map { offset in
                let sequence = String(start + offset)
                let number = prefix + String(repeating: "0", count: width - sequence.utf8.count) + sequence
                return StoredUnsubscribe(
                    clientTelNo: number,
                    registerType: registerType ?? .ars,
                    registeredAtMilliseconds: from + Int64((Double(offset) * step).rounded(.down))
                )
            }
        }
    }

    struct SeedRecord: Decodable {
        var clientTelNo: String
        var registerType: SENSRegisterType?
        var registerTime: String?
    }
}
