/// Scheme, host, optional port and optional path prefix of the SENS API, without a trailing slash.
public struct SENSBaseURL: Sendable, Equatable {
    public let text: String

    public static let ncp = SENSBaseURL("https://sens.apigw.ntruss.com")!

    public init?(_ text: String) {
        var text = text
        while text.hasSuffix("/") { text.removeLast() }
        guard let schemeEnd = text.firstRange(of: "://"),
            ["http", "https"].contains(text[..<schemeEnd.lowerBound].lowercased()),
            let host = text[schemeEnd.upperBound...].split(separator: "/", omittingEmptySubsequences: false).first,
            !host.isEmpty, !text.contains("?"), !text.contains("#"), !text.contains(where: \.isWhitespace)
        else { return nil }
        self.text = text
    }

    /// The URL as logs show it: a `user:password@` before the host is masked (`***@`).
    public var masked: String { Self.maskingUserInfo(text) }

    /// Any URL's text with a `user:password@` before the host masked (`***@`): also for a value that is refused.
    public static func maskingUserInfo(_ url: String) -> String {
        let start = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        let authorityEnd = url[start...].firstIndex(of: "/") ?? url.endIndex
        guard let at = url[start..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<start]) + "***" + String(url[at...])
    }

    /// The host, without a user, a port or brackets (`sens.apigw.ntruss.com`): what `no_proxy` is matched against.
    public var host: String {
        let afterScheme = text[text.firstRange(of: "://")!.upperBound...]
        var authority = afterScheme.prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        return String(authority.prefix { $0 != ":" })
    }

    /// The path prefix (`""` for the NCP host), which is signed along with the resource path.
    public var pathPrefix: String {
        let afterScheme = text[text.firstRange(of: "://")!.upperBound...]
        guard let slash = afterScheme.firstIndex(of: "/") else { return "" }
        return String(afterScheme[slash...])
    }
}
