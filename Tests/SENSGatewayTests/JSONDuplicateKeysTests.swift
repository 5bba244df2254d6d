@testable import GatewayHTTP
import Testing

@Suite("Repeated JSON keys")
struct JSONDuplicateKeysTests {
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, "a"),
        (#"{"phoneNumbers":[{"x":1},{"y":1,"y":2}]}"#, "phoneNumbers[1].y"),
        (#"{"a":{"b":1},"c":{"b":1,"b":2}}"#, "c.b"),
        (#"{"a":"x","\u0061":"y"}"#, "a"),
    ])
    func findsTheRepeatedKey(json: String, path: String) {
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == path)
    }

    @Test(arguments: [#"{"a":1,"b":{"a":2}}"#, #"[{"a":1},{"a":2}]"#, #"{"a":"a","b":"a"}"#, "not json", ""])
    func findsNoneWhereKeysAreDistinctPerObject(json: String) {
        #expect(JSONDuplicateKeys.first(in: Array(json.utf8)) == nil)
    }

    /// Two million unclosed brackets: the scan stops at the decoder's depth limit instead of keeping a path per
    /// level (which grew memory with the square of the depth).
    @Test func deepNestingIsLeftToTheDecoder() {
        let deep = [UInt8](repeating: UInt8(ascii: "["), count: 2_000_000)
        #expect(JSONDuplicateKeys.first(in: deep) == nil)
        let deepObject = Array(String(repeating: #"{"a":"#, count: 600).utf8)
        #expect(JSONDuplicateKeys.first(in: deepObject) == nil)
    }
}
