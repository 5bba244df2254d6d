import HTTPTypes
import Hummingbird
import NIOCore
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The answers that are not hot (health, readiness, services, mirror status, problems), encoded from the
/// generated schema types: compact, keys sorted, slashes as they are, times in RFC 3339 at the configured offset.
enum JSONAnswer {
    static func encode(_ value: some Encodable, utcOffsetSeconds: Int) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(
                RFC3339.format(epochMilliseconds: date.epochMilliseconds, utcOffsetSeconds: utcOffsetSeconds)
            )
        }
        // The schema types encode without failing: every value is a string, number, date or nested schema.
        return ByteBuffer(bytes: (try? encoder.encode(value)) ?? Data())
    }
}

extension Response {
    /// An `application/json` answer of the given bytes (`Content-Length` follows from them), with any extra headers.
    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: body))
    }
}

extension Date {
    /// Nearest, not floor: a millisecond value survives the round trip through `Double` seconds.
    var epochMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    init(epochMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(epochMilliseconds) / 1000)
    }
}
