import SENSTestSupport
import Synchronization
import Testing

@testable import OptOutMirror

/// The gate the mirror's writes take turns through: one at a time, and a caller with a limit gives up waiting
/// (and never runs) rather than waiting past it.
@Suite struct AsyncGateTests {
    /// Random callers, some with a limit, hold the gate for random times: never two inside at once; each caller
    /// either ran or gave up, and gave up only if it had a limit and waited about that long.
    @Test(.timeLimit(.minutes(1)), arguments: [1, 2, 3] as [UInt64])
    func oneAtATimeAndLimitsHold(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let gate = AsyncGate()
        let occupancy = Occupancy()
        // A third without a limit, a third with one too short to wait out the others, a third with one long
        // enough to outlast them all (40 holds of 8 ms at most), however slowly a loaded machine runs them.
        let callers = (0..<40).map { _ in
            let hold = Duration.milliseconds(Int.random(in: 0...8, using: &random))
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return (hold: hold, limit: Duration?.none)
            case 1: return (hold: hold, limit: Duration.milliseconds(Int.random(in: 1...20, using: &random)))
            default: return (hold: hold, limit: Duration.seconds(30))
            }
        }
        // The gate held for 300 ms first, so the callers queue behind it and the short limits run out.
        let (entered, inside) = AsyncStream.makeStream(of: Void.self)
        let blocker = Task {
            try await gate.run {
                inside.yield()
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        for await _ in entered { break }
        let outcomes = await withTaskGroup(of: (ran: Bool, waited: Duration, limit: Duration?).self) { group in
            for caller in callers {
                group.addTask {
                    let started = ContinuousClock.now
                    let body = { () async throws -> Duration in
                        let waited = ContinuousClock.now - started
                        occupancy.enter()
                        try await Task.sleep(for: caller.hold)
                        occupancy.leave()
                        return waited
                    }
                    do {
                        let waited =
                            if let limit = caller.limit {
                                try await gate.run(within: limit, body)
                            } else {
                                try await gate.run(body)
                            }
                        return (true, waited, caller.limit)
                    } catch {
                        #expect(error is AsyncGate.TimedOut)
                        return (false, ContinuousClock.now - started, caller.limit)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        try await blocker.value
        #expect(occupancy.overlaps == 0)
        #expect(outcomes.count == callers.count)
        for outcome in outcomes where !outcome.ran {
            let limit = try #require(outcome.limit, "a caller without a limit gave up")
            // Gave up at its limit: not before, nor long after (a loaded machine delays the timer a little).
            #expect(outcome.waited >= limit && outcome.waited < limit + .seconds(5))
        }
        #expect(outcomes.contains { !$0.ran }, "no caller gave up: the limits were not exercised")
        #expect(outcomes.contains { $0.ran && $0.limit != nil }, "no caller with a limit ran")
    }
}

/// Counts the callers inside the gate, and the times a second one came in.
private final class Occupancy: Sendable {
    private let state = Mutex((inside: 0, overlaps: 0))

    func enter() {
        state.withLock { state in
            state.inside += 1
            if state.inside > 1 { state.overlaps += 1 }
        }
    }

    func leave() { state.withLock { $0.inside -= 1 } }

    var overlaps: Int { state.withLock { $0.overlaps } }
}
