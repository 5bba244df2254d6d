import Foundation
import OptOuts
import SENSClient
import Synchronization
import Testing

/// The built `sens-gateway` executable run as a user runs it: arguments, environment, exit status, and what it
/// writes to standard output and standard error.
final class GatewayProcess: Sendable {
    private let process: Process
    private let stdout = OutputBuffer()
    private let stderr = OutputBuffer()

    /// The executable beside the test bundle (`swift build` puts every product in one folder).
    static var executable: URL {
        get throws {
            let beside = URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent().appending(
                path: "sens-gateway"
            )
            if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
            let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let fallback = root.appending(path: ".build/debug/sens-gateway")
            guard FileManager.default.isExecutableFile(atPath: fallback.path) else {
                throw GatewayProcessError("sens-gateway is not built beside the tests (\(beside.path))")
            }
            return fallback
        }
    }

    /// Starts the gateway. The environment is only what is given (plus PATH), so the machine's own settings
    /// cannot leak in; it runs in a directory of its own, where the mirror's default file goes.
    /// `openFiles` runs it under that soft and hard limit on open files (`prlimit`).
    /// `executable` runs another program the same way (a test's helper process).
    init(
        _ arguments: [String],
        environment: [String: String] = [:],
        openFiles: (soft: Int, hard: Int)? = nil,
        executable: URL? = nil
    ) throws {
        process = Process()
        process.executableURL = try executable ?? Self.executable
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sens-gateway-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process.currentDirectoryURL = directory
        process.arguments = arguments
        if let openFiles {
            process.arguments =
                ["--nofile=\(openFiles.soft):\(openFiles.hard)", "--", try Self.executable.path] + arguments
            process.executableURL = URL(filePath: "/usr/bin/prlimit")
        }
        // Tests run gateways side by side: each simulator on a free port, unless a test says otherwise.
        process.environment = environment.merging(["PATH": "/usr/bin:/bin", "SIMULATOR_PORT": "0"]) { given, _ in given
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdout = self.stdout
        let stderr = self.stderr
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            stdout.data.withLock { $0.append(data) }
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            stderr.data.withLock { $0.append(data) }
        }
        try process.run()
    }

    var standardOutput: String { stdout.data.withLock { String(decoding: $0, as: UTF8.self) } }
    var standardError: String { stderr.data.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Waits (bounded) for the process to end and returns its exit status.
    func exitStatus(within limit: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw GatewayProcessError(
                    "\(process.executableURL?.lastPathComponent ?? "sens-gateway") \(process.arguments?.prefix(2).joined(separator: " ") ?? "") still running after \(limit)"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(50))  // the last output
        return process.terminationStatus
    }

    /// Waits (bounded) until standard output holds `text`.
    func waitForOutput(_ text: String, within limit: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + limit
        while !standardOutput.contains(text) {
            guard process.isRunning else {
                throw GatewayProcessError("sens-gateway stopped before printing \(text): \(standardError)")
            }
            guard ContinuousClock.now < deadline else {
                throw GatewayProcessError("no \(text) within \(limit): \(standardOutput)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The port from the "listening" line (`address=http://127.0.0.1:PORT`).
    func listeningPort() async throws -> Int {
        try await waitForOutput("sens-gateway listening")
        let line = try #require(standardOutput.split(separator: "\n").first { $0.contains("sens-gateway listening") })
        let address = try #require(line.firstRange(of: "address=http://127.0.0.1:"))
        return try #require(Int(line[address.upperBound...].prefix { $0.isNumber }))
    }

    /// SIGKILL: the process ends at once, as when its node dies.
    func kill() async throws {
        if process.isRunning { _ = Foundation.kill(process.processIdentifier, SIGKILL) }
        _ = try await exitStatus()
    }

    /// SIGTERM, then the exit status of the graceful shutdown.
    func stop(within limit: Duration = .seconds(20)) async throws -> Int32 {
        if process.isRunning { process.terminate() }
        return try await exitStatus(within: limit)
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// What one stream of the process has written so far.
final class OutputBuffer: Sendable {
    let data = Mutex(Data())
}

struct GatewayProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
