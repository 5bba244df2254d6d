import AsyncHTTPClient
import CallScope
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SENSGateway
import Synchronization
import Testing

@testable import GatewayHTTP

/// The buffered access log: the same line as before, written off the request's path, and none lost.
@Suite("Access log")
struct AccessLogTests {
    let entry = AccessLogEntry(
        method: "GET",
        route: "/v1/unsubscribes/{phoneNumber}",
        status: 200,
        microseconds: 1_756,
        requestID: "req-abc.123"
    )

    /// What `write` was given, line by line.
    final class Written: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var lines: [String] {
            String(decoding: bytes.withLock { $0 }, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        var write: @Sendable (UnsafeRawBufferPointer) -> Void { { bytes in self.bytes.withLock { $0 += bytes } } }
    }

    @Test(
        arguments: [
            (1_756, "1.756"), (300, "0.3"), (12_000, "12.0"), (50, "0.05"), (0, "0.0"), (61_144_845, "61144.845"),
        ] as [(Int64, String)]
    )
    func durationsReadAsBefore(microseconds: Int64, text: String) {
        var entry = entry
        entry.microseconds = microseconds
        #expect(entry.durationText == text)
        #expect(entry.durationText == "\(Double(microseconds) / 1000)")
    }

    /// The request scope of the entry, over the framework's `logger`.
    static func metadata(_ logger: Logger) -> RequestMetadata {
        RequestMetadata(requestID: "req-abc.123", callerHeader: nil, peerAddress: { nil }, logger: logger)
    }

    /// The JSON line is `JSONLogHandler`'s for the same request, its time aside (the framework's id replaced).
    @Test func writesTheJSONLineTheLogHandlerWrote() throws {
        let handlerLines = Mutex<[String]>([])
        var logger = Logger(label: "sens-gateway") { label in
            JSONLogHandler(label: label) { line in handlerLines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "hb.request.id"] = "framework-id"
        LoggerAccessLog().record(entry, metadata: Self.metadata(logger))
        let written = Written()
        let log = BufferedAccessLog(format: .json, level: .info, logger: logger, write: written.write)
        log.record(entry, metadata: Self.metadata(logger))
        log.flush()
        let expected = try #require(handlerLines.withLock { $0.first })
        let line = try #require(written.lines.first)
        let time = /"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00"/
        #expect(line.contains(time))
        #expect(line.replacing(time, with: "") + "\n" == expected.replacing(time, with: ""))
    }

    /// The text line is swift-log's stream handler's layout: time, level, label, sorted metadata, source, message.
    @Test func writesTheTextLineTheStreamHandlerWrote() throws {
        let written = Written()
        let log = BufferedAccessLog(format: .text, level: .info, logger: Logger(label: "test"), write: written.write)
        log.record(entry, metadata: Self.metadata(Logger(label: "test")))
        log.flush()
        let line = try #require(written.lines.first)
        let pattern =
            /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info sens-gateway: duration_ms=1\.756 method=GET request_id=req-abc\.123 route=\/v1\/unsubscribes\/\{phoneNumber\} status=200 \[GatewayHTTP\] request/
        #expect(line.wholeMatch(of: pattern) != nil, "\(line)")
    }

    /// A stalled output never holds a request: past the capacity, lines are dropped and counted.
    @Test func dropsAndCountsWhatTheBufferCannotHold() {
        let written = Written()
        let log = BufferedAccessLog(
            format: .text,
            level: .info,
            capacity: 1_000,
            logger: Logger(label: "test"),
            write: written.write
        )
        for _ in 0..<100 { log.record(entry, metadata: Self.metadata(Logger(label: "test"))) }
        log.flush()
        #expect((5...10).contains(written.lines.count), "\(written.lines.count)")
        // Above info, nothing is recorded, as before.
        let quiet = BufferedAccessLog(
            format: .text,
            level: .warning,
            logger: Logger(label: "test"),
            write: written.write
        )
        quiet.record(entry, metadata: Self.metadata(Logger(label: "test")))
        let before = written.lines.count
        quiet.flush()
        #expect(written.lines.count == before)
    }

    /// The gateway as it runs: every request's line reaches standard output, the last ones flushed at shutdown.
    @Test func noLineIsLostInNormalOperation() async throws {
        let gateway = try GatewayProcess(["--simulator", "--http-port", "0"])
        let port = try await gateway.listeningPort()
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let count = 400
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 8) {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz")
                        request.headers.add(name: "X-Request-Id", value: "access-\(index)")
                        let response = try await client.execute(request, timeout: .seconds(10))
                        #expect(response.status.code == 200)
                    }
                }
            }
            try await group.waitForAll()
        }
        try await client.shutdown()
        #expect(try await gateway.stop() == 0)
        let ids = gateway.standardOutput.split(separator: "\n").compactMap { line -> Substring? in
            guard line.hasSuffix("[GatewayHTTP] request"), let range = line.firstRange(of: "request_id=access-") else {
                return nil
            }
            return line[range.upperBound...].prefix { $0 != " " }
        }
        #expect(ids.count == count)
        #expect(Set(ids).count == count)
    }
}
