import HTTPTypes
import OpenAPIRuntime
import SENSGatewayClient
import SENSTestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every operation of `openapi.yaml`, called through the client generated from it (`SENSGatewayClient`): each
/// answer is decoded by the generated types, so a status, header or field the spec does not declare fails here
/// (an undocumented status decodes as `.undocumented`, which no expectation accepts). Schemathesis fuzzes the
/// same contract in CI.
@Suite("The contract, through the generated client")
struct ContractTests {
    static func client(port: Int) -> Client {
        Client(
            serverURL: URL(string: "http://127.0.0.1:\(port)")!,
            configuration: Configuration(dateTranscoder: .iso8601WithFractionalSeconds),
            transport: AsyncHTTPClientTransport()
        )
    }

    @Test func everyOperationAnswersAsDeclared() async throws {
        try await MirrorHarness().withSimulator { session in
            try await session.seed(count: 30, prefix: "0105")
            try await session.withGateway { gateway in
                let api = Self.client(port: try #require(gateway.port))
                _ = try await gateway.waitForMirror()
                // Operations.
                #expect(try await api.getHealth().ok.body.json.status == .ok)
                #expect(try await api.getReadiness().ok.body.json.status == .ready)
                _ = try await api.getMetrics().ok.body.plainText
                _ = try await api.getOpenAPIDocument().ok.body.yaml
                #expect(try await api.listServices().ok.body.json.services.map(\.name) == ["default"])
                #expect(try await api.getMirrorStatus().ok.body.json.services.first?.state == .ready)
                #expect(
                    try await api.getServiceMirrorStatus(path: .init(service: "default")).ok.body.json.records == 30
                )
                #expect(
                    try await api.getServiceMirrorStatus(path: .init(service: "nope")).notFound.body
                        .applicationProblemJson.status == 404
                )

                // Writes and reads of the default service.
                let registered = try await api.registerOptOuts(
                    body: .json(.init(phoneNumbers: ["+82 10-1234-5678", "010-1234-5678"]))
                ).ok
                let registeredBody = try registered.body.json
                #expect(registeredBody.count == 1 && registeredBody.registered.map(\.phoneNumber) == ["01012345678"])
                let invalid = try await api.registerOptOuts(body: .json(.init(phoneNumbers: ["010-1234-567x"])))
                    .unprocessableContent
                #expect(try invalid.body.applicationProblemJson.value2.errors.map(\.code) == [.unexpectedCharacter])
                #expect(
                    try await api.registerOptOuts(body: .json(.init(phoneNumbers: []))).badRequest.body
                        .applicationProblemJson.status == 400
                )
                let check = try await api.checkOptOut(
                    path: .init(phoneNumber: "010-1234-5678"),
                    headers: .init(cacheControl: "no-cache")
                ).ok
                let status = try check.body.json
                #expect(status.optedOut && status.phoneNumber == "01012345678")
                #expect(check.headers.age >= 0)
                #expect(
                    try await api.checkOptOut(path: .init(phoneNumber: "12")).badRequest.body.applicationProblemJson
                        .invalidParams?.first?.name
                        == "phoneNumber"
                )
                let page = try await api.listOptOuts(query: .init(pageSize: 10)).ok.body.json
                #expect(page.items.count == 10 && page.nextPage == 1)
                #expect(
                    try await api.listOptOuts(query: .init(pageSize: 0)).badRequest.body.applicationProblemJson.status
                        == 400
                )
                let filtered = try await api.filterOptOuts(
                    body: .json(.init(phoneNumbers: ["01012345678", "01099990000", "x"]))
                ).ok
                let result = try filtered.body.json
                #expect(result.checked == 3 && result.optedOut.map(\.phoneNumber) == ["01012345678"])
                #expect(result.invalid.map(\.index) == [2])
                let filteredRows = try await api.filterOptOuts(
                    query: .init(column: "phone", rows: .excluded),
                    headers: .init(accept: [.init(contentType: .csv)]),
                    body: .csv(.init("name,phone\r\nKim,01012345678\r\nLee,01099990000\r\n"))
                ).ok
                #expect(filteredRows.headers.xFilterReadAs == "text/csv; charset=utf-8")
                #expect(
                    try await String(collecting: filteredRows.body.csv, upTo: 1 << 16).hasPrefix(
                        "name,phone,reasonCode,reason\r\nKim,01012345678,opted_out,"
                    )
                )
                let export = try await api.exportOptOuts().ok
                #expect((export.headers.xExportRecords ?? 0) > 0)
                #expect(
                    try await String(collecting: export.body.csv, upTo: 1 << 20).hasPrefix(
                        "\u{FEFF}phoneNumber,registeredAt,source\r\n"
                    )
                )
                let changes = try await api.listOptOutChanges(query: .init(limit: 5)).ok.body.json
                #expect(changes.changes.count == 5 && changes.changes.allSatisfy { $0.change == .added })
                #expect(
                    try await api.listOptOutChanges(query: .init(after: "zz.00000000")).badRequest.body
                        .applicationProblemJson.status == 400
                )
                #expect(
                    try await api.removeOptOut(path: .init(phoneNumber: "01012345678")).ok.body.json.removed == [
                        "01012345678"
                    ]
                )
                #expect(
                    try await api.removeOptOuts(body: .json(.init(phoneNumbers: ["01050000000"]))).ok.body.json.count
                        == 1
                )

                // The same operations of a named service, and of one that does not exist.
                let service = "default"
                #expect(
                    try await api.registerServiceOptOuts(
                        path: .init(service: service),
                        body: .json(.init(phoneNumbers: ["01077770000"]))
                    )
                    .ok.body.json.count == 1
                )
                #expect(
                    try await api.checkServiceOptOut(path: .init(service: service, phoneNumber: "01077770000")).ok.body
                        .json.optedOut
                )
                #expect(
                    try await api.listServiceOptOuts(
                        path: .init(service: service),
                        query: .init(phoneNumber: "01077770000")
                    ).ok.body.json
                        .items.count == 1
                )
                #expect(
                    try await api.filterServiceOptOuts(
                        path: .init(service: service),
                        body: .json(.init(phoneNumbers: ["01077770000"]))
                    ).ok
                        .body.json.optedOut.count == 1
                )
                _ = try await api.listServiceOptOutChanges(path: .init(service: service)).ok.body.json
                _ = try await api.exportServiceOptOuts(path: .init(service: service)).ok
                #expect(
                    try await api.removeServiceOptOut(path: .init(service: service, phoneNumber: "01077770000")).ok.body
                        .json.count == 1
                )
                #expect(
                    try await api.removeServiceOptOuts(
                        path: .init(service: service),
                        body: .json(.init(phoneNumbers: ["01077770000"]))
                    )
                    .ok.body.json.count == 1
                )
                #expect(
                    try await api.checkServiceOptOut(path: .init(service: "nope", phoneNumber: "01077770000")).notFound
                        .body.applicationProblemJson.status == 404
                )
                #expect(
                    try await api.registerServiceOptOuts(
                        path: .init(service: "nope"),
                        body: .json(.init(phoneNumbers: ["01077770000"]))
                    )
                    .notFound.body.applicationProblemJson.status == 404
                )
            }
        }
    }

    /// SENS's failures reach the caller as the statuses the spec declares, with `Retry-After` where it says so,
    /// and a write's failure lists what became of each number.
    @Test func failuresAnswerAsDeclared() async throws {
        try await MirrorHarness().withSimulator { session in
            try await session.withGateway { gateway in
                let api = Self.client(port: try #require(gateway.port))
                func fault(_ json: String) async throws {
                    let set = try await session.client.send(.put, "/_simulator/faults", json: json)
                    #expect(set.status == 200 || set.status == 204, "\(set.body)")
                }
                let number = "01012345678"
                try await fault(#"{"throttleRate":1,"retryAfterSeconds":7}"#)
                let throttled = try await api.checkOptOut(
                    path: .init(phoneNumber: number),
                    headers: .init(cacheControl: "no-cache")
                )
                #expect(try throttled.tooManyRequests.headers.retryAfter == 7)
                let throttledWrite = try await api.registerOptOuts(body: .json(.init(phoneNumbers: [number])))
                    .tooManyRequests
                let throttledProblem = try throttledWrite.body.applicationProblemJson.value2
                #expect(throttledProblem.notSent + throttledProblem.unconfirmed == [number])

                try await fault(#"{"failureRate":1,"failureStatus":503}"#)
                let unavailable = try await api.checkOptOut(
                    path: .init(phoneNumber: number),
                    headers: .init(cacheControl: "no-cache")
                )
                #expect(try unavailable.serviceUnavailable.body.applicationProblemJson.status == 503)
                let unavailableWrite = try await api.registerOptOuts(body: .json(.init(phoneNumbers: [number])))
                    .serviceUnavailable
                #expect(try unavailableWrite.body.applicationProblemJson.value2.unconfirmed == [number])

                try await fault(#"{"failureRate":1,"failureStatus":500}"#)
                let failed = try await api.checkOptOut(
                    path: .init(phoneNumber: number),
                    headers: .init(cacheControl: "no-cache")
                )
                #expect(try failed.badGateway.body.applicationProblemJson.status == 502)
                let failedWrite = try await api.registerOptOuts(body: .json(.init(phoneNumbers: [number]))).badGateway
                #expect(try failedWrite.body.applicationProblemJson.value1.status == 502)
            }
        }
    }
}
