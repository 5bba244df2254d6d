import Hummingbird
import OptOutMirror
import OptOuts
import SENSCore

/// `listOptOutChanges`, `listServiceOptOutChanges`: `GET …/unsubscribes/changes`, the mirror's changes after a
/// cursor, oldest first.
struct ListOptOutChanges: GatewayOperation {
    let mirrors: [String: any MirrorReading]
    let retryAfterSeconds: Int
    let encoder: OptOutEncoder
    /// `MIRROR_CHANGE_RETENTION_DAYS` when changes are pruned, for the 410's message.
    let retentionDays: Int?
    let utcOffsetSeconds: Int
    static let defaultLimit = 1_000
    static let maxLimit = 10_000

    func answer(_ request: OperationRequest) async -> Response {
        guard let mirror = mirrors[request.service.name] else {
            return unavailable("the mirror is turned off (MIRROR_ENABLED=false): there is no change feed", request)
        }
        var limit = Self.defaultLimit
        if let text = request.query["limit"] {
            guard let value = QueryValues.integer(text) else {
                return request.badParameter("limit", "must be an integer")
            }
            limit = value
        }
        guard (1...Self.maxLimit).contains(limit) else {
            return request.badParameter("limit", "must be from 1 to \(Self.maxLimit)")
        }
        let scope: String
        do { scope = try await mirror.cursorScope() } catch {
            return unavailable("the mirror's store could not be read", request)
        }
        var sequence: Int64?
        if let after = request.query["after"] {
            guard let decoded = ChangeCursor.sequence(of: after, scope: scope) else {
                return request.badParameter(
                    "after",
                    "not a cursor of this service's change feed in this gateway's store "
                        + "(pass a `next` or `cursor` it gave)"
                )
            }
            sequence = decoded
        }
        do {
            let page = try await mirror.changes(after: sequence, limit: limit)
            let next = ChangeCursor.text(page.changes.last?.sequence ?? page.after, scope: scope)
            return .json(encoder.changes(ChangeFeedPage(scope: scope, changes: page.changes, next: next)))
        } catch let pruned as MirrorChangesPruned {
            return gone(pruned.start, request)
        } catch {
            return unavailable("the mirror's store could not be read", request)
        }
    }

    /// 410: the changes after the cursor were pruned (`MIRROR_CHANGE_RETENTION_DAYS`); says how to start again.
    private func gone(_ start: ChangeFeedStart, _ request: OperationRequest) -> Response {
        let oldest =
            start.oldestKeptObservedAtMilliseconds.map {
                "the oldest change kept was observed at \(RFC3339.format(epochMilliseconds: $0, utcOffsetSeconds: utcOffsetSeconds))"
            } ?? "no change is kept now"
        let retention = retentionDays.map { "\($0) days" } ?? "the retention"
        return request.problem(
            410,
            "the changes after this cursor are older than \(retention) (MIRROR_CHANGE_RETENTION_DAYS) and were pruned, "
                + "so following on from it would miss some; \(oldest). To start again, take the whole list with "
                + "GET \(exportPath(request)) and follow this feed from the cursor in its X-Change-Cursor header; or "
                + "read this feed again without `after`, which starts at the oldest change kept (records older than it "
                + "are only in the export)",
            type: Problems.changesPrunedType,
            title: "Changes pruned",
            invalidParams: [("after", "older than the changes kept")]
        )
    }

    private func exportPath(_ request: OperationRequest) -> String {
        request.parameters["service"] != nil
            ? "/v1/services/\(request.service.name)/unsubscribes/export" : "/v1/unsubscribes/export"
    }

    private func unavailable(_ detail: String, _ request: OperationRequest) -> Response {
        Problems.mirrorUnavailable(detail, retryAfterSeconds: retryAfterSeconds, instance: request.path)
    }
}
