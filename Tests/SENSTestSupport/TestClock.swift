import SENSCore
import Synchronization

/// A clock the test sets.
public final class TestClock: EpochClock {
    private let milliseconds: Mutex<Int64>

    public init(_ milliseconds: Int64) {
        self.milliseconds = Mutex(milliseconds)
    }

    public func nowMilliseconds() -> Int64 { milliseconds.withLock { $0 } }

    public func set(_ value: Int64) { milliseconds.withLock { $0 = value } }
}

/// `count` distinct valid mobile numbers, normalized, starting at 010-5000-0000 + `start`.
public func mobileNumbers(_ count: Int, from start: Int = 0) -> [String] {
    (start..<(start + count)).map { "0105" + String(10_000_000 + $0).dropFirst() }
}
