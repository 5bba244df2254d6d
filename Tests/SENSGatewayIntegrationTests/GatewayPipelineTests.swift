import Foundation
import OptOuts
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

/// A client's framing mistakes are answered 4xx (never 500), and the process holds up at its limits: connections
/// past the bound, few file descriptors, SIGTERM while an answer is still going out.
/// Serialized: the drain tests send large bodies with blocking writes, which would starve the others' readers.
@Suite("The request pipeline: framing, connections, drain", .serialized)
struct GatewayPipelineTests {
    @Test(arguments: [
        (
            "POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            "HTTP/1.1 400 ", "a chunk size that is not hex"
        ),
        (
            "POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx\r\n0\r\n\r\n",
            "HTTP/1.1 400 ", "more chunk data than its size"
        ),
        (
            "POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
            "HTTP/1.1 400 ", "a chunk size that overflows"
        ),
        (
            "POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "HTTP/1.1 501 ", "an unknown transfer coding"
        ),
        (
            "POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "HTTP/1.1 501 ", "gzip before chunked"
        ),
        ("GET /healthz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "no Host"),
        ("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 ", "two Hosts"),
    ])
    func framingMistakesAreAnswered4xx(request: String, statusLine: String, what: String) async throws {
        let harness = GatewayHarness()
        try await harness.run { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(request)
            let answer = try await connection.read(until: "\r\n\r\n")
            #expect(answer.hasPrefix(statusLine), "\(what): \(answer.prefix(200))")
            #expect(harness.simulator.stats.snapshot.totalCalls == 0)
        }
    }

    @Test func aRequestLineWithRawNonASCIIBytesGetsAProblemThatSaysToPercentEncode() async throws {
        try await GatewayHarness().run { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(
                Array("POST /v1/unsubscribes/filter?column=휴대폰 HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n".utf8)
                    + Array("Content-Length: 2\r\n\r\na\n".utf8)
            )
            let answer = try await connection.read(until: "}")
            #expect(answer.hasPrefix("HTTP/1.1 400 "), "\(answer.prefix(200))")
            #expect(answer.lowercased().contains("content-type: application/problem+json"))
            #expect(answer.contains("percent-encode"))
            #expect(answer.contains("%ED%9C%B4%EB%8C%80%ED%8F%B0"))
            #expect(try await connection.readsToEnd(within: 2_000))

            // A framing mistake in the body of a request answered early (415 before its body is read) is the
            // body's: no second answer follows the first.
            let early = try RawHTTPConnection(port: try #require(gateway.port))
            try early.send(
                "POST /v1/unsubscribes/filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nzz\r\n"
            )
            let answers = try await early.read(until: "no second answer", waitingAtMost: 1_500)
            #expect(answers.hasPrefix("HTTP/1.1 415 "), "\(answers.prefix(200))")
            #expect(answers.components(separatedBy: "HTTP/1.1 ").count == 2, "\(answers)")
        }
    }

    @Test func aStalledBodyIsAnswered408() async throws {
        let harness = GatewayHarness(
            resilience: ResilienceSettings.defaults.with {
                $0.deadlineMilliseconds = 500
                $0.maxAttempts = 1
            }
        )
        try await harness.run { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send(
                "POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"phone"
            )
            let answer = try await connection.read(until: "}", waitingAtMost: 5_000)
            #expect(answer.hasPrefix("HTTP/1.1 408 "), "\(answer.prefix(300))")
            #expect(answer.contains("the body did not arrive in time"))
            #expect(try await connection.readsToEnd(within: 5_000), "the connection is closed after the 408")
        }
    }

    @Test func http10WithoutKeepAliveIsClosedAfterItsAnswer() async throws {
        try await GatewayHarness().run { gateway in
            let connection = try RawHTTPConnection(port: try #require(gateway.port))
            try connection.send("GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
            let answer = try await connection.read(until: #"{"status":"ok"}"#)
            #expect(answer.hasPrefix("HTTP/1.0 200 "), "\(answer)")
            #expect(answer.lowercased().contains("connection: close"))
            #expect(try await connection.readsToEnd(within: 2_000))
            let keepAlive = try RawHTTPConnection(port: try #require(gateway.port))
            try keepAlive.send("GET /healthz HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
            _ = try await keepAlive.read(until: #"{"status":"ok"}"#)
            #expect(try await !keepAlive.readsToEnd(within: 300), "kept open when asked")
            // HTTP/1.0 does not require a Host: a health checker that sends none is answered.
            let noHost = try RawHTTPConnection(port: try #require(gateway.port))
            try noHost.send("GET /healthz HTTP/1.0\r\n\r\n")
            #expect(try await noHost.read(until: #"{"status":"ok"}"#).hasPrefix("HTTP/1.0 200 "))
        }
    }

    /// Under a limit of 2,048 open files the process holds 1,000 connections: 1,100 idle ones make room for
    /// `/healthz` by closing those idle the longest.
    @Test func healthAnswersWhileIdleConnectionsFillTheBound() async throws {
        let gateway = try GatewayProcess(
            ["--simulator", "--http-port", "0", "--mirror-enabled=false"],
            environment: ["HTTP_MAX_CONNECTIONS": "1000"],
            openFiles: (soft: 1_024, hard: 2_048)
        )
        let port = try await gateway.listeningPort()
        #expect(
            gateway.standardOutput.contains("before=1024") && gateway.standardOutput.contains("now=2048"),
            "the soft limit is raised"
        )
        var idle: [RawHTTPConnection] = []
        for _ in 0..<1_100 { idle.append(try RawHTTPConnection(port: port)) }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        let health = try RawHTTPConnection(port: port)
        try health.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = try await health.read(until: #"{"status":"ok"}"#, waitingAtMost: 3_000)
        #expect(answer.hasPrefix("HTTP/1.1 200 "), "\(answer.prefix(200))")
        #expect(started.duration(to: .now) < .seconds(1))
        #expect(gateway.standardOutput.contains("the connection bound is reached"))
        idle.removeAll()
        #expect(try await gateway.stop() == 0)
    }

    @Test func refusesABoundItCannotHold() async throws {
        let gateway = try GatewayProcess(
            ["--simulator", "--http-port", "0"],
            environment: ["HTTP_MAX_CONNECTIONS": "5000"],
            openFiles: (soft: 2_048, hard: 2_048)
        )
        #expect(try await gateway.exitStatus() == 2)
        #expect(
            gateway.standardError.contains("http.maxConnections (HTTP_MAX_CONNECTIONS, --http-max-connections) is 5000")
        )
        #expect(gateway.standardError.contains("at most 1024"))
    }

    /// `0105` and seven digits, one a line, from 0.
    static func recipients(_ count: Int) -> String {
        var text = ""
        text.reserveCapacity(count * 12)
        for index in 0..<count {
            let digits = String(index)
            text += "0105" + String(repeating: "0", count: 7 - digits.count) + digits + "\n"
        }
        return text
    }

    /// Until the default service's mirror is ready.
    static func waitForMirror(port: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let connection = try RawHTTPConnection(port: port)
            try connection.send("GET /v1/mirror HTTP/1.1\r\nHost: x\r\n\r\n")
            if try await connection.read(until: "]}").contains(#""state":"ready""#) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw GatewayProcessError("the mirror was not ready within 30 s")
    }

    /// SIGTERM while a 12 MB filter answer goes to a reader that does not read: the answer gets `HTTP_DRAIN_SECONDS`,
    /// is cut at the bound and logged as cut (499), and the process exits.
    @Test func aDrainBoundCutsAnAnswerAndSaysSo() async throws {
        let gateway = try GatewayProcess(["--simulator", "--http-port", "0"], environment: ["HTTP_DRAIN_SECONDS": "2"])
        let port = try await gateway.listeningPort()
        try await Self.waitForMirror(port: port)
        let body = Self.recipients(1_000_000)
        let connection = try RawHTTPConnection(port: port, receiveBuffer: 4_096)
        let head =
            "POST /v1/unsubscribes/filter HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nAccept: text/csv\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n"
        try connection.send(head + body)
        // The answer has started: its head is in, the rest waits on a reader that reads no more.
        #expect(try await connection.read(until: "\r\n\r\n", waitingAtMost: 30_000).hasPrefix("HTTP/1.1 200 "))
        let started = ContinuousClock.now
        #expect(try await gateway.stop(within: .seconds(15)) == 0)
        #expect(started.duration(to: .now) < .seconds(8), "the drain bound holds")
        #expect(
            gateway.standardOutput.contains("answer cut before it was all sent"),
            "\(gateway.standardOutput.suffix(2_000))"
        )
        #expect(gateway.standardOutput.contains("status=499"))
    }

    /// The same answer read while the gateway drains arrives whole, within the bound.
    @Test func anAnswerInFlightFinishesDuringTheDrain() async throws {
        let gateway = try GatewayProcess(
            ["--simulator", "--http-port", "0"],
            environment: ["HTTP_DRAIN_SECONDS": "20"]
        )
        let port = try await gateway.listeningPort()
        try await Self.waitForMirror(port: port)
        let body = Self.recipients(600_000)
        let connection = try RawHTTPConnection(port: port, receiveBuffer: 4_096)
        try connection.send(
            "POST /v1/unsubscribes/filter HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nAccept: text/csv\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        )
        let head = try await connection.read(until: "\r\n\r\n", waitingAtMost: 30_000)
        let stopped = Task { try await gateway.stop(within: .seconds(30)) }
        let answer = head + (try await connection.read(until: "01050599999\n", waitingAtMost: 20_000))
        #expect(answer.hasPrefix("HTTP/1.1 200 "), "\(answer.prefix(200))")
        #expect(!answer.lowercased().contains("x-sens-gateway-answer-token"), "the gateway's own mark is never sent")
        #expect(
            answer.hasSuffix("01050599999\n"),
            "the whole answer arrived: \(answer.utf8.count) bytes, ends \(String(reflecting: String(answer.suffix(60))))"
        )
        #expect(try await stopped.value == 0)
        #expect(!gateway.standardOutput.contains("answer cut"))
    }
}
