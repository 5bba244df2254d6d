/// One operation of `openapi.yaml` as data, made at build time by the EmbedOpenAPIDocument plugin
/// (`EmbeddedOpenAPIDocument.routes`).
package struct OpenAPIRoute: Sendable, Equatable {
    /// The path template, `/v1/unsubscribes/{phoneNumber}`.
    package let path: String
    /// Upper-case HTTP method.
    package let method: String
    package let operationID: String
    package let pathParameters: [String]
    package let queryParameters: [String]
    /// The media types the request body may have (`application/json`…); empty when the operation takes none.
    package let requestMediaTypes: [String]
    package var hasRequestBody: Bool { !requestMediaTypes.isEmpty }

    package init(
        path: String,
        method: String,
        operationID: String,
        pathParameters: [String],
        queryParameters: [String],
        requestMediaTypes: [String]
    ) {
        self.path = path
        self.method = method
        self.operationID = operationID
        self.pathParameters = pathParameters
        self.queryParameters = queryParameters
        self.requestMediaTypes = requestMediaTypes
    }
}
