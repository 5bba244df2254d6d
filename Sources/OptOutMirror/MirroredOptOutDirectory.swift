import OptOuts
import SENSCore

/// A directory with the service's mirror in front: checks and list pages are answered from the mirror while it
/// can vouch for them (origin `MIRROR`), and from `base` (the cache, then the source) otherwise or when the caller
/// asks for a refresh. Writes go to `base` first; what the source confirmed then enters the mirror before the
/// write is answered.
public struct MirroredOptOutDirectory: OptOutDirectory {
    let base: any OptOutDirectory
    let mirror: ServiceMirror

    public init(base: any OptOutDirectory, mirror: ServiceMirror) {
        self.base = base
        self.mirror = mirror
    }

    /// A register whose answer was lost may have applied: the mirror then stops vouching until its next sync
    /// (an unconfirmed removal needs nothing: the number stays opted out, the safe side).
    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        let outcome = await base.register(numbers)
        if !outcome.unconfirmed.isEmpty {
            mirror.distrust("a register SENS did not confirm may have applied (\(outcome.unconfirmed.count) numbers)")
        }
        await mirror.recordConfirmed(registered: outcome.registered, removed: [])
        return outcome
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        let outcome = await base.remove(numbers)
        await mirror.recordConfirmed(registered: [], removed: outcome.done)
        return outcome
    }

    public func check(_ number: PhoneNumber, refresh: Bool) async throws(OptOutError) -> Answer<OptOut?> {
        if !refresh, let key = PhoneKey(digits: number.digits), let answer = mirror.check(key) {
            return Answer(value: answer.record?.optOut, origin: .mirror, ageSeconds: age(answer.asOf))
        }
        return try await base.check(number, refresh: refresh)
    }

    public func list(_ query: OptOutQuery, refresh: Bool) async throws(OptOutError) -> Answer<[OptOut]> {
        if !refresh, let answer = mirror.page(query) {
            return Answer(value: answer.items, origin: .mirror, ageSeconds: age(answer.asOf))
        }
        return try await base.list(query, refresh: refresh)
    }

    private func age(_ asOf: Int64) -> Int {
        Int(max(0, mirror.clock.nowMilliseconds() - asOf) / 1000)
    }
}
