import Configuration

/// Reads settings strictly: command-line flags first (parsed here, so that an unknown flag, a flag without its
/// value or one given twice is refused instead of ignored), then the environment through swift-configuration.
/// Every value is read as text and checked against its setting's form; nothing falls back to a default.
struct SettingsReader {
    private let flags: [String: String]
    private let environment: ConfigReader
    /// The process's environment as it is, for the variables read the way other tools read them (`https_proxy`).
    let processEnvironment: [String: String]

    /// Names of services that have settings of their own, by flag or in the environment (whose names in the
    /// gateway's `SENS_SERVICE_…` namespace can be listed, unlike the rest of the environment's).
    let serviceNamesWithOwnSettings: Set<String>

    init(
        arguments: [String],
        environment: ConfigReader,
        environmentNames: some Sequence<String>,
        processEnvironment: [String: String] = [:]
    ) throws(ConfigurationError) {
        self.flags = try Self.parse(arguments)
        self.environment = environment
        self.processEnvironment = processEnvironment
        var names = Set(
            flags.keys.compactMap { key -> String? in
                let parts = key.split(separator: ".")
                return parts.count == 4 && key.hasPrefix("sens.service.") ? String(parts[2]) : nil
            }
        )
        for variable in environmentNames where variable.hasPrefix("SENS_SERVICE_") {
            for suffix in ["_ACCESS_KEY", "_SECRET_KEY", "_SECRET_KEY_FILE"] where variable.hasSuffix(suffix) {
                let name = variable.dropFirst("SENS_SERVICE_".count).dropLast(suffix.count)
                // SENS_SERVICE_RETAIL_WEB_… is retail-web or retail_web; names use '-', so compare that way.
                if !name.isEmpty { names.insert(String(name.lowercased().map { $0 == "_" ? "-" : $0 })) }
            }
        }
        self.serviceNamesWithOwnSettings = names
    }

    /// The value given for `key`, flags first; nil when neither gives one. An empty value counts as given.
    func raw(_ key: String) -> String? {
        precondition(
            GatewaySettings.byKey[key] != nil || key.hasPrefix("sens.service."),
            "\(key) is not in GatewaySettings"
        )
        if let value = flags[key] { return value }
        // Every secret setting's key ends in `secretKey` (the shared one and each service's), or is the database URL,
        // the proxy's or the trace exports' headers.
        return environment.string(
            forKey: ConfigKey(key),
            isSecret: key.hasSuffix("secretKey") || key == "mirror.databaseUrl" || key == "sens.proxyUrl"
                || key == "otel.exporterOtlpHeaders"
        )
    }

    func string(_ key: String) throws(ConfigurationError) -> String {
        let setting = GatewaySettings.byKey[key]!
        guard let value = raw(key) ?? setting.defaultValue else {
            throw ConfigurationError("\(setting.described) is required")
        }
        if case .choice(let words) = setting.form, !words.contains(value) {
            throw Self.refusal(setting, value)
        }
        return value
    }

    func integer(_ key: String) throws(ConfigurationError) -> Int {
        let setting = GatewaySettings.byKey[key]!
        let text = try string(key)
        guard case .integer(let range) = setting.form else { preconditionFailure("\(key) is not an integer setting") }
        // Decimal digits only: "1e3", "+5", " 8080", "0x10" and "off" are refused, not guessed at.
        guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = Int(text), range.contains(value)
        else { throw Self.refusal(setting, text) }
        return value
    }

    func boolean(_ key: String) throws(ConfigurationError) -> Bool {
        let setting = GatewaySettings.byKey[key]!
        switch try string(key) {
        case "true": return true
        case "false": return false
        case let text: throw Self.refusal(setting, text)
        }
    }

    static func refusal(_ setting: Setting, _ value: String, expected: String? = nil) -> ConfigurationError {
        let shown = setting.form == .secret ? "<redacted>" : "\"\(value)\""
        return ConfigurationError("\(setting.described) is \(shown); expected \(expected ?? setting.expected)")
    }

    /// `--name value`, `--name=value`, and a boolean flag alone for `true` (or followed by `true` or `false`, as
    /// every other flag is followed by its value).
    static func parse(_ arguments: [String]) throws(ConfigurationError) -> [String: String] {
        var values: [String: String] = [:]
        var index = 1
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--") else {
                throw ConfigurationError(
                    "unexpected argument \"\(argument)\": options are --name value or --name=value (see --help)"
                )
            }
            let name: String
            let inline: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
                inline = nil
            }
            guard let setting = GatewaySettings.byFlag[name] ?? GatewaySettings.serviceSetting(flag: name) else {
                throw ConfigurationError("unknown option \(name) (see --help)")
            }
            guard values[setting.key] == nil else { throw ConfigurationError("\(name) is given more than once") }
            if let inline {
                values[setting.key] = inline
            } else if setting.form == .boolean {
                if index < arguments.count, ["true", "false"].contains(arguments[index]) {
                    values[setting.key] = arguments[index]
                    index += 1
                } else {
                    values[setting.key] = "true"
                }
            } else {
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    throw ConfigurationError("\(name) needs a value: \(setting.expected)")
                }
                values[setting.key] = arguments[index]
                index += 1
            }
        }
        return values
    }
}
