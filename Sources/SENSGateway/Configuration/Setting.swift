/// One configuration setting: its dotted key (`http.port`, which is `HTTP_PORT` in the environment and
/// `--http-port` on the command line), the form its value must take, its default and what it is for.
/// `GatewaySettings.all` lists every setting; it drives the reader, `--help` and the refusals.
public struct Setting: Sendable {
    public enum Form: Sendable, Equatable {
        /// A whole number, written in decimal digits, within the range.
        case integer(ClosedRange<Int>)
        /// `true` or `false`; on the command line the flag alone means `true`.
        case boolean
        /// One of the listed words.
        case choice([String])
        /// Free text, checked by the code that reads it.
        case text
        /// Free text that is never echoed (secrets).
        case secret
    }

    public let key: String
    public let form: Form
    /// The default as it would be written; nil when the setting has none.
    public let defaultValue: String?
    /// What the value stands for in `--help` (`N`, `URL`, …).
    public let placeholder: String
    public let help: String

    public init(_ key: String, _ form: Form, default defaultValue: String?, placeholder: String = "", help: String) {
        self.key = key
        self.form = form
        self.defaultValue = defaultValue
        self.placeholder = placeholder
        self.help = help
    }

    /// `HTTP_PORT` for `http.port`.
    public var environmentName: String {
        String(Self.words(key).joined(separator: "_").uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// `--http-port` for `http.port`.
    public var flag: String {
        "--" + Self.words(key).joined(separator: "-")
    }

    /// `http.port (HTTP_PORT, --http-port)`: how refusals name a setting.
    var described: String { "\(key) (\(environmentName), \(flag))" }

    /// The form expected, in words, for refusals and `--help`.
    var expected: String {
        switch form {
        case .integer(let range): "a whole number from \(range.lowerBound) to \(range.upperBound)"
        case .boolean: "true or false"
        case .choice(let words): "one of " + words.joined(separator: ", ")
        case .text, .secret: placeholder.isEmpty ? "text" : placeholder
        }
    }

    /// `sens.connectTimeoutMilliseconds` → `sens`, `connect`, `timeout`, `milliseconds`.
    static func words(_ key: String) -> [String] {
        key.split(separator: ".").flatMap { part -> [String] in
            if part == "NAME" { return ["NAME"] }  // the placeholder of per-service settings
            var words: [String] = []
            for character in part {
                if character.isUppercase || words.isEmpty { words.append("") }
                words[words.count - 1].append(Character(character.lowercased()))
            }
            return words
        }
    }
}
