import OptOuts
import SENSCore

/// A directory with the service's mirror in front: checks and list pages are answered from the mirror while it
/// can vouch for them (origin `MIRROR`), and from `base` (the cache, then the source) otherwise or when the caller
/// asks for a refresh. Writes go to `base` first; what the source confirmed then enters the mirror before the
/// write is answered; when the mirror's store cannot take it, the answer says so (`WriteOutcome.mirrorNote`).
public struct MirroredOptOutDirectory: OptOutDirectory {
    let base: any OptOutDirectory
    let mirror: ServiceMirror

    public init(base: any OptOutDirectory, mirror: ServiceMirror) {
        self.base = base
        self.mirror = mirror
    }

    /// Each number is written with its lock held (`ServiceMirror.writing`), so that what SENS confirmed enters the
    /// mirror in the order SENS applied it; a register whose answer was lost leaves its numbers opted out, and in
    /// doubt on this replica until SENS is asked (an unconfirmed removal needs nothing: the number stays opted out, the safe side).
    public func register(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await mirror.writing(numbers.compactMap { PhoneKey(digits: $0.digits) }) { ticket in
            var outcome = await base.register(numbers)
            outcome.mirrorNote = await mirror.recordWrite(
                registered: outcome.registered,
                removed: [],
                unconfirmedRegistrations: outcome.unconfirmed,
                ticket: ticket
            )
            return outcome
        }
    }

    public func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome {
        await mirror.writing(numbers.compactMap { PhoneKey(digits: $0.digits) }) { ticket in
            var outcome = await base.remove(numbers)
            outcome.mirrorNote = await mirror.recordWrite(
                registered: [],
                removed: outcome.done,
                unconfirmedRegistrations: [],
                ticket: ticket
            )
            return outcome
        }
    }

    /// From the mirror while it vouches for the number; a number in doubt is asked of SENS itself, never a cache.
    /// When the cache or SENS says "not opted out" but the mirror holds an opt-out of the number (in any form SENS
    /// holds it in: SENS is asked for the national form only), the answer is the mirror's: the safe side.
    public func check(_ number: PhoneNumber, refresh: Bool) async throws(OptOutError) -> Answer<OptOut?> {
        guard let key = PhoneKey(digits: number.digits) else { return try await base.check(number, refresh: refresh) }
        if !refresh, let answer = mirror.check(key) {
            return Answer(value: answer.record?.optOut, origin: .mirror, ageSeconds: age(answer.asOf))
        }
        let answer = try await base.check(number, refresh: refresh || mirror.inDoubt(key))
        if answer.value == nil, let held = mirror.heldOptOut(key) {
            return Answer(value: held.record.optOut, origin: .mirror, ageSeconds: held.asOf.map(age) ?? 0)
        }
        return answer
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
