import HTTPTypes
import Hummingbird

/// Answers HEAD on every GET route as GET would be answered, headers and `Content-Length` included, without
/// the body. The request goes through the router as a GET, so the route's middleware runs once; the access log
/// and metrics still name HEAD (`RequestMethod.received`).
public struct HeadResponder<Base: HTTPResponder>: HTTPResponder {
    public typealias Context = Base.Context
    let base: Base

    public init(base: Base) {
        self.base = base
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .head else { return try await base.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        let response = try await RequestMethod.$received.withValue(.head) {
            try await base.respond(to: Request(head: head, body: request.body), context: context)
        }
        var headers = response.headers
        if let length = response.body.contentLength { headers[.contentLength] = String(length) }
        return Response(status: response.status, headers: headers, body: .init())
    }
}

/// The method the caller sent, where the gateway answers it as another (HEAD as GET).
enum RequestMethod {
    @TaskLocal static var received: HTTPRequest.Method?

    static func of(_ request: Request) -> HTTPRequest.Method { received ?? request.method }
}
