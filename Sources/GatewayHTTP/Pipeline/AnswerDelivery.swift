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
        self.drain = .nanoseconds(
            Int64(drain.components.seconds) * 1_000_000_000 + drain.components.attoseconds / 1_000_000_000
        )
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
        case .head(let head) where head.status.code >= 200:
            done = delivery.take(requestID: head.headerFields[.requestID])
            context.write(data, promise: promise)
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
        guard mode == .all, !closeHeld, Self.unsent(context) > 0 else {
            return context.close(mode: mode, promise: promise)
        }
        // Closed once what was written is sent, or when the drain is up, whatever is left unsent.
        closeHeld = true
        promise?.succeed()
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
    }
}
