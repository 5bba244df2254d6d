/// Why an input is not an acceptable Korean phone number. `reason` is the sentence callers see.
public enum PhoneNumberError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case inputTooLong(maxCharacters: Int)
    /// `position` counts characters from 1.
    case unexpectedCharacter(Character, position: Int)
    case misplacedPlus(position: Int)
    case noDigits
    /// A `+` or `00` not followed by a country code.
    case missingCountryCode
    case notKorean(countryCode: String)
    /// A domestic number written without its leading 0 (only 15XX/16XX/18XX numbers have none).
    case missingLeadingZero
    /// A 15XX/16XX/18XX number written with a leading 0.
    case unexpectedLeadingZero(prefix: String)
    case unknownPrefix(String)
    case tooShort(NumberRange?, digits: Int)
    case tooLong(NumberRange?, digits: Int)
    /// Right prefix and length, but outside the blocks allocated in the numbering plan.
    case notAllocated(NumberRange)
    case cannotReceiveMessages(UnreachableService)
    /// Nine or ten digits that are a mobile number once a leading 0 is put back (`1012345678`): what a spreadsheet
    /// that stored the number as a number writes. `restored` is that number, normalized.
    case leadingZeroLost(restored: String)
    /// A number in scientific notation (`1.01E+10`), as a spreadsheet writes a long number: its digits are lost.
    case scientificNotation

    /// Services that have numbers but cannot receive text messages.
    public enum UnreachableService: String, Sendable, Equatable {
        case tollFree = "toll-free"
        case premiumRate = "premium-rate"
        case pager = "pager"
    }

    /// A stable machine-readable code.
    public var code: String {
        switch self {
        case .empty: "empty"
        case .inputTooLong: "input_too_long"
        case .unexpectedCharacter: "unexpected_character"
        case .misplacedPlus: "misplaced_plus"
        case .noDigits: "no_digits"
        case .missingCountryCode: "missing_country_code"
        case .notKorean: "not_korean"
        case .missingLeadingZero: "missing_leading_zero"
        case .unexpectedLeadingZero: "unexpected_leading_zero"
        case .unknownPrefix: "unknown_prefix"
        case .tooShort: "too_short"
        case .tooLong: "too_long"
        case .notAllocated: "not_allocated"
        case .cannotReceiveMessages: "cannot_receive_messages"
        case .leadingZeroLost: "leading_zero_lost"
        case .scientificNotation: "scientific_notation"
        }
    }

    public var reason: String {
        switch self {
        case .empty:
            return "empty"
        case .inputTooLong(let maxCharacters):
            return "longer than \(maxCharacters) characters"
        case .unexpectedCharacter(let character, let position):
            return "unexpected character \(Self.show(character)) at position \(position)"
        case .misplacedPlus(let position):
            return "unexpected '+' at position \(position): only one '+', before the number, is allowed"
        case .noDigits:
            return "contains no digits"
        case .missingCountryCode:
            return "'+' or '00' must be followed by a country code (82 for Korea)"
        case .notKorean(let countryCode):
            return "not a Korean number (+\(countryCode))"
        case .missingLeadingZero:
            return "a domestic number must start with 0 (only 8-digit 15XX/16XX/18XX numbers do not)"
        case .unexpectedLeadingZero(let prefix):
            return "\(prefix)XX-XXXX numbers are written without a leading 0"
        case .unknownPrefix(let prefix):
            return "no Korean phone numbers start with \(prefix)"
        case .tooShort(let range, let digits):
            guard let range else { return "too short to be a Korean phone number" }
            return "too short for \(range.label) (\(range.lengthText), got \(digits))"
        case .tooLong(let range, let digits):
            guard let range else { return "too long to be a Korean phone number" }
            return "too long for \(range.label) (\(range.lengthText), got \(digits))"
        case .notAllocated(let range):
            return "not an allocated number in the \(range.prefix) range (\(range.label))"
        case .cannotReceiveMessages(let service):
            let prefix =
                switch service {
                case .tollFree: "080/030"
                case .premiumRate: "060"
                case .pager: "015"
                }
            return "\(prefix) \(service.rawValue) numbers cannot receive text messages"
        case .leadingZeroLost:
            return "a mobile number without its leading 0, as a spreadsheet writes a number stored as a number: "
                + "format the column as text before saving (the filter restores the 0 with repair=leading-zero)"
        case .scientificNotation:
            return "a number in scientific notation, as a spreadsheet writes a long number stored as a number: "
                + "its last digits are lost; format the column as text and save the file again"
        }
    }

    public var description: String { reason }

    private static func show(_ character: Character) -> String {
        let scalars = character.unicodeScalars
        if scalars.count == 1, let scalar = scalars.first, scalar.properties.generalCategory.isVisible {
            return "'\(character)'"
        }
        return scalars.map { "U+" + String($0.value, radix: 16, uppercase: true).leftPadded(to: 4) }
            .joined(separator: " ")
    }
}

/// A block of the numbering plan, for error messages: its prefix, a phrase naming it, and its lengths.
public struct NumberRange: Sendable, Equatable {
    public let prefix: String
    public let label: String
    /// Lengths of the normalized form, in digits.
    public let lengths: ClosedRange<Int>

    var lengthText: String {
        lengths.count == 1 ? "\(lengths.lowerBound) digits" : "\(lengths.lowerBound) or \(lengths.upperBound) digits"
    }
}

extension Unicode.GeneralCategory {
    /// Letters, marks, numbers, punctuation and symbols: shown quoted. Spaces and controls are shown as code points.
    fileprivate var isVisible: Bool {
        switch self {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .surrogate, .privateUse,
            .unassigned, .nonspacingMark, .enclosingMark, .spacingMark:
            false
        default:
            true
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
