import HTTPTypes
import Hummingbird
import SENSCore

/// The API Gateway's authentication: the access key must be one of the simulator's accounts, the timestamp
/// within five minutes of its clock, and the v2 signature over exactly the method and request target received,
/// with that account's secret. A service of another account is refused as permission denied.
struct SignatureVerificationMiddleware<Context: RequestContext>: RouterMiddleware {
    let signers: [String: (signer: NCPSigner, serviceIDs: Set<String>)]
    let clock: any EpochClock
    let stats: SimulatorStats

    init(accounts: [SimulatedAccount], clock: any EpochClock, stats: SimulatorStats) {
        var signers: [String: (signer: NCPSigner, serviceIDs: Set<String>)] = [:]
        for account in accounts {
            signers[account.credentials.accessKey] = (
                NCPSigner(credentials: account.credentials), Set(account.serviceIDs)
            )
        }
        self.signers = signers
        self.clock = clock
        self.stats = stats
    }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let problem = authenticationProblem(request) {
            stats.record { $0.rejectedCalls += 1 }
            throw SimulatorError.gateway(.authenticationFailed, details: problem)
        }
        if let traceparent = request.headers[.traceparent] {
            stats.record { counts in
                counts.traceparents.append(traceparent)
                counts.traceparents.removeFirst(max(0, counts.traceparents.count - SimulatorCounts.traceparentsKept))
            }
        }
        let account = signers[request.headers[.ncpAccessKey]!]!
        let serviceID = context.parameters.get("serviceId") ?? ""
        let known = signers.values.contains { $0.serviceIDs.contains(serviceID) }
        if known && !account.serviceIDs.contains(serviceID) {
            stats.record { $0.rejectedCalls += 1 }
            throw SimulatorError.gateway(
                .permissionDenied,
                details: "The access key's account does not own this service."
            )
        }
        return try await next(request, context)
    }

    private func authenticationProblem(_ request: Request) -> String? {
        guard let timestamp = request.headers[.ncpTimestamp],
            let accessKey = request.headers[.ncpAccessKey],
            let signature = request.headers[.ncpSignature]
        else { return "Required headers are missing." }
        guard let signer = signers[accessKey]?.signer else { return "Invalid access key." }
        guard let milliseconds = Int64(timestamp),
            abs(clock.nowMilliseconds() - milliseconds) < SENSLimits.timestampToleranceMilliseconds
        else { return "Invalid timestamp." }
        let target = request.head.path ?? ""
        guard
            signer.isValidSignature(
                signature,
                method: request.method.rawValue,
                pathAndQuery: target,
                timestamp: timestamp
            )
        else { return "Invalid signature." }
        return nil
    }
}

extension HTTPField.Name {
    static let ncpTimestamp = Self(NCPHeader.timestamp)!
    static let ncpAccessKey = Self(NCPHeader.accessKey)!
    static let ncpSignature = Self(NCPHeader.signature)!
}

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
}
