import Synchronization

/// One write at a time per number within a replica: "call SENS, record the outcome" for a number never overlaps
/// another such write of it here, so the mirror records this replica's writes in the order SENS applied them.
/// A write takes the locks of all its numbers in ascending order, so two writes never wait for each other in a circle.
final class NumberLocks: Sendable {
    /// The numbers held, each with the writes waiting for it, in arrival order.
    private let held = Mutex<[PhoneKey: [CheckedContinuation<Void, Never>]]>([:])

    init() {}

    func withLocks<T: Sendable>(_ keys: [PhoneKey], _ body: () async -> T) async -> T {
        let sorted = Array(Set(keys)).sorted()
        for key in sorted { await acquire(key) }
        defer { for key in sorted { release(key) } }
        return await body()
    }

    private func acquire(_ key: PhoneKey) async {
        let free = held.withLock { held in
            guard held[key] == nil else { return false }
            held[key] = []
            return true
        }
        if free { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let nowFree = held.withLock { held in
                guard held[key] != nil else {
                    held[key] = []
                    return true
                }
                held[key]!.append(continuation)
                return false
            }
            if nowFree { continuation.resume() }
        }
    }

    /// Hands the number to the first waiting write, or frees it.
    private func release(_ key: PhoneKey) {
        let next = held.withLock { held -> CheckedContinuation<Void, Never>? in
            guard var waiting = held[key], !waiting.isEmpty else {
                held[key] = nil
                return nil
            }
            let first = waiting.removeFirst()
            held[key] = waiting
            return first
        }
        next?.resume()
    }
}
