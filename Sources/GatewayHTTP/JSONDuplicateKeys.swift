/// Finds the first object key that appears twice in the same JSON object. JSON parsers disagree on which of
/// the two wins (the runtime's keeps one silently), so a body with a repeated key is refused instead of read.
/// Malformed JSON is left to the decoder, which says where it is malformed.
enum JSONDuplicateKeys {
    /// Where the repeated key is, as `phoneNumbers` or `items[2].name`; nil when there is none (or the text is
    /// not JSON).
    static func first(in bytes: some Collection<UInt8>) -> String? {
        var scanner = Scanner(bytes: Array(bytes))
        return scanner.scan()
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        enum Container {
            case object(keys: Set<[UInt8]>, path: String)
            case array(count: Int, path: String)
        }

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func scan() -> String? {
            var stack: [Container] = []
            /// The path of the value about to be read.
            var valuePath = ""
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"):
                    stack.append(.object(keys: [], path: valuePath))
                    index += 1
                case UInt8(ascii: "["):
                    stack.append(.array(count: 0, path: valuePath))
                    valuePath += "[0]"
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard !stack.isEmpty else { return nil }
                    stack.removeLast()
                    index += 1
                case UInt8(ascii: ","):
                    index += 1
                    if case .array(let count, let path)? = stack.last {
                        stack[stack.count - 1] = .array(count: count + 1, path: path)
                        valuePath = path + "[\(count + 1)]"
                    }
                case UInt8(ascii: "\""):
                    guard let string = readString() else { return nil }
                    // A string directly inside an object, followed by ':', is a key.
                    guard case .object(var keys, let path)? = stack.last, nextSignificant() == UInt8(ascii: ":") else { continue }
                    let name = String(decoding: string, as: UTF8.self)
                    let keyPath = path.isEmpty ? name : path + "." + name
                    guard keys.insert(string).inserted else { return keyPath }
                    stack[stack.count - 1] = .object(keys: keys, path: path)
                    valuePath = keyPath
                    index += 1  // the ':'
                default:
                    index += 1
                }
            }
            return nil
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
                        // Surrogate pairs are kept as their code units: enough to tell keys apart.
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
