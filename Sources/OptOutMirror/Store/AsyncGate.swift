import Synchronization

/// Lets one task at a time through, in arrival order, across suspension points: a store's transaction runs its
/// statements one after another on one connection, and an actor alone would let another call in at each `await`.
final class AsyncGate: Sendable {
    private struct State {
        var busy = false
        var waiting: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID = 0
        /// The timers of the waiters with a limit, cancelled when their turn comes first.
        var timers: [Int: Task<Void, Never>] = [:]
    }

    /// A caller that gave up waiting for its turn.
    struct TimedOut: Error, CustomStringConvertible {
        let limit: Duration
        var description: String {
            "the store's writes before it did not end within \(limit)"
        }
    }

    private let state = Mutex(State())

    init() {}

    func run<T>(_ body: () async throws -> T) async throws -> T {
        _ = await enter(within: nil)
        defer { leave() }
        return try await body()
    }

    /// `run`, giving up (`TimedOut`) when the turn has not come within `limit`.
    func run<T>(within limit: Duration, _ body: () async throws -> T) async throws -> T {
        guard await enter(within: limit) else { throw TimedOut(limit: limit) }
        defer { leave() }
        return try await body()
    }

    /// Waits for the turn; false when `limit` passed first (the caller is then no longer waiting).
    private func enter(within limit: Duration?) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id = state.withLock { state -> Int? in
                if state.busy {
                    state.nextID += 1
                    state.waiting.append((state.nextID, continuation))
                    return state.nextID
                }
                state.busy = true
                return nil
            }
            guard let id else { return continuation.resume(returning: true) }
            guard let limit else { return }
            let timer = Task {
                guard (try? await Task.sleep(for: limit)) != nil else { return }
                let expired = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    state.timers[id] = nil
                    guard let position = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiting.remove(at: position).continuation
                }
                expired?.resume(returning: false)
            }
            // Kept unless the turn came (or the timer fired) already.
            state.withLock { state in
                if state.waiting.contains(where: { $0.id == id }) { state.timers[id] = timer } else { timer.cancel() }
            }
        }
    }

    private func leave() {
        let next = state.withLock { state -> (CheckedContinuation<Bool, Never>, Task<Void, Never>?)? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            let next = state.waiting.removeFirst()
            return (next.continuation, state.timers.removeValue(forKey: next.id))
        }
        next?.1?.cancel()
        next?.0.resume(returning: true)
    }
}
