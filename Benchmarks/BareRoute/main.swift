import GatewayHTTP
import Hummingbird
import HummingbirdCore
import NIOCore

/// The framework's ceiling on this machine: a minimal Hummingbird 2 application with one `GET /healthz` that answers
/// the gateway's own bytes, and no middleware. `Benchmarks/run.sh` measures the gateway's routes against it, and
/// `Benchmarks/layers.sh` adds the gateway's framework-level layers one at a time to see what each costs.
///   bare-hummingbird PORT [layer...]
/// Layers: `context` (the gateway's request context, with the peer address), `head` (its HEAD responder),
/// `body-flow` (its per-connection body handler), `server` (the gateway's server name and idle timeout).
let arguments = CommandLine.arguments.dropFirst()
let port = arguments.first.flatMap { Int($0) } ?? 8080
let layers = Set(arguments.dropFirst())
let body = #"{"status":"ok"}"#

func responder<Context: RequestContext>(_ context: Context.Type) -> some HTTPResponder<Context> {
    let router = Router(context: Context.self)
    router.get("/healthz") { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
    return router.buildResponder()
}

func run<Responder: HTTPResponder>(_ responder: Responder) async throws
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let bodyFlow = layers.contains("body-flow")
    let handlers: @Sendable () -> [any RemovableChannelHandler] = {
        bodyFlow ? [BodyFlowHandler(maxBodyBytes: 8 << 20, bodyTimeout: .seconds(10))] : []
    }
    let server: HTTPServerBuilder =
        layers.contains("server")
        ? .http1(configuration: .init(additionalChannelHandlers: handlers(), idleTimeout: .seconds(30)))
        : .http1(configuration: .init(additionalChannelHandlers: handlers()))
    let app = Application(
        responder: responder,
        server: server,
        configuration: .init(
            address: .hostname("127.0.0.1", port: port),
            serverName: layers.contains("server") ? "sens-gateway" : nil
        )
    )
    try await app.runService()
}

switch (layers.contains("context"), layers.contains("head")) {
case (true, true): try await run(HeadResponder(base: responder(GatewayRequestContext.self)))
case (true, false): try await run(responder(GatewayRequestContext.self))
case (false, true): try await run(HeadResponder(base: responder(BasicRequestContext.self)))
case (false, false): try await run(responder(BasicRequestContext.self))
}
