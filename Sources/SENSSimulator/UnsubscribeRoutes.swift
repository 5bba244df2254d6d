import Hummingbird
import NIOCore
import SENSCore

/// `/sms/v2/services/{serviceId}/unsubscribes`: register (POST), list (GET) and delete (DELETE), as SENS does.
struct UnsubscribeRoutes {
    typealias Context = SimulatorRequestContext

    /// Each service's list, by service id.
    let stores: [String: UnsubscribeStore]
    let faults: FaultInjector
    let stats: SimulatorStats
    let clock: any EpochClock
    let localTime: SENSLocalTime

    /// Register and delete bodies larger than this are refused with 413 (code 430).
    static var maxBodyBytes: Int { 1 << 20 }

    func add(to group: RouterGroup<Context>) {
        group.post { request, context in try await serve(request, context) { try await register(request, $0) } }
        group.get { request, context in try await serve(request, context) { try list(request, $0) } }
        group.delete { request, context in try await serve(request, context) { try await delete(request, $0) } }
    }

    /// Checks the service id, then applies the injected faults, then runs the operation.
    private func serve(
        _ request: Request,
        _ context: Context,
        _ operation: (UnsubscribeStore) async throws -> Response
    ) async throws -> Response {
        guard let store = context.parameters.get("serviceId").flatMap({ stores[$0] }) else {
            stats.record { $0.rejectedCalls += 1 }
            throw SimulatorError.gateway(.notFound, details: "Unknown service.")
        }
        let (latency, decision) = faults.decide()
        if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
        switch decision {
        case .proceed:
            let response = try await operation(store)
            let jitter = faults.settings.answerJitterMilliseconds
            if jitter > 0 { try await Task.sleep(for: .milliseconds(Int.random(in: 0...jitter))) }
            return response
        case .fail(let status):
            stats.record { $0.faultedCalls += 1 }
            throw SimulatorError.gateway(APIGatewayErrorCode(status: status), status: status)
        case .throttle(let retryAfterSeconds):
            stats.record { $0.faultedCalls += 1 }
            throw SimulatorError.throttled(retryAfterSeconds: retryAfterSeconds)
        case .drop:
            stats.record { $0.faultedCalls += 1 }
            try? await context.channel.close()
            throw SimulatorError.dropped
        case .truncate:
            stats.record { $0.faultedCalls += 1 }
            // Promise a longer body than is sent, then fail the write: the connection closes mid-body.
            return Response(
                status: .ok,
                headers: [.contentType: "application/json", .contentLength: "4096"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: #"[{"clientTelNo":"0101234"#))
                    throw SimulatorError.dropped
                }
            )
        case .garbage:
            stats.record { $0.faultedCalls += 1 }
            return Response(
                status: .ok,
                headers: [.contentType: "text/html"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "<html><body>Service maintenance</body></html>"))
            )
        }
    }

    private func register(_ request: Request, _ store: UnsubscribeStore) async throws -> Response {
        stats.record { $0.registerCalls += 1 }
        let numbers = try await targetNumbers(request)
        let records = store.register(numbers, type: .manual, at: clock.nowMilliseconds())
        return .json(status: 200, records.map(wire))
    }

    private func list(_ request: Request, _ store: UnsubscribeStore) throws -> Response {
        stats.record { $0.listCalls += 1 }
        let query = try listQuery(request.uri.queryParameters)
        return .json(status: 200, store.list(query).map(wire))
    }

    private func delete(_ request: Request, _ store: UnsubscribeStore) async throws -> Response {
        stats.record { $0.deleteCalls += 1 }
        store.delete(try await targetNumbers(request))
        return Response(status: .noContent)
    }

    private func targetNumbers(_ request: Request) async throws -> [String] {
        let targets = try await request.decodeJSON([SENSUnsubscribeTarget].self, limit: Self.maxBodyBytes)
        guard !targets.isEmpty else { throw SimulatorError.badRequest("At least one clientTelNo is required.") }
        guard targets.count <= SENSLimits.maxItemsPerCall else {
            throw SimulatorError.badRequest("At most \(SENSLimits.maxItemsPerCall) clientTelNo can be sent at once.")
        }
        for (index, target) in targets.enumerated() where !Self.isTelephoneDigits(target.clientTelNo) {
            throw SimulatorError.badRequest("clientTelNo at index \(index) must be 1 to 20 digits.")
        }
        return targets.map(\.clientTelNo)
    }

    private func listQuery(_ parameters: Parameters) throws -> SENSListQuery {
        var query = SENSListQuery()
        if let number = parameters.get("clientTelNo") {
            guard Self.isTelephoneDigits(number) else {
                throw SimulatorError.badRequest("clientTelNo must be 1 to 20 digits.")
            }
            query.clientTelNo = number
        }
        if let text = parameters.get("pageSize") {
            guard let size = Int(text), SENSLimits.pageSizeRange.contains(size) else {
                throw SimulatorError.badRequest("pageSize must be an integer from 1 to 100.")
            }
            query.pageSize = size
        }
        if let text = parameters.get("pageIndex") {
            guard let index = Int(text), index >= 0 else {
                throw SimulatorError.badRequest("pageIndex must be an integer of 0 or more.")
            }
            query.pageIndex = index
        }
        query.startTime = try Self.milliseconds(parameters, "startTime")
        query.endTime = try Self.milliseconds(parameters, "endTime")
        if let start = query.startTime, let end = query.endTime, start > end {
            throw SimulatorError.badRequest("startTime must not be after endTime.")
        }
        return query
    }

    private static func milliseconds(_ parameters: Parameters, _ name: String) throws -> Int64? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw SimulatorError.badRequest("\(name) must be epoch milliseconds (an integer of 0 or more).")
        }
        return value
    }

    private static func isTelephoneDigits(_ text: String) -> Bool {
        (1...20).contains(text.utf8.count)
            && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private func wire(_ record: StoredUnsubscribe) -> SENSUnsubscribeRecord {
        SENSUnsubscribeRecord(
            clientTelNo: record.clientTelNo,
            registerType: record.registerType,
            registerTime: localTime.format(epochMilliseconds: record.registeredAtMilliseconds)
        )
    }
}
