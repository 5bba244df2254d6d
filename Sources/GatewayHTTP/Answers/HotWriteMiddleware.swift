import HTTPTypes
import Hummingbird
import NIOCore
import OptOuts
import SENSCore

/// Registers and removals with a plain body, read here instead of by the generated decoder, whose `JSONDecoder`
/// was, once the answer was written as bytes, the largest single cost of a register of 10,000
/// (Benchmarks/README.md, "Hot paths"). Below the request checks (the body is bounded, collected, its media type
/// and repeated keys checked) and above the filter's middleware and the generated handlers.
///
/// Plain means: `POST` or `DELETE` on a service's list, no query, `Content-Type: application/json`, a body of
/// ASCII without escapes that reads as `{"phoneNumbers": ["…", …]}` (`JSONRecipientReader`, the filter's reader)
/// with 1–10,000 numbers that all parse. Anything else, an invalid number included, passes on to the generated
/// handler, which refuses it in its words; `HotAnswerTests` holds both paths to the same answers.
struct HotWriteMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let services: OptOutServices
    let handlers: OptOutHandlers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let write = Self.write(request.method), let route = context.endpointPath, request.uri.query == nil,
              Self.isJSON(request.headers[values: .contentType]) else {
            return try await next(request, context)
        }
        let service: OptOutService?
        switch route {
        case "/v1/unsubscribes": service = services.defaultService
        case "/v1/services/{service}/unsubscribes":
            service = context.plainParameter("service").flatMap(services.named)
        default: return try await next(request, context)
        }
        var request = request
        guard let service, let body = try? await request.collectBody(upTo: .max), let inputs = Self.plainNumbers(body),
              case .success(let numbers) = APIMapping.validate(inputs) else {
            return try await next(request, context)
        }
        return handlers.answer(write, await handlers.perform(write, numbers, in: service))
    }

    private static func write(_ method: HTTPRequest.Method) -> OptOutHandlers.Write? {
        switch method {
        case .post: .register
        case .delete: .remove
        default: nil
        }
    }

    /// `application/json`, with parameters or none, given once.
    private static func isJSON(_ values: [String]) -> Bool {
        values.count == 1 && values[0].mediaType == "application/json"
    }

    /// The body's numbers when it is plain; nil otherwise.
    static func plainNumbers(_ body: ByteBuffer) -> [String]? {
        body.withUnsafeReadableBytes { bytes -> [String]? in
            // Escapes and non-ASCII text are where readers can differ (lone surrogates, invalid UTF-8): the
            // generated decoder takes those.
            guard bytes.allSatisfy({ $0 < 0x80 && $0 != ASCIIByte.backslash }) else { return nil }
            var reader = JSONRecipientReader(maxRecipients: APIMapping.maxPhoneNumbers)
            var numbers: [String] = []
            numbers.reserveCapacity(bytes.count / 16)
            do {
                try reader.read(bytes) { numbers.append($0.input) }
                try reader.finish { numbers.append($0.input) }
            } catch {
                return nil
            }
            return numbers
        }
    }
}
