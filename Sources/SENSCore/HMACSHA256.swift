import COpenSSL

/// HMAC-SHA256 computed by the system OpenSSL libcrypto (one-call `HMAC()`, not deprecated in OpenSSL 3).
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // OpenSSL 3 refuses a NULL key pointer even with length 0, so an empty key points at a dummy byte.
        let keyBytes = key.isEmpty ? [0] : key
        let result = keyBytes.withUnsafeBufferPointer { keyPointer in
            message.withUnsafeBufferPointer { messagePointer in
                code.withUnsafeMutableBufferPointer { codePointer in
                    HMAC(
                        EVP_sha256(),
                        keyPointer.baseAddress,
                        Int32(key.count),
                        messagePointer.baseAddress,
                        messagePointer.count,
                        codePointer.baseAddress,
                        &length
                    )
                }
            }
        }
        precondition(result != nil && length == 32, "OpenSSL HMAC-SHA256 failed")
        return Array(code.prefix(Int(length)))
    }

    /// Compares two byte strings in time that depends only on their length (OpenSSL `CRYPTO_memcmp`).
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard !lhs.isEmpty else { return true }
        return lhs.withUnsafeBytes { l in
            rhs.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }
}
