import Glibc
import Logging
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes one JSON object per line to standard output: `timestamp`, `level`, `message`, `label`, then the
/// metadata (keys as given, values as strings). Chosen with `LOG_FORMAT=json`.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void = JSONLogHandler.standardOutput) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        var line = "{\"timestamp\":\(Self.quoted(RFC3339.format(epochMilliseconds: milliseconds, utcOffsetSeconds: 0)))"
        line += ",\"level\":\(Self.quoted(event.level.rawValue)),\"message\":\(Self.quoted(event.message.description))"
        line += ",\"label\":\(Self.quoted(label))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key })
        where !["timestamp", "level", "message", "label"].contains(key) {
            line += ",\(Self.quoted(key)):\(Self.quoted(value.description))"
        }
        write(line + "}\n")
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One `write(2)` per line, so lines from concurrent requests never interleave.
    public static let standardOutput: @Sendable (String) -> Void = { line in
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
    }
}
