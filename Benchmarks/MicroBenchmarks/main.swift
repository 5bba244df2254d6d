// Micro-benchmarks for the gateway's per-request computations: phone-number parsing and NCP signing, and the
// reading of a SENS list page and formatting of its times, which the profile of uncached list calls pointed to.
//
//   swift run -c release sens-microbench [milliseconds-per-sample] [samples]
//
// Each benchmark runs its operation in batches for a fixed time per sample, several samples, and prints the
// median and the best ns per operation as a Markdown table. Results are fed to a sink so the optimizer cannot
// drop the work.
import GatewayAPI
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct MicroBenchmark {
    var name: String
    var operationsPerIteration: Int
    var body: () -> Int
}

/// Keeps results observable. A local, so there is no global mutable state.
struct Sink {
    var value = 0
    mutating func consume(_ result: Int) { value &+= result }
}

func nanosecondsPerOperation(_ benchmark: MicroBenchmark, for budget: Duration, sink: inout Sink) -> Double {
    let clock = ContinuousClock()
    var iterations = 0
    let start = clock.now
    var elapsed = Duration.zero
    repeat {
        for _ in 0..<64 { sink.consume(benchmark.body()) }
        iterations += 64
        elapsed = clock.now - start
    } while elapsed < budget
    let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    return nanoseconds / Double(iterations * benchmark.operationsPerIteration)
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let sampleBudget = Duration.milliseconds(arguments.first ?? 200)
let samples = arguments.dropFirst().first ?? 7

// A realistic mix of what callers send: formatted, international, bare, and rejected.
let formattedInputs = [
    "010-1234-5678", "+82 10-1234-5678", "01012345678", "+821012345678", "(010) 1234 5678", "011-234-5678",
]
let rejectedInputs = ["010-123", "0801234567", "+1 415 555 0100", "010-1234-56789"]
let signer = NCPSigner(
    credentials: NCPCredentials(
        accessKey: "ACCESS_KEY_ID",
        secretKey: NCPSecretKey("SECRET_KEY_0123456789abcdefghijklmnopqrstuv")
    )
)
let listPath =
    "/sms/v2/services/ncp:sms:kr:123456789012:sens/unsubscribes?clientTelNo=01012345678&pageSize=1&pageIndex=0"

// A full SENS list page (100 records), as the benchmark's nginx upstream serves it.
let listPage = Array(
    ("["
        + (0..<100).map { index in
            #"{"clientTelNo":"010\#(20_000_000 + index)","registerType":"\#(index % 7 == 0 ? "C" : "M")","registerTime":"2026-11-20T18:30:15.123"}"#
        }.joined(separator: ",") + "]").utf8
)
let listPageData = Data(listPage)

// The same page as the gateway answers it, encoded the way swift-openapi-runtime does (its JSONEncoder with the
// RFC 3339 date strategy), with the runtime's default options and with the gateway's.
let apiPage = Components.Schemas.OptOutPage(
    items: (0..<100).map { index in
        Components.Schemas.OptOut(
            phoneNumber: "010\(20_000_000 + index)",
            registeredAt: Date(timeIntervalSince1970: 1_763_631_015.123),
            source: index % 7 == 0 ? .ars : .manual
        )
    },
    page: 0,
    pageSize: 100,
    nextPage: 1
)
func pageEncoder(_ formatting: JSONEncoder.OutputFormatting) -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = formatting
    encoder.dateEncodingStrategy = .custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(
            RFC3339.format(
                epochMilliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()),
                utcOffsetSeconds: 9 * 3600
            )
        )
    }
    return encoder
}
let runtimeDefaultEncoder = pageEncoder([.sortedKeys, .prettyPrinted])
let gatewayEncoder = pageEncoder([.sortedKeys, .withoutEscapingSlashes])

let benchmarks = [
    MicroBenchmark(name: "parse a valid number (mix of 6 formats)", operationsPerIteration: formattedInputs.count) {
        var total = 0
        for input in formattedInputs { total &+= (try? PhoneNumber.parse(input))?.digits.utf8.count ?? 0 }
        return total
    },
    MicroBenchmark(name: "parse and reject an invalid number (mix of 4)", operationsPerIteration: rejectedInputs.count)
    {
        var total = 0
        for input in rejectedInputs {
            do throws(PhoneNumberError) { _ = try PhoneNumber.parse(input) } catch { total &+= error.code.utf8.count }
        }
        return total
    },
    MicroBenchmark(name: "sign a SENS call (HMAC-SHA256 + base64 headers)", operationsPerIteration: 1) {
        signer.sign(method: "GET", pathAndQuery: listPath, timestampMilliseconds: 1_763_000_000_000).signature.utf8
            .count
    },
    MicroBenchmark(name: "read a 100-record SENS page (SENSRecordsReader)", operationsPerIteration: 1) {
        listPage.withUnsafeBytes { SENSRecordsReader.records(in: $0)?.count ?? 0 }
    },
    MicroBenchmark(name: "read a 100-record SENS page (JSONDecoder, for comparison)", operationsPerIteration: 1) {
        (try? JSONDecoder().decode([SENSUnsubscribeRecord].self, from: listPageData))?.count ?? 0
    },
    MicroBenchmark(
        name: "encode a 100-item answer page, runtime's default JSON options (pretty, sorted)",
        operationsPerIteration: 1
    ) {
        (try? runtimeDefaultEncoder.encode(apiPage))?.count ?? 0
    },
    MicroBenchmark(
        name: "encode a 100-item answer page, the gateway's JSON options (compact, sorted)",
        operationsPerIteration: 1
    ) {
        (try? gatewayEncoder.encode(apiPage))?.count ?? 0
    },
    MicroBenchmark(name: "format a registeredAt time (RFC 3339, +09:00)", operationsPerIteration: 1) {
        RFC3339.format(epochMilliseconds: 1_763_631_015_123, utcOffsetSeconds: 9 * 3600).utf8.count
    },
]

var sink = Sink()
print("| micro-benchmark | median ns/op | best ns/op |")
print("| --- | --- | --- |")
for benchmark in benchmarks {
    _ = nanosecondsPerOperation(benchmark, for: .milliseconds(50), sink: &sink)  // warm-up
    let results = (0..<samples).map { _ in nanosecondsPerOperation(benchmark, for: sampleBudget, sink: &sink) }.sorted()
    let median = results[results.count / 2]
    print("| \(benchmark.name) | \(Int(median.rounded())) | \(Int(results[0].rounded())) |")
}
if sink.value == 42 { print("") }  // never true in practice; keeps the sink alive
