import SENSClient
import SENSCore
import Synchronization

/// Caps the SENS calls under way at once. Calls beyond the cap wait in a short queue, and calls beyond the queue
/// are refused at once with `.overloaded` instead of piling up.
public final class Bulkhead: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    public let maxConcurrent: Int
    public let maxQueued: Int
    private let state = Mutex(State())

    public init(maxConcurrent: Int, maxQueued: Int) {
        precondition(maxConcurrent >= 1 && maxQueued >= 0)
        self.maxConcurrent = maxConcurrent
        self.maxQueued = maxQueued
    }

    public var running: Int { state.withLock { $0.running } }

    func run<Value>(_ operation: () async throws(SENSError) -> Value) async throws(SENSError) -> Value {
        try await acquire()
        defer { release() }
        return try await operation()
    }

    private func acquire() async throws(SENSError) {
        enum Admission { case now, queued, refused }
        // The continuation is registered under the same lock that decides, so a release cannot slip in between.
        var admission = Admission.now
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            admission = state.withLock { state in
                if state.running < maxConcurrent {
                    state.running += 1
                    return .now
                }
                guard state.waiting.count < maxQueued else { return .refused }
                state.waiting.append(continuation)
                return .queued
            }
            if admission != .queued { continuation.resume() }
        }
        if admission == .refused { throw .overloaded }
    }

    /// Hands the slot to the first waiter, if any; otherwise frees it.
    private func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
