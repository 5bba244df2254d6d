import Hummingbird

/// The framework's ceiling on this machine: a minimal Hummingbird 2 application with one `GET /healthz` that answers
/// the gateway's own bytes, and no middleware. `Benchmarks/run.sh` measures the gateway's routes against it.
///   bare-hummingbird PORT
let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8080 : 8080
let router = Router()
router.get("/healthz") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
