import SENSCore
import Testing

@Suite("NCP API Gateway v2 signer")
struct NCPSignerTests {
    /// The vectors in DESIGN.md (access key `ACCESS_KEY_ID`, timestamp 1700000000000).
    @Test(arguments: [
        (
            "ncp-secret-example", "GET", "/photos/puppy.jpg?query1=&query2",
            "iPe1hFfjl7BPGhFZJGCY5XZgH6eWMwCWlSdSkKU+SPE="
        ),
        (
            "SECRET_KEY", "POST", "/sms/v2/services/ncp:sms:kr:123456789012:sens/unsubscribes",
            "7SzU5qWY8vNwnwYP2ELGThrzWkoVsOp9meDR/SFTPpU="
        ),
        (
            "SECRET_KEY", "GET", "/sms/v2/services/ncp:sms:kr:123456789012:sens/unsubscribes?pageSize=100&pageIndex=0",
            "IQmB9Jjwsj+5X1XbXAdstd4XgO6XQIGtf0rESpvN4Ag="
        ),
    ])
    func reproducesTheDesignVectors(secret: String, method: String, pathAndQuery: String, expected: String) {
        let signer = NCPSigner(credentials: NCPCredentials(accessKey: "ACCESS_KEY_ID", secretKey: NCPSecretKey(secret)))
        let headers = signer.sign(method: method, pathAndQuery: pathAndQuery, timestampMilliseconds: 1_700_000_000_000)
        #expect(headers.signature == expected)
        #expect(headers.timestamp == "1700000000000")
        #expect(headers.accessKey == "ACCESS_KEY_ID")
        #expect(
            headers.fields.map(\.name) == ["x-ncp-apigw-timestamp", "x-ncp-iam-access-key", "x-ncp-apigw-signature-v2"]
        )
        #expect(
            signer.isValidSignature(expected, method: method, pathAndQuery: pathAndQuery, timestamp: "1700000000000")
        )
    }

    @Test func rejectsAnyChangeToWhatIsSigned() {
        let signer = NCPSigner(
            credentials: NCPCredentials(accessKey: "ACCESS_KEY_ID", secretKey: NCPSecretKey("SECRET_KEY"))
        )
        let path = "/sms/v2/services/ncp:sms:kr:123456789012:sens/unsubscribes"
        let good = signer.signature(method: "POST", pathAndQuery: path, timestamp: "1700000000000")
        #expect(!signer.isValidSignature(good, method: "DELETE", pathAndQuery: path, timestamp: "1700000000000"))
        #expect(!signer.isValidSignature(good, method: "POST", pathAndQuery: path + "?a=1", timestamp: "1700000000000"))
        #expect(!signer.isValidSignature(good, method: "POST", pathAndQuery: path, timestamp: "1700000000001"))
        #expect(!signer.isValidSignature("not base64!", method: "POST", pathAndQuery: path, timestamp: "1700000000000"))
        #expect(!signer.isValidSignature("", method: "POST", pathAndQuery: path, timestamp: "1700000000000"))
        let otherKey = NCPSigner(
            credentials: NCPCredentials(accessKey: "ACCESS_KEY_ID", secretKey: NCPSecretKey("SECRET_KEY2"))
        )
        #expect(!otherKey.isValidSignature(good, method: "POST", pathAndQuery: path, timestamp: "1700000000000"))
    }

    @Test func hmacMatchesRFC4231TestCase2() {
        let code = HMACSHA256.authenticationCode(
            key: Array("Jefe".utf8),
            message: Array("what do ya want for nothing?".utf8)
        )
        let hex = code.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMACSHA256.authenticationCode(key: [], message: []).count == 32)
    }

    @Test func secretKeyNeverPrints() {
        let credentials = NCPCredentials(accessKey: "ACCESS_KEY_ID", secretKey: NCPSecretKey("super-secret-value"))
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [
            "\(credentials)", String(describing: credentials), String(reflecting: credentials),
            "\(credentials.secretKey)", String(reflecting: credentials.secretKey), dumped,
        ] {
            #expect(!text.contains("super-secret-value"), "\(text)")
        }
        #expect("\(credentials)".contains("ACCE*********"), "the access key is shown masked")
        #expect(!"\(credentials)".contains("ACCESS_KEY_ID"))
    }
}
