import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import OptOuts
import SENSClient
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs a SENS simulator and the gateway in front of it, both on loopback ports, and hands the test an HTTP
/// client for the gateway.
struct GatewayHarness {
    let simulator: SENSSimulator
    let clock: any EpochClock
    let cache: CacheSettings
    let resilience: ResilienceSettings
    let cacheStatistics = CacheStatistics()
    let resilienceStatistics = ResilienceStatistics()
    /// When set, everything reports to these metrics (served at /metrics) instead of the statistics above.
    let metrics: GatewayMetrics?

    /// One attempt per call and a breaker that does not trip unless a test asks for them, so that tests of
    /// other behaviour count SENS calls simply.
    static let singleAttempt = ResilienceSettings.defaults.with {
        $0.maxAttempts = 1
        $0.breakerMinimumCalls = 1_000
        $0.breakerWindow = 1_000
    }

    init(
        simulator: SimulatorConfiguration = SimulatorConfiguration(),
        clock: any EpochClock = SystemEpochClock(),
        cache: CacheSettings = .defaults,
        resilience: ResilienceSettings = singleAttempt,
        metrics: GatewayMetrics? = nil
    ) {
        self.metrics = metrics
        self.simulator = SENSSimulator(configuration: simulator, clock: clock)
        self.clock = clock
        self.cache = cache
        self.resilience = resilience
    }

    func run(
        maxBodyBytes: Int = 8 << 20,
        idleTimeoutSeconds: Int = 30,
        logger: Logger = Logger(label: "gateway"),
        adjust: @escaping @Sendable (inout SENSServiceSettings) -> Void = { _ in },
        _ test: @escaping @Sendable (GatewayClient) async throws -> Void
    ) async throws {
        let simulatorApp = simulator.buildApplication(
            server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "simulator")
        )
        let simulator = self.simulator
        let clock = self.clock
        let cache = self.cache
        let statistics = cacheStatistics
        let resilience = self.resilience
        let resilienceStatistics = self.resilienceStatistics
        let metrics = self.metrics
        try await simulatorApp.test(.live) { simulatorClient in
            let port = try #require(simulatorClient.port)
            var sens = SENSServiceSettings(
                credentials: simulator.configuration.credentials,
                serviceID: simulator.configuration.serviceID,
                baseURL: SENSBaseURL("http://127.0.0.1:\(port)")!
            )
            sens.attemptTimeoutMilliseconds = 2_000
            adjust(&sens)
            try await Self.runGateway(
                sens: sens,
                cache: cache,
                resilience: resilience,
                clock: clock,
                metrics: metrics ?? GatewayMetrics(),
                cacheStatistics: metrics == nil ? statistics : nil,
                resilienceStatistics: metrics == nil ? resilienceStatistics : nil,
                maxBodyBytes: maxBodyBytes,
                idleTimeoutSeconds: idleTimeoutSeconds,
                logger: logger,
                test
            )
        }
    }

    /// The gateway alone, pointed at whatever `sens` says.
    static func runGateway(
        sens: SENSServiceSettings,
        cache: CacheSettings = .defaults,
        resilience: ResilienceSettings = singleAttempt,
        clock: any EpochClock = SystemEpochClock(),
        metrics: GatewayMetrics = GatewayMetrics(),
        cacheStatistics: CacheStatistics? = CacheStatistics(),
        resilienceStatistics: ResilienceStatistics? = ResilienceStatistics(),
        maxBodyBytes: Int = 8 << 20,
        idleTimeoutSeconds: Int = 30,
        logger: Logger = Logger(label: "gateway"),
        _ test: @escaping @Sendable (GatewayClient) async throws -> Void
    ) async throws {
        let configuration = GatewayConfiguration.forTests.with {
            $0.http.maxBodyBytes = maxBodyBytes
            $0.http.idleTimeoutSeconds = idleTimeoutSeconds
            $0.cache = cache
            $0.resilience = resilience
            $0.calls.registerTimeOffsetSeconds = sens.registerTimeOffsetSeconds
            $0.mirror.enabled = false
        }
        try await TestGateway.run(
            configuration,
            services: [.init(name: "default", sens: sens)],
            dependencies: GatewayDependencies(
                logger: logger,
                clock: clock,
                metrics: metrics,
                cacheMetrics: cacheStatistics,
                resilienceMetrics: resilienceStatistics
            ),
            test
        )
    }
}

struct GatewayClient: Sendable {
    typealias Exchange =
        @Sendable (_ uri: String, _ method: HTTPRequest.Method, _ headers: HTTPFields, _ body: ByteBuffer?) async throws
        -> HTTPAnswer
    let port: Int?
    /// Sends one request exactly as given (no header added) and reads the whole answer.
    let exchange: Exchange

    /// A gateway the test runs in-process.
    init(client: any TestClientProtocol) {
        port = client.port
        exchange = { uri, method, headers, body in
            let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
            return HTTPAnswer(
                status: response.status.code,
                headers: response.headers,
                body: String(buffer: response.body),
                bytes: Array(response.body.readableBytesView)
            )
        }
    }

    /// A gateway process listening on a loopback port, through `http`.
    init(port: Int, http: HTTPClient) {
        self.port = port
        exchange = { uri, method, headers, body in
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)" + uri)
            request.method = .RAW(value: method.rawValue)
            for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
            if let body { request.body = .bytes(body) }
            let response = try await http.execute(request, timeout: .seconds(30))
            var fields = HTTPFields()
            for (name, value) in response.headers {
                if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
            }
            let bytes = try await response.body.collect(upTo: 256 << 20)
            return HTTPAnswer(
                status: Int(response.status.code),
                headers: fields,
                body: String(buffer: bytes),
                bytes: Array(bytes.readableBytesView)
            )
        }
    }

    func get(_ uri: String) async throws -> HTTPAnswer {
        try await send(.get, uri)
    }

    func post(_ uri: String, phoneNumbers: [String]) async throws -> HTTPAnswer {
        try await send(
            .post,
            uri,
            json: try String(decoding: JSONEncoder().encode(["phoneNumbers": phoneNumbers]), as: UTF8.self)
        )
    }

    func delete(_ uri: String, phoneNumbers: [String]) async throws -> HTTPAnswer {
        try await send(
            .delete,
            uri,
            json: try String(decoding: JSONEncoder().encode(["phoneNumbers": phoneNumbers]), as: UTF8.self)
        )
    }

    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        json: String? = nil,
        contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) async throws -> HTTPAnswer {
        try await send(method, uri, bytes: json.map { Array($0.utf8) }, contentType: contentType, headers: headers)
    }

    /// Sends the bytes exactly as given (which may be invalid UTF-8).
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        bytes: [UInt8]?,
        contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) async throws -> HTTPAnswer {
        var headers = headers
        if bytes != nil { headers[.contentType] = contentType }
        return try await exchange(uri, method, headers, bytes.map { ByteBuffer(bytes: $0) })
    }
}

extension HTTPAnswer {
    var problem: ProblemJSON? {
        guard headers[.contentType]?.hasPrefix("application/problem+json") == true else { return nil }
        return try? decode(ProblemJSON.self)
    }
}

// The wire shapes, decoded independently of the generated types.

struct OptOutJSON: Decodable, Equatable {
    var phoneNumber: String
    var registeredAt: String
    var source: String
}

struct RegisterJSON: Decodable {
    var registered: [OptOutJSON]
    var count: Int
}

struct RemoveJSON: Decodable {
    var removed: [String]
    var count: Int
}

struct PageJSON: Decodable {
    var items: [OptOutJSON]
    var page: Int
    var pageSize: Int
    var nextPage: Int?
}

struct StatusJSON: Decodable, Equatable {
    var phoneNumber: String
    var optedOut: Bool
    var registeredAt: String?
    var source: String?
}

struct ProblemJSON: Decodable {
    struct InvalidParam: Decodable, Equatable {
        var name: String
        var reason: String
    }

    struct ItemError: Decodable, Equatable {
        var index: Int
        var input: String
        var code: String
        var reason: String
    }

    var type: String
    var title: String
    var status: Int
    var detail: String
    var invalidParams: [InvalidParam]?
    var errors: [ItemError]?
    var done: [String]?
    var unconfirmed: [String]?
    var notSent: [String]?
}

/// Requests over a pool of connections, for tests that need requests truly in parallel (the test framework's
/// client is one HTTP/1.1 connection, which serializes them).
struct PooledClient: Sendable {
    let http: HTTPClient
    let port: Int

    static func with<Value: Sendable>(port: Int, _ body: (PooledClient) async throws -> Value) async throws -> Value {
        var pool = HTTPClient.Configuration.ConnectionPool()
        pool.concurrentHTTP1ConnectionsPerHostSoftLimit = 128
        let http = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: .init(connectionPool: pool)
        )
        do {
            let value = try await body(PooledClient(http: http, port: port))
            try await http.shutdown()
            return value
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    func send(_ method: NIOHTTP1.HTTPMethod, _ path: String, json: String? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await http.execute(request, timeout: .seconds(10))
        var headers = HTTPFields()
        for header in response.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        let body = try await response.body.collect(upTo: 16 << 20)
        return HTTPAnswer(status: Int(response.status.code), headers: headers, body: String(buffer: body))
    }
}
