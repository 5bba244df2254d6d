/// Where a service's change feed starts now that old changes are pruned (`MirrorStore.pruneChanges`).
public struct ChangeFeedStart: Sendable, Equatable {
    /// Every change up to this sequence was pruned (0 when none was): a cursor before it has missed changes.
    public var prunedThrough: Int64
    /// The oldest change kept, if any.
    public var oldestKeptSequence: Int64?
    public var oldestKeptObservedAtMilliseconds: Int64?

    public init(prunedThrough: Int64, oldestKeptSequence: Int64? = nil, oldestKeptObservedAtMilliseconds: Int64? = nil)
    {
        self.prunedThrough = prunedThrough
        self.oldestKeptSequence = oldestKeptSequence
        self.oldestKeptObservedAtMilliseconds = oldestKeptObservedAtMilliseconds
    }
}

extension ChangeFeedStart {
    /// Of a service's oldest changes (sequence order), how many to prune and the last of them: those observed before
    /// `cutoff` up to the first one observed later (clocks of replicas differ a little), so that what is kept stays
    /// the feed's tail.
    static func prunable(
        _ oldest: [(sequence: Int64, observedAt: Int64)],
        observedBefore cutoff: Int64
    ) -> (count: Int, through: Int64)? {
        let prefix = oldest.prefix { $0.observedAt < cutoff }
        guard let last = prefix.last else { return nil }
        return (prefix.count, last.sequence)
    }
}

/// A change feed read after a sequence whose following changes were pruned: the reader has missed some.
public struct MirrorChangesPruned: Error, Sendable, CustomStringConvertible {
    public let start: ChangeFeedStart

    public var description: String {
        "the changes after this cursor are no longer kept (pruned through sequence \(start.prunedThrough))"
    }
}
