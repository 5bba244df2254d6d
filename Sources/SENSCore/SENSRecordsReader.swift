/// Reads SENS's register and list answers, a JSON array of ``SENSUnsubscribeRecord``, straight from the bytes.
///
/// It accepts what `JSONDecoder` accepts for `[SENSUnsubscribeRecord]` (any whitespace and key order, unknown
/// keys with any value, string escapes, and the decoder's leniencies: trailing commas, loosely checked numbers in
/// skipped values; nothing after the array) and answers nil for anything else. It exists because the decoder
/// was a large share of the gateway's CPU time on uncached list calls (Benchmarks/README.md); a test holds the
/// two to the same answers.
public enum SENSRecordsReader {
    public static func records(in bytes: UnsafeRawBufferPointer) -> [SENSUnsubscribeRecord]? {
        var scanner = JSONByteScanner(bytes)
        var records: [SENSUnsubscribeRecord] = []
        guard scanner.consume(UInt8(ascii: "[")) else { return nil }
        if !scanner.consume(UInt8(ascii: "]")) {
            repeat {
                guard let record = readRecord(&scanner) else { return nil }
                records.append(record)
            } while scanner.consume(UInt8(ascii: ",")) && !scanner.consume(UInt8(ascii: "]"), putBack: true)
            guard scanner.consume(UInt8(ascii: "]")) else { return nil }
        }
        return scanner.atEnd ? records : nil
    }

    private static func readRecord(_ scanner: inout JSONByteScanner) -> SENSUnsubscribeRecord? {
        var clientTelNo: String?
        var registerType: String?
        var registerTime: String?
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        if !scanner.consume(UInt8(ascii: "}")) {
            repeat {
                guard let key = scanner.readKey(), scanner.consume(UInt8(ascii: ":")) else { return nil }
                switch key {
                case .clientTelNo:
                    guard let value = scanner.readString() else { return nil }
                    clientTelNo = value
                case .registerType:
                    guard let value = scanner.readString() else { return nil }
                    registerType = value
                case .registerTime:
                    guard let value = scanner.readString() else { return nil }
                    registerTime = value
                case .other: guard scanner.skipValue() else { return nil }
                }
            } while scanner.consume(UInt8(ascii: ",")) && !scanner.consume(UInt8(ascii: "}"), putBack: true)
            guard scanner.consume(UInt8(ascii: "}")) else { return nil }
        }
        guard let clientTelNo, let registerTime, let type = registerType.flatMap(SENSRegisterType.init(rawValue:))
        else { return nil }
        return SENSUnsubscribeRecord(clientTelNo: clientTelNo, registerType: type, registerTime: registerTime)
    }
}

/// The keys of a record the reader looks for.
enum SENSRecordKey {
    case clientTelNo, registerType, registerTime, other

    init(_ key: String) {
        switch key {
        case "clientTelNo": self = .clientTelNo
        case "registerType": self = .registerType
        case "registerTime": self = .registerTime
        default: self = .other
        }
    }
}

/// A forward-only reader of JSON tokens over bytes (RFC 8259), enough to pick fields out of known shapes.
/// Every method skips the whitespace before its token.
struct JSONByteScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    /// Unknown values nest at most this deep, so a hostile answer cannot exhaust the stack.
    private static let maxDepth = 64

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return index == bytes.count
        }
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): index += 1
            default: return
            }
        }
    }

    private mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// Consumes `byte` if it is the next token; with `putBack`, only says whether it is (the closing bracket
    /// after a trailing comma, which `JSONDecoder` allows, is then consumed by the caller).
    mutating func consume(_ byte: UInt8, putBack: Bool = false) -> Bool {
        guard peek() == byte else { return false }
        if !putBack { index += 1 }
        return true
    }

    /// A string token, unescaped; nil if the next token is not a valid string.
    mutating func readString() -> String? {
        switch readStringToken() {
        case .plain(let text, let isASCII):
            // ASCII is valid UTF-8 as it stands; anything else is checked.
            return isASCII ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
        case .escaped(let text):
            return text
        case nil:
            return nil
        }
    }

    /// An object key as a ``SENSRecordKey``: compared as bytes when it has no escapes, so reading a key
    /// allocates nothing.
    mutating func readKey() -> SENSRecordKey? {
        switch readStringToken() {
        case .plain(let key, let isASCII):
            if Self.equal(key, "clientTelNo") { return .clientTelNo }
            if Self.equal(key, "registerType") { return .registerType }
            if Self.equal(key, "registerTime") { return .registerTime }
            // Other keys are never compared, but must still be valid UTF-8.
            return isASCII || String(validating: key, as: UTF8.self) != nil ? .other : nil
        case .escaped(let key):
            return SENSRecordKey(key)
        case nil:
            return nil
        }
    }

    /// A string token as read: its raw bytes when it has no escapes (most), decoded text when it has.
    private enum StringToken {
        case plain(UnsafeRawBufferPointer, isASCII: Bool)
        case escaped(String)
    }

    /// The one scan of a string token, shared by ``readString()`` and ``readKey()``.
    private mutating func readStringToken() -> StringToken? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return .plain(UnsafeRawBufferPointer(rebasing: bytes[start..<index]), isASCII: highBits < 0x80)
            }
            if byte == UInt8(ascii: "\\") { return readEscapedString(from: start).map(StringToken.escaped) }
            guard byte >= 0x20 else { return nil }
            highBits |= byte
            index += 1
        }
        return nil
    }

    /// The slow path of ``readStringToken()``, for strings with escapes: decodes from `start` to the closing quote.
    private mutating func readEscapedString(from start: Int) -> String? {
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                if let decoded = JSONEscapes.single(escape) {
                    utf8.append(decoded)
                } else if escape == UInt8(ascii: "u"), let scalar = readUnicodeEscape() {
                    utf8.append(contentsOf: String(Character(scalar)).utf8)
                } else {
                    return nil
                }
            default:
                guard byte >= 0x20 else { return nil }
                utf8.append(byte)
            }
        }
        return nil
    }

    /// After `\u`: four hex digits, and for a high surrogate the `\uXXXX` low surrogate that must follow (a lone
    /// surrogate makes the answer unreadable, as it does to `JSONDecoder`).
    private mutating func readUnicodeEscape() -> Unicode.Scalar? {
        guard let first = readHex4() else { return nil }
        if JSONEscapes.isHighSurrogate(first) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { return nil }
            index += 2
            guard let second = readHex4() else { return nil }
            return JSONEscapes.scalar(high: first, low: second)
        }
        return Unicode.Scalar(first)
    }

    private mutating func readHex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = JSONEscapes.hexValue(bytes[index]) else { return nil }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Byte equality, lengths first (the generic `elementsEqual` showed in the profile).
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        for offset in 0..<bytes.count where bytes[offset] != literal.utf8Start[offset] { return false }
        return true
    }

    /// Skips one value of any kind, checking that it is valid JSON.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < Self.maxDepth, let next = peek() else { return false }
        switch next {
        case UInt8(ascii: "\""):
            return readString() != nil
        case UInt8(ascii: "{"):
            index += 1
            if consume(UInt8(ascii: "}")) { return true }
            repeat {
                guard readString() != nil, consume(UInt8(ascii: ":")), skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ",")) && !consume(UInt8(ascii: "}"), putBack: true)
            return consume(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            index += 1
            if consume(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ",")) && !consume(UInt8(ascii: "]"), putBack: true)
            return consume(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): return skipLiteral("true")
        case UInt8(ascii: "f"): return skipLiteral("false")
        case UInt8(ascii: "n"): return skipLiteral("null")
        default: return skipNumber()
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// A number in a value that is skipped: as lenient as `JSONDecoder`, which for such values only checks that
    /// they start with `-` or a digit and continue with number characters (`01`, `1.`, `1e` and `-` pass).
    private mutating func skipNumber() -> Bool {
        guard index < bytes.count,
            bytes[index] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
        else { return false }
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                UInt8(ascii: "+"), UInt8(ascii: "-"):
                index += 1
            default:
                return true
            }
        }
        return true
    }
}
