/// Finds the first object key that appears twice in the same JSON object. JSON parsers disagree on which of
/// the two wins (the runtime's keeps one silently), so a body with a repeated key is refused instead of read.
/// Malformed or too deeply nested JSON is left to the decoder, which refuses it and says where.
enum JSONDuplicateKeys {
    /// Deeper than this, the scan stops: the decoder refuses such nesting anyway (its limit is 512).
    static let maxDepth = 512

    /// Where the repeated key is, as `phoneNumbers` or `items[2].name`; nil when there is none (or the text is
    /// not JSON, or nests deeper than `maxDepth`). Time and memory are linear in the body's size.
    static func first(in bytes: some Collection<UInt8>) -> String? {
        var scanner = Scanner(bytes: Array(bytes))
        return scanner.scan()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        /// One open container: an object with the keys seen so far and the key being read, or an array with the
        /// index of the element being read. Paths are built only when a repeated key is found.
        enum Container {
            case object(keys: Set<[UInt8]>, current: [UInt8]?)
            case array(index: Int)
        }

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func scan() -> String? {
            var stack: [Container] = []
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "{"):
                    guard stack.count < JSONDuplicateKeys.maxDepth else { return nil }
                    stack.append(.object(keys: [], current: nil))
                    index += 1
                case UInt8(ascii: "["):
                    guard stack.count < JSONDuplicateKeys.maxDepth else { return nil }
                    stack.append(.array(index: 0))
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard !stack.isEmpty else { return nil }
                    stack.removeLast()
                    index += 1
                case UInt8(ascii: ","):
                    index += 1
                    if case .array(let element)? = stack.last { stack[stack.count - 1] = .array(index: element + 1) }
                case UInt8(ascii: "\""):
                    guard let string = readString() else { return nil }
                    // A string directly inside an object, followed by ':', is a key.
                    guard case .object(var keys, _)? = stack.last, nextSignificant() == UInt8(ascii: ":") else { continue }
                    guard keys.insert(string).inserted else {
                        stack[stack.count - 1] = .object(keys: keys, current: string)
                        return Self.path(stack)
                    }
                    stack[stack.count - 1] = .object(keys: keys, current: string)
                    index += 1  // the ':'
                default:
                    index += 1
                }
            }
            return nil
        }

        /// `items[2].name` for the containers open now.
        static func path(_ stack: [Container]) -> String {
            var path = ""
            for container in stack {
                switch container {
                case .array(let element): path += "[\(element)]"
                case .object(_, let current?):
                    let name = String(decoding: current, as: UTF8.self)
                    path += path.isEmpty ? name : "." + name
                case .object(_, nil): break
                }
            }
            return path.isEmpty ? "the body" : path
        }

        /// The next byte that is not whitespace, without consuming it.
        mutating func nextSignificant() -> UInt8? {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
            return index < bytes.count ? bytes[index] : nil
        }

        /// The string starting at `index` (a quote), escapes decoded, leaving `index` after its closing quote.
        mutating func readString() -> [UInt8]? {
            index += 1
            var value: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return value
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count, let unit = UInt16(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else { return nil }
                        index += 4
                        // Surrogate halves are kept as their code units: enough to tell keys apart.
                        if let scalar = Unicode.Scalar(unit) {
                            value.append(contentsOf: Array(String(Character(scalar)).utf8))
                        } else {
                            value.append(contentsOf: [0xFF, UInt8(unit >> 8), UInt8(unit & 0xFF)])
                        }
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "t"): value.append(0x09)
                    case UInt8(ascii: "r"): value.append(0x0D)
                    case UInt8(ascii: "b"): value.append(0x08)
                    case UInt8(ascii: "f"): value.append(0x0C)
                    default: value.append(escaped)
                    }
                default:
                    value.append(byte)
                }
            }
            return nil
        }
    }
}
