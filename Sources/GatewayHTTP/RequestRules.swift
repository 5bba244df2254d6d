import GatewayAPI

/// Checks a request's target against the operation it names, before anything runs: requests that would
/// otherwise be answered as if they meant something else (an empty path parameter, a misspelt or repeated query
/// parameter, malformed percent-encoding) are refused with a 400 that names the parameter.
enum RequestRules {
    struct Refusal: Error, Equatable {
        var status: Int
        var detail: String
        var invalidParams: [Parameter] = []
        /// For 405: the methods the path has.
        var allow: [String] = []

        struct Parameter: Equatable {
            var name: String
            var reason: String
        }

        static func parameter(_ name: String, _ reason: String) -> Refusal {
            Refusal(status: 400, detail: "\(name): \(reason)", invalidParams: [.init(name: name, reason: reason)])
        }

        /// 404 for a path no operation has (a long path is shown cut short).
        static func noSuchRoute(method: String, path: String) -> Refusal {
            let shown = path.count > 200 ? path.prefix(200) + "…" : Substring(path)
            return Refusal(status: 404, detail: "no such route: \(method) \(shown)")
        }

        static func tooLarge(limit: Int) -> Refusal {
            Refusal(status: 413, detail: "the body is larger than \(limit) bytes")
        }
    }

    /// The operation `method path?query` names, or why the request cannot be one.
    static func operation(method: String, path: String, query: Substring?, routes: RouteTable) -> Result<OpenAPIRoute, Refusal> {
        guard let (template, parameters) = routes.match(path) else {
            return .failure(.noSuchRoute(method: method, path: path))
        }
        guard let route = RouteTable.route(template, method: method) else {
            let allowed = RouteTable.allowed(template)
            return .failure(Refusal(status: 405, detail: "\(method) is not allowed on \(path); use \(allowed.joined(separator: ", "))",
                                    allow: allowed))
        }
        for (name, raw) in parameters {
            if raw.isEmpty { return .failure(.parameter(name, "must not be empty")) }
            if percentDecoded(raw) == nil { return .failure(.parameter(name, "bad percent-encoding")) }
        }
        if let refusal = queryRefusal(query, route: route) { return .failure(refusal) }
        return .success(route)
    }

    /// Unknown, repeated or undecodable query parameters.
    static func queryRefusal(_ query: Substring?, route: OpenAPIRoute) -> Refusal? {
        guard let query, !query.isEmpty else { return nil }
        var seen: Set<String> = []
        for item in query.split(separator: "&", omittingEmptySubsequences: false) {
            // `?&`, `a=1&&b=2`: an empty item is refused rather than guessed at.
            guard !item.isEmpty else { return Refusal(status: 400, detail: "the query has an empty parameter (a stray '&')") }
            let rawName = item.prefix { $0 != "=" }
            guard let name = percentDecoded(rawName, plusIsSpace: true) else {
                return Refusal(status: 400, detail: "the query has bad percent-encoding: \(item.prefix(64))")
            }
            guard route.queryParameters.contains(name) else {
                let known = route.queryParameters.isEmpty
                    ? "this operation takes no query parameters"
                    : "this operation takes " + route.queryParameters.joined(separator: ", ")
                return .parameter(String(name.prefix(64)), "unknown query parameter; \(known)")
            }
            guard seen.insert(name).inserted else { return .parameter(name, "given more than once") }
            if percentDecoded(item.dropFirst(rawName.count + 1), plusIsSpace: true) == nil {
                return .parameter(name, "bad percent-encoding")
            }
        }
        return nil
    }

    /// `text` with its `%XX` escapes decoded, or nil when an escape is malformed or the result is not UTF-8.
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
