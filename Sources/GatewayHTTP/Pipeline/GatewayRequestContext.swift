import Hummingbird
import NIOCore

/// The gateway's request context: the basic one plus the peer address, named in audit lines when the caller
/// does not name itself.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Read when the request arrives (a closed channel forgets it), formatted only when a line asks for it.
    let remoteAddress: SocketAddress?
    /// The connection the request came on (`AnswerDelivery` watches answers per connection).
    let connection: ObjectIdentifier

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.connection = ObjectIdentifier(source.channel)
    }

    /// The peer's address as text, made when asked (an audit line without `X-Caller`), not for every request.
    var peerAddress: @Sendable () -> String? {
        { [remoteAddress] in remoteAddress?.ipAddress }
    }
}
