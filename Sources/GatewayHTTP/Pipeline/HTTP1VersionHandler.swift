import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Before the HTTP/1 codec, which drops the request's version: an HTTP/1.0 request (without
/// `Connection: keep-alive`) or any request asking `Connection: close` is answered with `Connection: close` and its
/// connection closed after the answer, and an HTTP/1.0 client gets an HTTP/1.0 answer (never chunked).
final class HTTP1VersionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// For each request not yet answered, in order (pipelined requests): its version and whether its connection
    /// closes after the answer.
    private var pending = CircularBuffer<(version: HTTPVersion, close: Bool)>()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        let close = !head.isKeepAlive
        pending.append((head.version, close))
        // HTTP/1.0 does not require a Host (health checkers often send none); the request rules require one of
        // HTTP/1.1, so a 1.0 request without one is given a placeholder here.
        if head.version == .http1_0, !head.headers.contains(name: "host") {
            head.headers.add(name: "host", value: "localhost")
        }
        // Hummingbird ends the connection after a request whose `Connection` is exactly `close`.
        if close { head.headers.replaceOrAdd(name: "connection", value: "close") }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200, let request = pending.popFirst()
        else {
            return context.write(data, promise: promise)
        }
        if request.close { head.headers.replaceOrAdd(name: "connection", value: "close") }
        if request.version == .http1_0 { head.version = .http1_0 }
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}

/// Put among Hummingbird's per-connection handlers (which come after the HTTP/1 codec): it places
/// `HTTP1VersionHandler` before the codec, where the version is still known, and passes everything on.
public final class HTTP1VersionInstaller: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        let operations = context.pipeline.syncOperations
        if let codec = try? operations.handler(type: HTTP1ToHTTPServerCodec.self) {
            try? operations.addHandler(HTTP1VersionHandler(), position: .before(codec))
        }
    }
}
