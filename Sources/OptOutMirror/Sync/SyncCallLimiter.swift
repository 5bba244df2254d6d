import OptOuts
import Synchronization

/// Bounds one mirror's SENS calls (its full passes, syncs, verification and doubt lookups): at most `maximum` at
/// once. When SENS throttles (429), the bound halves and every call waits out `Retry-After` (1 s when SENS gives
/// none) before the throttled call is made again: a pass slows down, it never fails for it. The bound grows back by
/// one after as many calls in a row succeed as the bound is wide. A call that fails for a passing reason (SENS
/// unavailable or failing, no answer in time) is made again up to `retries` times, after `retryDelay` doubling: a
/// pass of many concurrent calls would otherwise rarely get through a SENS that fails now and then.
final class SyncCallLimiter: Sendable {
    private struct State {
        var limit: Int
        var running = 0
        var successesInRow = 0
        var resumeAt: ContinuousClock.Instant?
        var waiting: [CheckedContinuation<Void, Never>] = []
        var throttles = 0
    }

    let maximum: Int
    let retries: Int
    let retryDelay: Duration
    private let state: Mutex<State>

    init(maximum: Int, retries: Int = 3, retryDelay: Duration = .milliseconds(100)) {
        precondition(maximum >= 1 && retries >= 0)
        self.maximum = maximum
        self.retries = retries
        self.retryDelay = retryDelay
        self.state = Mutex(State(limit: maximum))
    }

    /// The bound now, and how many times SENS throttled these calls.
    var limit: Int { state.withLock { $0.limit } }
    var throttles: Int { state.withLock { $0.throttles } }

    /// Makes `call`, again after a wait each time SENS throttles it; other failures are thrown.
    func call<T>(_ call: () async throws(OptOutError) -> T) async throws(OptOutError) -> T {
        var failures = 0
        while true {
            try await acquire()
            do {
                let value = try await call()
                release(succeeded: true)
                return value
            } catch  where error.kind == .throttled {
                let wait = throttled(retryAfterSeconds: error.retryAfterSeconds)
                release(succeeded: false)
                do { try await Task.sleep(for: wait) } catch { throw OptOutError(.unavailable, "the sync was stopped") }
            } catch  where [.unavailable, .failed, .timedOut].contains(error.kind) && failures < retries {
                release(succeeded: false)
                failures += 1
                do { try await Task.sleep(for: retryDelay * (1 << (failures - 1))) } catch {
                    throw OptOutError(.unavailable, "the sync was stopped")
                }
            } catch {
                release(succeeded: false)
                throw error
            }
        }
    }

    private func acquire() async throws(OptOutError) {
        while true {
            if Task.isCancelled { throw OptOutError(.unavailable, "the sync was stopped") }
            let resumeAt = state.withLock { $0.resumeAt }
            if let resumeAt, resumeAt > .now {
                do { try await Task.sleep(until: resumeAt) } catch {
                    throw OptOutError(.unavailable, "the sync was stopped")
                }
                continue
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let admitted = state.withLock { state in
                    if state.running < state.limit {
                        state.running += 1
                        return true
                    }
                    state.waiting.append(continuation)
                    return false
                }
                if admitted { continuation.resume() }
            }
            // Admitted while SENS's Retry-After runs (woken by a call that ended): give the place back and wait it out.
            guard let resumeAt = state.withLock({ $0.resumeAt }), resumeAt > .now else { return }
            release(succeeded: false)
        }
    }

    private func release(succeeded: Bool) {
        let next = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            if succeeded {
                state.successesInRow += 1
                if state.successesInRow >= state.limit, state.limit < maximum {
                    state.limit += 1
                    state.successesInRow = 0
                }
            }
            // Hand the free places to waiting calls (a place counts as taken once handed over).
            var woken: [CheckedContinuation<Void, Never>] = []
            while state.running < state.limit, !state.waiting.isEmpty {
                state.running += 1
                woken.append(state.waiting.removeFirst())
            }
            return woken
        }
        for continuation in next { continuation.resume() }
    }

    /// Halves the bound and sets when calls may go again; returns how long the throttled call waits.
    private func throttled(retryAfterSeconds: Int?) -> Duration {
        let wait = Duration.seconds(max(1, min(retryAfterSeconds ?? 1, 60)))
        state.withLock { state in
            state.throttles += 1
            state.limit = max(1, state.limit / 2)
            state.successesInRow = 0
            let until = ContinuousClock.now + wait
            state.resumeAt = max(state.resumeAt ?? until, until)
        }
        return wait
    }
}
