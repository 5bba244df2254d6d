import Foundation

/// Runs a program to completion and returns its exit status and combined output.
public func runProcess(_ executable: String, _ arguments: [String]) async throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(filePath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let exit = AsyncStream<Int32> { continuation in
        process.terminationHandler = { finished in
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
    }
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    var status: Int32 = -1
    for await value in exit { status = value }
    return (status, output)
}
