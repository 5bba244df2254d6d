import HTTPTypes
import SENSCore

/// What the HTTP layer reads from a request's headers the same way everywhere.
extension HTTPFields {
    /// Whether the head announces a body: chunked, or a length other than 0. In HTTP/1.1 a request with neither
    /// has none and ends with its head.
    var announcesBody: Bool {
        self[.transferEncoding] != nil || (self[.contentLength] ?? "0") != "0"
    }
}

extension StringProtocol {
    /// A `Content-Type`'s media type: `text/CSV; charset=utf-8` → `text/csv`.
    var mediaType: String {
        prefix { $0 != ";" }.trimmingASCIISpaces().lowercased()
    }
}
