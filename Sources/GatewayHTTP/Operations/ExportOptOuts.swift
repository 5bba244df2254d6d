import HTTPTypes
import Hummingbird
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore

/// `exportOptOuts`, `exportServiceOptOuts`: `GET …/unsubscribes/export`, the mirror's whole list at one moment,
/// streamed a slice at a time: CSV (`phoneNumber,registeredAt,source`, a UTF-8 BOM first so that Excel reads it)
/// or, for `Accept: application/x-ndjson`, one JSON object a line. Oldest registration first.
struct ExportOptOuts: GatewayOperation {
    let mirrors: [String: any MirrorReading]
    let retryAfterSeconds: Int
    let utcOffsetSeconds: Int
    /// Exports written at once by this replica: each holds a snapshot, which costs a copy of the index once the
    /// mirror changes while it is read.
    let admission = FilterAdmission(limit: 2)
    /// Records written per slice of the answer.
    static let sliceRecords = 8_192

    func answer(_ request: OperationRequest) async -> Response {
        guard let mirror = mirrors[request.service.name] else {
            return unavailable("the mirror is turned off (MIRROR_ENABLED=false): the export needs it", request)
        }
        guard admission.enter() else {
            return request.problem(
                503,
                "this replica is writing \(admission.limit) exports already; retry in a few seconds",
                retryAfterSeconds: 5
            )
        }
        // Leaves when the answer's body is written or dropped (the closure holding it is released).
        let ticket = AdmissionTicket(admission)
        let snapshot: MirrorSnapshot
        switch mirror.snapshot() {
        case .success(let taken): snapshot = taken
        case .failure(.unavailable(let detail)): return unavailable(detail, request)
        case .failure(.inDoubt(let count)):
            return unavailable(
                "\(count) numbers are in doubt (a write's answer was lost, or two writes overlapped) and the gateway "
                    + "is asking SENS about them: the export waits until each is settled",
                request
            )
        }
        let scope: String
        do { scope = try await mirror.cursorScope() } catch {
            return unavailable("the mirror's store could not be read", request)
        }
        let ndjson = Self.prefersNDJSON(request.request.headers[values: .accept])
        let utcOffsetSeconds = utcOffsetSeconds
        let service = request.service.name
        let stamp = RFC3339.format(epochMilliseconds: snapshot.asOf, utcOffsetSeconds: utcOffsetSeconds)
        let fileStamp = stamp.prefix(19).filter { $0 != ":" && $0 != "-" }
        return Response(
            status: .ok,
            headers: [
                .contentType: ndjson ? "application/x-ndjson" : "text/csv; charset=utf-8",
                .contentDisposition:
                    "attachment; filename=\"opt-outs-\(service)-\(fileStamp).\(ndjson ? "ndjson" : "csv")\"",
                .xMirrorAsOf: stamp, .xExportRecords: String(snapshot.count), .xCache: "MIRROR",
                .xChangeCursor: ChangeCursor.text(snapshot.sequence, scope: scope),
            ],
            body: ResponseBody { writer in
                defer { withExtendedLifetime(ticket) {} }
                if !ndjson { try await writer.write(ByteBuffer(bytes: Self.csvHead)) }
                var start = 0
                while start < snapshot.count {
                    let end = min(snapshot.count, start + Self.sliceRecords)
                    try await writer.write(Self.slice(snapshot, start..<end, ndjson: ndjson, utcOffsetSeconds))
                    start = end
                }
                try await writer.finish(nil)
            }
        )
    }

    static let csvHead: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("phoneNumber,registeredAt,source\r\n".utf8)

    /// The records at `positions`, as CSV lines or JSON lines.
    static func slice(
        _ snapshot: MirrorSnapshot,
        _ positions: Range<Int>,
        ndjson: Bool,
        _ utcOffsetSeconds: Int
    ) -> ByteBuffer {
        .written(capacity: positions.count * (96 + RFC3339.maxBytes)) { out in
            snapshot.forEach(in: positions) { record in
                if ndjson {
                    out.append(#"{"phoneNumber":""#)
                    out.appendPlain(record.key.digits)
                    out.append(#"""#)
                    OptOutEncoder.writeRecordTail(
                        record.registeredAtMilliseconds,
                        record.source,
                        utcOffsetSeconds: utcOffsetSeconds,
                        to: &out
                    )
                    out.append(byte: UInt8(ascii: "\n"))
                } else {
                    out.appendPlain(record.key.digits)
                    out.append(byte: ASCIIByte.comma)
                    out.appendTime(record.registeredAtMilliseconds, utcOffsetSeconds: utcOffsetSeconds)
                    out.append(record.source == .ars ? ",ars\r\n" : ",manual\r\n")
                }
            }
        }
    }

    /// Whether `Accept` prefers JSON lines to CSV (the default).
    static func prefersNDJSON(_ values: [String]) -> Bool {
        let accept = AcceptRanges(values)
        return accept.named("application/x-ndjson") > accept.named("text/csv")
    }

    private func unavailable(_ detail: String, _ request: OperationRequest) -> Response {
        Problems.mirrorUnavailable(detail, retryAfterSeconds: retryAfterSeconds, instance: request.path)
    }
}

extension HTTPField.Name {
    static let xExportRecords = Self("X-Export-Records")!
}
