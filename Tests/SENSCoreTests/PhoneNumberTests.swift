import SENSCore
import Testing

@Suite("Korean phone numbers")
struct PhoneNumberTests {
    @Test(arguments: [
        ("+82 10-1234-5678", "01012345678", PhoneNumber.Kind.mobile),
        ("010-1234-5678", "01012345678", .mobile),
        ("0082 10 1234 5678", "01012345678", .mobile),
        ("82 10 1234 5678", "01012345678", .mobile),
        ("+82 (0)10 1234 5678", "01012345678", .mobile),
        ("(+82) 010.1234.5678", "01012345678", .mobile),
        ("０１０－１２３４－５６７８", "01012345678", .mobile),
        ("010\u{00A0}1234\u{3000}5678", "01012345678", .mobile),
        ("010\u{2013}1234\u{2014}5678", "01012345678", .mobile),
        ("010-123-4567", "0101234567", .mobile),
        ("02-123-4567", "021234567", .fixedLine),
        ("(031) 1234-5678", "03112345678", .fixedLine),
        ("070-1234-5678", "07012345678", .voip),
        ("0505-123-4567", "05051234567", .personal),
        ("1588-1234", "15881234", .uan),
        ("+82 1588 1234", "15881234", .uan),
    ])
    func normalizes(input: String, digits: String, kind: PhoneNumber.Kind) throws {
        let number = try PhoneNumber.parse(input)
        #expect(number.digits == digits)
        #expect(number.kind == kind)
    }

    /// Every rejection reason, with the sentence a caller reads.
    @Test(arguments: [
        ("", "empty", "empty"),
        (String(repeating: "0", count: 65), "input_too_long", "longer than 64 characters"),
        ("010-1234-567x", "unexpected_character", "unexpected character 'x' at position 13"),
        ("010\t1234", "unexpected_character", "unexpected character U+0009 at position 4"),
        ("１２３", "too_short", "too short to be a Korean phone number"),
        ("123", "too_short", "too short to be a Korean phone number"),
        ("\t123\r\n", "too_short", "too short to be a Korean phone number"),
        ("010-1234-5678 ext 1", "unexpected_character", "unexpected character 'e' at position 15"),
        ("010+1234", "misplaced_plus", "unexpected '+' at position 4: only one '+', before the number, is allowed"),
        ("++82 10", "misplaced_plus", "unexpected '+' at position 2: only one '+', before the number, is allowed"),
        (" - ", "no_digits", "contains no digits"),
        ("+010 1234 5678", "missing_country_code", "'+' or '00' must be followed by a country code (82 for Korea)"),
        ("+1 212 555 1234", "not_korean", "not a Korean number (+1)"),
        ("+44 20 7946 0000", "not_korean", "not a Korean number (+44)"),
        ("+852 1234 5678", "not_korean", "not a Korean number (+852)"),
        ("0081 3 1234 5678", "not_korean", "not a Korean number (+81)"),
        (
            "10-1234-5678", "missing_leading_zero",
            "a domestic number must start with 0 (only 8-digit 15XX/16XX/18XX numbers do not)"
        ),
        (
            " 1012345678", "leading_zero_lost",
            "a mobile number without its leading 0, as a spreadsheet writes a number stored as a number: "
                + "format the column as text before saving (the filter restores the 0 with repair=leading-zero)"
        ),
        ("1612345678", "leading_zero_lost", PhoneNumberError.leadingZeroLost(restored: "").reason),
        ("111234567", "leading_zero_lost", PhoneNumberError.leadingZeroLost(restored: "").reason),
        ("1212345678", "missing_leading_zero", PhoneNumberError.missingLeadingZero.reason),
        ("1.01E+10", "scientific_notation", PhoneNumberError.scientificNotation.reason),
        ("1.01235E+10", "scientific_notation", PhoneNumberError.scientificNotation.reason),
        ("1e10", "scientific_notation", PhoneNumberError.scientificNotation.reason),
        ("1.E+10", "unexpected_character", "unexpected character 'E' at position 3"),
        ("0-1588-1234", "unexpected_leading_zero", "15XX-XXXX numbers are written without a leading 0"),
        ("034-123-4567", "unknown_prefix", "no Korean phone numbers start with 034"),
        ("010-123-456", "too_short", "too short for a 010 mobile number (10 or 11 digits, got 9)"),
        ("010-1234-56789", "too_long", "too long for a 010 mobile number (10 or 11 digits, got 12)"),
        ("02-123-456", "too_short", "too short for a 02 Seoul number (9 or 10 digits, got 8)"),
        ("070-1234-567", "too_short", "too short for a 070 internet phone number (11 digits, got 10)"),
        ("1588-123", "too_short", "too short for a 15XX-XXXX nationwide number (8 digits, got 7)"),
        ("0", "too_short", "too short to be a Korean phone number"),
        ("1500-1234", "not_allocated", "not an allocated number in the 15XX range (a 15XX-XXXX nationwide number)"),
        ("02-0123-4567", "not_allocated", "not an allocated number in the 02 range (a 02 Seoul number)"),
        ("080-123-4567", "cannot_receive_messages", "080/030 toll-free numbers cannot receive text messages"),
        ("060-234-5678", "cannot_receive_messages", "060 premium-rate numbers cannot receive text messages"),
        ("015-123-4567", "cannot_receive_messages", "015 pager numbers cannot receive text messages"),
    ])
    func rejects(input: String, code: String, reason: String) {
        #expect {
            try PhoneNumber.parse(input)
        } throws: { error in
            guard let error = error as? PhoneNumberError else { return false }
            #expect(error.code == code)
            #expect(error.reason == reason)
            return true
        }
    }

    @Test func masksForLogs() throws {
        #expect(try PhoneNumber.parse("010-1234-5678").masked == "010****5678")
        #expect(try PhoneNumber.parse("02-123-4567").masked == "021**4567")
        #expect(try PhoneNumber.parse("1588-1234").masked == "158*1234")
        #expect("\(try PhoneNumber.parse("+82 10 9876 5432"))" == "010****5432")
        #expect(PhoneNumber.mask("+82 10-9876-5432 ext") == "821*****5432")
        #expect(PhoneNumber.mask("12345") == "123**")
    }

    @Test func hostileInputIsRejectedQuickly() {
        let huge = String(repeating: "0", count: 5_000_000)
        #expect(throws: PhoneNumberError.inputTooLong(maxCharacters: 64)) { try PhoneNumber.parse(huge) }
        #expect(throws: PhoneNumberError.self) { try PhoneNumber.parse("0\u{301}10-1234-5678") }
    }
}
