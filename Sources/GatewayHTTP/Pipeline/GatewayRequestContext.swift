import Hummingbird
import NIOCore

/// The gateway's request context: the basic one plus the peer address, named in audit lines when the caller
/// does not name itself.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Read when the request arrives (a closed channel forgets it), formatted only when a line asks for it.
    let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// A path parameter with nothing to decode (no `%`), or nil: the generic path takes the others.
    func plainParameter(_ name: String) -> String? {
        guard let value = parameters.get(name), !value.isEmpty, !value.utf8.contains(UInt8(ascii: "%")) else {
            return nil
        }
        return value
    }

    /// The peer's address as text, made when asked (an audit line without `X-Caller`), not for every request.
    var peerAddress: @Sendable () -> String? {
        { [remoteAddress] in remoteAddress?.ipAddress }
    }
}
