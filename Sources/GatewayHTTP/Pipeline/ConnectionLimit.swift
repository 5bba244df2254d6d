import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Bounds the open connections (`HTTP_MAX_CONNECTIONS`). A connection over the bound takes the place of the one
/// idle the longest (keep-alive connections waiting for a request, or never sent one), which is closed, so that
/// a flood of idle connections cannot keep out `/healthz` or real callers; when every connection is busy, the new
/// one is closed at once, unanswered (as a server that stopped accepting would leave it), and a warning logged.
public final class ConnectionLimit: Sendable {
    public let maxConnections: Int
    /// One open connection: its channel, and when it last became idle (uptime nanoseconds; 0 while a request is
    /// being answered), set by its own handler without the registry's lock.
    fileprivate final class Slot: Sendable {
        let channel: any Channel
        let idleSince = Atomic<Int64>(NIODeadline.now().uptimeNanoseconds.clampedToInt64)

        init(channel: any Channel) { self.channel = channel }
    }
    private let open = Mutex<[ObjectIdentifier: Slot]>([:])
    private let logger: Logger
    private let lastLog = Mutex<NIODeadline>(.distantPast)

    public init(maxConnections: Int, logger: Logger) {
        self.maxConnections = maxConnections
        self.logger = logger
    }

    /// The handler to put on each new connection.
    public func handler() -> any RemovableChannelHandler { ConnectionSlotHandler(limit: self) }

    public var count: Int { open.withLock { $0.count } }

    /// Registers a new connection; nil when it is over the bound and no idle connection could make room.
    fileprivate func opened(_ channel: any Channel) -> Slot? {
        let slot = Slot(channel: channel)
        let id = ObjectIdentifier(slot)
        let (evicted, admitted): ((any Channel)?, Bool) = open.withLock { open in
            open[id] = slot
            guard open.count > maxConnections else { return (nil, true) }
            var idlest: (id: ObjectIdentifier, since: Int64)?
            for (other, entry) in open where other != id {
                let since = entry.idleSince.load(ordering: .relaxed)
                if since != 0, since < (idlest?.since ?? .max) { idlest = (other, since) }
            }
            guard let idlest, let entry = open.removeValue(forKey: idlest.id) else {
                open[id] = nil
                return (nil, false)
            }
            return (entry.channel, true)
        }
        if let evicted {
            evicted.close(promise: nil)
            note("the connection bound is reached: the connection idle the longest is closed to make room")
        } else if !admitted {
            note("the connection bound is reached and every connection is busy: a new connection is closed unanswered")
        }
        return admitted ? slot : nil
    }

    fileprivate func closed(_ slot: Slot) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) }
    }

    /// A warning, at most one every ten seconds.
    private func note(_ message: Logger.Message) {
        let now = NIODeadline.now()
        let due = lastLog.withLock { last in
            guard now - last >= .seconds(10) else { return false }
            last = now
            return true
        }
        if due { logger.warning(message, metadata: ["maxConnections": "\(maxConnections)"]) }
    }
}

extension UInt64 {
    fileprivate var clampedToInt64: Int64 { Int64(clamping: self) }
}

/// One connection's place under the bound.
final class ConnectionSlotHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limit: ConnectionLimit
    private var slot: ConnectionLimit.Slot?
    /// Requests read and not yet answered (pipelined requests included): idle only at 0.
    private var unanswered = 0
    /// Every request is answered: idle once the answers have gone out.
    private var idleWhenWritten = false

    init(limit: ConnectionLimit) { self.limit = limit }

    func handlerAdded(context: ChannelHandlerContext) {
        slot = limit.opened(context.channel)
        if slot == nil { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func release() {
        if let slot { limit.closed(slot) }
        slot = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            unanswered += 1
            idleWhenWritten = false
            slot?.idleSince.store(0, ordering: .relaxed)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0 { idleWhenWritten = true }
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        markIdleIfWritten(context)
    }

    /// A connection still sending a large answer to a slow reader is not idle: it becomes so once what was
    /// written has (mostly) gone out.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        markIdleIfWritten(context)
        context.fireChannelWritabilityChanged()
    }

    private func markIdleIfWritten(_ context: ChannelHandlerContext) {
        guard idleWhenWritten, context.channel.isWritable else { return }
        idleWhenWritten = false
        slot?.idleSince.store(NIODeadline.now().uptimeNanoseconds.clampedToInt64, ordering: .relaxed)
    }
}

/// On the listening socket: logs a failed accept (out of file descriptors, say), at most one line every ten
/// seconds with how many failed since; NIO waits a second before accepting again.
public final class AcceptErrorLogger: ChannelInboundHandler, Sendable {
    public typealias InboundIn = NIOAny
    private let logger: Logger
    private let state = Mutex<(last: NIODeadline, failed: Int)>((.distantPast, 0))

    public init(logger: Logger) { self.logger = logger }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let now = NIODeadline.now()
        let failed: Int? = state.withLock { state in
            state.failed += 1
            guard now - state.last >= .seconds(10) else { return nil }
            defer { state = (now, 0) }
            return state.failed
        }
        if let failed {
            logger.error(
                "accepting a connection failed",
                metadata: ["error": "\(error)", "failedSinceLastLine": "\(failed)"]
            )
        }
        context.fireErrorCaught(error)
    }
}
