/// What the HTTP layer reads of a service's mirror: whether it vouches now, bulk lookups for the filter, the
/// change feed and the status page. `ServiceMirror` is the implementation.
public protocol MirrorReading: Sendable {
    /// When the mirror's answers are as of (epoch ms), if it can vouch for them now.
    func asOf() -> Int64?
    /// The record of each listed national number among `keys` (in whatever form SENS holds it), by position, and
    /// the position of each number in doubt (`ServiceMirror.lookUp`), under one lock.
    func lookUp(_ keys: [PhoneKey], found: (Int, MirrorRecord) -> Void, inDoubt: (Int) -> Void)
    /// At most `limit` changes after `sequence` (nil: from the oldest kept), oldest first, and the sequence they
    /// follow; `MirrorChangesPruned` when some after `sequence` were pruned.
    func changes(after sequence: Int64?, limit: Int) async throws -> (after: Int64, changes: [MirrorChange])
    func status() -> MirrorStatus
    /// The whole list as of now, for the export (`ServiceMirror.snapshot`).
    func snapshot() -> Result<MirrorSnapshot, MirrorSnapshot.Refusal>
    /// What change cursors are bound to: the store and the service's list in it.
    func cursorScope() async throws -> String
}

extension ServiceMirror: MirrorReading {
    public func cursorScope() async throws -> String {
        try await store.storeID() + "/" + storeKey
    }
}
