import NIOCore
import NIOPosix
import Synchronization

/// A TCP forwarder from a loopback port to a target, that a test cuts (every connection closed, new ones refused
/// at once) or freezes (connections stay open, nothing goes through: a database that stopped answering) and
/// restores: a replica cut off from its database while the others keep it.
final class TCPProxy: Sendable {
    let port: Int
    private let server: any Channel
    private let state: ProxyState

    init(toHost host: String, port targetPort: Int) async throws {
        let state = ProxyState()
        self.state = state
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                guard state.value.withLock({ $0.open }) else { return inbound.close() }
                let toTarget = Forwarder(state)
                return inbound.pipeline.addHandler(toTarget).flatMap {
                    ClientBootstrap(group: inbound.eventLoop)
                        .channelInitializer { outbound in
                            let toClient = Forwarder(state)
                            toClient.partner = inbound
                            return outbound.pipeline.addHandler(toClient)
                        }
                        .connect(host: host, port: targetPort)
                        .map { outbound in
                            toTarget.partner = outbound
                            state.value.withLock { $0.channels += [inbound, outbound] }
                        }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = server.localAddress?.port ?? 0
    }

    /// Closes every forwarded connection and refuses new ones until `restore()`.
    func cut() {
        let channels = state.value.withLock { state in
            state.open = false
            defer { state.channels = [] }
            return state.channels
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Keeps every connection open but forwards nothing, either way, until `restore()` (which closes them).
    func freeze() {
        state.frozen.withLock { $0 = true }
    }

    func restore() {
        let wasFrozen = state.frozen.withLock { frozen in
            defer { frozen = false }
            return frozen
        }
        // What a frozen connection carried was dropped: none of them can go on.
        let channels: [any Channel] =
            wasFrozen
            ? state.value.withLock { state in
                defer { state.channels = [] }
                return state.channels
            } : []
        for channel in channels { channel.close(promise: nil) }
        state.value.withLock { $0.open = true }
    }

    func close() async throws {
        cut()
        try await server.close()
    }
}

private final class ProxyState: Sendable {
    let value = Mutex<(open: Bool, channels: [any Channel])>((true, []))
    let frozen = Mutex(false)
}

/// Writes what one side reads to the other, and closes the other when one side closes.
private final class Forwarder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    /// Set on the channel's event loop before the first read.
    var partner: (any Channel)?
    let state: ProxyState

    init(_ state: ProxyState) {
        self.state = state
    }

    /// The client's side reads only once its partner is connected (the initializer waits for it).
    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.frozen.withLock({ $0 }) else { return }
        partner?.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
