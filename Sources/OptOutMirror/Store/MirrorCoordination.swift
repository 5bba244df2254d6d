/// How the gateway processes that share a store divide the work: one of them syncs each service from SENS, and
/// every one of them follows the change table, so that what any of them wrote is answered by all.
public protocol MirrorCoordination: Sendable {
    /// Whether other processes write the store too: then every process follows its change table and vouches only
    /// while it can read it.
    var shared: Bool { get }

    /// Whether this process syncs `service` now: it takes the lead when no live process holds it, and keeps it
    /// until its connection to the store ends.
    func lead(_ service: String) async -> Bool

    /// Whether this process still holds the lead it took; checked between the windows of a sync.
    func holdsLead(_ service: String) -> Bool

    /// Gives the lead up, so that another process can sync `service` (this one cannot, for now).
    func resign(_ service: String) async

    /// Calls `signal` whenever another process may have written changes of `service`, until the function it
    /// returns is called. Notifications can be lost: followers also poll.
    func observeChanges(of service: String, signal: @escaping @Sendable () -> Void) -> @Sendable () -> Void
}

/// A store only this process uses (the embedded SQLite file): it syncs every service and has no one to follow.
public struct SoleProcess: MirrorCoordination {
    public init() {}
    public var shared: Bool { false }
    public func lead(_ service: String) async -> Bool { true }
    public func holdsLead(_ service: String) -> Bool { true }
    public func resign(_ service: String) async {}
    public func observeChanges(of service: String, signal: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        {}
    }
}
