import SENSCore

/// The HTTP proxy the calls to SENS go through (a CONNECT tunnel), read the way curl reads it: `SENS_PROXY_URL`, else
/// `https_proxy` (or `HTTPS_PROXY`) for an https SENS and `http_proxy` for an http one, unless `no_proxy` (or
/// `NO_PROXY`) names SENS's host. Upper-case `HTTP_PROXY` is not read, as curl does not: a CGI server sets it from
/// a request's `Proxy:` header ("httpoxy").
public struct EgressProxy: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    /// Where it was read: `SENS_PROXY_URL`, `https_proxy`, ….
    public var source: String

    /// The proxy's URL with its password masked, for logs.
    public var masked: String {
        let user = username.map { $0 + (password == nil ? "" : ":****") + "@" } ?? ""
        return "http://\(user)\(host):\(port)"
    }

    /// Reads `http://[user[:password]@]host[:port]` (port 1080 when none is given, as curl's default is; a bare
    /// `host:port` is read as http, as curl reads it); nil with the reason otherwise.
    public static func parse(_ text: String, source: String) -> Result<EgressProxy, ProxyError> {
        var rest = Substring(text)
        if let scheme = rest.firstRange(of: "://") {
            guard rest[..<scheme.lowerBound].lowercased() == "http" else {
                return .failure(ProxyError("\(source): only an http:// proxy is supported (a CONNECT tunnel to SENS)"))
            }
            rest = rest[scheme.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") {
            guard rest[slash...] == "/" else { return .failure(ProxyError("\(source): a proxy URL has no path")) }
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let colon = userInfo.firstIndex(of: ":")
            username = PercentEncoding.decoded(userInfo[..<(colon ?? userInfo.endIndex)])
            password = colon.flatMap { PercentEncoding.decoded(userInfo[userInfo.index(after: $0)...]) }
            guard username != nil, colon == nil || password != nil else {
                return .failure(ProxyError("\(source): the proxy's user or password has a malformed %-escape"))
            }
        }
        var host = rest
        var port = 1080
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let value = Int(rest[rest.index(after: colon)...]), (1...65535).contains(value) else {
                return .failure(ProxyError("\(source): the proxy's port is not a number from 1 to 65535"))
            }
            port = value
            host = rest[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return .failure(ProxyError("\(source): the proxy URL has no host")) }
        return .success(
            EgressProxy(host: String(host), port: port, username: username, password: password, source: source)
        )
    }

    /// Whether `no_proxy` exempts `host`: `*`, the host itself, or a domain it is in (`example.com` and
    /// `.example.com` both exempt `api.example.com`), case-insensitive, comma-separated.
    public static func exempts(_ host: String, noProxy: String) -> Bool {
        let host = host.lowercased()
        for entry in noProxy.split(separator: ",") {
            var name = entry.filter { $0 != " " && $0 != "\t" }.lowercased()
            if name == "*" { return true }
            if name.hasPrefix(".") { name.removeFirst() }
            guard !name.isEmpty else { continue }
            if host == name || host.hasSuffix("." + name) { return true }
        }
        return false
    }
}

/// Why a proxy setting cannot be read: a start-up refusal naming it.
public struct ProxyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
