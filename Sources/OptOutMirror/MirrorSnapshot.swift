import SENSCore
import Synchronization

/// A service's whole opt-out list at one moment, for the export: a copy of the mirror's index (copy-on-write, so
/// nothing is copied unless the mirror changes while the snapshot is read), oldest registration first.
public struct MirrorSnapshot: Sendable {
    private let index: OptOutIndex
    /// When the list is as of (epoch ms): the start of the mirror's last successful sync.
    public let asOf: Int64
    /// The sequence of the last change the list holds: the change feed after it is what changed since.
    public let sequence: Int64

    init(index: OptOutIndex, asOf: Int64, sequence: Int64) {
        self.index = index
        self.asOf = asOf
        self.sequence = sequence
    }

    public var count: Int { index.settledCount }

    /// The records at `positions` (within `0..<count`), each keyed by its national number.
    public func forEach(in positions: Range<Int>, _ body: (MirrorRecord) -> Void) {
        for position in positions { body(index.settledRecord(at: position)) }
    }

    /// Why there is no snapshot now.
    public enum Refusal: Error, Sendable {
        /// The mirror cannot vouch for its list (still syncing, stale); the detail says why.
        case unavailable(String)
        /// Numbers whose state is in doubt: the mirror is asking SENS about them.
        case inDoubt(Int)
    }
}

extension ServiceMirror {
    /// The whole list as of now; refused while the mirror cannot vouch for it, or while numbers are in doubt (a
    /// number in doubt may be opted out though the list does not hold it).
    public func snapshot() -> Result<MirrorSnapshot, MirrorSnapshot.Refusal> {
        let now = clock.nowMilliseconds()
        let taken: Result<MirrorSnapshot, MirrorSnapshot.Refusal>? = state.withLock { state in
            guard let asOf = vouchedAsOf(state, now: now) else { return nil }
            guard state.doubted.isEmpty else { return .failure(.inDoubt(state.doubted.count)) }
            state.index.settle()
            return .success(MirrorSnapshot(index: state.index, asOf: asOf, sequence: state.appliedSequence))
        }
        return taken ?? .failure(.unavailable(status().detail ?? "the mirror cannot vouch for the list now"))
    }
}
