import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SENSCore
import SENSSimulator
import SENSTestSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Starts a simulator on a loopback port and gives the test a client that signs like a SENS caller.
struct SimulatorHarness {
    let simulator: SENSSimulator
    let clock: any EpochClock

    init(configuration: SimulatorConfiguration = SimulatorConfiguration(), clock: any EpochClock = SystemEpochClock()) {
        self.clock = clock
        self.simulator = SENSSimulator(configuration: configuration, clock: clock)
    }

    var path: String { simulator.unsubscribesPath }

    func run(_ test: @escaping @Sendable (SignedClient) async throws -> Void) async throws {
        let app = simulator.buildApplication(
            server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            logger: Logger(label: "simulator-test")
        )
        try await app.test(.live) { client in
            try await test(SignedClient(client: client, clock: clock, credentials: simulator.configuration.credentials))
        }
    }
}

struct SignedClient: Sendable {
    let client: any TestClientProtocol
    let clock: any EpochClock
    let credentials: NCPCredentials

    var port: Int? { client.port }

    /// Sends `method pathAndQuery` signed with `credentials` (or `signWith`) at the clock's time (or `timestamp`).
    func call(
        _ method: HTTPRequest.Method,
        _ pathAndQuery: String,
        numbers: [String]? = nil,
        rawBody: String? = nil,
        signWith: NCPCredentials? = nil,
        timestamp: Int64? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> HTTPAnswer {
        let signer = NCPSigner(credentials: signWith ?? credentials)
        let signed = signer.sign(
            method: method.rawValue,
            pathAndQuery: pathAndQuery,
            timestampMilliseconds: timestamp ?? clock.nowMilliseconds()
        )
        var headers = extra
        for field in signed.fields { headers[HTTPField.Name(field.name)!] = field.value }
        var body: ByteBuffer?
        if let numbers {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONEncoder().encode(numbers.map(SENSUnsubscribeTarget.init)))
        } else if let rawBody {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: rawBody)
        }
        return try await unsigned(method, pathAndQuery, headers: headers, body: body)
    }

    func unsigned(
        _ method: HTTPRequest.Method,
        _ uri: String,
        headers: HTTPFields = [:],
        body: ByteBuffer? = nil
    ) async throws -> HTTPAnswer {
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        return HTTPAnswer(
            status: response.status.code,
            headers: response.headers,
            body: String(buffer: response.body)
        )
    }
}

extension HTTPAnswer {
    var gatewayError: APIGatewayErrorBody.Detail? { try? decode(APIGatewayErrorBody.self).error }
    var serviceError: SENSServiceErrorBody? { try? decode(SENSServiceErrorBody.self) }
}
