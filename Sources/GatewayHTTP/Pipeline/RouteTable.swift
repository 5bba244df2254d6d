import GatewayAPI

/// The operations the API serves, from `openapi.yaml` as the build embedded it (`EmbeddedOpenAPIDocument.routes`):
/// which path template a request path is, which methods it has (405 with `Allow` for the others), and which
/// query parameters and body media types each operation takes.
struct RouteTable: Sendable {
    struct Template: Sendable {
        let path: String
        /// Split on `/`, keeping empty segments (`/a/` is `["", "a", ""]`); `{name}` matches one segment.
        let segments: [Substring]
        /// Whether each segment is a parameter (`{name}`).
        let isParameter: [Bool]
        let routes: [OpenAPIRoute]

        init(path: String, routes: [OpenAPIRoute]) {
            self.path = path
            self.segments = path.split(separator: "/", omittingEmptySubsequences: false)
            self.isParameter = segments.map { $0.hasPrefix("{") }
            self.routes = routes
        }

        var staticCount: Int { isParameter.count { !$0 } }

        func matches(_ path: [Substring]) -> Bool {
            guard path.count == segments.count else { return false }
            for index in segments.indices where !isParameter[index] && segments[index] != path[index] { return false }
            return true
        }
    }

    private let templates: [Template]

    /// The table of the embedded document, made once.
    static let embedded = RouteTable()

    init(routes: [OpenAPIRoute] = EmbeddedOpenAPIDocument.routes) {
        let byPath = Dictionary(grouping: routes, by: \.path)
        // Most specific first (more static segments), so that the first match is the best.
        templates = byPath.keys.sorted().map { Template(path: $0, routes: byPath[$0]!) }.sorted {
            $0.staticCount > $1.staticCount
        }
    }

    /// Every operation of the document.
    var operations: [OpenAPIRoute] { templates.flatMap(\.routes) }

    /// The template `path` matches segment for segment (a static segment beats a parameter), with the path's
    /// raw value for each parameter segment.
    func match(_ path: Substring) -> (template: Template, parameters: [(name: String, raw: Substring)])? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let best = templates.first(where: { $0.matches(segments) }) else { return nil }
        var parameters: [(name: String, raw: Substring)] = []
        for index in best.segments.indices where best.isParameter[index] {
            parameters.append((String(best.segments[index].dropFirst().dropLast()), segments[index]))
        }
        return (best, parameters)
    }

    static func allowed(_ template: Template) -> [String] {
        template.routes.flatMap { $0.method == "GET" ? ["GET", "HEAD"] : [$0.method] }
    }

    /// The operation for `method` at a matched template; HEAD is served by GET's.
    static func route(_ template: Template, method: String) -> OpenAPIRoute? {
        let method = method == "HEAD" ? "GET" : method
        return template.routes.first { $0.method == method }
    }

    /// The operation `method path` names, if any.
    func operation(method: String, path: Substring) -> OpenAPIRoute? {
        guard let (template, _) = match(path) else { return nil }
        return Self.route(template, method: method)
    }
}
