import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Whether answers reach the client whole. Hummingbird closes a connection as soon as its last answer is queued
/// when the server drains (SIGTERM), which would drop what a slow reader has not taken yet; here a close waits
/// until the queued answer is written out, for at most `drain` (`HTTP_DRAIN_SECONDS`), and an answer still not
/// written out then is cut. Large answers are watched by request id: `watch` is told whether the answer was
/// written whole, so the access log can say when one was cut.
public final class AnswerDelivery: Sendable {
    let drain: TimeAmount
    /// The watched answers not yet written, by token: their connection and what to tell.
    private let watched = Mutex<[UInt64: (connection: ObjectIdentifier, done: @Sendable (_ cut: Bool) -> Void)]>([:])
    private let watchedCount = Atomic<Int>(0)
    private let tokens = Atomic<UInt64>(0)

    public init(drain: Duration) {
        self.drain = .nanoseconds(
            Int64(drain.components.seconds) * 1_000_000_000 + drain.components.attoseconds / 1_000_000_000
        )
    }

    /// The handler to put on each new connection.
    public func handler() -> any RemovableChannelHandler { AnswerDeliveryHandler(delivery: self) }

    /// Watches the answer `response` is, on `connection`: `done` is called once it is written out whole (`false`)
    /// or cut (`true`), the connection closing first included. The answer carries a token of the gateway's own,
    /// which the connection's handler takes off before it is sent.
    func watch(
        _ response: inout Response,
        connection: ObjectIdentifier,
        _ done: @escaping @Sendable (_ cut: Bool) -> Void
    ) {
        let token = tokens.add(1, ordering: .relaxed).newValue
        watched.withLock { $0[token] = (connection, done) }
        watchedCount.add(1, ordering: .relaxed)
        response.headers[.answerToken] = String(token)
    }

    fileprivate func take(token: String?) -> (@Sendable (Bool) -> Void)? {
        guard let token = token.flatMap({ UInt64($0) }) else { return nil }
        guard let entry = watched.withLock({ $0.removeValue(forKey: token) }) else { return nil }
        watchedCount.subtract(1, ordering: .relaxed)
        return entry.done
    }

    fileprivate var isWatching: Bool { watchedCount.load(ordering: .relaxed) > 0 }

    /// The watched answers of a connection that closed before they were written: cut.
    fileprivate func connectionClosed(_ connection: ObjectIdentifier) {
        guard isWatching else { return }
        let orphans = watched.withLock { watched in
            let ids = watched.filter { $0.value.connection == connection }.map(\.key)
            return ids.compactMap { watched.removeValue(forKey: $0)?.done }
        }
        if !orphans.isEmpty { watchedCount.subtract(orphans.count, ordering: .relaxed) }
        for done in orphans { done(true) }
    }
}

extension HTTPField.Name {
    /// The gateway's own mark on a watched answer, never sent.
    static let answerToken = Self("X-Sens-Gateway-Answer-Token")!
}

/// One connection's answers: tells a watched answer's outcome, and holds a close back while what was written is
/// still being sent. Answers that are not watched cost a counter read.
final class AnswerDeliveryHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let delivery: AnswerDelivery
    /// The watched answer being written, if any.
    private var done: (@Sendable (Bool) -> Void)?
    private var closeHeld = false

    init(delivery: AnswerDelivery) { self.delivery = delivery }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200 && delivery.isWatching:
            guard let token = head.headerFields[.answerToken] else { return context.write(data, promise: promise) }
            head.headerFields[.answerToken] = nil
            done = delivery.take(token: token)
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where done != nil:
            let written = promise ?? context.eventLoop.makePromise()
            let done = self.done
            self.done = nil
            written.futureResult.whenComplete { result in
                if case .failure = result { done?(true) } else { done?(false) }
            }
            context.write(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if closeHeld {
            // Already closing once what was written is sent (or the drain is up): this close waits for that one.
            if let promise { context.channel.closeFuture.cascade(to: promise) }
            return
        }
        guard mode == .all, Self.unsent(context) > 0 else { return context.close(mode: mode, promise: promise) }
        // Closed once what was written is sent, or when the drain is up, whatever is left unsent.
        closeHeld = true
        if let promise { context.channel.closeFuture.cascade(to: promise) }
        let deadline = NIODeadline.now() + delivery.drain
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        func check() {
            let context = loopBound.value
            guard Self.unsent(context) > 0, NIODeadline.now() < deadline else { return context.close(promise: nil) }
            context.eventLoop.scheduleTask(in: .milliseconds(20)) { check() }
        }
        check()
    }

    /// Bytes written to the connection and not yet handed to the kernel.
    private static func unsent(_ context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        done?(true)
        done = nil
        delivery.connectionClosed(ObjectIdentifier(context.channel))
    }
}
