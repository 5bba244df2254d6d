import Hummingbird
import NIOCore

/// The gateway's request context: the basic one plus the peer address, named in audit lines when the caller
/// does not name itself.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Formatted when asked (an audit line without `X-Caller`), not for every request.
    var peerAddress: @Sendable () -> String? {
        { [channel] in channel.remoteAddress?.ipAddress }
    }
}
