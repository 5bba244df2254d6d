import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the simulator answers with other than success, rendered as SENS or its API Gateway would.
enum SimulatorError: Error {
    /// An API Gateway error (authentication, unknown route or service, size, injected faults).
    case gateway(APIGatewayErrorCode, details: String? = nil, status: Int? = nil)
    /// SENS refusing a malformed call: 400 with a SENS error body.
    case badRequest(String)
    case throttled(retryAfterSeconds: Int)
    /// The connection was closed on purpose (a fault); there is nothing to answer.
    case dropped

    var response: Response {
        switch self {
        case .gateway(let code, let details, let status):
            return .json(status: status ?? code.status, code.body(details: details))
        case .badRequest(let message):
            return .json(status: 400, SENSServiceErrorBody(status: 400, errorMessage: message))
        case .throttled(let retryAfterSeconds):
            var response = Response.json(status: 429, APIGatewayErrorCode.throttleLimited.body())
            response.headers[.retryAfter] = String(retryAfterSeconds)
            return response
        case .dropped:
            return Response(status: .internalServerError)
        }
    }
}

/// Turns every error thrown below it into a SENS-shaped answer, so no framework error body ever leaks out.
struct SimulatorErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as SimulatorError {
            return error.response
        } catch let error as HTTPError {
            switch error.status {
            case .notFound, .methodNotAllowed: return SimulatorError.gateway(.notFound).response
            case .contentTooLarge: return SimulatorError.gateway(.requestEntityTooLarge).response
            default: return SimulatorError.gateway(.unexpectedError, status: error.status.code).response
            }
        } catch {
            context.logger.error("simulator failed", metadata: ["error": "\(error)"])
            return SimulatorError.gateway(.unexpectedError).response
        }
    }
}

extension Response {
    static func json(status: Int, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension Request {
    /// The body decoded as JSON, or a SENS 400 saying why not. Bodies over `limit` bytes are a 413.
    func decodeJSON<Value: Decodable>(_ type: Value.Type, limit: Int) async throws -> Value {
        var buffer = try await body.collect(upTo: limit)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw SimulatorError.badRequest(
                "The request body must be a JSON array of {\"clientTelNo\": \"digits\"} objects."
            )
        }
    }
}
