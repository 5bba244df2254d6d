import GatewayAPI
import HTTPTypes
import OptOutMirror
import SENSCore
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

@testable import GatewayHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What callers get from a mirror: the filter, the change feed, writes through the gateway, the status page.
@Suite("Mirror API", .serialized)
struct MirrorAPITests {
    /// 01050000000 … 01050000099 are opted out.
    func withReadyGateway(
        _ kind: StoreKind,
        filterMaxBodyBytes: Int = GatewayConfiguration.defaults.mirror.filterMaxBodyBytes,
        _ body: @escaping @Sendable (GatewayClient, SimulatorSession) async throws -> Void
    ) async throws {
        try await MirrorHarness(store: kind).withSimulator { session in
            try await session.seed(count: 100)
            try await session.withGateway(filterMaxBodyBytes: filterMaxBodyBytes) { gateway in
                try await gateway.waitForMirror()
                try await body(gateway, session)
            }
        }
    }

    @Test(arguments: StoreKind.allCases) func filtersJSONRecipientsIntoExactlyTheRightSets(kind: StoreKind) async throws
    {
        try await withReadyGateway(kind) { gateway, _ in
            let recipients = [
                "010-5000-0001", "+82 10 5000 0002", "010-1234-5678", "not a number", "080-123-4567",
                "01050000001", "", "0212345678", "010\u{0}5000",
            ]
            let body = String(decoding: try JSONEncoder().encode(["phoneNumbers": recipients]), as: UTF8.self)
            let answer = try await gateway.filter(body, contentType: "application/json")
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.headers[.init("X-Cache")!] == "MIRROR")
            let result = try answer.decodeGenerated(Components.Schemas.FilterResult.self)
            #expect(result.checked == recipients.count)
            #expect(result.optedOut.map(\.index) == [0, 1, 5])
            #expect(result.optedOut.map(\.phoneNumber) == ["01050000001", "01050000002", "01050000001"])
            #expect(result.optedOut.map(\.input) == ["010-5000-0001", "+82 10 5000 0002", "01050000001"])
            #expect(result.optedOut.allSatisfy { $0.line == nil && $0.source == .ars })
            #expect(result.invalid.map(\.index) == [3, 4, 6, 8])
            #expect(
                result.invalid.map(\.code.rawValue) == [
                    "unexpected_character", "cannot_receive_messages", "empty", "unexpected_character",
                ]
            )
            #expect(result.invalid[3].input == "010\u{0}5000")
            #expect(answer.headers[.init("X-Filter-Checked")!] == "9")
            #expect(answer.headers[.init("X-Filter-Opted-Out")!] == "3")
            #expect(answer.headers[.init("X-Filter-Invalid")!] == "4")

            let csv = try await gateway.filter(body, contentType: "application/json", accept: "text/csv")
            #expect(csv.status == 200)
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.body == "01012345678\n0212345678\n")
        }
    }

    @Test(arguments: StoreKind.allCases) func filtersCSVAsSpreadsheetsWriteIt(kind: StoreKind) async throws {
        try await withReadyGateway(kind) { gateway, _ in
            // A BOM, a header, CRLF line ends, blank lines, a quoted cell, an invalid row, a second column.
            let body =
                "\u{FEFF}name,phone\r\n\"Kim, Minsu\",010-5000-0003\r\n\r\nLee,010-2222-3333\r\nPark,\"010 5000 0004\"\r\n,,\r\nChoi,abc\r\nJung,+82 2 123 4567"
            let answer = try await gateway.filter(body, contentType: "text/csv", query: "?column=phone")
            #expect(answer.status == 200, "\(answer.body)")
            let result = try answer.decodeGenerated(Components.Schemas.FilterResult.self)
            #expect(result.checked == 5)
            #expect(result.optedOut.map(\.index) == [0, 2])
            #expect(result.optedOut.map(\.line) == [2, 5])
            #expect(result.optedOut.map(\.phoneNumber) == ["01050000003", "01050000004"])
            #expect(result.invalid.map(\.index) == [3])
            #expect(result.invalid.map(\.line) == [7])
            #expect(result.invalid.map(\.input) == ["abc"])

            let allowed = try await gateway.filter(
                body,
                contentType: "text/csv",
                query: "?column=phone",
                accept: "text/csv, application/json;q=0.5"
            )
            // The rows to send to: the header and every cell kept, the number normalized, the BOM given back.
            #expect(allowed.body == "\u{FEFF}name,phone\r\nLee,01022223333\r\nJung,021234567\r\n")

            // Without a header, the first column; plain text, one number a line.
            let plain = try await gateway.filter(
                "01050000005\n01099998888\n\n",
                contentType: "text/plain",
                accept: "text/csv"
            )
            #expect(plain.body == "01099998888\n")
            #expect(plain.headers[.init("X-Filter-Checked")!] == "2")
            let headerless = try await gateway.filter(
                "01050000006,x\n01099998888,y\n",
                contentType: "text/csv; charset=utf-8"
            )
            #expect(try headerless.decodeGenerated(Components.Schemas.FilterResult.self).optedOut.map(\.line) == [1])
        }
    }

    @Test(arguments: StoreKind.allCases) func refusesFilterRequestsItCannotRead(kind: StoreKind) async throws {
        try await withReadyGateway(kind, filterMaxBodyBytes: 4_096) { gateway, _ in
            let unknownColumn = try await gateway.filter(
                "name,tel\na,01012345678\n",
                contentType: "text/csv",
                query: "?column=phone"
            )
            #expect(unknownColumn.status == 400)
            #expect(unknownColumn.problem?.detail.contains(#"no column named "phone""#) == true)
            let columnOnJSON = try await gateway.filter(
                #"{"phoneNumbers":[]}"#,
                contentType: "application/json",
                query: "?column=phone"
            )
            #expect(columnOnJSON.status == 400)
            let notAString = try await gateway.filter(
                #"{"phoneNumbers":["01012345678", 1012345678]}"#,
                contentType: "application/json"
            )
            #expect(notAString.status == 400)
            #expect(notAString.problem?.detail == "phoneNumbers[1]: expected a string")
            let unknownField = try await gateway.filter(#"{"numbers":[]}"#, contentType: "application/json")
            #expect(unknownField.status == 400)
            let xml = try await gateway.filter("<a/>", contentType: "application/xml")
            #expect(xml.status == 415)
            let unknownParameter = try await gateway.filter(
                "01012345678\n",
                contentType: "text/plain",
                query: "?colum=phone"
            )
            #expect(unknownParameter.status == 400)
            let unknownService = try await gateway.send(
                .post,
                "/v1/services/nope/unsubscribes/filter",
                json: #"{"phoneNumbers":[]}"#
            )
            #expect(unknownService.status == 404)
            let empty = try await gateway.filter(#"{"phoneNumbers":[]}"#, contentType: "application/json")
            #expect(try empty.decodeGenerated(Components.Schemas.FilterResult.self).checked == 0)
            // Last: a 413 closes the connection.
            let tooLarge = try await gateway.filter(
                String(repeating: "01012345678\n", count: 400),
                contentType: "text/plain"
            )
            #expect(tooLarge.status == 413)
            #expect(tooLarge.problem?.detail == "the body is larger than 4096 bytes")
        }
    }

    @Test(arguments: StoreKind.allCases) func writesThroughTheGatewayEnterTheMirrorAndTheFeedAtOnce(
        kind: StoreKind
    ) async throws {
        try await withReadyGateway(kind) { gateway, _ in
            let start = try await gateway.allChanges()
            #expect(start.changes.count == 100)

            let registered = try await gateway.post(
                "/v1/unsubscribes",
                phoneNumbers: ["010-3333-0001", "010-3333-0002"]
            )
            #expect(registered.status == 200)
            let check = try await gateway.get("/v1/unsubscribes/01033330001")
            #expect(check.headers[.init("X-Cache")!] == "MIRROR")
            #expect(try check.decode(StatusJSON.self).optedOut)
            let removed = try await gateway.send(.delete, "/v1/unsubscribes/01050000007")
            #expect(removed.status == 200)
            let gone = try await gateway.get("/v1/unsubscribes/01050000007")
            #expect(gone.headers[.init("X-Cache")!] == "MIRROR")
            #expect(try gone.decode(StatusJSON.self).optedOut == false)
            let filtered = try await gateway.filter(
                "01033330002\n01050000007\n",
                contentType: "text/plain",
                accept: "text/csv"
            )
            #expect(filtered.body == "01050000007\n")

            // Pages of 1 from the start: every change once, in order, no gap.
            var cursor: String? = nil
            var seen: [Components.Schemas.OptOutChange] = []
            while true {
                let page = try await gateway.get(
                    "/v1/unsubscribes/changes?limit=7" + (cursor.map { "&after=\($0)" } ?? "")
                )
                let decoded = try page.decodeGenerated(Components.Schemas.ChangePage.self)
                seen += decoded.changes
                if decoded.changes.isEmpty {
                    #expect(decoded.next == cursor)
                    break
                }
                cursor = decoded.next
            }
            #expect(
                seen.map(\.cursor)
                    == (start.changes + (try await gateway.allChanges(after: start.next)).changes).map(\.cursor)
            )
            #expect(
                seen.suffix(3).map(\.phoneNumber) == ["01033330001", "01033330002", "01050000007"]
                    || seen.suffix(3).map(\.phoneNumber) == ["01033330002", "01033330001", "01050000007"]
            )
            #expect(seen.last?.change == .removed)
            #expect(seen.last?.registeredAt == nil)

            // The list comes from the mirror too, newest first.
            let page = try await gateway.get("/v1/unsubscribes?pageSize=2")
            #expect(page.headers[.init("X-Cache")!] == "MIRROR")
            #expect(Set(try page.decode(PageJSON.self).items.map(\.phoneNumber)) == ["01033330001", "01033330002"])
        }
    }

    @Test(arguments: StoreKind.allCases) func refusesCursorsItDidNotGive(kind: StoreKind) async throws {
        try await withReadyGateway(kind) { gateway, _ in
            let feed = try await gateway.allChanges()
            for bad in ["abc", "1.00000000", "-1.x", "", feed.next + "0"] {
                let answer = try await gateway.get("/v1/unsubscribes/changes?after=\(bad)")
                #expect(answer.status == 400, "\(bad)")
            }
            for limit in ["0", "10001", "ten"] {
                let answer = try await gateway.get("/v1/unsubscribes/changes?limit=\(limit)")
                #expect(answer.status == 400, "\(limit)")
                #expect(answer.problem?.detail.contains("limit") == true)
            }
            // A cursor of the service is the service's alone: another store key does not take it.
            #expect(feed.next.wholeMatch(of: /[0-9a-z]+\.[0-9a-f]{8}/) != nil)
            // A cursor is its store's and service's alone.
            #expect(ChangeCursor.sequence(of: feed.next, scope: "0123456789abcdef/ncp:sms:kr:123456789012:sens") == nil)
            #expect(ChangeCursor.sequence(of: ChangeCursor.text(100, scope: "a/b"), scope: "a/b") == 100)
            #expect(ChangeCursor.sequence(of: ChangeCursor.text(100, scope: "a/b"), scope: "a/c") == nil)
        }
    }

    @Test func aGatewayWithoutAMirrorSaysSo() async throws {
        try await GatewayHarness().run { gateway in
            let status = try await gateway.get("/v1/mirror")
            #expect(status.status == 200)
            #expect(
                try status.decodeGenerated(Components.Schemas.MirrorStatus.self).services.map(\.state) == [.disabled]
            )
            let filter = try await gateway.filter("01012345678\n", contentType: "text/plain")
            #expect(filter.status == 503)
            #expect(filter.problem?.detail.contains("MIRROR_ENABLED") == true)
            let changes = try await gateway.get("/v1/unsubscribes/changes")
            #expect(changes.status == 503)
            let check = try await gateway.get("/v1/unsubscribes/01012345678")
            #expect(check.headers[.init("X-Cache")!] == "MISS")
        }
    }
}
