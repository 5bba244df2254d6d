import Hummingbird
import NIOCore

/// The gateway's request context: the basic one plus the peer address, named in audit lines when the caller
/// does not name itself.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }
}
