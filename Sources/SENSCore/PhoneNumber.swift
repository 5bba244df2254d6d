/// A valid Korean phone number that can receive text messages, in its normalized form.
///
/// The normalized form is the national number as ASCII digits with its leading 0 where it has one
/// (`01012345678`, `0212345678`, `15881234`): what SENS expects and what the gateway returns.
/// `description` is masked, so that interpolating a number into a log line never reveals it.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case mobile = "mobile"
        case fixedLine = "fixed_line"
        case voip = "voip"
        case personal = "personal"
        /// Nationwide customer-service numbers, 15XX/16XX/18XX-XXXX, which have no leading 0.
        case uan = "uan"
    }

    public let digits: String
    public let kind: Kind

    init(digits: String, kind: Kind) {
        self.digits = digits
        self.kind = kind
    }

    /// The number with all but its first three and last four digits hidden: `010****5678`.
    public var masked: String { PhoneNumber.mask(digits) }

    public var description: String { masked }

    /// Masks any digit string the same way (`010****5678`); for raw input, its digits alone are kept.
    /// Strings of 7 digits or fewer keep only their first three.
    public static func mask(_ text: some StringProtocol) -> String {
        let digits = text.filter(\.isASCIIDigit)
        guard digits.count > 7 else {
            return String(digits.prefix(3)) + String(repeating: "*", count: max(0, digits.count - 3))
        }
        return String(digits.prefix(3)) + String(repeating: "*", count: digits.count - 7) + String(digits.suffix(4))
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
