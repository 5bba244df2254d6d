import GatewayAPI
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Per connection, below the router: answers `Expect: 100-continue` with `100 Continue` (clients such as curl
/// otherwise wait a second before sending a large or chunked body) unless the declared body is already over the
/// limit or the operation takes no body, and only when no earlier response is still being written on the
/// connection (pipelined requests); and
/// after a 413, stops the upload: the answer is sent, the connection's sending side closed, and the connection
/// closed a little later, so a client that keeps sending cannot keep it busy. A request whose body has not
/// arrived whole within `bodyTimeout` of its head ends with `BodyTimedOut` (the operation answers 408) and its
/// connection is closed shortly after (a client trickling a body a byte at a time would otherwise hold it, as
/// every byte resets the idle timeout).
public final class BodyFlowHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    let maxBodyBytes: Int
    /// Larger bounds for the operations that read their body as it arrives, by operation id.
    let streamedBodyLimits: [String: Int]
    let bodyTimeout: TimeAmount
    /// How long a connection refused with 413 may still deliver what was in flight before it is closed.
    let lingerAfterRefusal: TimeAmount
    private var bodyTimer: Scheduled<Void>?
    /// For each request received and not yet answered, in order: whether it still waits for its `100 Continue`.
    private var unanswered: [Bool] = []
    private var refusing = false

    public init(
        maxBodyBytes: Int,
        streamedBodyLimits: [String: Int] = [:],
        bodyTimeout: TimeAmount,
        lingerAfterRefusal: TimeAmount = .seconds(2)
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.streamedBodyLimits = streamedBodyLimits
        self.bodyTimeout = bodyTimeout
        self.lingerAfterRefusal = lingerAfterRefusal
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .end = part {
            bodyTimer?.cancel()
            bodyTimer = nil
        }
        guard case .head(var head) = part else {
            context.fireChannelRead(data)
            return
        }

        var waits = false
        if head.headerFields[.expect]?.lowercased() == "100-continue" {
            head.headerFields[.expect] = nil
            // Only a body the operation takes, within the limit, is invited; otherwise the final answer comes.
            let path = (head.path ?? "").prefix { $0 != "?" }
            if let route = RouteTable.embedded.operation(method: head.method.rawValue, path: path), route.hasRequestBody
            {
                let limit = streamedBodyLimits[route.operationID] ?? maxBodyBytes
                waits = (head.headerFields[.contentLength].flatMap { Int($0) } ?? 0) <= limit
            }
        }
        unanswered.append(waits)
        if !waits {
            // A request without a body ends with its head: nothing to time.
            if head.headerFields.announcesBody { startBodyTimer(context) }
        } else if unanswered.count == 1 {
            sendContinue(context)
        }
        // A body held back until earlier responses are written gets its time once its 100 Continue is sent.
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response) where response.status.code == 413:
            refusing = true
            context.write(data, promise: promise)
        case .end:
            context.write(data, promise: promise)
            if !unanswered.isEmpty { unanswered.removeFirst() }
            if refusing {
                context.flush()
                refuse(context)
            } else if unanswered.first == true {
                sendContinue(context)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        bodyTimer?.cancel()
    }

    private func sendContinue(_ context: ChannelHandlerContext) {
        unanswered[0] = false
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        startBodyTimer(context)
    }

    /// The body of the request being received must arrive whole within `bodyTimeout` from now: then the body
    /// being read ends with `BodyTimedOut`, and the connection is closed once the 408 had time to go out.
    private func startBodyTimer(_ context: ChannelHandlerContext) {
        bodyTimer?.cancel()
        let channel = context.channel
        let linger = lingerAfterRefusal
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        bodyTimer = context.eventLoop.scheduleTask(in: bodyTimeout) {
            loopBound.value.fireErrorCaught(BodyTimedOut())
            channel.eventLoop.scheduleTask(in: linger) { channel.close(promise: nil) }
        }
    }

    /// The 413 is on its way: close the sending side (the client sees the answer, then the end), and the whole
    /// connection once in-flight data had time to arrive (closing at once could reset it before the client read
    /// the answer).
    private func refuse(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: lingerAfterRefusal) { channel.close(promise: nil) }
    }
}

/// A request body did not arrive whole in time (`BodyFlowHandler`).
public struct BodyTimedOut: Error {}
