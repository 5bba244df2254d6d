import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import ServiceLifecycle
import Testing

@Suite("Gateway graceful shutdown")
struct GatewayShutdownTests {
    /// Shutdown begins while a request waits on a slow SENS: the request still completes, then the server stops.
    @Test func finishesInFlightRequestsBeforeStopping() async throws {
        let simulator = SENSSimulator(
            configuration: SimulatorConfiguration(faults: FaultSettings(latencyMilliseconds: 1_500))
        )
        let (simulatorPorts, simulatorReady) = AsyncStream.makeStream(of: Int.self)
        let simulatorApp = simulator.buildApplication(
            server: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "simulator")
        ) { simulatorReady.yield($0) }
        let simulatorGroup = ServiceGroup(services: [simulatorApp], logger: Logger(label: "simulator"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await simulatorGroup.run() }
            let simulatorPort = try #require(await simulatorPorts.first { _ in true })
            let (gatewayPorts, gatewayReady) = AsyncStream.makeStream(of: Int.self)
            let sens = SENSServiceSettings(
                credentials: simulator.configuration.credentials,
                serviceID: simulator.configuration.serviceID,
                baseURL: SENSBaseURL("http://127.0.0.1:\(simulatorPort)")!
            )
            let gateway = try GatewayApplication.build(
                .forTests.with {
                    $0.resilience = .defaults
                    $0.mirror.enabled = false
                },
                services: [.init(name: "default", sens: sens)],
                dependencies: GatewayDependencies(logger: Logger(label: "gateway")) { gatewayReady.yield($0) }
            )
            let gatewayGroup = ServiceGroup(services: [gateway], logger: Logger(label: "gateway"))
            tasks.addTask { try await gatewayGroup.run() }
            let port = try #require(await gatewayPorts.first { _ in true })

            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let inFlight = Task {
                let response = try await client.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/unsubscribes/01012345678"),
                    timeout: .seconds(5)
                )
                return (response.status.code, try await response.body.collect(upTo: 1 << 16).readableBytes)
            }
            // Well inside SENS's 1.5 s, even on a loaded machine.
            try await Task.sleep(for: .milliseconds(500))
            await gatewayGroup.triggerGracefulShutdown()
            do {
                let (status, bytes) = try await inFlight.value
                #expect(status == 200)
                #expect(bytes > 0)
                // After draining, the gateway refuses new connections.
                await #expect(throws: (any Error).self) {
                    _ = try await client.execute(
                        HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"),
                        timeout: .seconds(2)
                    )
                }
            } catch {
                Issue.record("the in-flight request failed: \(error)")
            }
            try await client.shutdown()
            await simulatorGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
