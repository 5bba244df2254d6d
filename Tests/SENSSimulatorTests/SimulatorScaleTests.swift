import HTTPTypes
import Hummingbird
import NIOCore
import SENSCore
import SENSSimulator
import SENSTestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The simulator at the scale a synced mirror needs: seeding many records, time-window pages from a sorted
/// store, and removals behind the gateway's back.
@Suite("SENS simulator at scale")
struct SimulatorScaleTests {
    /// 100,000 generated ARS records: every page of the whole list, in order, covers each exactly once.
    @Test func seedsAndPagesAHundredThousandRecords() async throws {
        let harness = SimulatorHarness()
        try await harness.run { sens in
            let seeded = try await sens.unsigned(
                .post,
                "/_simulator/unsubscribes",
                headers: [.contentType: "application/json"],
                body: ByteBuffer(
                    string:
                        #"{"count":100000,"prefix":"0105","fromMilliseconds":1700000000000,"toMilliseconds":1700099999000}"#
                )
            )
            #expect(seeded.status == 200)
            #expect(seeded.body == #"{"seeded":100000}"#)
            var listed: [(time: Int64, number: String)] = []
            for page in 0..<1_000 {
                let answer = try await sens.call(.get, harness.path + "?pageSize=100&pageIndex=\(page)")
                let records = try answer.decode([SENSUnsubscribeRecord].self)
                #expect(records.count == 100)
                for record in records {
                    listed.append((try #require(SENSLocalTime.korea.parse(record.registerTime)), record.clientTelNo))
                    #expect(record.registerType == .ars)
                }
            }
            let inOrder = zip(listed, listed.dropFirst()).allSatisfy { a, b in
                a.time > b.time || (a.time == b.time && a.number < b.number)
            }
            #expect(inOrder, "newest first, ties by number")
            let seen = Set(listed.map(\.number))
            #expect(seen.count == 100_000)
            #expect(seen.contains("01050000000") && seen.contains("01050099999"))
            let past = try await sens.call(.get, harness.path + "?pageSize=100&pageIndex=1000")
            #expect(try past.decode([SENSUnsubscribeRecord].self).isEmpty)
        }
    }

    /// Time windows answered from the sorted store agree with a plain filter of every record.
    @Test func answersTimeWindowsLikeAFilterOfEveryRecord() {
        let store = UnsubscribeStore()
        var generator = SystemRandomNumberGenerator()
        let records = (0..<5_000).map { index in
            StoredUnsubscribe(
                clientTelNo: "010" + String(10_000_000 + index),
                registerType: index % 3 == 0 ? .manual : .ars,
                registeredAtMilliseconds: Int64.random(in: 0...1_000, using: &generator)
            )
        }
        store.seed(Array(records[..<2_500]))
        store.register(records[2_500...].map(\.clientTelNo).prefix(10).map { $0 }, type: .manual, at: 500)
        store.seed(Array(records[2_510...]))
        let all =
            records[..<2_500]
            + records[2_500..<2_510].map {
                StoredUnsubscribe(clientTelNo: $0.clientTelNo, registerType: .manual, registeredAtMilliseconds: 500)
            } + records[2_510...]
        let ordered = all.sorted {
            ($0.registeredAtMilliseconds, $1.clientTelNo) > ($1.registeredAtMilliseconds, $0.clientTelNo)
        }
        for _ in 0..<200 {
            let start = Bool.random(using: &generator) ? Int64.random(in: 0...1_000, using: &generator) : nil
            let end = Bool.random(using: &generator) ? Int64.random(in: (start ?? 0)...1_000, using: &generator) : nil
            let pageSize = Int.random(in: 1...100, using: &generator)
            let page = Int.random(in: 0...30, using: &generator)
            let expected = ordered.filter { record in
                (start.map { record.registeredAtMilliseconds >= $0 } ?? true)
                    && (end.map { record.registeredAtMilliseconds <= $0 } ?? true)
            }.dropFirst(page * pageSize).prefix(pageSize)
            let query = SENSListQuery(pageSize: pageSize, pageIndex: page, startTime: start, endTime: end)
            #expect(
                store.list(query) == Array(expected),
                "start \(start.map(String.init) ?? "-") end \(end.map(String.init) ?? "-") page \(page)×\(pageSize)"
            )
        }
        #expect(store.count == 5_000)
        #expect(store.delete(records.prefix(100).map(\.clientTelNo)) == 100)
        let removed = Set(records.prefix(100).map(\.clientTelNo))
        let remaining = (0..<50).flatMap { store.list(SENSListQuery(pageSize: 100, pageIndex: $0)) }
        #expect(remaining.count == 4_900 && store.count == 4_900)
        #expect(remaining.allSatisfy { !removed.contains($0.clientTelNo) })
    }

    /// A removal made outside the gateway (the NCP console) is done with an admin call, unsigned.
    @Test func removesBehindTheGatewaysBack() async throws {
        let harness = SimulatorHarness()
        try await harness.run { sens in
            _ = try await sens.call(.post, harness.path, numbers: ["01012345678", "01087654321"])
            let removed = try await sens.unsigned(
                .delete,
                "/_simulator/unsubscribes",
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"[{"clientTelNo":"01012345678"}]"#)
            )
            #expect(removed.body == #"{"removed":1}"#)
            #expect(!harness.simulator.store.contains("01012345678"))
            #expect(harness.simulator.store.contains("01087654321"))
            let refused = try await sens.unsigned(
                .post,
                "/_simulator/unsubscribes",
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"count":11,"prefix":"0105999999"}"#)
            )
            #expect(refused.status == 400, "prefix 0105999999 leaves room for 10 numbers")
        }
    }
}
