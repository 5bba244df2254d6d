import CallScope
import GatewayHTTP
import Glibc
import Logging
import SENSCore
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The access log of a running gateway: each request's line is formatted straight into a byte buffer (a fixed
/// layout, the timestamp's text made once a second) and a background task writes the buffer to standard output
/// every `flushInterval`. The line is the one swift-log's handler for `format` wrote before: same fields, same
/// order. A request never waits for the write: when the buffer is full (the output stalls), lines are dropped
/// and counted, and the count is logged. Flushed at shutdown, after the server has drained, so no line of a
/// finished request is lost; as a service, add it before the others so that it stops last.
public final class BufferedAccessLog: AccessLog, Service {
    private struct State {
        var buffer: [UInt8] = []
        var dropped = 0
        /// The second the cached timestamp text is for, and that text.
        var second: Int = -1
        var stamp: [UInt8] = []
    }

    private let state = Mutex(State())
    private let format: GatewayConfiguration.LogSettings.Format
    private let enabled: Bool
    private let label: [UInt8]
    private let capacity: Int
    private let flushInterval: Duration
    private let write: @Sendable (UnsafeRawBufferPointer) -> Void
    private let clock: any EpochClock
    private let logger: Logger
    /// Told how many lines each flush dropped (`access_log_dropped_lines_total`).
    private let onDropped: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - level: the configured log level; above `info`, nothing is recorded (as before).
    ///   - capacity: bytes held at most between two writes (a line is about 150).
    public init(
        format: GatewayConfiguration.LogSettings.Format,
        level: Logger.Level,
        label: String = "sens-gateway",
        capacity: Int = 4 << 20,
        flushInterval: Duration = .milliseconds(50),
        clock: any EpochClock = SystemEpochClock(),
        logger: Logger,
        onDropped: @escaping @Sendable (Int) -> Void = { _ in },
        write: @escaping @Sendable (UnsafeRawBufferPointer) -> Void = BufferedAccessLog.standardOutput
    ) {
        self.onDropped = onDropped
        self.format = format
        self.enabled = level <= .info
        self.label = Array(label.utf8)
        self.capacity = capacity
        self.flushInterval = flushInterval
        self.write = write
        self.clock = clock
        self.logger = logger
    }

    /// Writes all of `bytes` to file descriptor 1, retrying short writes.
    public static let standardOutput: @Sendable (UnsafeRawBufferPointer) -> Void = { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    public func record(_ entry: AccessLogEntry, metadata: RequestMetadata) {
        guard enabled else { return }
        let now = clock.nowMilliseconds()
        state.withLock { state in
            guard state.buffer.count < capacity else {
                state.dropped += 1
                return
            }
            stamp(now, &state)
            switch format {
            case .text: appendText(entry, &state)
            case .json: appendJSON(entry, now: now, &state)
            }
        }
    }

    /// Writes what the buffer holds; the lines of concurrent requests never interleave.
    public func flush() {
        let (bytes, dropped) = state.withLock { state -> ([UInt8], Int) in
            defer {
                state.buffer.removeAll(keepingCapacity: true)
                state.dropped = 0
            }
            return (state.buffer, state.dropped)
        }
        if !bytes.isEmpty { bytes.withUnsafeBytes(write) }
        if dropped > 0 {
            onDropped(dropped)
            logger.warning(
                "access log lines dropped: standard output did not keep up",
                metadata: ["dropped": "\(dropped)"]
            )
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while (try? await Task.sleep(for: self.flushInterval)) != nil { self.flush() }
        }
        flush()
    }

    // MARK: Formatting

    /// `2026-12-01T11:00:00+0000 info sens-gateway: duration_ms=1.756 method=GET request_id=… route=/v1/… status=200 [GatewayHTTP] request`
    private func appendText(_ entry: AccessLogEntry, _ state: inout State) {
        state.buffer += state.stamp
        state.buffer += Self.textLevel
        state.buffer += label
        Self.appendFields(entry, Self.text, to: &state.buffer)
    }

    /// `{"timestamp":"…","level":"info","message":"request","label":"sens-gateway","duration_ms":"1.756",…}`, as
    /// `JSONLogHandler` writes it (metadata keys in order, values as strings).
    private func appendJSON(_ entry: AccessLogEntry, now: Int64, _ state: inout State) {
        state.buffer += Self.jsonStart
        state.buffer += state.stamp
        // The milliseconds, then the offset, after the cached seconds.
        state.buffer.append(UInt8(ascii: "."))
        let milliseconds = Int(now % 1000)
        state.buffer.append(UInt8(ascii: "0") + UInt8(milliseconds / 100))
        state.buffer.append(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
        state.buffer.append(UInt8(ascii: "0") + UInt8(milliseconds % 10))
        state.buffer += Self.jsonAfterStamp
        state.buffer += label
        Self.appendFields(entry, Self.json, to: &state.buffer)
    }

    /// What comes before each field of a line, and after the last; the fields in their sorted order.
    private struct FieldLayout {
        let duration, method, requestID, route, status, traceID, end: [UInt8]
        /// JSON escapes the route (a template is safe as it is, but is not checked to be).
        let escapesRoute: Bool

        init(
            _ duration: String,
            _ method: String,
            _ requestID: String,
            _ route: String,
            _ status: String,
            _ traceID: String,
            _ end: String,
            escapesRoute: Bool
        ) {
            (self.duration, self.method, self.requestID) = (
                Array(duration.utf8), Array(method.utf8), Array(requestID.utf8)
            )
            (self.route, self.status, self.traceID, self.end) = (
                Array(route.utf8), Array(status.utf8), Array(traceID.utf8), Array(end.utf8)
            )
            self.escapesRoute = escapesRoute
        }
    }

    private static func appendFields(_ entry: AccessLogEntry, _ layout: FieldLayout, to buffer: inout [UInt8]) {
        buffer += layout.duration
        buffer += entry.durationText.utf8
        buffer += layout.method
        buffer += entry.method.utf8
        buffer += layout.requestID
        buffer += entry.requestID.utf8
        buffer += layout.route
        if layout.escapesRoute { appendJSONEscaped(entry.route, to: &buffer) } else { buffer += entry.route.utf8 }
        buffer += layout.status
        buffer += String(entry.status).utf8
        if let traceID = entry.traceID {
            buffer += layout.traceID
            buffer += traceID.utf8
        }
        buffer += layout.end
    }

    /// Makes the timestamp's text once a second: local time like swift-log's handler for text, UTC to the second
    /// like `JSONLogHandler` (which adds the milliseconds and `+00:00`).
    private func stamp(_ now: Int64, _ state: inout State) {
        let second = Int(now / 1000)
        guard second != state.second else { return }
        state.second = second
        switch format {
        case .text:
            var time = time_t(second)
            var parts = tm()
            localtime_r(&time, &parts)
            var text = [Int8](repeating: 0, count: 64)
            let count = strftime(&text, text.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
            state.stamp = text.prefix(count).map { UInt8(bitPattern: $0) }
        case .json:
            // "2026-12-01T11:00:00.000+00:00" without its last 10 bytes (".000+00:00").
            let full = Array(RFC3339.format(epochMilliseconds: Int64(second) * 1000, utcOffsetSeconds: 0).utf8)
            state.stamp = Array(full.dropLast(10))
        }
    }

    /// A route template is ASCII letters, digits and `/{}-_`; anything else is escaped as `JSONLogHandler` does.
    private static func appendJSONEscaped(_ text: String, to buffer: inout [UInt8]) {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x80 }) {
            buffer += text.utf8
        } else {
            buffer += JSONLogHandler.quoted(text).utf8.dropFirst().dropLast()
        }
    }

    private static let textLevel = Array(" info ".utf8)
    private static let text = FieldLayout(
        ": duration_ms=",
        " method=",
        " request_id=",
        " route=",
        " status=",
        " trace_id=",
        " [GatewayHTTP] request\n",
        escapesRoute: false
    )
    private static let jsonStart = Array("{\"timestamp\":\"".utf8)
    private static let jsonAfterStamp = Array("+00:00\",\"level\":\"info\",\"message\":\"request\",\"label\":\"".utf8)
    private static let json = FieldLayout(
        "\",\"duration_ms\":\"",
        "\",\"method\":\"",
        "\",\"request_id\":\"",
        "\",\"route\":\"",
        "\",\"status\":\"",
        "\",\"trace_id\":\"",
        "\"}\n",
        escapesRoute: true
    )
}
