import HTTPTypes
import Hummingbird
import SENSCore

/// The API Gateway's authentication: the access key must be the simulator's, the timestamp within five minutes
/// of its clock, and the v2 signature must be over exactly the method and request target received.
struct SignatureVerificationMiddleware<Context: RequestContext>: RouterMiddleware {
    let signer: NCPSigner
    let clock: any EpochClock
    let stats: SimulatorStats

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let problem = authenticationProblem(request) {
            stats.record { $0.rejectedCalls += 1 }
            throw SimulatorError.gateway(.authenticationFailed, details: problem)
        }
        return try await next(request, context)
    }

    private func authenticationProblem(_ request: Request) -> String? {
        guard let timestamp = request.headers[.ncpTimestamp],
            let accessKey = request.headers[.ncpAccessKey],
            let signature = request.headers[.ncpSignature]
        else { return "Required headers are missing." }
        guard accessKey == signer.credentials.accessKey else { return "Invalid access key." }
        guard let milliseconds = Int64(timestamp),
            abs(clock.nowMilliseconds() - milliseconds) < SENSLimits.timestampToleranceMilliseconds
        else { return "Invalid timestamp." }
        let target = request.head.path ?? ""
        guard signer.isValidSignature(signature, method: request.method.rawValue, pathAndQuery: target, timestamp: timestamp)
        else { return "Invalid signature." }
        return nil
    }
}

extension HTTPField.Name {
    static let ncpTimestamp = Self(NCPHeader.timestamp)!
    static let ncpAccessKey = Self(NCPHeader.accessKey)!
    static let ncpSignature = Self(NCPHeader.signature)!
}
