import Synchronization

/// New request ids: 32 lowercase hex digits, a random 64-bit prefix chosen when the gateway starts followed by a
/// 64-bit counter. Unique within the process and, by the prefix, across replicas and restarts; not secret.
///
/// Random draws per request would be a `getrandom` system call each, a visible share of a cached check's time
/// (Benchmarks/README.md).
final class RequestIDGenerator: Sendable {
    private let prefix: UInt64
    private let counter = Atomic<UInt64>(0)

    init(prefix: UInt64 = UInt64.random(in: .min ... .max)) {
        self.prefix = prefix
    }

    func next() -> String {
        let count = counter.add(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 32) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for (offset, value) in [(0, prefix), (16, count)] {
                var bits = value
                for index in stride(from: offset + 15, through: offset, by: -1) {
                    buffer[index] = digits.utf8Start[Int(bits & 0xF)]
                    bits >>= 4
                }
            }
            return 32
        }
    }
}
