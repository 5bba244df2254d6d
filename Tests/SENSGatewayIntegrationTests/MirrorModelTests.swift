import GatewayAPI
import HTTPTypes
import SENSCore
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

@testable import OptOutMirror

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The mirror held to its model, SENS (the simulator's own list, read without the gateway), through a seeded
/// random sequence of steps: gateway registers and removes (some of them two opposite writes of one number at
/// once, through one replica or two), records added behind the gateway's back with any past registration time
/// and in other digit forms, removals behind its back, SENS faults and throttling, restarts, and waits for a
/// verification pass. After every step:
/// 1. a ready mirror never answers "not opted out", to a check or in a filter, for a number SENS has listed since
///    before the last completed verification pass started;
/// 2. after a completed verification pass with no step in between, the mirror holds exactly what SENS lists: the
///    same numbers (records in other forms counted for their national number), each with SENS's registration time
///    and source;
/// 3. right after a step that wrote through the gateway (once the other replica has had time to follow the store),
///    no replica answers "not opted out" for a number the step wrote that SENS lists, whatever order the writes
///    reached SENS in, unless a change made behind the gateway's back is still waiting for a verification pass:
///    writes are recorded in the order SENS applied them, or the number is held in doubt. The verification interval
///    is longer than that wait, so the verification does not hide a wrongly ordered write.
/// On SQLite with one replica, and on a shared PostgreSQL store with two. `MIRROR_MODEL_SEED` and
/// `MIRROR_MODEL_STEPS` choose another run (README, "The mirror's model test"); a failure names its seed and step.
@Suite("Mirror against its model", .serialized)
struct MirrorModelTests {
    static let steps = ProcessInfo.processInfo.environment["MIRROR_MODEL_STEPS"].flatMap(Int.init) ?? 45
    static let seeds: [UInt64] =
        ProcessInfo.processInfo.environment["MIRROR_MODEL_SEED"].flatMap(UInt64.init).map { [$0] } ?? [20_261_204]

    /// Verifies every 2 s in buckets of 40 records, so that a pass has several buckets and most steps have one.
    static let settings: MirrorSettings = {
        var settings = MirrorHarness.fast
        settings.verifyBucketRecords = 40
        settings.verifyInterval = .seconds(2)
        settings.reconcileInterval = .seconds(3_600)
        return settings
    }()

    @Test(arguments: StoreKind.allCases)
    func theMirrorMatchesSENSAfterEveryVerificationAndNeverVouchesAgainstIt(kind: StoreKind) async throws {
        for seed in Self.seeds {
            try await run(seed: seed, kind: kind)
        }
    }

    /// Opposite writes of the same numbers at the same moment, many at once, through one replica (SQLite) or two
    /// (PostgreSQL), with SENS slow enough that they overlap: however SENS ordered each pair, no replica then
    /// answers "not opted out" for a number SENS lists, and once the numbers in doubt are settled the mirror
    /// agrees with SENS on every one.
    @Test(arguments: StoreKind.allCases)
    func oppositeWritesAtOnceNeverLeaveAWrongNotOptedOut(kind: StoreKind) async throws {
        // Syncs and verification far apart, as in production: neither may be what sets a wrongly ordered write right.
        var settings = Self.settings
        settings.syncInterval = .seconds(30)
        settings.verifyInterval = .seconds(60)
        settings.maxStalenessMilliseconds = 120_000
        let numbers = (0..<200).map { "0107666" + String(1_000 + $0).suffix(4) }
        try await StoreLocation.with(kind) { location in
            try await MirrorHarness(settings: settings, store: kind).withSimulator { session in
                try await session.seed(count: 100, prefix: "0105")
                try await session.withGateway(store: location) { first in
                    // Two gateways on one SQLite file cannot be: there, both writes go through the one replica.
                    guard kind == .postgres else {
                        return try await Self.writeOpposites(numbers, session: session, replicas: [first, first])
                    }
                    try await session.withGateway(store: location) { second in
                        try await Self.writeOpposites(numbers, session: session, replicas: [first, second])
                    }
                }
            }
        }
    }

    static func writeOpposites(_ numbers: [String], session: SimulatorSession, replicas: [GatewayClient]) async throws {
        for replica in replicas { try await replica.waitForMirror(seconds: 60) }
        // Answers that overtake each other: the order the writes are answered in is not the order SENS applied them.
        session.simulator.faults.settings = FaultSettings(latencyMilliseconds: 3, answerJitterMilliseconds: 15)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (position, number) in numbers.enumerated() {
                let (registering, removing) =
                    position % 2 == 0 ? (replicas[0], replicas[1]) : (replicas[1], replicas[0])
                group.addTask {
                    _ = try await registering.send(.post, "/v1/unsubscribes", json: #"{"phoneNumbers":["\#(number)"]}"#)
                }
                group.addTask {
                    _ = try await removing.send(.delete, "/v1/unsubscribes", json: #"{"phoneNumbers":["\#(number)"]}"#)
                }
                if position % 8 == 7 { try await group.waitForAll() }
            }
            try await group.waitForAll()
        }
        session.simulator.faults.settings = .none
        let listed = Set(numbers.filter { session.simulator.store.contains($0) })
        #expect(
            !listed.isEmpty && listed.count < numbers.count,
            "both orders happened: \(listed.count) of \(numbers.count) listed"
        )
        // The other replica follows the shared store within its poll interval.
        try await Task.sleep(for: .milliseconds(700))
        let distinct = replicas.indices.filter { $0 == 0 || replicas[$0].port != replicas[0].port }.map { replicas[$0] }
        for replica in distinct {
            let result = try await replica.filter(numbers.joined(separator: "\n"), contentType: "text/plain")
                .decodeGenerated(Components.Schemas.FilterResult.self)
            let held = Set(result.optedOut.map(\.phoneNumber)).union(result.unverified.map(\.phoneNumber))
            #expect(
                listed.subtracting(held).isEmpty,
                "let through though SENS lists them: \(listed.subtracting(held).sorted())"
            )
        }
        // Once no replica holds a number in doubt (and the others have followed), the mirror is SENS's list exactly.
        for replica in distinct { try await replica.waitForMirror(seconds: 30) { $0.inDoubt == 0 } }
        try await Task.sleep(for: .milliseconds(700))
        for replica in distinct {
            let settled = try await replica.filter(numbers.joined(separator: "\n"), contentType: "text/plain")
                .decodeGenerated(Components.Schemas.FilterResult.self)
            let optedOut = Set(settled.optedOut.map(\.phoneNumber))
            #expect(
                optedOut == listed,
                "mirror-only \(optedOut.subtracting(listed).sorted()), SENS-only \(listed.subtracting(optedOut).sorted())"
            )
        }
    }

    func run(seed: UInt64, kind: StoreKind) async throws {
        let model = ModelRun(seed: seed, kind: kind)
        try await StoreLocation.with(kind) { location in
            try await MirrorHarness(settings: Self.settings, store: kind).withSimulator { session in
                try await session.seed(count: 300, prefix: "0105")
                let phases = 3
                for phase in 0..<phases {
                    let count = Self.steps / phases + (phase < Self.steps % phases ? 1 : 0)
                    try await session.withGateway(store: location) { first in
                        guard kind == .postgres else {
                            return try await model.phase(count, session: session, replicas: [first])
                        }
                        try await session.withGateway(store: location) { second in
                            try await model.phase(count, session: session, replicas: [first, second])
                        }
                    }
                    // Faults do not outlive a phase: the next one starts (restarts) against a working SENS.
                    session.simulator.faults.settings = .none
                }
            }
        }
        let summary = model.summary
        #expect(summary.waits > 0 && summary.safetyChecks > 0 && summary.writeChecks > 0, "\(summary)")
    }
}

/// One run of the model test: its random steps and what it has seen of SENS.
final class ModelRun: Sendable {
    struct State {
        var random: SeededGenerator
        var step = 0
        /// When the test first saw each national number listed in SENS (in any form), since it has been listed.
        var listedSince: [String: Int64] = [:]
        var lastStepEndedAt: Int64 = 0
        var waits = 0
        var safetyChecks = 0
        var writeChecks = 0
        /// National numbers changed behind the gateway's back, and when: until a verification pass that started
        /// after it completes, the mirror may not know of it.
        var outsideChanges: [String: Int64] = [:]
    }

    let seed: UInt64
    let kind: StoreKind
    let state: Mutex<State>
    /// The numbers the steps write and check: few, so that steps meet on the same numbers.
    static let universe = (0..<48).map { index in
        let suffix = String(index * 37)
        return "0107777" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }

    init(seed: UInt64, kind: StoreKind) {
        self.seed = seed
        self.kind = kind
        self.state = Mutex(State(random: SeededGenerator(seed: seed)))
    }

    var summary: (waits: Int, safetyChecks: Int, writeChecks: Int) {
        state.withLock { ($0.waits, $0.safetyChecks, $0.writeChecks) }
    }

    private func random<T: Sendable>(_ body: (inout SeededGenerator) -> T) -> T { state.withLock { body(&$0.random) } }

    private var context: String { "seed \(seed), \(kind), step \(state.withLock { $0.step })" }

    func phase(_ steps: Int, session: SimulatorSession, replicas: [GatewayClient]) async throws {
        for replica in replicas { try await replica.waitForMirror(seconds: 60) }
        for _ in 0..<steps {
            let step = state.withLock { state in
                state.step += 1
                return Int.random(in: 0..<100, using: &state.random)
            }
            let written = try await take(step, session: session, replicas: replicas)
            state.withLock { $0.lastStepEndedAt = SystemEpochClock().nowMilliseconds() }
            if !written.isEmpty { try await checkWrites(written, session: session, replicas: replicas) }
            try await checkSafety(session: session, replicas: replicas)
        }
        // Every phase ends with a settled mirror, so a restart starts from one that was checked.
        session.simulator.faults.settings = .none
        try await waitAndCompare(session: session, replicas: replicas)
    }

    // MARK: Steps

    /// Takes one step; returns the numbers it wrote through the gateway.
    private func take(_ step: Int, session: SimulatorSession, replicas: [GatewayClient]) async throws -> Set<String> {
        let store = session.simulator.store
        let now = SystemEpochClock().nowMilliseconds()
        let number = random { Self.universe.randomElement(using: &$0)! }
        let replica = random { replicas.randomElement(using: &$0)! }
        switch step {
        case 0..<18:
            let numbers = random { generator in
                (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                    Self.universe.randomElement(using: &generator)!
                }
            }
            _ = try await replica.send(.post, "/v1/unsubscribes", json: Self.body(numbers))
            return Set(numbers)
        case 18..<32:
            let numbers = random { generator in
                (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                    Self.universe.randomElement(using: &generator)!
                }
            }
            _ = try await replica.send(.delete, "/v1/unsubscribes", json: Self.body(numbers))
            return Set(numbers)
        case 32..<44:
            // Two opposite writes of one number at once, through two replicas where there are two, with SENS slow
            // enough that they overlap.
            let other = random { replicas.randomElement(using: &$0)! }
            let (latency, jitter) = (
                session.simulator.faults.settings.latencyMilliseconds,
                session.simulator.faults.settings.answerJitterMilliseconds
            )
            session.simulator.faults.settings.latencyMilliseconds = max(latency, 3)
            session.simulator.faults.settings.answerJitterMilliseconds = 15
            async let register = replica.send(.post, "/v1/unsubscribes", json: Self.body([number]))
            async let remove = other.send(.delete, "/v1/unsubscribes", json: Self.body([number]))
            _ = try await (register, remove)
            session.simulator.faults.settings.latencyMilliseconds = latency
            session.simulator.faults.settings.answerJitterMilliseconds = jitter
            return [number]
        case 44..<58:
            // Added behind the gateway's back, registered at any time in the last 60 days (an ARS batch, a console
            // upload, a late stamp).
            let age = random { Int64.random(in: 0...(60 * 86_400_000), using: &$0) }
            store.seed([
                StoredUnsubscribe(
                    clientTelNo: number,
                    registerType: random { Bool.random(using: &$0) } ? .ars : .manual,
                    registeredAtMilliseconds: now - age
                )
            ])
            changedOutside(number)
        case 58..<66:
            // Added in another digit form, as other tools register it.
            let national = number.dropFirst()
            let form = random { ["82" + national, String(national), "0082" + national].randomElement(using: &$0)! }
            let age = random { Int64.random(in: 0...(40 * 86_400_000), using: &$0) }
            store.seed([StoredUnsubscribe(clientTelNo: form, registerType: .ars, registeredAtMilliseconds: now - age)])
            changedOutside(number)
        case 66..<76:
            // Removed behind the gateway's back (the console), in whatever form SENS holds it.
            let listed = store.all
            if let record = random({ listed.randomElement(using: &$0) }) {
                store.delete([record.clientTelNo])
                changedOutside(NationalNumber.of(sensDigits: record.clientTelNo)?.digits ?? record.clientTelNo)
            }
        case 76..<82:
            let faults = random { generator in
                FaultSettings(
                    failureRate: Double.random(in: 0.05...0.3, using: &generator),
                    dropRate: 0.03,
                    truncateRate: 0.03
                )
            }
            session.simulator.faults.settings = random { Bool.random(using: &$0) } ? faults : .none
        case 82..<86:
            session.simulator.faults.settings = FaultSettings(throttleRate: 0.3, retryAfterSeconds: 1)
        case 86..<90:
            session.simulator.faults.settings = .none
        default:
            session.simulator.faults.settings = .none
            try await waitAndCompare(session: session, replicas: replicas)
        }
        return []
    }

    private func changedOutside(_ national: String) {
        let now = SystemEpochClock().nowMilliseconds()
        state.withLock { $0.outsideChanges[national] = now }
    }

    private static func body(_ numbers: [String]) -> String {
        #"{"phoneNumbers":["# + numbers.map { #""\#($0)""# }.joined(separator: ",") + "]}"
    }

    // MARK: The model

    /// SENS's list now, by national number: each number's records (digits, time, type), and the raw count.
    private func oracle(_ session: SimulatorSession) -> (byNational: [String: [StoredUnsubscribe]], count: Int) {
        let all = session.simulator.store.all
        var byNational: [String: [StoredUnsubscribe]] = [:]
        for record in all {
            let national = NationalNumber.of(sensDigits: record.clientTelNo)?.digits ?? record.clientTelNo
            byNational[national, default: []].append(record)
        }
        let now = SystemEpochClock().nowMilliseconds()
        state.withLock { state in
            state.listedSince = state.listedSince.filter { byNational[$0.key] != nil }
            for national in byNational.keys where state.listedSince[national] == nil {
                state.listedSince[national] = now
            }
        }
        return (byNational, all.count)
    }

    /// Invariant 1 on every replica: no "not opted out" for a number listed since before the last completed pass.
    private func checkSafety(session: SimulatorSession, replicas: [GatewayClient]) async throws {
        _ = oracle(session)
        for replica in replicas {
            let status = try await replica.mirrorStatus()
            guard let verified = status.verification?.lastCompletedAt.map({ Int64($0.timeIntervalSince1970 * 1000) })
            else { continue }
            let mustBeOptedOut = state.withLock { state in Set(state.listedSince.filter { $0.value < verified }.keys) }
            let filtered = try await replica.filter(Self.universe.joined(separator: "\n"), contentType: "text/plain")
            if filtered.status == 200 {
                let result = try filtered.decodeGenerated(Components.Schemas.FilterResult.self)
                let held = Set(result.optedOut.map(\.phoneNumber)).union(result.unverified.map(\.phoneNumber))
                let missing = mustBeOptedOut.intersection(Self.universe).subtracting(held)
                #expect(
                    missing.isEmpty,
                    "\(context): the filter let through numbers SENS listed before the last verification: \(missing.sorted())"
                )
            } else {
                #expect(filtered.status == 503, "\(context): the filter answered \(filtered.status): \(filtered.body)")
            }
            for number in random({ generator in (0..<4).map { _ in Self.universe.randomElement(using: &generator)! } })
            where mustBeOptedOut.contains(number) {
                let answer = try await replica.get("/v1/unsubscribes/\(number)")
                guard answer.status == 200 else { continue }
                let optedOut = try answer.decodeGenerated(Components.Schemas.OptOutStatus.self).optedOut
                #expect(
                    optedOut,
                    "\(context): a check of \(number) answered not opted out (X-Cache \(answer.headers[.init("X-Cache")!] ?? "-"))"
                )
            }
            state.withLock { $0.safetyChecks += 1 }
        }
    }

    /// Invariant 3: the numbers a step wrote through the gateway, as SENS lists them now, on every replica.
    private func checkWrites(_ written: Set<String>, session: SimulatorSession, replicas: [GatewayClient]) async throws
    {
        let (expected, _) = oracle(session)
        // The other replica follows the shared store every 500 ms, and at once when notified.
        if replicas.count > 1 { try await Task.sleep(for: .milliseconds(700)) }
        for replica in replicas {
            let verified =
                try await replica.mirrorStatus().verification?.lastCompletedAt.map {
                    Int64($0.timeIntervalSince1970 * 1000)
                } ?? 0
            let settled = state.withLock { state in
                written.filter { number in state.outsideChanges[number].map { $0 < verified } ?? true }
            }
            let listed = settled.filter { expected[$0] != nil }
            guard !listed.isEmpty else { continue }
            let filtered = try await replica.filter(listed.sorted().joined(separator: "\n"), contentType: "text/plain")
            guard filtered.status == 200 else { continue }
            let result = try filtered.decodeGenerated(Components.Schemas.FilterResult.self)
            let held = Set(result.optedOut.map(\.phoneNumber)).union(result.unverified.map(\.phoneNumber))
            #expect(
                listed.subtracting(held).isEmpty,
                "\(context): after a write, the mirror lets through \(listed.subtracting(held).sorted()), which SENS lists"
            )
            state.withLock { $0.writeChecks += 1 }
        }
    }

    /// Waits for a verification pass that started after the last step on every replica, with no number in doubt,
    /// then holds invariant 2: the mirror is SENS's list.
    private func waitAndCompare(session: SimulatorSession, replicas: [GatewayClient]) async throws {
        let after = state.withLock { $0.lastStepEndedAt }
        for replica in replicas {
            try await replica.waitForMirror(seconds: 60) { status in
                (status.inDoubt ?? 0) == 0
                    && (status.verification?.lastCompletedAt.map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0)
                        > after
            }
        }
        let (expected, count) = oracle(session)
        for replica in replicas {
            let status = try await replica.mirrorStatus()
            #expect(status.records == count, "\(context): the mirror holds \(status.records) records, SENS \(count)")
            let filtered = try await replica.filter(Self.universe.joined(separator: "\n"), contentType: "text/plain")
            #expect(filtered.status == 200, "\(context): \(filtered.body)")
            guard filtered.status == 200 else { continue }
            let result = try filtered.decodeGenerated(Components.Schemas.FilterResult.self)
            #expect(result.unverified.isEmpty, "\(context)")
            let optedOut = Set(result.optedOut.map(\.phoneNumber))
            let listed = Set(expected.keys).intersection(Self.universe)
            #expect(
                optedOut == listed,
                "\(context): mirror-only \(optedOut.subtracting(listed).sorted()), SENS-only \(listed.subtracting(optedOut).sorted())"
            )
            for item in result.optedOut {
                guard let records = expected[item.phoneNumber], records.count == 1, let record = records.first else {
                    continue
                }
                #expect(
                    Int64((item.registeredAt.timeIntervalSince1970 * 1000).rounded())
                        == record.registeredAtMilliseconds,
                    "\(context): \(item.phoneNumber)'s registration time"
                )
                #expect(
                    item.source.rawValue == (record.registerType == .ars ? "ars" : "manual"),
                    "\(context): \(item.phoneNumber)'s source"
                )
            }
        }
        state.withLock { $0.waits += 1 }
    }
}
