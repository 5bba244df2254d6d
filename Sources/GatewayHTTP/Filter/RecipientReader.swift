/// One recipient read from a filter body: its 0-based position among the recipients (headers and blank lines
/// are not recipients), its 1-based line in the body for CSV and plain text (nil for JSON), and its text as sent.
/// For the CSV answer's rows, a CSV record's cells and the position of the recipient's among them.
struct FilterRecipient: Equatable, Sendable {
    var index: Int
    var line: Int?
    var input: String
    var cells: [String] = []
    var column: Int = 0
}

/// Why a filter body cannot be read: the request is refused (400 with `detail`, or 413 when there are too many recipients).
enum FilterBodyError: Error, Equatable, Sendable {
    /// A sentence naming what and where, e.g. "phoneNumbers[3]: expected a string".
    case malformed(String)
    case tooManyRecipients(limit: Int)
    /// The bytes are not in the body's encoding: a sentence saying which, to which the line is added.
    case undecodable(String)
}

/// Reads recipients from a body that arrives in chunks. `read` may be called any number of times with any split
/// of the bytes (a chunk may end in the middle of a line, a quoted field, a JSON string, an escape or a UTF-8
/// sequence); `finish` once at the end. Each recipient is passed to `emit` as soon as it is complete.
protocol RecipientReader {
    mutating func read(_ bytes: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError)
    mutating func finish(emit: (FilterRecipient) -> Void) throws(FilterBodyError)
    /// The 1-based line being read, for a text body (nil for JSON).
    var currentLine: Int? { get }
}

extension RecipientReader {
    /// The longest record (plain text, CSV) or string (JSON) a body may hold, in bytes: it bounds what is buffered.
    static var maxRecordBytes: Int { 1 << 20 }
}

enum ASCIIByte {
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let quote = UInt8(ascii: "\"")
    static let comma = UInt8(ascii: ",")
    static let tab = UInt8(ascii: "\t")
    static let backslash = UInt8(ascii: "\\")

    static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Whether a JSON value (other than an object) may start with this byte.
    static func startsJSONValue(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return true
        default:
            return false
        }
    }
}

extension Unicode.Scalar {
    static let replacement: Unicode.Scalar = "\u{FFFD}"
}

/// Whether the bytes are only spaces and tabs (or none).
func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
    for byte in bytes where byte != 0x20 && byte != 0x09 { return false }
    return true
}

/// Calls `body` with the array's bytes (`withUnsafeBytes` itself only rethrows untyped errors).
func withBytes(
    of array: [UInt8],
    _ body: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void
) throws(FilterBodyError) {
    let result: Result<Void, FilterBodyError> = array.withUnsafeBytes { bytes in
        Result { () throws(FilterBodyError) in try body(bytes) }
    }
    try result.get()
}
