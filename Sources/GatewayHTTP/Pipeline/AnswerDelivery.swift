import HTTPTypes
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
    private let watched = Mutex<[String: @Sendable (_ cut: Bool) -> Void]>([:])
    private let watchedCount = Atomic<Int>(0)

    public init(drain: Duration) {
        self.drain = .nanoseconds(Int64(drain.components.seconds) * 1_000_000_000 + drain.components.attoseconds / 1_000_000_000)
    }

    /// The handler to put on each new connection.
    public func handler() -> any RemovableChannelHandler { AnswerDeliveryHandler(delivery: self) }

    /// `done` is called once the answer with this request id is written out whole (`false`) or cut (`true`).
    func watch(requestID: String, _ done: @escaping @Sendable (_ cut: Bool) -> Void) {
        watched.withLock { $0[requestID] = done }
        watchedCount.add(1, ordering: .relaxed)
    }

    fileprivate func take(requestID: String?) -> (@Sendable (Bool) -> Void)? {
        guard watchedCount.load(ordering: .relaxed) > 0, let requestID else { return nil }
        guard let done = watched.withLock({ $0.removeValue(forKey: requestID) }) else { return nil }
        watchedCount.subtract(1, ordering: .relaxed)
        return done
    }
}

/// One connection's answers: tells a watched answer's outcome, and holds a close back while an answer is still
/// being written out.
final class AnswerDeliveryHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let delivery: AnswerDelivery
    /// The watched answer being written, if any.
    private var done: (@Sendable (Bool) -> Void)?
    /// Answers whose end is queued and not yet written out.
    private var unwritten = 0
    private var closeHeld = false

    init(delivery: AnswerDelivery) { self.delivery = delivery }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            done = delivery.take(requestID: head.headerFields[.requestID])
            context.write(data, promise: promise)
        case .end:
            let written = promise ?? context.eventLoop.makePromise()
            unwritten += 1
            let done = self.done
            self.done = nil
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            written.futureResult.whenComplete { result in
                if case .failure = result { done?(true) } else { done?(false) }
                let (handler, context) = loopBound.value
                handler.unwritten -= 1
                if handler.unwritten == 0, handler.closeHeld {
                    handler.closeHeld = false
                    context.close(promise: nil)
                }
            }
            context.write(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, unwritten > 0, !closeHeld else { return context.close(mode: mode, promise: promise) }
        // Closed once the answers are written out (above), or when the drain is up, whatever is left unwritten.
        closeHeld = true
        let channel = context.channel
        context.eventLoop.scheduleTask(in: delivery.drain) { channel.close(promise: nil) }
        promise?.succeed()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        done?(true)
        done = nil
    }
}
