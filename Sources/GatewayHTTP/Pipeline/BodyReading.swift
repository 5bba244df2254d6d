import Hummingbird
import NIOCore
import NIOHTTP1

/// Reading a request's body, where the client's mistakes are told apart from the gateway's: malformed chunked
/// framing is a 400, a body that stops arriving (its connection closed by `BodyFlowHandler` once the time to
/// send it is up) a 408, a body over the bound a 413. None of these is the gateway failing.
enum BodyReading {
    /// Why a body could not be read.
    enum Failure: Error {
        case tooLarge(limit: Int)
        case malformed(String)
        case stalled

        var refusal: RequestRules.Refusal {
            switch self {
            case .tooLarge(let limit): .tooLarge(limit: limit)
            case .malformed(let detail): RequestRules.Refusal(status: 400, detail: detail)
            case .stalled: RequestRules.Refusal(status: 408, detail: "the body did not arrive in time")
            }
        }
    }

    /// The whole body, up to `limit` bytes.
    static func collect(_ request: inout Request, limit: Int) async -> Result<ByteBuffer, Failure> {
        do {
            return .success(try await request.collectBody(upTo: limit))
        } catch {
            return .failure(failure(error, limit: limit))
        }
    }

    /// Each chunk of the body as it arrives, up to `limit` bytes; `read` may stop the reading by throwing an error
    /// of its own, which is rethrown as it is.
    static func stream(
        _ body: RequestBody,
        limit: Int,
        _ read: (ByteBuffer) throws -> Void
    ) async -> Result<Void, StreamFailure> {
        var received = 0
        var iterator = body.makeAsyncIterator()
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch {
                return .failure(.body(failure(error, limit: limit)))
            }
            guard let chunk else { return .success(()) }
            received += chunk.readableBytes
            guard received <= limit else { return .failure(.body(.tooLarge(limit: limit))) }
            do { try read(chunk) } catch { return .failure(.reader(error)) }
        }
    }

    enum StreamFailure: Error {
        case body(Failure)
        case reader(any Error)
    }

    /// What an error thrown while the body arrived means for the caller.
    static func failure(_ error: any Error, limit: Int) -> Failure {
        if error is NIOTooManyBytesError { return .tooLarge(limit: limit) }
        if let parser = error as? HTTPParserError { return .malformed(describe(parser)) }
        // `BodyTimedOut`, or the connection gone before the body was in.
        return .stalled
    }

    /// The framing mistake, in the caller's terms.
    static func describe(_ error: HTTPParserError) -> String {
        switch error {
        case .invalidChunkSize: "the chunked body has a malformed chunk size"
        case .unexpectedContentLength:
            "the body's framing is malformed (Transfer-Encoding and Content-Length disagree)"
        case .invalidContentLength: "the Content-Length is malformed"
        default: "the body's framing is malformed (\(error))"
        }
    }
}
