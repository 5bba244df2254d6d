import NIOCore
import SENSCore

/// Writes an answer's JSON straight into reserved memory: the hot answers know their largest size before they
/// start (`ByteBuffer.written(capacity:)`), so each piece is a bounds check and a copy, without `ByteBuffer`'s
/// per-write bookkeeping, a large share of a mirrored list page's cost (Benchmarks/README.md, "Hot paths").
struct RawJSONWriter {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    /// The bytes `appendString` writes for `text`, quotes included.
    static func bound(escaping text: String) -> Int {
        var count = 2
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0A, 0x0D, 0x09: count += 2
            case ..<0x20: count += 6
            default: count += 1
            }
        }
        return count
    }

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        capacity = buffer.count
    }

    private mutating func reserve(_ bytes: Int) -> UnsafeMutablePointer<UInt8> {
        precondition(count + bytes <= capacity, "an answer outgrew the size it reserved")
        defer { count += bytes }
        return base + count
    }

    mutating func append(_ text: StaticString) {
        reserve(text.utf8CodeUnitCount).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    mutating func append(byte: UInt8) {
        reserve(1).pointee = byte
    }

    /// A string known to need no escaping (digits, cursors), unquoted.
    mutating func appendPlain(_ text: String) {
        var text = text
        text.withUTF8 { bytes in reserve(bytes.count).update(from: bytes.baseAddress!, count: bytes.count) }
    }

    /// A JSON string, quoted: quotes, backslashes and control characters escaped, everything else as UTF-8 (what
    /// the gateway's `JSONEncoder` writes, with `.withoutEscapingSlashes`).
    mutating func appendString(_ text: String) {
        append(byte: UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): append(#"\""#)
                case UInt8(ascii: "\\"): append(#"\\"#)
                case 0x0A: append(#"\n"#)
                case 0x0D: append(#"\r"#)
                case 0x09: append(#"\t"#)
                case ..<0x20:
                    let hex: StaticString = "0123456789abcdef"
                    append(#"\u00"#)
                    append(byte: hex.utf8Start[Int(byte >> 4)])
                    append(byte: hex.utf8Start[Int(byte & 0xF)])
                default: append(byte: byte)
                }
            }
        }
        append(byte: UInt8(ascii: "\""))
    }

    /// A whole number (at most `integerBytes` bytes).
    mutating func appendInteger(_ value: Int) {
        if (0..<10).contains(value) {
            append(byte: UInt8(ascii: "0") + UInt8(value))
        } else {
            appendPlain(String(value))
        }
    }

    static let integerBytes = 20

    /// An RFC 3339 time, unquoted (as `JSONAnswer` writes times); at most `RFC3339.maxBytes` bytes.
    mutating func appendTime(_ milliseconds: Int64, utcOffsetSeconds: Int) {
        precondition(count + RFC3339.maxBytes <= capacity, "an answer outgrew the size it reserved")
        count += RFC3339.write(
            epochMilliseconds: milliseconds,
            utcOffsetSeconds: utcOffsetSeconds,
            into: UnsafeMutableBufferPointer(start: base + count, count: RFC3339.maxBytes)
        )
    }
}

extension ByteBuffer {
    /// A buffer holding what `write` writes into at most `capacity` bytes (JSON, or any text the writer's pieces
    /// make).
    static func written(capacity: Int, _ write: (inout RawJSONWriter) -> Void) -> ByteBuffer {
        var out = ByteBuffer()
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
            var writer = RawJSONWriter(UnsafeMutableRawBufferPointer(rebasing: raw[..<capacity]))
            write(&writer)
            return writer.count
        }
        return out
    }
}
