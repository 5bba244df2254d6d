extension PhoneNumber {
    /// The longest input, in characters, that is looked at.
    public static let maxInputCharacters = 64

    /// Validates and normalizes a Korean phone number as people type it.
    ///
    /// Accepted: ASCII and full-width digits; spaces (any Unicode space separator), `-` and Unicode dashes,
    /// `.`, `/`, `(`, `)` and their full-width forms as separators; one `+` (or `＋`) before the digits.
    /// Country forms: domestic (`010…`, `02…`, `1588…`), or `+82`, `82`, `0082` followed by the national number
    /// with or without its leading 0. Anything else is rejected with a reason; nothing is guessed.
    public static func parse(_ input: String) throws(PhoneNumberError) -> PhoneNumber {
        do {
            return try parse(input, bytesFirst: true)
        } catch {
            throw spreadsheetDamage(input) ?? error
        }
    }

    /// What a spreadsheet that stored the number as a number left of it: a mobile number without its leading 0
    /// (`1012345678`, nine or ten ASCII digits that are a mobile number once the 0 is back), or scientific notation
    /// (`1.01E+10`). Only asked of inputs that are not numbers.
    static func spreadsheetDamage(_ input: String) -> PhoneNumberError? {
        // Checked before trimming, which walks characters: a hostile megabyte of padding is not looked at.
        guard input.utf8.count <= 4 * maxInputCharacters else { return nil }
        let text = trimmed(input).utf8
        guard let first = text.first, text.count <= 24 else { return nil }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        // 010, 011 and 016–019 are the mobile prefixes (`KoreanNumberingPlan`).
        let second = text.dropFirst().first ?? 0
        if first == UInt8(ascii: "1"), (9...10).contains(text.count), text.allSatisfy(isDigit),
            second == UInt8(ascii: "0") || second == UInt8(ascii: "1") || second >= UInt8(ascii: "6"),
            let restored = try? parse("0" + String(decoding: text, as: UTF8.self), bytesFirst: true),
            restored.kind == .mobile
        {
            return .leadingZeroLost(restored: restored.digits)
        }
        // d[.d…]E[+]dd, as spreadsheets write numbers of twelve digits or more (and `1.01E+10` for a mobile number).
        guard let exponent = text.firstIndex(where: { $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "e") }) else {
            return nil
        }
        let mantissa = text[..<exponent]
        var power = text[text.index(after: exponent)...]
        if power.first == UInt8(ascii: "+") { power = power.dropFirst() }
        guard isDigit(first), (1...2).contains(power.count), power.allSatisfy(isDigit) else { return nil }
        let fraction = mantissa.dropFirst()
        guard
            fraction.isEmpty
                || (fraction.first == UInt8(ascii: ".") && fraction.count > 1
                    && fraction.dropFirst().allSatisfy(isDigit))
        else { return nil }
        return .scientificNotation
    }

    /// `bytesFirst: false` skips the byte scan, so tests can hold the two scans to the same answers.
    static func parse(_ input: String, bytesFirst: Bool) throws(PhoneNumberError) -> PhoneNumber {
        let scanned: Scanned
        switch bytesFirst ? scanASCII(input) : .general {
        case .scanned(let value):
            if let mobile = mobile(value) { return mobile }
            scanned = value
        case .failed(let error):
            throw error
        case .general:
            // The length bound holds for the input as given, padding included: cheap in bytes first, so hostile
            // megabyte strings are not walked character by character.
            if input.utf8.count > maxInputCharacters * 4 || input.count > maxInputCharacters {
                throw .inputTooLong(maxCharacters: maxInputCharacters)
            }
            let number = trimmed(input)
            // Positions in reasons count from the input as sent, padding included.
            scanned = try scan(number, positionOffset: input.distance(from: input.startIndex, to: number.startIndex))
        }
        let national = try nationalNumber(scanned)
        let kind: Kind
        do {
            kind = try KoreanNumberingPlan.classify(national.digits, hadLeadingZero: national.hadLeadingZero)
        } catch {
            // A domestic number without its 0 that is not a 15XX/16XX/18XX one: say what is missing.
            if national.leadingZeroRequired && !national.hadLeadingZero && !national.digits.isNationwideShape {
                // `123` is too short to be a number missing its 0.
                if national.digits.count < minimumNationalDigits { throw .tooShort(nil, digits: national.digits.count) }
                throw .missingLeadingZero
            }
            throw error
        }
        if kind != .uan && national.leadingZeroRequired && !national.hadLeadingZero {
            throw .missingLeadingZero
        }
        let normalized = kind == .uan ? national.digits : [0] + national.digits
        return PhoneNumber(digits: digitString(normalized[...]), kind: kind)
    }

    /// Input without a leading 0 or a country code and with fewer digits than this (`123`) is reported as too
    /// short rather than as a number missing its 0: no number missing its 0 is that short.
    static let minimumNationalDigits = 7

    /// The input without leading and trailing whitespace of any kind (space, tab, CR, LF, no-break and
    /// ideographic spaces) or byte-order mark: numbers are pasted from spreadsheet columns.
    static func trimmed(_ input: String) -> Substring {
        func isPadding(_ character: Character) -> Bool { character.isWhitespace || character == "\u{FEFF}" }
        guard let first = input.firstIndex(where: { !isPadding($0) }) else { return input[input.endIndex...] }
        let last = input.lastIndex(where: { !isPadding($0) })!
        return input[first...last]
    }

    private struct Scanned {
        var digits: [UInt8]
        var hasPlus: Bool
    }

    /// The national significant number (without trunk 0) and how it was written.
    private struct NationalNumber {
        var digits: [UInt8]
        var hadLeadingZero: Bool
        /// False after a country code, where the leading 0 is optional.
        var leadingZeroRequired: Bool
    }

    private enum ASCIIScan {
        case scanned(Scanned)
        case failed(PhoneNumberError)
        /// Not only ASCII digits, separators and `+` between ASCII padding: the character scan decides.
        case general
    }

    /// The scan of what most inputs are, straight from their UTF-8 bytes: ASCII digits, the ASCII separators
    /// (space, `-`, `.`, `/`, `(`, `)`) and `+`, with ASCII whitespace around them. There every character is one
    /// byte (a CR LF pair, one character of two bytes, goes to the character scan), so positions are byte
    /// offsets; anything else goes to the character scan, which gives every other answer.
    /// The common case answered without the general path's intermediate arrays: a mobile number written
    /// nationally (`010-1234-5678`) or after +82 (`+82 10-1234-5678`), of a length and prefix the numbering plan
    /// accepts. Anything else, or anything it is unsure of, is nil and goes the general way; the differential test
    /// holds the two to the same answers.
    private static func mobile(_ scanned: Scanned) -> PhoneNumber? {
        let digits = scanned.digits
        // Where the national significant number (without its trunk 0) starts.
        let start: Int
        if scanned.hasPlus {
            guard digits.count >= 3, digits[0] == 8, digits[1] == 2, digits[2] == 1 else { return nil }
            start = 2
        } else {
            guard digits.count >= 2, digits[0] == 0, digits[1] == 1 else { return nil }
            start = 1
        }
        // 01X mobile numbers are 10 or 11 digits with their 0 (`KoreanNumberingPlan.classify`).
        let length = digits.count - start
        guard (9...10).contains(length) else { return nil }
        let second = digits[start + 1]
        guard second == 0 || second == 1 || (6...9).contains(second) else { return nil }
        // 0105 9XXX with X > 6 is not allocated (`KoreanNumberingPlan.isAllocatedMobile`).
        if second == 0, digits[start + 2] == 5, digits[start + 3] == 9, digits[start + 4] > 6 { return nil }
        let text = String(unsafeUninitializedCapacity: length + 1) { buffer in
            buffer[0] = UInt8(ascii: "0")
            for index in 0..<length { buffer[index + 1] = digits[start + index] + UInt8(ascii: "0") }
            return length + 1
        }
        return PhoneNumber(digits: text, kind: .mobile)
    }

    private static func scanASCII(_ input: String) -> ASCIIScan {
        var input = input
        return input.withUTF8 { bytes in
            guard bytes.count <= maxInputCharacters else { return .general }
            func isPadding(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
            guard let first = bytes.firstIndex(where: { !isPadding($0) }) else { return .general }
            let last = bytes.lastIndex(where: { !isPadding($0) })!
            var previous: UInt8 = 0
            for byte in bytes {
                if byte >= 0x80 || (previous == 0x0D && byte == 0x0A) { return .general }
                previous = byte
            }
            var scanned = Scanned(digits: [], hasPlus: false)
            scanned.digits.reserveCapacity(last - first + 1)
            for position in first...last {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    scanned.digits.append(byte - UInt8(ascii: "0"))
                case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "("),
                    UInt8(ascii: ")"):
                    continue
                case UInt8(ascii: "+"):
                    guard !scanned.hasPlus, scanned.digits.isEmpty else {
                        return .failed(.misplacedPlus(position: position + 1))
                    }
                    scanned.hasPlus = true
                default:
                    return .general
                }
            }
            return scanned.digits.isEmpty ? .failed(.noDigits) : .scanned(scanned)
        }
    }

    private static func scan(_ input: Substring, positionOffset: Int) throws(PhoneNumberError) -> Scanned {
        if input.isEmpty { throw .empty }
        // A cheap bound first, so hostile megabyte strings are not walked character by character.
        if input.utf8.count > maxInputCharacters * 4 { throw .inputTooLong(maxCharacters: maxInputCharacters) }
        var scanned = Scanned(digits: [], hasPlus: false)
        var position = positionOffset
        for character in input {
            position += 1
            if position > maxInputCharacters { throw .inputTooLong(maxCharacters: maxInputCharacters) }
            switch InputCharacter(character) {
            case .digit(let value):
                scanned.digits.append(value)
            case .separator:
                continue
            case .plus:
                guard !scanned.hasPlus, scanned.digits.isEmpty else { throw .misplacedPlus(position: position) }
                scanned.hasPlus = true
            case .other:
                throw .unexpectedCharacter(character, position: position)
            }
        }
        if scanned.digits.isEmpty { throw .noDigits }
        return scanned
    }

    private static func nationalNumber(_ scanned: Scanned) throws(PhoneNumberError) -> NationalNumber {
        let digits = scanned.digits[...]
        if scanned.hasPlus {
            return try afterCountryCode(digits)
        }
        if digits.starts(with: [0, 0]) {
            return try afterCountryCode(digits.dropFirst(2))
        }
        if digits.starts(with: [8, 2]) {
            return try afterCountryCode(digits)
        }
        if digits.first == 0 {
            return NationalNumber(digits: Array(digits.dropFirst()), hadLeadingZero: true, leadingZeroRequired: true)
        }
        return NationalNumber(digits: Array(digits), hadLeadingZero: false, leadingZeroRequired: true)
    }

    /// `digits` start with a country calling code: only 82 is accepted, then an optional leading 0.
    private static func afterCountryCode(_ digits: ArraySlice<UInt8>) throws(PhoneNumberError) -> NationalNumber {
        guard let first = digits.first, first != 0 else { throw .missingCountryCode }
        guard digits.starts(with: [8, 2]) else { throw .notKorean(countryCode: countryCallingCode(digits)) }
        let rest = digits.dropFirst(2)
        let hadLeadingZero = rest.first == 0
        return NationalNumber(
            digits: Array(hadLeadingZero ? rest.dropFirst() : rest),
            hadLeadingZero: hadLeadingZero,
            leadingZeroRequired: false
        )
    }

    /// The country calling code at the start of `digits` (ITU E.164 zones: 1 and 7 are one digit, the
    /// two-digit codes are listed, all others have three).
    private static func countryCallingCode(_ digits: ArraySlice<UInt8>) -> String {
        let twoDigitCodes: Set<Int> = [
            20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
            60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
        ]
        let first = Int(digits[digits.startIndex])
        if first == 1 || first == 7 || digits.count < 2 { return String(first) }
        let two = first * 10 + Int(digits[digits.startIndex + 1])
        if twoDigitCodes.contains(two) || digits.count < 3 { return String(two) }
        return String(two * 10 + Int(digits[digits.startIndex + 2]))
    }

    static func digitString(_ digits: ArraySlice<UInt8>) -> String {
        String(decoding: digits.map { $0 + UInt8(ascii: "0") }, as: UTF8.self)
    }
}

extension [UInt8] {
    /// Starts like a 15XX/16XX/18XX nationwide number.
    fileprivate var isNationwideShape: Bool {
        count >= 2 && self[0] == 1 && [5, 6, 8].contains(self[1])
    }
}

/// What one input character means to the parser.
enum InputCharacter: Equatable {
    case digit(UInt8)
    case separator
    case plus
    case other

    init(_ character: Character) {
        let scalars = character.unicodeScalars
        guard scalars.count == 1, let scalar = scalars.first else {
            self = .other
            return
        }
        switch scalar.value {
        case 0x30...0x39: self = .digit(UInt8(scalar.value - 0x30))
        case 0xFF10...0xFF19: self = .digit(UInt8(scalar.value - 0xFF10))  // full-width digits
        case 0x2B, 0xFF0B: self = .plus
        case 0x2E, 0x2F, 0x28, 0x29, 0xFF0E, 0xFF0F, 0xFF08, 0xFF09: self = .separator  // . / ( ) and full-width
        case 0x2212: self = .separator  // minus sign, typed for a dash
        default:
            switch scalar.properties.generalCategory {
            case .spaceSeparator, .dashPunctuation: self = .separator  // incl. NBSP, U+3000, '-', U+2010–2015
            default: self = .other
            }
        }
    }
}
