import SENSCore

/// The numbers of one register or delete call (at most `SENSLimits.maxItemsPerCall`), with the call's body
/// already written, so that a write can prepare its next call while the current one is in flight.
public struct SENSTargets: Sendable, Equatable {
    public let numbers: [String]
    /// `[{"clientTelNo":"01012345678"},…]`.
    let body: [UInt8]

    /// `numbers` are normalized (digits only), so they are written without escaping.
    public init(_ numbers: [String]) {
        precondition(numbers.count <= SENSLimits.maxItemsPerCall)
        self.numbers = numbers
        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(numbers.count * 30 + 2)
        for (index, number) in numbers.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(contentsOf: #"{"clientTelNo":""#.utf8)
            json.append(contentsOf: number.utf8)
            json.append(contentsOf: #""}"#.utf8)
        }
        json.append(UInt8(ascii: "]"))
        body = json
    }
}
