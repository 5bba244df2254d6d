import HTTPTypes

/// The paths and methods the API serves, read from the OpenAPI document itself, so that a request to a known
/// path with another method is answered 405 with `Allow` instead of 404.
struct RouteTable: Sendable {
    /// Path templates split into segments (`{name}` matches any one segment) and their methods, upper-cased.
    private let routes: [(segments: [Substring], methods: [String])]

    /// Reads the `paths:` section of a block-style OpenAPI YAML document: a path is a key indented by two spaces,
    /// its operations the HTTP method keys indented by four.
    init(openAPIDocument: String) {
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var routes: [(segments: [Substring], methods: [String])] = []
        var inPaths = false
        for line in openAPIDocument.split(separator: "\n", omittingEmptySubsequences: true) {
            if !line.hasPrefix(" ") {
                inPaths = line.hasPrefix("paths:")
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), let colon = line.lastIndex(of: ":") {
                routes.append((line[line.index(line.startIndex, offsetBy: 2)..<colon].split(separator: "/"), []))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), !routes.isEmpty,
                let key = line.dropFirst(4).split(separator: ":").first, methods.contains(String(key)) {
                routes[routes.count - 1].methods.append(key.uppercased())
            }
        }
        self.routes = routes
    }

    /// The methods served at `path`; empty when no route matches it.
    func allowedMethods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.segments.count == segments.count
                && zip(route.segments, segments).allSatisfy { template, segment in template.hasPrefix("{") || template == segment }
        }?.methods ?? []
    }

    var isEmpty: Bool { routes.isEmpty }
}
