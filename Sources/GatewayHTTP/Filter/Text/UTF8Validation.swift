/// Checks UTF-8 as a body arrives: well-formed sequences only (no overlong forms, surrogates or code points past
/// U+10FFFF), eight ASCII bytes at a time where it can.
enum UTF8Validation {
    enum Outcome: Equatable {
        case valid
        /// Valid up to `at`, where a sequence starts that the bytes end inside of.
        case incomplete(at: Int)
        /// Valid up to `at`, where a byte starts no well-formed sequence.
        case invalid(at: Int)
    }

    static func check(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        let count = bytes.count
        var index = 0
        while index < count {
            if index + 8 <= count,
                bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                index += 8
                continue
            }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            let continuations: Int
            switch lead {
            case 0xC2...0xDF: continuations = 1
            case 0xE0:
                continuations = 2
                low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: continuations = 2
            case 0xED:
                continuations = 2
                high = 0x9F
            case 0xF0:
                continuations = 3
                low = 0x90
            case 0xF1...0xF3: continuations = 3
            case 0xF4:
                continuations = 3
                high = 0x8F
            default: return .invalid(at: index)
            }
            for offset in 1...continuations {
                guard index + offset < count else { return .incomplete(at: index) }
                let byte = bytes[index + offset]
                guard byte >= (offset == 1 ? low : 0x80), byte <= (offset == 1 ? high : 0xBF) else {
                    return .invalid(at: index)
                }
            }
            index += continuations + 1
        }
        return .valid
    }
}
