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
            if let colon = userInfo.firstIndex(of: ":") {
                username = percentDecoded(userInfo[..<colon])
                password = percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                username = percentDecoded(userInfo)
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
            var name = entry.trimmingCharacters(in: " \t").lowercased()
            if name == "*" { return true }
            if name.hasPrefix(".") { name.removeFirst() }
            guard !name.isEmpty else { continue }
            if host == name || host.hasSuffix("." + name) { return true }
        }
        return false
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex),
                let low = utf8.index(index, offsetBy: 2, limitedBy: utf8.endIndex), low < utf8.endIndex,
                let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = utf8.index(after: low)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Why a proxy setting cannot be read: a start-up refusal naming it.
public struct ProxyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
