import GatewayAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import OptOutMirror
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

@testable import GatewayHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A SENS simulator on a loopback port and gateways with a mirror in front of it, started and stopped as a test
/// needs (a restart test runs two, one after the other, on the same store file).
struct MirrorHarness {
    let simulator: SENSSimulator
    let settings: MirrorSettings
    let storeKind: StoreKind

    /// Syncs and verifies every 200 ms, gives up vouching after 5 s, retries a failed sync after 20 ms.
    static let fast = MirrorSettings.defaults.with {
        $0.syncInterval = .milliseconds(200)
        $0.overlapMilliseconds = 300_000
        $0.reconcileInterval = .seconds(3_600)
        $0.maxStalenessMilliseconds = 5_000
        $0.retryDelay = .milliseconds(20)
        $0.verifyInterval = .milliseconds(200)
    }

    init(
        settings: MirrorSettings = fast,
        simulator: SimulatorConfiguration = SimulatorConfiguration(),
        store: StoreKind = .sqlite
    ) {
        self.simulator = SENSSimulator(configuration: simulator)
        self.settings = settings
        self.storeKind = store
    }

    /// Runs the simulator for the length of `body`, which gets its base URL and an HTTP client for it.
    func withSimulator(_ body: @escaping @Sendable (SimulatorSession) async throws -> Void) async throws {
        let app = simulator.buildApplication(
            server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "simulator")
        )
        let simulator = self.simulator
        let settings = self.settings
        let storeKind = self.storeKind
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body(
                SimulatorSession(
                    simulator: simulator,
                    client: GatewayClient(client: client),
                    baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!,
                    settings: settings,
                    storeKind: storeKind
                )
            )
        }
    }
}

struct SimulatorSession: Sendable {
    let simulator: SENSSimulator
    let client: GatewayClient
    let baseURL: SENSBaseURL
    let settings: MirrorSettings
    let storeKind: StoreKind

    /// `count` numbers `prefix` + a sequence, registered at times spread over the last 30 days (the simulator's generator).
    func seed(count: Int, prefix: String = "0105", start: Int = 0) async throws {
        let answer = try await client.send(
            .post,
            "/_simulator/unsubscribes",
            json: #"{"count":\#(count),"prefix":"\#(prefix)","start":\#(start)}"#
        )
        #expect(answer.status == 200, "\(answer.body)")
    }

    /// A gateway with a mirror over this simulator, on `store` (when nil: a private in-memory SQLite store, or a new
    /// database of the harness's kind), for the length of `body`; stopped gracefully after it.
    func withGateway(
        store location: StoreLocation? = nil,
        settings: MirrorSettings? = nil,
        filterMaxBodyBytes: Int = GatewayConfiguration.defaults.mirror.filterMaxBodyBytes,
        resilience: ResilienceSettings = GatewayHarness.singleAttempt,
        metrics: GatewayMetrics = GatewayMetrics(),
        _ body: @escaping @Sendable (GatewayClient) async throws -> Void
    ) async throws {
        guard let location else {
            if storeKind == .sqlite {
                return try await withGateway(
                    store: StoreLocation(kind: .sqlite, path: nil, database: nil),
                    settings: settings,
                    filterMaxBodyBytes: filterMaxBodyBytes,
                    resilience: resilience,
                    metrics: metrics,
                    body
                )
            }
            return try await StoreLocation.with(storeKind) { location in
                try await withGateway(
                    store: location,
                    settings: settings,
                    filterMaxBodyBytes: filterMaxBodyBytes,
                    resilience: resilience,
                    metrics: metrics,
                    body
                )
            }
        }
        let store = try await location.open()
        let sens = SENSServiceSettings(
            credentials: simulator.configuration.credentials,
            serviceID: simulator.configuration.serviceID,
            baseURL: baseURL
        ).with { $0.attemptTimeoutMilliseconds = 2_000 }
        let configuration = GatewayConfiguration.forTests.with {
            $0.resilience = resilience
            $0.mirror.settings = settings ?? self.settings
            $0.mirror.filterMaxBodyBytes = filterMaxBodyBytes
        }
        try await TestGateway.run(
            configuration,
            services: [.init(name: "default", sens: sens)],
            dependencies: GatewayDependencies(logger: Logger(label: "gateway"), metrics: metrics, mirrorStore: store),
            body
        )
    }
}

extension GatewayClient {
    func mirrorStatus() async throws -> Components.Schemas.ServiceMirrorStatus {
        try await mirrorStatus("default")
    }

    /// Waits until the mirror's state is `state` (or `until` holds), at most `seconds`.
    @discardableResult
    func waitForMirror(
        _ state: Components.Schemas.MirrorState = .ready,
        service: String = "default",
        seconds: Double = 120,
        until: (Components.Schemas.ServiceMirrorStatus) -> Bool = { _ in true }
    ) async throws -> Components.Schemas.ServiceMirrorStatus {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let status = try await mirrorStatus(service)
            if status.state == state && until(status) { return status }
            guard ContinuousClock.now < deadline else {
                Issue.record("the mirror did not reach \(state) in \(seconds) s: \(status)")
                return status
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Every change of the default service's feed, read `limit` at a time.
    func allChanges(
        service: String? = nil,
        limit: Int = 10_000,
        after: String? = nil
    ) async throws -> (changes: [Components.Schemas.OptOutChange], next: String) {
        var changes: [Components.Schemas.OptOutChange] = []
        var cursor = after
        while true {
            let answer = try await get(
                (service.map { "/v1/services/\($0)/unsubscribes" } ?? "/v1/unsubscribes") + "/changes?limit=\(limit)"
                    + (cursor.map { "&after=\($0)" } ?? "")
            )
            #expect(answer.status == 200, "\(answer.body)")
            let page = try answer.decodeGenerated(Components.Schemas.ChangePage.self)
            changes += page.changes
            if page.changes.isEmpty { return (changes, page.next) }
            cursor = page.next
        }
    }

    func filter(
        _ body: String,
        contentType: String,
        query: String = "",
        accept: String? = nil
    ) async throws -> HTTPAnswer {
        var headers = HTTPFields()
        if let accept { headers[.accept] = accept }
        return try await send(
            .post,
            "/v1/unsubscribes/filter" + query,
            bytes: Array(body.utf8),
            contentType: contentType,
            headers: headers
        )
    }
}
