/// Which numbers exist in Korea, following Google libphonenumber's KR metadata, over the national
/// significant number (the digits after the trunk 0 or the country code).
enum KoreanNumberingPlan {
    /// - Parameter hadLeadingZero: whether a 0 was written before `n`; 15XX/16XX/18XX numbers have none, and
    ///   a 016/018 mobile written with its 0 is never read as one of them.
    static func classify(_ n: [UInt8], hadLeadingZero: Bool) throws(PhoneNumberError) -> PhoneNumber.Kind {
        guard n.count >= 2 else { throw .tooShort(nil, digits: n.count + (hadLeadingZero ? 1 : 0)) }
        let length = n.count
        switch (n[0], n[1]) {
        case (1, 5):
            if length == 8 {
                guard hadLeadingZero else { return try uan(n) }
                if isAllocatedUAN(n) { throw .unexpectedLeadingZero(prefix: "15") }
                throw .cannotReceiveMessages(.pager)
            }
            if (9...10).contains(length) { throw .cannotReceiveMessages(.pager) }
            throw lengthError(uanRange(n), digits: length)
        case (1, 6) where length == 8 && !hadLeadingZero, (1, 8) where length == 8 && !hadLeadingZero:
            return try uan(n)
        case (1, 6) where length == 8 && isAllocatedUAN(n), (1, 8) where length == 8 && isAllocatedUAN(n):
            throw .unexpectedLeadingZero(prefix: "1\(n[1])")
        case (1, 0), (1, 1), (1, 2), (1, 6), (1, 7), (1, 8), (1, 9):
            let range = NumberRange(prefix: "01\(n[1])", label: "a 01\(n[1]) mobile number", lengths: 10...11)
            try checkLength(range, digits: length + 1)
            guard isAllocatedMobile(n) else { throw .notAllocated(range) }
            return .mobile
        case (2, _):
            let range = NumberRange(prefix: "02", label: "a 02 Seoul number", lengths: 9...10)
            try checkLength(range, digits: length + 1)
            guard n[1] != 0 else { throw .notAllocated(range) }
            return .fixedLine
        case (3, 1...3), (4, 1...4), (5, 1...5), (6, 1...4):
            let prefix = "0\(n[0])\(n[1])"
            let range = NumberRange(prefix: prefix, label: "a \(prefix) area number", lengths: 10...11)
            // Besides subscriber numbers, area codes hold short 1XX service numbers (e.g. 031-1XX).
            if (5...6).contains(length) && n[2] == 1 { return .fixedLine }
            try checkLength(range, digits: length + 1)
            guard n[2] != 0 else { throw .notAllocated(range) }
            return .fixedLine
        case (3, 0), (8, 0):
            throw .cannotReceiveMessages(.tollFree)
        case (6, 0):
            throw .cannotReceiveMessages(.premiumRate)
        case (5, 0):
            try checkLength(
                NumberRange(prefix: "050", label: "a 050X personal number", lengths: 11...12),
                digits: length + 1
            )
            return .personal
        case (7, 0):
            try checkLength(
                NumberRange(prefix: "070", label: "a 070 internet phone number", lengths: 11...11),
                digits: length + 1
            )
            return .voip
        default:
            throw .unknownPrefix("0\(n[0])\(n[1])")
        }
    }

    /// Mobile blocks: `10[0-46-9]`, `105(?:[0-8]\d|9[0-6])`, `1[16-9]`, `12[013-9]`, `122[13]`.
    private static func isAllocatedMobile(_ n: [UInt8]) -> Bool {
        switch (n[1], n[2]) {
        case (0, 5): return n[3] != 9 || n[4] <= 6
        case (2, 2): return n[3] == 1 || n[3] == 3
        default: return true
        }
    }

    /// 8-digit nationwide numbers: 15(22|33|44|66|77|88|99), 16([07]0|44|6[0168]|88), 18(00|33|55|77|99).
    private static func uan(_ n: [UInt8]) throws(PhoneNumberError) -> PhoneNumber.Kind {
        guard isAllocatedUAN(n) else { throw .notAllocated(uanRange(n)) }
        return .uan
    }

    private static func isAllocatedUAN(_ n: [UInt8]) -> Bool {
        guard n.count == 8 else { return false }
        return switch (n[1], n[2], n[3]) {
        case (5, let x, let y): x == y && [2, 3, 4, 6, 7, 8, 9].contains(x)
        case (6, 0, 0), (6, 7, 0), (6, 4, 4), (6, 6, 0), (6, 6, 1), (6, 6, 6), (6, 6, 8), (6, 8, 8): true
        case (8, let x, let y): x == y && [0, 3, 5, 7, 9].contains(x)
        default: false
        }
    }

    private static func uanRange(_ n: [UInt8]) -> NumberRange {
        NumberRange(prefix: "1\(n[1])XX", label: "a 1\(n[1])XX-XXXX nationwide number", lengths: 8...8)
    }

    private static func checkLength(_ range: NumberRange, digits: Int) throws(PhoneNumberError) {
        if !range.lengths.contains(digits) { throw lengthError(range, digits: digits) }
    }

    private static func lengthError(_ range: NumberRange, digits: Int) -> PhoneNumberError {
        digits < range.lengths.lowerBound ? .tooShort(range, digits: digits) : .tooLong(range, digits: digits)
    }
}
