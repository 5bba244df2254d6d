import GatewayAPI
import Hummingbird
import OptOutMirror
import OptOuts

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `getMirrorStatus` (`GET /v1/mirror`, every service) and `getServiceMirrorStatus`
/// (`GET /v1/services/{service}/mirror`): how each mirror stands.
struct GetMirrorStatus: GatewayOperation {
    let services: OptOutServices
    let mirrors: [String: any MirrorReading]
    let simulatorURL: String?
    let utcOffsetSeconds: Int

    func answer(_ request: OperationRequest) async -> Response {
        guard request.parameters["service"] != nil else {
            let all = Components.Schemas.MirrorStatus(
                services: services.all.map { Self.status($0, mirror: mirrors[$0.name]) },
                simulatorUrl: simulatorURL
            )
            return .json(JSONAnswer.encode(all, utcOffsetSeconds: utcOffsetSeconds))
        }
        let one = Self.status(request.service, mirror: mirrors[request.service.name])
        return .json(JSONAnswer.encode(one, utcOffsetSeconds: utcOffsetSeconds))
    }

    static func status(_ service: OptOutService, mirror: (any MirrorReading)?) -> Components.Schemas.ServiceMirrorStatus
    {
        let status = mirror?.status() ?? .disabled(service.name)
        return .init(
            service: service.name,
            state: state(status.state),
            detail: status.detail,
            records: status.records,
            store: status.shared.map { $0 ? .shared : .embedded },
            syncsHere: status.syncsHere,
            lastSyncAt: status.lastSyncAt.map { Date(epochMilliseconds: $0) },
            lastSyncOutcome: status.lastSyncOutcome,
            lastSyncDurationMs: status.lastSyncDurationMilliseconds.map { Int($0) },
            lastSyncSENSCalls: status.lastSyncSENSCalls,
            lastReconciliationAt: status.lastReconciliationAt.map { Date(epochMilliseconds: $0) },
            lastReconciliationOutcome: status.lastReconciliationOutcome,
            lastReconciliationRemoved: status.lastReconciliationRemoved,
            lagSeconds: status.lagSeconds,
            inDoubt: status.inDoubt,
            changeFeed: status.changeFeed.map { feed in
                .init(
                    retentionDays: feed.retentionMilliseconds.map { Int($0 / 86_400_000) } ?? 0,
                    oldestKeptAt: feed.oldestKeptAt.map { Date(epochMilliseconds: $0) },
                    pruned: feed.pruned
                )
            },
            verification: status.lastVerification.map { report in
                .init(
                    startedAt: Date(epochMilliseconds: report.startedAt),
                    lastCompletedAt: status.lastVerifiedAt.map { Date(epochMilliseconds: $0) },
                    outcome: report.outcome,
                    durationMs: Int(report.durationMilliseconds),
                    buckets: report.buckets,
                    bucketsDiffered: report.bucketsDiffered,
                    recordsFound: report.recordsFound,
                    removalsFound: report.removalsFound,
                    sensCalls: report.sensCalls
                )
            },
            initialSync: status.initialSync.flatMap { initial in
                initial.startedAt.map { started in
                    .init(
                        records: initial.records,
                        sensCalls: initial.sensCalls,
                        startedAt: Date(epochMilliseconds: started),
                        completedAt: initial.completedAt.map { Date(epochMilliseconds: $0) }
                    )
                }
            }
        )
    }

    static func state(_ state: MirrorState) -> Components.Schemas.MirrorState {
        switch state {
        case .syncing: .syncing
        case .ready: .ready
        case .stale: .stale
        case .disabled: .disabled
        }
    }
}
