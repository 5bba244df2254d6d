import SENSCore

/// The encodings a text body (CSV, TSV, plain) may be read in, and a CSV answer written in.
enum TextCharset: String, Sendable {
    case utf8 = "utf-8"
    /// Windows code page 949 (Unified Hangul Code), what Excel on Korean Windows saves "CSV (쉼표로 분리)" in. It
    /// contains EUC-KR (KS X 1001), so every label of either is read as CP949, as the WHATWG Encoding Standard
    /// reads `euc-kr`.
    case cp949 = "cp949"

    /// The name glibc's iconv knows it by.
    var iconvName: String {
        switch self {
        case .utf8: "UTF-8"
        case .cp949: "CP949"
        }
    }

    /// The charset a label names (case-insensitive, quotes allowed), or nil for one the gateway does not read.
    init?(label: String) {
        var label = label.lowercased()
        if label.count >= 2, label.first == "\"", label.last == "\"" { label = String(label.dropFirst().dropLast()) }
        switch label {
        case "utf-8", "utf8", "unicode-1-1-utf-8": self = .utf8
        case "cp949", "ms949", "uhc", "windows-949", "x-windows-949", "euc-kr", "cseuckr", "ks_c_5601-1987",
            "ks_c_5601-1989", "ksc5601", "ksc_5601", "csksc56011987", "iso-ir-149", "korean":
            self = .cp949
        default: return nil
        }
    }

    /// The labels the gateway reads, for messages.
    static let labels = "utf-8, cp949, euc-kr or ks_c_5601-1987"

    /// The `charset` parameter of a media type (`text/csv; charset=euc-kr`), if it has one.
    static func parameter(of mediaType: String) -> String? {
        for parameter in mediaType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingASCIISpaces().lowercased() == "charset" else { continue }
            return pair[1].trimmingASCIISpaces()
        }
        return nil
    }
}

/// Whether this system can convert what the filter reads and writes: checked at start-up, so that a container
/// image without the C library's CP949 module stops there instead of failing a filter.
public struct CharsetSupportError: Error, CustomStringConvertible {
    public let description: String

    public static func check() throws(CharsetSupportError) {
        for (source, target) in [("CP949", "UTF-8"), ("UTF-8", "CP949")] where Iconv(from: source, to: target) == nil {
            throw CharsetSupportError(
                description: "this system's C library cannot convert \(source) to \(target) (iconv; glibc's "
                    + "gconv modules UHC.so and EUC-KR.so): the filter reads Korean Excel files with it"
            )
        }
    }
}
