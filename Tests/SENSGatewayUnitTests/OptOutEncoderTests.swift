import GatewayAPI
import HTTPTypes
import NIOCore
import OptOutMirror
import OptOuts
import SENSCore
import SENSTestSupport
import Testing

@testable import GatewayHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one opt-out encoder against the generated schema types: over many generated values, each answer is byte
/// for byte what the generated type of the same values encodes to with `JSONEncoder` (the gateway's options), and
/// decodes as the generated type to the values it was made from.
@Suite struct OptOutEncoderTests {
    static let answers = OptOutEncoder(utcOffsetSeconds: 9 * 3600)

    static func generated<Value: Encodable>(_ value: Value) throws -> String {
        String(buffer: JSONAnswer.encode(value, utcOffsetSeconds: 9 * 3600))
    }

    static func optOut(_ optOut: OptOut) -> Components.Schemas.OptOut {
        .init(
            phoneNumber: optOut.phoneNumber,
            registeredAt: Date(epochMilliseconds: optOut.registeredAtMilliseconds),
            source: optOut.source == .ars ? .ars : .manual
        )
    }

    static func optOuts(_ count: Int, _ random: inout SeededGenerator) -> [OptOut] {
        (0..<count).map { _ in
            // Numbers as SENS may send them, not only normalized ones: the list passes them through.
            let number =
                Int.random(in: 0..<10, using: &random) == 0
                ? ["010-1234-5678", "+82 10 \"x\"", "a\\b", "\u{1}", "é/🙂", ""].randomElement(using: &random)!
                : "010" + String(Int.random(in: 10_000_000...99_999_999, using: &random))
            return OptOut(
                phoneNumber: number,
                registeredAtMilliseconds: Int64.random(in: -62_000_000_000_000...253_000_000_000_000, using: &random),
                source: Bool.random(using: &random) ? .ars : .manual
            )
        }
    }

    @Test(arguments: 0..<40)
    func checkAnswersEncodeAsTheGeneratedStatus(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &+ 11)
        let number = try PhoneNumber.parse("010" + String(Int.random(in: 10_000_000...99_999_999, using: &random)))
        let found =
            Bool.random(using: &random)
            ? Self.optOuts(1, &random).first.map {
                OptOut(
                    phoneNumber: number.digits,
                    registeredAtMilliseconds: $0.registeredAtMilliseconds,
                    source: $0.source
                )
            } : nil
        let bytes = String(buffer: Self.answers.status(digits: number.digits, found))
        let expected = Components.Schemas.OptOutStatus(
            phoneNumber: number.digits,
            optedOut: found != nil,
            registeredAt: found.map { Date(epochMilliseconds: $0.registeredAtMilliseconds) },
            source: found.map { $0.source == .ars ? .ars : .manual }
        )
        #expect(bytes == (try Self.generated(expected)))
        let decoded = try HTTPAnswer(status: 200, headers: [:], body: bytes).decodeGenerated(
            Components.Schemas.OptOutStatus.self
        )
        #expect(decoded.optedOut == (found != nil))
        #expect(decoded.registeredAt.map(\.epochMilliseconds) == found?.registeredAtMilliseconds)
    }

    @Test(arguments: 0..<40)
    func listPagesEncodeAsTheGeneratedPage(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &+ 101)
        let query = OptOutQuery(
            page: [0, 1, 9, 10, 123, 1_000_000].randomElement(using: &random)!,
            pageSize: Int.random(in: 1...100, using: &random)
        )
        let items = Self.optOuts(Int.random(in: 0...query.pageSize, using: &random), &random)
        let bytes = String(buffer: Self.answers.page(items, query))
        let expected = Components.Schemas.OptOutPage(
            items: items.map(Self.optOut),
            page: query.page,
            pageSize: query.pageSize,
            nextPage: items.count >= query.pageSize ? query.page + 1 : nil
        )
        #expect(bytes == (try Self.generated(expected)))
        let decoded = try HTTPAnswer(status: 200, headers: [:], body: bytes).decodeGenerated(
            Components.Schemas.OptOutPage.self
        )
        #expect(decoded.items.map(\.phoneNumber) == items.map(\.phoneNumber))
        #expect(decoded.items.map { $0.registeredAt.epochMilliseconds } == items.map(\.registeredAtMilliseconds))
        #expect(decoded.nextPage == (items.count == query.pageSize ? query.page + 1 : nil))
    }

    @Test(arguments: 0..<20)
    func writeAnswersEncodeAsTheGeneratedResults(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &+ 1_001)
        let registered = Self.optOuts([0, 1, 2, 1_000, 10_000].randomElement(using: &random)!, &random)
        let outcome = WriteOutcome(done: registered.map(\.phoneNumber), registered: registered)
        let registerBytes = String(buffer: Self.answers.registered(outcome))
        let expectedRegister = Components.Schemas.RegisterResult(
            registered: registered.map(Self.optOut),
            count: outcome.done.count
        )
        #expect(registerBytes == (try Self.generated(expectedRegister)))
        let decodedRegister = try HTTPAnswer(status: 200, headers: [:], body: registerBytes).decodeGenerated(
            Components.Schemas.RegisterResult.self
        )
        #expect(
            decodedRegister.count == registered.count
                && decodedRegister.registered.map(\.phoneNumber) == registered.map(\.phoneNumber)
        )

        let removeBytes = String(buffer: Self.answers.removed(outcome))
        #expect(
            removeBytes
                == (try Self.generated(
                    Components.Schemas.RemoveResult(removed: outcome.done, count: outcome.done.count)
                ))
        )
        let decodedRemove = try HTTPAnswer(status: 200, headers: [:], body: removeBytes).decodeGenerated(
            Components.Schemas.RemoveResult.self
        )
        #expect(decodedRemove.removed == outcome.done)
    }

    @Test(arguments: 0..<40)
    func changePagesEncodeAsTheGeneratedPage(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) &+ 10_001)
        var sequence = Int64.random(in: 0...1_000_000, using: &random)
        let changes: [MirrorChange] = (0..<Int.random(in: 0...200, using: &random)).map { index in
            sequence += Int64.random(in: 1...1_000, using: &random)
            let added = Bool.random(using: &random)
            // A damaged store can hold any integer as a number: its digit count byte up to 255.
            let key =
                index % 17 == 16
                ? PhoneKey(rawValue: UInt64.random(in: 0 ... .max, using: &random))
                : PhoneKey(digits: "010" + String(Int.random(in: 10_000_000...99_999_999, using: &random)))!
            return MirrorChange(
                sequence: sequence,
                key: key,
                kind: added ? .added : .removed,
                registeredAtMilliseconds: added ? Int64.random(in: 0...4_000_000_000_000, using: &random) : nil,
                source: added ? (Bool.random(using: &random) ? .ars : .manual) : nil,
                observedAtMilliseconds: Int64.random(in: 0...4_000_000_000_000, using: &random),
                origin: .sync
            )
        }
        let scope = "store-\(seed)/ncp:sms:kr:1:svc"
        let page = ChangeFeedPage(
            scope: scope,
            changes: changes,
            next: ChangeCursor.text(changes.last?.sequence ?? 0, scope: scope)
        )
        let bytes = String(buffer: Self.answers.changes(page))
        let expected = Components.Schemas.ChangePage(
            changes: page.changes.map { change in
                .init(
                    cursor: ChangeCursor.text(change.sequence, scope: page.scope),
                    phoneNumber: change.phoneNumber.digits,
                    change: change.kind == .added ? .added : .removed,
                    observedAt: Date(epochMilliseconds: change.observedAtMilliseconds),
                    registeredAt: change.registeredAtMilliseconds.map { Date(epochMilliseconds: $0) },
                    source: change.source.map { $0 == .ars ? .ars : .manual },
                    sensNumber: change.national == nil ? nil : change.key.digits
                )
            },
            next: page.next
        )
        #expect(bytes == (try Self.generated(expected)))
        let decoded = try HTTPAnswer(status: 200, headers: [:], body: bytes).decodeGenerated(
            Components.Schemas.ChangePage.self
        )
        #expect(decoded.changes.map { ChangeCursor.sequence(of: $0.cursor, scope: scope) } == changes.map(\.sequence))
        #expect(decoded.changes.map(\.registeredAt?.epochMilliseconds) == changes.map(\.registeredAtMilliseconds))
    }
}
