import SENSCore

/// The national number a SENS record stands for. SENS takes any digits, and other tools register `821012345678`,
/// `00821012345678` or `1012345678` (a mobile number without its 0) for `01012345678`: each is an opt-out of the
/// national number. Erring toward "opted out" is the safe side, so a form without its leading 0 is read as the
/// number with it whenever that is a valid number.
enum NationalNumber {
    /// The national number of a SENS record's digits, or nil when they are no Korean number.
    static func of(sensDigits digits: String) -> PhoneKey? {
        if let number = try? PhoneNumber.parse(digits) { return PhoneKey(digits: number.digits) }
        guard !digits.hasPrefix("0"), let number = try? PhoneNumber.parse("0" + digits) else { return nil }
        return PhoneKey(digits: number.digits)
    }
}
