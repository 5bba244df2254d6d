import GatewayAPI
import OptOutMirror
import OptOuts

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mirror's own operations once the service is known: the change feed and the status page.
struct MirrorHandlers {
    let retryAfterSeconds: Int
    static let defaultChangeLimit = 1_000
    static let maxChangeLimit = 10_000

    /// A page of the change feed after `after` (the beginning when nil), in the generated types.
    func changes<Output: ChangesOutput>(after: String?, limit: Int?, mirror: (any MirrorReading)?) async -> Output {
        switch await Self.read(after: after, limit: limit, mirror: mirror) {
        case .success(let page): return .page(Self.page(page))
        case .failure(let refusal):
            let (problem, retryAfter) = self.problem(refusal)
            guard let retryAfter else { return .badRequest(.init(body: .applicationProblemJson(problem))) }
            return .serviceUnavailable(.init(headers: .init(retryAfter: retryAfter), body: .applicationProblemJson(problem)))
        }
    }

    /// Why a page of the change feed cannot be given.
    enum ChangeFeedRefusal: Error {
        case mirrorOff, badLimit, badCursor, storeUnreadable
    }

    /// The problem a refusal is answered with: a 400, or a 503 with its `Retry-After`.
    func problem(_ refusal: ChangeFeedRefusal) -> (problem: Components.Schemas.Problem, retryAfter: Int?) {
        switch refusal {
        case .mirrorOff:
            (Problems.mirrorUnavailableProblem("the mirror is turned off (MIRROR_ENABLED=false): there is no change feed"), retryAfterSeconds)
        case .badLimit:
            (Problems.badParameterProblem("limit", "must be from 1 to \(Self.maxChangeLimit)"), nil)
        case .badCursor:
            (Problems.badParameterProblem(
                "after", "not a cursor of this service's change feed in this gateway's store (pass a `next` or `cursor` it gave)"), nil)
        case .storeUnreadable:
            (Problems.mirrorUnavailableProblem("the mirror's store could not be read"), retryAfterSeconds)
        }
    }

    /// The page in the generated type.
    static func page(_ page: ChangeFeedPage) -> Components.Schemas.ChangePage {
        .init(changes: page.changes.map { change in
            .init(cursor: ChangeCursor.text(change.sequence, scope: page.scope), phoneNumber: change.phoneNumber.digits,
                  change: change.kind == .added ? .added : .removed,
                  observedAt: Date(epochMilliseconds: change.observedAtMilliseconds),
                  registeredAt: change.registeredAtMilliseconds.map { Date(epochMilliseconds: $0) },
                  source: change.source.map { $0 == .ars ? .ars : .manual },
                  sensNumber: change.national == nil ? nil : change.key.digits)
        }, next: page.next)
    }

    /// The changes after `after` (the beginning when nil), at most `limit` (1,000 when nil).
    static func read(after: String?, limit: Int?, mirror: (any MirrorReading)?) async -> Result<ChangeFeedPage, ChangeFeedRefusal> {
        guard let mirror else { return .failure(.mirrorOff) }
        let limit = limit ?? defaultChangeLimit
        guard (1...maxChangeLimit).contains(limit) else { return .failure(.badLimit) }
        let scope: String
        do { scope = try await mirror.cursorScope() } catch { return .failure(.storeUnreadable) }
        var sequence: Int64 = 0
        if let after {
            guard let decoded = ChangeCursor.sequence(of: after, scope: scope) else { return .failure(.badCursor) }
            sequence = decoded
        }
        do {
            let changes = try await mirror.changes(after: sequence, limit: limit)
            return .success(ChangeFeedPage(scope: scope, changes: changes, next: ChangeCursor.text(changes.last?.sequence ?? sequence, scope: scope)))
        } catch {
            return .failure(.storeUnreadable)
        }
    }

    static func status(_ service: OptOutService, mirror: (any MirrorReading)?) -> Components.Schemas.ServiceMirrorStatus {
        let status = mirror?.status() ?? .disabled(service.name)
        return .init(
            service: service.name, state: state(status.state), detail: status.detail, records: status.records,
            store: status.shared.map { $0 ? .shared : .embedded }, syncsHere: status.syncsHere,
            lastSyncAt: status.lastSyncAt.map { Date(epochMilliseconds: $0) }, lastSyncOutcome: status.lastSyncOutcome,
            lastSyncDurationMs: status.lastSyncDurationMilliseconds.map { Int($0) }, lastSyncSENSCalls: status.lastSyncSENSCalls,
            lastReconciliationAt: status.lastReconciliationAt.map { Date(epochMilliseconds: $0) },
            lastReconciliationOutcome: status.lastReconciliationOutcome, lastReconciliationRemoved: status.lastReconciliationRemoved,
            lagSeconds: status.lagSeconds, inDoubt: status.inDoubt,
            verification: status.lastVerification.map { report in
                .init(startedAt: Date(epochMilliseconds: report.startedAt), lastCompletedAt: status.lastVerifiedAt.map { Date(epochMilliseconds: $0) },
                      outcome: report.outcome, durationMs: Int(report.durationMilliseconds), buckets: report.buckets,
                      bucketsDiffered: report.bucketsDiffered, recordsFound: report.recordsFound, removalsFound: report.removalsFound,
                      sensCalls: report.sensCalls)
            },
            initialSync: status.initialSync.flatMap { initial in
                initial.startedAt.map { started in
                    .init(records: initial.records, sensCalls: initial.sensCalls, startedAt: Date(epochMilliseconds: started),
                          completedAt: initial.completedAt.map { Date(epochMilliseconds: $0) })
                }
            })
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

/// A page of a service's change feed: its changes, oldest first, the scope their cursors are bound to, and the
/// cursor to continue from.
struct ChangeFeedPage {
    let scope: String
    let changes: [MirrorChange]
    let next: String
}

/// The change feed's cursors: a change's sequence with a check bound to the store and the service (`scope`), so
/// that a cursor of another service or another store (another replica's own, or one made anew), or a mistyped one,
/// is refused instead of silently skipping or repeating changes. Stable across restarts: it depends on nothing but
/// the stored sequence and scope.
enum ChangeCursor {
    static func text(_ sequence: Int64, scope: String) -> String {
        String(sequence, radix: 36) + "." + check(sequence, scope)
    }

    static func sequence(of text: String, scope: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 13, parts[0].allSatisfy({ $0.isNumber || ("a"..."z").contains($0) }),
              let sequence = Int64(parts[0], radix: 36), sequence >= 0, parts[1] == check(sequence, scope) else { return nil }
        return sequence
    }

    /// Eight hex digits of FNV-1a over the scope and the sequence.
    private static func check(_ sequence: Int64, _ scope: String) -> Substring {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in scope.utf8 + [0] + "\(sequence)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let text = String(hash, radix: 16)
        return (String(repeating: "0", count: 16 - text.count) + text).prefix(8)
    }
}

/// The generated outputs of the change feeds.
protocol ChangesOutput {
    static func badRequest(_ response: Components.Responses.BadRequest) -> Self
    static func serviceUnavailable(_ response: Components.Responses.MirrorUnavailable) -> Self
    static func page(_ page: Components.Schemas.ChangePage) -> Self
}

extension Operations.ListOptOutChanges.Output: ChangesOutput {
    static func page(_ page: Components.Schemas.ChangePage) -> Self { .ok(.init(body: .json(page))) }
}

extension Operations.ListServiceOptOutChanges.Output: ChangesOutput {
    static func page(_ page: Components.Schemas.ChangePage) -> Self { .ok(.init(body: .json(page))) }
}
