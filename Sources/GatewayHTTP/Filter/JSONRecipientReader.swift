import SENSCore

/// Reads `{"phoneNumbers": ["…", …]}` as a state machine over the chunks: only a string in progress is buffered.
struct JSONRecipientReader: RecipientReader, Sendable {
    var currentLine: Int? { nil }

    /// Where the reader is in the body's grammar.
    private enum State: Sendable {
        /// At the start, having seen this many bytes of a UTF-8 BOM.
        case start(bomBytes: Int)
        /// After `{`: a key or `}`.
        case objectStart
        /// After `,` in the object: a key.
        case beforeKey
        case key
        /// After a key: `:`.
        case afterKey
        /// After `"phoneNumbers":`: `[`.
        case beforeArray
        /// After `[`: a string or `]`.
        case arrayStart
        /// After `,` in the array: a string.
        case beforeElement
        case element
        /// After an element: `,` or `]`.
        case afterElement
        /// After the array: `,` or `}`.
        case afterArray
        /// After the closing `}`: only whitespace.
        case end
    }

    /// Where the reader is in an escape sequence inside a string.
    private enum Escape: Sendable {
        case off
        /// After `\`.
        case started
        /// After `\u` and `digits` hex digits, whose value is `value`.
        case unicode(digits: Int, value: UInt16)
    }

    /// Keys are kept only this long: enough to tell them apart and to name an unknown one.
    private static let maxKeyBytes = 1024
    private static let phoneNumbers = Array("phoneNumbers".utf8)
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    private let maxRecipients: Int
    private var state = State.start(bomBytes: 0)
    /// Bytes of the body in the chunks before the current one (for error positions).
    private var offset = 0
    private var sawPhoneNumbers = false
    private var elementCount = 0
    /// The string in progress, decoded (a key is cut at `maxKeyBytes`).
    private var string: [UInt8] = []
    private var escape = Escape.off
    /// A `\uD800`–`\uDBFF` escape waiting for the low surrogate that should follow it.
    private var highSurrogate: UInt16?

    init(maxRecipients: Int) {
        self.maxRecipients = maxRecipients
    }

    mutating func read(_ bytes: UnsafeRawBufferPointer, emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        var position = 0
        while position < bytes.count {
            switch state {
            case .key, .element:
                position = try readString(bytes, from: position, emit: emit)
            default:
                try readToken(bytes[position], at: offset + position)
                position += 1
            }
        }
        offset += bytes.count
    }

    mutating func finish(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        guard case .end = state else { throw .malformed("the body is not valid JSON (it ends early)") }
        guard sawPhoneNumbers else { throw .malformed("phoneNumbers: is required") }
    }

    // MARK: Structure

    /// Reads one byte outside strings; `at` is its position in the body.
    private mutating func readToken(_ byte: UInt8, at position: Int) throws(FilterBodyError) {
        if case .start(let bomBytes) = state, bomBytes < 3 {
            if byte == Self.bom[bomBytes] {
                state = .start(bomBytes: bomBytes + 1)
                return
            }
            guard bomBytes == 0 else { throw invalid(at: position) }
            state = .start(bomBytes: 3)  // no BOM: from here on, only whitespace may come before the `{`
        }
        if ASCIIByte.isJSONWhitespace(byte) { return }
        switch state {
        case .start:
            guard byte == UInt8(ascii: "{") else {
                throw ASCIIByte.startsJSONValue(byte)
                    ? FilterBodyError.malformed("the body: expected an object") : invalid(at: position)
            }
            state = .objectStart
        case .objectStart where byte == UInt8(ascii: "}"), .afterArray where byte == UInt8(ascii: "}"):
            state = .end
        case .objectStart where byte == ASCIIByte.quote, .beforeKey where byte == ASCIIByte.quote:
            startString(.key)
        case .afterKey where byte == UInt8(ascii: ":"):
            state = .beforeArray
        case .beforeArray:
            guard byte == UInt8(ascii: "[") else {
                throw .malformed(
                    byte == UInt8(ascii: "n")
                        ? "phoneNumbers: expected an array, found null" : "phoneNumbers: expected an array"
                )
            }
            state = .arrayStart
        case .arrayStart where byte == UInt8(ascii: "]"), .afterElement where byte == UInt8(ascii: "]"):
            state = .afterArray
        case .arrayStart where byte == ASCIIByte.quote, .beforeElement where byte == ASCIIByte.quote:
            startString(.element)
        // After `[`, anything else; after `,`, anything else but `]` (a trailing comma is a syntax error).
        case .arrayStart,
            .beforeElement where byte != UInt8(ascii: "]"):
            throw .malformed("phoneNumbers[\(elementCount)]: expected a string")
        case .afterElement where byte == ASCIIByte.comma:
            state = .beforeElement
        case .afterArray where byte == ASCIIByte.comma:
            state = .beforeKey
        default:
            throw invalid(at: position)
        }
    }

    private mutating func startString(_ next: State) {
        state = next
        string.removeAll(keepingCapacity: true)
        escape = .off
        highSurrogate = nil
    }

    /// Handles a complete key: only one `phoneNumbers` is taken.
    private mutating func finishKey() throws(FilterBodyError) {
        guard string == Self.phoneNumbers else {
            let key = String(decoding: string, as: UTF8.self).prefix(64)
            throw .malformed("\(key): unknown field; the body takes phoneNumbers")
        }
        guard !sawPhoneNumbers else { throw .malformed("phoneNumbers: the key appears more than once") }
        sawPhoneNumbers = true
        state = .afterKey
    }

    private mutating func finishElement(emit: (FilterRecipient) -> Void) throws(FilterBodyError) {
        guard elementCount < maxRecipients else { throw .tooManyRecipients(limit: maxRecipients) }
        emit(FilterRecipient(index: elementCount, line: nil, input: String(decoding: string, as: UTF8.self)))
        elementCount += 1
        state = .afterElement
    }

    // MARK: Strings

    /// Reads string content from `bytes[start...]` up to the closing quote or the chunk's end; returns the
    /// position after what it read. Runs of plain bytes are copied at once.
    private mutating func readString(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        emit: (FilterRecipient) -> Void
    ) throws(FilterBodyError) -> Int {
        var position = start
        while position < bytes.count {
            if inEscape {
                try readEscape(bytes[position], at: offset + position)
                position += 1
                continue
            }
            let runStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == ASCIIByte.quote || byte == ASCIIByte.backslash || byte < 0x20 { break }
                position += 1
            }
            if position > runStart {
                try appendUnpairedSurrogate()
                try append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<position]))
            }
            guard position < bytes.count else { break }
            let byte = bytes[position]
            position += 1
            if byte == ASCIIByte.backslash {
                escape = .started
            } else if byte == ASCIIByte.quote {
                try appendUnpairedSurrogate()
                if case .key = state { try finishKey() } else { try finishElement(emit: emit) }
                return position
            } else {
                throw invalid(at: offset + position - 1)  // a raw control character
            }
        }
        return position
    }

    private var inEscape: Bool {
        if case .off = escape { return false }
        return true
    }

    /// Reads one byte of an escape sequence (after the `\`).
    private mutating func readEscape(_ byte: UInt8, at position: Int) throws(FilterBodyError) {
        switch escape {
        case .off:
            return
        case .started:
            if byte == UInt8(ascii: "u") {
                escape = .unicode(digits: 0, value: 0)
                return
            }
            guard let decoded = JSONEscapes.single(byte) else { throw invalid(at: position) }
            escape = .off
            try appendUnpairedSurrogate()
            try append(CollectionOfOne(decoded))
        case .unicode(let digits, let value):
            guard let digit = JSONEscapes.hexValue(byte) else { throw invalid(at: position) }
            let unit = value << 4 | UInt16(digit)
            guard digits == 3 else {
                escape = .unicode(digits: digits + 1, value: unit)
                return
            }
            escape = .off
            try appendUTF16(unit)
        }
    }

    /// Appends a `\uXXXX` code unit: a high surrogate waits for its low one; a lone surrogate becomes U+FFFD.
    private mutating func appendUTF16(_ unit: UInt16) throws(FilterBodyError) {
        if let high = highSurrogate, JSONEscapes.isLowSurrogate(UInt32(unit)) {
            highSurrogate = nil
            try append(JSONEscapes.scalar(high: UInt32(high), low: UInt32(unit)) ?? Unicode.Scalar.replacement)
            return
        }
        try appendUnpairedSurrogate()
        if JSONEscapes.isHighSurrogate(UInt32(unit)) {
            highSurrogate = unit
        } else {
            try append(Unicode.Scalar(unit) ?? Unicode.Scalar.replacement)
        }
    }

    /// A high surrogate not followed by a low one becomes U+FFFD.
    private mutating func appendUnpairedSurrogate() throws(FilterBodyError) {
        guard highSurrogate != nil else { return }
        highSurrogate = nil
        try append(Unicode.Scalar.replacement)
    }

    private mutating func append(_ scalar: Unicode.Scalar) throws(FilterBodyError) {
        try append(scalar.utf8)
    }

    /// Appends decoded bytes to the string in progress: a key is cut at `maxKeyBytes`, an element may not pass 1 MiB.
    private mutating func append(_ bytes: some Collection<UInt8>) throws(FilterBodyError) {
        if case .key = state {
            string.append(contentsOf: bytes.prefix(Self.maxKeyBytes - string.count))
            return
        }
        guard string.count + bytes.count <= Self.maxRecordBytes else {
            throw .malformed("phoneNumbers[\(elementCount)]: longer than \(Self.maxRecordBytes) bytes")
        }
        string.append(contentsOf: bytes)
    }

    /// `position` counts the body's bytes from 0, a BOM included.
    private func invalid(at position: Int) -> FilterBodyError {
        .malformed("the body is not valid JSON (at byte \(position))")
    }
}
