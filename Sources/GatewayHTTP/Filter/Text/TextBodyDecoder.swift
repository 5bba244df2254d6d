/// Turns a text body (CSV, TSV, plain) into UTF-8 as it arrives, for the line reader: UTF-8 is checked and passed
/// on as it is, CP949 converted through iconv. A body without a declared charset is ASCII until its first other
/// byte; the bytes from there (up to `detectionWindow`) decide: UTF-8 if they are UTF-8, else CP949 if they are
/// CP949, else the body is refused. Bytes that are not in the chosen encoding are never guessed at: what comes
/// before them is passed on (so the reader knows the line) and `FilterBodyError.undecodable` thrown.
struct TextBodyDecoder {
    private enum State {
        case detecting
        case reading(TextCharset)
    }

    private var state: State
    private let declared: Bool
    /// An incomplete character carried over to the next chunk, or, while detecting, the bytes from the first
    /// that is not ASCII.
    private var held: [UInt8] = []
    private var converter: Iconv?
    private var converted: [UInt8] = []
    static let detectionWindow = 1024

    /// The charset the body is read in: the declared one, or the detected one (UTF-8 until a byte says otherwise).
    var charset: TextCharset {
        if case .reading(let charset) = state { return charset }
        return .utf8
    }

    /// Nil when the system cannot convert CP949 (checked at start-up, so not expected).
    init?(declared: TextCharset?) {
        self.declared = declared != nil
        state = declared.map { .reading($0) } ?? .detecting
        if declared == .cp949 {
            guard let converter = Iconv(from: TextCharset.cp949.iconvName, to: "UTF-8") else { return nil }
            self.converter = converter
        }
    }

    mutating func decode(
        _ bytes: UnsafeRawBufferPointer,
        emit: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void
    ) throws(FilterBodyError) {
        switch state {
        case .reading(.utf8): try passUTF8(bytes, emit: emit)
        case .reading(.cp949): try convert(bytes, final: false, emit: emit)
        case .detecting:
            if held.isEmpty {
                let ascii = Self.asciiPrefix(bytes)
                if ascii > 0 { try emit(UnsafeRawBufferPointer(rebasing: bytes[..<ascii])) }
                guard ascii < bytes.count else { return }
                held.append(contentsOf: bytes[ascii...])
            } else {
                held.append(contentsOf: bytes)
            }
            if held.count >= Self.detectionWindow { try decide(final: false, emit: emit) }
        }
    }

    mutating func finish(emit: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void) throws(FilterBodyError) {
        switch state {
        case .detecting:
            if held.isEmpty {
                state = .reading(.utf8)
            } else {
                try decide(final: true, emit: emit)
            }
        case .reading(.utf8):
            if !held.isEmpty { throw undecodable(.utf8) }
        case .reading(.cp949):
            if !held.isEmpty { throw undecodable(.cp949) }
        }
    }

    // MARK: Detection

    private mutating func decide(
        final: Bool,
        emit: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void
    ) throws(FilterBodyError) {
        var window: [UInt8] = []
        swap(&window, &held)
        // The first `detectionWindow` bytes decide; a character they end inside of is no evidence either way,
        // unless the body ends there too.
        let sampleCount = min(window.count, Self.detectionWindow)
        let sampleEndsBody = final && sampleCount == window.count
        let asUTF8 = window.withUnsafeBytes {
            UTF8Validation.check(UnsafeRawBufferPointer(rebasing: $0[..<sampleCount]))
        }
        var isUTF8 = asUTF8 == .valid
        if case .incomplete = asUTF8, !sampleEndsBody { isUTF8 = true }
        if isUTF8 {
            state = .reading(.utf8)
            try withBytes(of: window) { (bytes: UnsafeRawBufferPointer) throws(FilterBodyError) in
                try passUTF8(bytes, emit: emit)
            }
            if final, !held.isEmpty { throw undecodable(.utf8) }
            return
        }
        if let converter = Iconv(from: TextCharset.cp949.iconvName, to: "UTF-8") {
            var scratch: [UInt8] = []
            let (_, stop) = window.withUnsafeBytes {
                converter.convert(UnsafeRawBufferPointer(rebasing: $0[..<sampleCount]), into: &scratch)
            }
            if stop == .done || (stop == .incomplete && !sampleEndsBody) {
                self.converter = converter
                state = .reading(.cp949)
                try withBytes(of: window) { (bytes: UnsafeRawBufferPointer) throws(FilterBodyError) in
                    try convert(bytes, final: final, emit: emit)
                }
                return
            }
        }
        // Neither: what was UTF-8 is passed on, so that the reader knows the line of the first byte that is not.
        if case .invalid(let at) = asUTF8, at > 0 {
            try withBytes(of: Array(window[..<at])) { (bytes: UnsafeRawBufferPointer) throws(FilterBodyError) in
                try emit(bytes)
            }
        }
        throw .undecodable(
            "the body is neither UTF-8 nor CP949 (EUC-KR); save it as \"CSV UTF-8\" or as Excel's \"CSV (쉼표로 분리)\", "
                + "or declare its charset"
        )
    }

    /// How many bytes at the start are ASCII.
    private static func asciiPrefix(_ bytes: UnsafeRawBufferPointer) -> Int {
        var index = 0
        while index + 8 <= bytes.count,
            bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
        {
            index += 8
        }
        while index < bytes.count, bytes[index] < 0x80 { index += 1 }
        return index
    }

    // MARK: UTF-8

    /// Passes on checked UTF-8; a character cut by the chunk's end is held for the next.
    private mutating func passUTF8(
        _ bytes: UnsafeRawBufferPointer,
        emit: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void
    ) throws(FilterBodyError) {
        var start = 0
        if let lead = held.first {
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            let needed = length - held.count
            guard bytes.count >= needed else {
                held.append(contentsOf: bytes)
                return
            }
            var character = held
            character.append(contentsOf: bytes[..<needed])
            held.removeAll(keepingCapacity: true)
            guard character.withUnsafeBytes({ UTF8Validation.check($0) }) == .valid else { throw undecodable(.utf8) }
            try withBytes(of: character, emit)
            start = needed
        }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
        switch UTF8Validation.check(rest) {
        case .valid:
            try emit(rest)
        case .incomplete(let at):
            try emit(UnsafeRawBufferPointer(rebasing: rest[..<at]))
            held.append(contentsOf: rest[at...])
        case .invalid(let at):
            try emit(UnsafeRawBufferPointer(rebasing: rest[..<at]))
            throw undecodable(.utf8)
        }
    }

    // MARK: CP949

    private mutating func convert(
        _ bytes: UnsafeRawBufferPointer,
        final: Bool,
        emit: (UnsafeRawBufferPointer) throws(FilterBodyError) -> Void
    ) throws(FilterBodyError) {
        guard let converter else { throw undecodable(.cp949) }
        var input: [UInt8] = []
        if !held.isEmpty {
            swap(&input, &held)
            input.append(contentsOf: bytes)
        }
        converted.removeAll(keepingCapacity: true)
        let (consumed, stop) =
            input.isEmpty
            ? converter.convert(bytes, into: &converted)
            : input.withUnsafeBytes { converter.convert($0, into: &converted) }
        try withBytes(of: converted, emit)
        switch stop {
        case .done: break
        case .incomplete where !final:
            held = input.isEmpty ? Array(bytes[consumed...]) : Array(input[consumed...])
        case .incomplete, .invalid: throw undecodable(.cp949)
        }
    }

    private func undecodable(_ charset: TextCharset) -> FilterBodyError {
        switch (charset, declared) {
        case (.utf8, true):
            .undecodable(
                "the body is not UTF-8, as its charset says; a file saved by Excel on Korean Windows is CP949: "
                    + "send it with charset=cp949"
            )
        case (.utf8, false):
            .undecodable("the body was read as UTF-8 (its first text outside ASCII is UTF-8), and this is not UTF-8")
        case (.cp949, true):
            .undecodable("the body is not CP949 (EUC-KR), as its charset says")
        case (.cp949, false):
            .undecodable("the body was read as CP949 (its first text outside ASCII is CP949), and this is not CP949")
        }
    }
}
