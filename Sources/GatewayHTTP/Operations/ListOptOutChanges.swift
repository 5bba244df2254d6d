import Hummingbird
import OptOutMirror
import OptOuts

/// `listOptOutChanges`, `listServiceOptOutChanges`: `GET …/unsubscribes/changes`, the mirror's changes after a
/// cursor, oldest first.
struct ListOptOutChanges: GatewayOperation {
    let mirrors: [String: any MirrorReading]
    let retryAfterSeconds: Int
    let encoder: OptOutEncoder
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
        var sequence: Int64 = 0
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
            let changes = try await mirror.changes(after: sequence, limit: limit)
            let next = ChangeCursor.text(changes.last?.sequence ?? sequence, scope: scope)
            return .json(encoder.changes(ChangeFeedPage(scope: scope, changes: changes, next: next)))
        } catch {
            return unavailable("the mirror's store could not be read", request)
        }
    }

    private func unavailable(_ detail: String, _ request: OperationRequest) -> Response {
        Problems.mirrorUnavailable(detail, retryAfterSeconds: retryAfterSeconds, instance: request.path)
    }
}
