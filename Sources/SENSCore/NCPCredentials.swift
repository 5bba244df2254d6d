/// An NCP secret key. Its text never appears in `print`, string interpolation, `dump` or debug output.
public struct NCPSecretKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let bytes: [UInt8]

    public init(_ value: String) {
        self.bytes = Array(value.utf8)
    }

    public var isEmpty: Bool { bytes.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "NCPSecretKey(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// An NCP API key pair: the access key is logged masked, the secret key never.
public struct NCPCredentials: Sendable, CustomStringConvertible {
    public let accessKey: String
    public let secretKey: NCPSecretKey

    public init(accessKey: String, secretKey: NCPSecretKey) {
        self.accessKey = accessKey
        self.secretKey = secretKey
    }

    /// The access key's first four characters, the rest starred: enough to tell keys apart in a log.
    public var maskedAccessKey: String {
        String(accessKey.prefix(4)) + String(repeating: "*", count: max(4, accessKey.count - 4))
    }

    public var description: String { "NCPCredentials(accessKey: \(maskedAccessKey), secretKey: <redacted>)" }
}
