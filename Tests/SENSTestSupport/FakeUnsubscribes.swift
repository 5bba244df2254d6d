import SENSClient
import SENSCore
import Synchronization

// Fakes of the SENS client's protocols, one per protocol behaviour a test needs.

/// A SENS client that succeeds, except on the calls it is told to fail (counted from 1).
public final class ScriptedUnsubscribes: SENSUnsubscribes {
    private let count = Mutex(0)
    let failures: [Int: SENSError]

    public init(failing failures: [Int: SENSError]) {
        self.failures = failures
    }

    public convenience init(failOnCall call: Int, with error: SENSError) {
        self.init(failing: [call: error])
    }

    public var calls: Int { count.withLock { $0 } }

    private func next() throws(SENSError) {
        let call = count.withLock { value -> Int in
            value += 1
            return value
        }
        if let error = failures[call] { throw error }
    }

    public func register(_ targets: SENSTargets) async throws(SENSError) -> [SENSRecord] {
        try next()
        return targets.numbers.map {
            SENSRecord(phoneNumber: $0, source: .manual, registeredAtMilliseconds: 1_764_119_519_271)
        }
    }

    public func list(_ query: SENSListQuery) async throws(SENSError) -> [SENSRecord] {
        try next()
        return []
    }

    public func delete(_ targets: SENSTargets) async throws(SENSError) {
        try next()
    }
}

/// A SENS client whose list calls wait until the test releases them; register echoes what it is sent.
public final class GatedUnsubscribes: SENSUnsubscribes {
    private struct State {
        var listCalls = 0
        var released = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var arrivals: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    public var listCalls: Int { state.withLock { $0.listCalls } }

    public func waitForListCall() async throws {
        await withCheckedContinuation { continuation in
            let arrived = state.withLock { state -> Bool in
                if state.listCalls > 0 { return true }
                state.arrivals.append(continuation)
                return false
            }
            if arrived { continuation.resume() }
        }
    }

    public func releaseList() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public func list(_ query: SENSListQuery) async throws(SENSError) -> [SENSRecord] {
        await withCheckedContinuation { continuation in
            let (proceed, arrivals) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                state.listCalls += 1
                defer { state.arrivals = [] }
                if state.released { return (true, state.arrivals) }
                state.waiters.append(continuation)
                return (false, state.arrivals)
            }
            for arrival in arrivals { arrival.resume() }
            if proceed { continuation.resume() }
        }
        return []
    }

    public func register(_ targets: SENSTargets) async throws(SENSError) -> [SENSRecord] {
        targets.numbers.map {
            SENSRecord(phoneNumber: $0, source: .manual, registeredAtMilliseconds: 1_764_119_519_271)
        }
    }

    public func delete(_ targets: SENSTargets) async throws(SENSError) {}
}
