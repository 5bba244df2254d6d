import Synchronization

/// The time ranges a full pass has still to read, shared by its concurrent readers. A reader takes a range and
/// reads it newest window first; while another reader waits for work, it sheds the older half of what it has
/// left to that reader, so the readers spread over where the records are without knowing it beforehand. What
/// is left (`remaining`) is saved with every window, so that a restart resumes the pass.
final class PassRanges: Sendable {
    private struct State {
        var queued: [ClosedRange<Int64>]
        /// Each reader's range: what it has still to read of the range it took.
        var active: [Int: ClosedRange<Int64>] = [:]
        var waiting: [(reader: Int, continuation: CheckedContinuation<ClosedRange<Int64>?, Never>)] = []
        var ended = false
    }

    private let state: Mutex<State>
    /// A reader sheds only what leaves both readers several windows: shedding a range of one or two windows costs
    /// more calls than it saves.
    static let minimumWindowsToShed: Int64 = 4

    init(_ ranges: [ClosedRange<Int64>]) {
        state = Mutex(State(queued: ranges))
    }

    /// The next range for `reader`, waiting while every range is being read by others; nil once none is left.
    func next(for reader: Int) async -> ClosedRange<Int64>? {
        await withCheckedContinuation { (continuation: CheckedContinuation<ClosedRange<Int64>?, Never>) in
            let answer = state.withLock { state -> ClosedRange<Int64>?? in
                state.active[reader] = nil
                if state.ended { return .some(nil) }
                if let range = state.queued.popLast() {
                    state.active[reader] = range
                    return .some(range)
                }
                if state.active.isEmpty {
                    state.ended = true
                    return .some(nil)
                }
                state.waiting.append((reader, continuation))
                return .none
            }
            if let answer { continuation.resume(returning: answer) }
            wakeIfEnded()
        }
    }

    /// Called before each window `reader` reads of `lower...upper` with windows `span` wide: gives the older half
    /// to a waiting reader when there is one and what is left is many windows wide, and returns the lower bound to
    /// go on with.
    func shed(_ reader: Int, lower: Int64, upper: Int64, span: Int64) -> Int64 {
        let handed = state.withLock { state -> (CheckedContinuation<ClosedRange<Int64>?, Never>, ClosedRange<Int64>)? in
            state.active[reader] = lower...upper
            guard upper - lower > span.saturatingTimes(Self.minimumWindowsToShed), !state.waiting.isEmpty else {
                return nil
            }
            let middle = lower + (upper - lower) / 2
            let (other, continuation) = state.waiting.removeFirst()
            state.active[other] = lower...middle
            state.active[reader] = (middle + 1)...upper
            return (continuation, lower...middle)
        }
        guard let (continuation, range) = handed else { return lower }
        continuation.resume(returning: range)
        return range.upperBound + 1
    }

    /// `reader` has stored everything of its range above `lower` (exclusive of it): what is left ends below it.
    func read(_ reader: Int, below lower: Int64) {
        state.withLock { state in
            guard let range = state.active[reader] else { return }
            state.active[reader] = Self.left(of: range, below: lower)
        }
    }

    /// What is left of `range` to read once everything from `lower` up is: nil when nothing.
    private static func left(of range: ClosedRange<Int64>, below lower: Int64) -> ClosedRange<Int64>? {
        lower > range.lowerBound ? range.lowerBound...(lower - 1) : nil
    }

    /// Ends the pass for every reader (one failed): waiting readers get nil.
    func abort() {
        state.withLock { $0.ended = true }
        wakeIfEnded()
    }

    /// What is still to read, as saved with the pass's progress, once `reader` has stored what it read of its range
    /// from `lower` up.
    func remaining(reading reader: Int, below lower: Int64) -> [[Int64]] {
        state.withLock { state in
            var ranges = state.queued
            for (other, range) in state.active {
                if let left = other == reader ? Self.left(of: range, below: lower) : range { ranges.append(left) }
            }
            return ranges.sorted { $0.lowerBound < $1.lowerBound }.map { [$0.lowerBound, $0.upperBound] }
        }
    }

    private func wakeIfEnded() {
        let waiting = state.withLock { state -> [CheckedContinuation<ClosedRange<Int64>?, Never>] in
            guard state.ended || (state.queued.isEmpty && state.active.isEmpty) else { return [] }
            state.ended = true
            defer { state.waiting = [] }
            return state.waiting.map(\.continuation)
        }
        for continuation in waiting { continuation.resume(returning: nil) }
    }
}
