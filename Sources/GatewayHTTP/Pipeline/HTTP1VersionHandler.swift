import Logging
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
    /// A request's head has been read and its end not yet: a parser error now is in its body.
    private var readingRequest = false
    /// Dropping an answer written when no request awaited one (see `write`).
    private var droppingUnsolicited = false
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            if case .end = unwrapInboundIn(data) { readingRequest = false }
            return context.fireChannelRead(data)
        }
        readingRequest = true
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

    /// A request whose head cannot be parsed (raw non-ASCII bytes in its target, say) gets a problem that says
    /// what to send instead, and a log line, rather than a bare 400; the connection then closes. A framing
    /// mistake in a body being read is the body reader's to answer (the request is not answered yet); in the
    /// body of a request answered already, it closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, pending.isEmpty else {
            return context.fireErrorCaught(error)
        }
        if readingRequest {
            // The rest of a body the gateway answered before reading it (a 415, a 501): the answer is out, and
            // a second one to a request already answered would be read as the answer to the next. The connection
            // closes instead, as after any refused body.
            readingRequest = false
            logger.debug("connection closed: the body of a request already answered is malformed")
            context.close(promise: nil)
            return
        }
        let detail = Self.describe(parserError)
        logger.warning(
            "request refused: its head could not be parsed",
            metadata: ["status": "400", "reason": .string(detail), "error": .string("\(parserError)")]
        )
        let problem = Problems.make(status: 400, detail: detail)
        let body = JSONAnswer.encode(problem, utcOffsetSeconds: 0)
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/problem+json; charset=utf-8")
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "connection", value: "close")
        context.write(
            wrapOutboundOut(.head(.init(version: .http1_1, status: .badRequest, headers: headers))),
            promise: nil
        )
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }

    /// The mistake, in the caller's terms.
    static func describe(_ error: HTTPParserError) -> String {
        switch error {
        case .invalidURL, .invalidCharactersUsed:
            "the request target is not a valid URL: percent-encode every byte outside ASCII as UTF-8 "
                + "(휴대폰 is %ED%9C%B4%EB%8C%80%ED%8F%B0, as in ?column=%ED%9C%B4%EB%8C%80%ED%8F%B0)"
        case .invalidHeaderToken: "a header's name or value holds characters a header may not"
        case .invalidMethod: "the request method is not a valid token"
        case .invalidVersion: "the HTTP version is not HTTP/1.0 or HTTP/1.1"
        case .headerOverflow: "the request's headers are too large"
        default: "the request could not be parsed as HTTP/1.1 (\(error))"
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if droppingUnsolicited {
            // The rest of an answer to no request; the connection closes once it would have ended.
            if case .end = unwrapOutboundIn(data) {
                droppingUnsolicited = false
                context.close(promise: nil)
            }
            promise?.succeed(())
            return
        }
        guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200 else {
            return context.write(data, promise: promise)
        }
        guard let request = pending.popFirst() else {
            // An answer with no request left to answer: the framework's bare 400 for a malformed body of a
            // request the gateway answered before reading it (a 415, a 501). A client would take it for the
            // answer to its next request: it is dropped, and the connection closed.
            droppingUnsolicited = true
            logger.debug("connection closed: the body of a request already answered is malformed")
            promise?.succeed(())
            return
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
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        let operations = context.pipeline.syncOperations
        if let codec = try? operations.handler(type: HTTP1ToHTTPServerCodec.self) {
            try? operations.addHandler(HTTP1VersionHandler(logger: logger), position: .before(codec))
        }
    }
}
