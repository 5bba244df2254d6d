/// `%XX` escapes, decoded one way for a request's path and query and for a proxy URL's user and password.
public enum PercentEncoding {
    /// `text` with its `%XX` escapes decoded, or nil when an escape is malformed or the result is not UTF-8.
    public static func decoded(_ text: Substring, plusIsSpace: Bool = false) -> String? {
        if !text.utf8.contains(UInt8(ascii: "%")) && !(plusIsSpace && text.utf8.contains(UInt8(ascii: "+"))) {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(JSONEscapes.hexValue),
                    let low = iterator.next().flatMap(JSONEscapes.hexValue)
                else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
