import AsyncHTTPClient
import Foundation
import GatewayAPI
import HTTPTypes
import Logging
import PostgresNIO
import SENSClient
import SENSCore
import SENSSimulator
import SENSTestSupport
import Synchronization
import Testing

@testable import OptOutMirror

/// Gateway processes that share one mirror on PostgreSQL, with the simulator as SENS: one of them syncs each
/// service, and what any of them writes is answered by all.
@Suite("Replicas sharing a mirror", .serialized)
struct SharedMirrorTests {
    static let services = ["alpha": SimulatorConfiguration.defaultServiceID, "beta": "ncp:sms:kr:123456789012:beta"]

    /// Two services of 2,000 opt-outs each (`0105…` and `0106…`), a new database, and an HTTP client for the replicas.
    func withCluster(_ body: @escaping @Sendable (Cluster) async throws -> Void) async throws {
        let configuration = SimulatorConfiguration(serviceIDs: [Self.services["alpha"]!, Self.services["beta"]!])
        try await MirrorHarness(simulator: configuration).withSimulator { session in
            try await session.seed(count: 2_000, prefix: "0105")
            let seeded = try await session.client.send(
                .post,
                "/_simulator/unsubscribes?serviceId=\(Self.services["beta"]!)",
                json: #"{"count":2000,"prefix":"0106"}"#
            )
            #expect(seeded.status == 200)
            try await TestPostgres.withDatabase { database in
                let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
                do {
                    try await body(Cluster(session: session, database: database, http: http))
                } catch {
                    try? await http.shutdown()
                    throw error
                }
                try await http.shutdown()
            }
        }
    }

    struct Cluster: Sendable {
        let session: SimulatorSession
        let database: PostgresStoreSettings
        let http: HTTPClient

        /// A replica: the gateway process on the shared database (through `databasePort` when given: a proxy).
        func start(databasePort: Int? = nil, environment extra: [String: String] = [:]) throws -> GatewayProcess {
            try GatewayProcess(
                [],
                environment: [
                    "SENS_ACCESS_KEY": SimulatorConfiguration.defaultAccessKey,
                    "SENS_SECRET_KEY": SimulatorConfiguration.defaultSecretKey,
                    "SENS_SERVICES":
                        "alpha=\(SharedMirrorTests.services["alpha"]!),beta=\(SharedMirrorTests.services["beta"]!)",
                    "SENS_BASE_URL": session.baseURL.text, "HTTP_PORT": "0",
                    "MIRROR_DATABASE_URL": TestPostgres.url(database, port: databasePort),
                    "MIRROR_SYNC_INTERVAL_SECONDS": "1", "MIRROR_MAX_STALENESS_SECONDS": "5",
                    "MIRROR_VERIFY_INTERVAL_SECONDS": "1",
                ].merging(extra) { $1 }
            )
        }

        func client(_ process: GatewayProcess) async throws -> GatewayClient {
            GatewayClient(port: try await process.listeningPort(), http: http)
        }
    }

    @Test func replicasStartingAtOnceShareOneSyncerAndAnswerEachOthersWrites() async throws {
        try await withCluster { cluster in
            let processes = try [cluster.start(), cluster.start()]
            let (a, b) = (try await cluster.client(processes[0]), try await cluster.client(processes[1]))
            // Both come up on the empty database, migrating it at once.
            for replica in [a, b] {
                for service in ["alpha", "beta"] {
                    try await replica.waitForMirror(service: service, seconds: 60) { $0.records == 2_000 }
                }
            }
            // Exactly one syncs each service: it alone has sync attempts of its own.
            for service in ["alpha", "beta"] {
                let statuses = [try await a.mirrorStatus(service), try await b.mirrorStatus(service)]
                #expect(statuses.allSatisfy { $0.store == .shared })
                #expect(statuses.count { $0.syncsHere == true } == 1, "\(statuses)")
                #expect(statuses.count { $0.lastSyncOutcome != nil } == 1)
            }
            // SENS calls prove it: about one incremental sync and one verification probe a second per service (their
            // 2,000 records are one bucket), not two of each.
            cluster.session.simulator.stats.reset()
            try await Task.sleep(for: .seconds(6))
            let calls = cluster.session.simulator.stats.snapshot.listCalls
            #expect(
                (12...32).contains(calls),
                "\(calls) list calls in 6 s for 2 services syncing and verifying every second"
            )

            // A register through A is opted out in B's check, filter and feed within 2 seconds.
            let registered = try await a.post("/v1/services/alpha/unsubscribes", phoneNumbers: ["010-7777-0001"])
            #expect(registered.status == 200)
            let started = ContinuousClock.now
            try await waitUntil(seconds: 2) {
                let check = try await b.get("/v1/services/alpha/unsubscribes/01077770001")
                return check.headers[.init("X-Cache")!] == "MIRROR" && check.body.contains(#""optedOut":true"#)
            }
            #expect(ContinuousClock.now - started < .seconds(2))
            let filtered = try await b.send(
                .post,
                "/v1/services/alpha/unsubscribes/filter",
                json: #"{"phoneNumbers":["01077770001","01077770002"]}"#
            )
            #expect(filtered.status == 200)
            let result = try filtered.decodeGenerated(Components.Schemas.FilterResult.self)
            #expect(result.checked == 2)
            #expect(result.optedOut.map(\.phoneNumber) == ["01077770001"])
            let feed = try await b.allChanges(service: "alpha")
            #expect(feed.changes.count == 2_001)
            #expect(feed.changes.last?.phoneNumber == "01077770001")
            // The cursors are the same on every replica: B's cursor continues on A.
            #expect(
                try await a.allChanges(service: "alpha", after: feed.changes[1_999].cursor).changes.map(\.phoneNumber)
                    == ["01077770001"]
            )

            // A removal through B reaches A as quickly.
            #expect(try await b.delete("/v1/services/alpha/unsubscribes", phoneNumbers: ["01077770001"]).status == 200)
            try await waitUntil(seconds: 2) {
                try await a.get("/v1/services/alpha/unsubscribes/01077770001").body.contains(#""optedOut":false"#)
            }
            for process in processes { #expect(try await process.stop() == 0) }
        }
    }

    @Test func killingTheSyncingReplicaHandsSyncingOverWithinAnIntervalAndLosesNothing() async throws {
        try await withCluster { cluster in
            let processes = try [cluster.start(), cluster.start()]
            let clients = [try await cluster.client(processes[0]), try await cluster.client(processes[1])]
            for replica in clients {
                try await replica.waitForMirror(service: "alpha", seconds: 60) { $0.records == 2_000 }
            }
            let syncing = try #require(
                try await asyncFirstIndex(clients) { try await $0.mirrorStatus("alpha").syncsHere == true }
            )
            let survivor = clients[1 - syncing]

            try await processes[syncing].kill()
            // Opt-outs keep coming: one through the survivor, three by 080 call straight into SENS.
            #expect(
                try await survivor.post("/v1/services/alpha/unsubscribes", phoneNumbers: ["01088880000"]).status == 200
            )
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let seeded = try await cluster.session.client.send(
                .post,
                "/_simulator/unsubscribes",
                json:
                    #"{"count":3,"prefix":"0108888","start":1,"fromMilliseconds":\#(now - 1000),"toMilliseconds":\#(now)}"#
            )
            #expect(seeded.status == 200)

            let asked = ContinuousClock.now
            try await waitUntil(seconds: 5) { try await survivor.mirrorStatus("alpha").syncsHere == true }
            // Within one sync interval (1 s) of the session ending, and the time to notice the new lead here.
            #expect(ContinuousClock.now - asked < .seconds(2))
            try await waitUntil(seconds: 5) {
                try await survivor.get("/v1/services/alpha/unsubscribes/01088880003").body.contains(#""optedOut":true"#)
            }
            let feed = try await survivor.allChanges(service: "alpha")
            #expect(feed.changes.count == 2_004)
            #expect(
                Set(feed.changes.map(\.phoneNumber)).isSuperset(of: [
                    "01088880000", "01088880001", "01088880002", "01088880003",
                ])
            )
            #expect(try await processes[1 - syncing].stop() == 0)
        }
    }

    @Test func aReplicaCutOffFromTheDatabaseStopsVouchingUntilItIsBack() async throws {
        try await withCutOffPair { cluster, proxy, processes, a, b in

            proxy.cut()
            let cut = ContinuousClock.now
            try await waitUntil(seconds: 6) { try await b.mirrorStatus("alpha").state == .stale }
            #expect(ContinuousClock.now - cut < .seconds(4))
            #expect(try await b.mirrorStatus("alpha").detail?.contains("shared store") == true)
            // It answers from SENS, or not at all: never from an index it cannot keep current.
            #expect(try await a.post("/v1/services/alpha/unsubscribes", phoneNumbers: ["01099990000"]).status == 200)
            let check = try await b.get("/v1/services/alpha/unsubscribes/01099990000")
            #expect(check.headers[.init("X-Cache")!] != "MIRROR")
            #expect(check.status != 200 || check.body.contains(#""optedOut":true"#), "\(check.status) \(check.body)")
            let filter = try await b.send(
                .post,
                "/v1/services/alpha/unsubscribes/filter",
                json: #"{"phoneNumbers":["01099990000"]}"#
            )
            #expect(filter.status == 503)
            // The replica that still reaches the database syncs and goes on answering.
            try await waitUntil(seconds: 4) { try await a.mirrorStatus("alpha").syncsHere == true }
            try await a.waitForMirror(service: "alpha", seconds: 10)

            proxy.restore()
            try await b.waitForMirror(service: "alpha", seconds: 15)
            let after = try await b.get("/v1/services/alpha/unsubscribes/01099990000")
            #expect(after.headers[.init("X-Cache")!] == "MIRROR")
            #expect(after.body.contains(#""optedOut":true"#))
            for process in processes { #expect(try await process.stop() == 0) }
            try await proxy.close()
        }
    }

    /// A replica cut off for longer than the change retention comes back to a change table whose changes it missed
    /// were pruned: it loads the whole list again instead of following on, and answers the write it missed.
    @Test func aReplicaThatMissedPrunedChangesLoadsTheListAgain() async throws {
        try await withCutOffPair { cluster, proxy, processes, a, b in
            // A cursor of the feed as it stands: its following changes are pruned below.
            let export = try await a.get("/v1/services/alpha/unsubscribes/export")
            let cursor = try #require(export.headers[.init("X-Change-Cursor")!])
            proxy.cut()
            try await waitUntil(seconds: 6) { try await b.mirrorStatus("alpha").state == .stale }
            #expect(try await a.post("/v1/services/alpha/unsubscribes", phoneNumbers: ["01099990001"]).status == 200)
            // As the syncing replica would once the changes are older than the retention: every change pruned.
            let store = try await PostgresMirrorStore.open(settings: cluster.database, logger: Logger(label: "store"))
            let service = Self.services["alpha"]!
            while try await store.pruneChanges(service: service, observedBefore: .max, limit: 1_000) > 0 {}
            #expect(try await store.changeFeedStart(service: service).oldestKeptSequence == nil)
            try await store.close()

            proxy.restore()
            try await b.waitForMirror(service: "alpha", seconds: 15) { $0.records == 2_001 }
            let check = try await b.get("/v1/services/alpha/unsubscribes/01099990001")
            #expect(check.headers[.init("X-Cache")!] == "MIRROR")
            #expect(check.body.contains(#""optedOut":true"#), "\(check.body)")
            let gone = try await b.get("/v1/services/alpha/unsubscribes/changes?after=\(cursor)")
            #expect(gone.status == 410, "\(gone.body)")
            for process in processes { #expect(try await process.stop() == 0) }
            try await proxy.close()
        }
    }

    /// How a test takes the shared store away from a replica.
    enum StoreOutageKind: String, CaseIterable, Sendable {
        /// Every connection closed, new ones refused at once.
        case refused
        /// Connections open, nothing answered (a frozen network or server).
        case frozen
        /// A frozen writer holding the service's write lock: statements wait on it until `statement_timeout`.
        case locked
    }

    /// A register or remove through a replica whose database refuses connections, has stopped answering, or is held
    /// up by a frozen writer, is answered within `MIRROR_DATABASE_TIMEOUT_SECONDS`, with what SENS did and that the
    /// mirror will catch up; the log names the cause underneath, never an aborted transaction (25P02).
    @Test(arguments: StoreOutageKind.allCases) func writesAreAnsweredFastWhileTheStoreIsDown(
        outage: StoreOutageKind
    ) async throws {
        try await withCluster { cluster in
            let proxy = try await TCPProxy(toHost: cluster.database.host, port: cluster.database.port)
            let process = try cluster.start(
                databasePort: proxy.port,
                environment: ["MIRROR_DATABASE_TIMEOUT_SECONDS": "2"]
            )
            let gateway = try await cluster.client(process)
            try await gateway.waitForMirror(service: "alpha", seconds: 60) { $0.records == 2_000 }
            let holder = try await TestPostgres.connection(to: cluster.database)
            switch outage {
            case .refused: proxy.cut()
            case .frozen: proxy.freeze()
            case .locked:
                let lock = PostgresMirrorStore.writeLockName(Self.services["alpha"]!)
                try await holder.query(
                    "SELECT pg_advisory_lock(hashtextextended(\(lock), 0))",
                    logger: Logger(label: "test")
                )
            }
            // Each write answered within the time-out (2 s), saying SENS did it and the mirror catches up.
            var answers: [HTTPAnswer] = []
            for (method, path, body) in [
                (HTTPRequest.Method.post, "/v1/services/alpha/unsubscribes", #"{"phoneNumbers":["01099990010"]}"#),
                (.post, "/v1/services/alpha/unsubscribes", #"{"phoneNumbers":["01099990011"]}"#),
                (.delete, "/v1/services/alpha/unsubscribes/01099990010", nil),
            ] {
                let started = ContinuousClock.now
                let answer = try await gateway.send(method, path, json: body)
                // Held up by a lock, a write of a number in doubt waits for the lookup that settles it (itself
                // bounded by the time-out) first.
                let bound: Duration = outage == .locked ? .milliseconds(4_600) : .milliseconds(2_600)
                #expect(ContinuousClock.now - started < bound, "\(outage) \(path)")
                #expect(answer.status == 200, "\(answer.body)")
                answers.append(answer)
            }
            // Never "not opted out" for a number SENS registered: during the outage (in doubt, asked of SENS)...
            let during = try await gateway.get("/v1/services/alpha/unsubscribes/01099990011")
            #expect(during.status != 200 || during.body.contains(#""optedOut":true"#), "\(during.body)")
            let registered = try answers[0].decodeGenerated(Components.Schemas.RegisterResult.self)
            #expect(registered.registered.map(\.phoneNumber) == ["01099990010"])
            #expect(registered.mirrorNote?.contains("every replica has them by the next sync") == true)
            let removed = try answers[2].decodeGenerated(Components.Schemas.RemoveResult.self)
            #expect(removed.removed == ["01099990010"])
            #expect(removed.mirrorNote?.contains("as opted out (the safe side)") == true)
            // The log names the cause underneath.
            let log = process.standardOutput.split(separator: "\n").filter {
                $0.contains("the mirror could not record a confirmed write")
            }
            #expect(log.count == 3, "\(log)")
            #expect(!log.contains { $0.contains("25P02") }, "\(log)")
            switch outage {
            case .refused:
                #expect(log.allSatisfy { $0.contains("out of reach") }, "\(log)")
            case .frozen:
                // What the first call found; later ones may name the session's unanswered ping instead.
                #expect(log.allSatisfy { $0.contains("out of reach") }, "\(log)")
                #expect(log.first?.contains("did not answer within 2") == true, "\(log)")
            case .locked:
                #expect(log.contains { $0.contains("57014") }, "\(log)")
            }
            try await holder.close()
            proxy.restore()
            // ...nor after it: the mirror catches up and answers it itself.
            try await gateway.waitForMirror(service: "alpha", seconds: 30) { $0.inDoubt == 0 }
            let after = try await gateway.get("/v1/services/alpha/unsubscribes/01099990011")
            #expect(after.headers[.init("X-Cache")!] == "MIRROR")
            #expect(after.body.contains(#""optedOut":true"#), "\(after.body)")
            #expect(try await process.stop() == 0)
            try await proxy.close()
        }
    }

    /// Two replicas synced from the simulator, the second reaching the database through `proxy` (to cut it off).
    func withCutOffPair(
        _ body:
            @escaping @Sendable (Cluster, TCPProxy, [GatewayProcess], GatewayClient, GatewayClient) async throws
            -> Void
    ) async throws {
        try await withCluster { cluster in
            let proxy = try await TCPProxy(toHost: cluster.database.host, port: cluster.database.port)
            let processes = try [cluster.start(), cluster.start(databasePort: proxy.port)]
            let (a, b) = (try await cluster.client(processes[0]), try await cluster.client(processes[1]))
            for replica in [a, b] {
                try await replica.waitForMirror(service: "alpha", seconds: 60) { $0.records == 2_000 }
            }
            try await body(cluster, proxy, processes, a, b)
        }
    }

    /// Waits until `condition` holds, at most `seconds`; records an issue when it never does.
    func waitUntil(seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("the condition did not hold within \(seconds) s")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func asyncFirstIndex(
        _ clients: [GatewayClient],
        _ predicate: (GatewayClient) async throws -> Bool
    ) async throws -> Int? {
        for (index, client) in clients.enumerated() where try await predicate(client) { return index }
        return nil
    }
}

extension GatewayClient {
    func mirrorStatus(_ service: String) async throws -> Components.Schemas.ServiceMirrorStatus {
        let answer = try await get("/v1/services/\(service)/mirror")
        #expect(answer.status == 200)
        return try answer.decodeGenerated(Components.Schemas.ServiceMirrorStatus.self)
    }
}
