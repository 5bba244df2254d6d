import Hummingbird
import NIOCore

/// The simulator's request context: the basic one plus the connection, so a fault can drop it unanswered.
public struct SimulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
