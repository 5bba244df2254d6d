import SENSCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenTelemetry traces, from the standard `OTEL_*` settings: off unless an OTLP endpoint is set (and neither
/// `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`). Every value is checked here, so that one the
/// exporter would ignore, or stop the process on, stops start-up with its name instead.
public struct TracingConfiguration: Sendable, Equatable {
    /// Where spans are posted (`…/v1/traces`).
    public var endpoint: String
    public var headers: [Header]
    public var timeout: Duration
    public var serviceName: String
    public var resourceAttributes: [String: String]
    public var sampler: String
    /// The ratio of a `traceidratio` sampler.
    public var ratio: Double
    public var scheduleDelay: Duration
    public var exportTimeout: Duration
    public var maxQueueSize: Int
    public var maxExportBatchSize: Int
    /// Whether the W3C trace context is read from callers and sent to SENS (`OTEL_PROPAGATORS` names
    /// `tracecontext`); without it, each request starts a trace of its own and SENS gets none.
    public var propagates: Bool
    /// Whether `OTEL_PROPAGATORS` named `baggage`, which is not carried (start-up says so).
    public var baggageNamed: Bool

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }
}

extension TracingConfiguration {
    /// Reads the `otel.*` settings; nil when traces are off.
    static func read(_ settings: SettingsReader) throws(ConfigurationError) -> TracingConfiguration? {
        // Every value is read whether or not traces are on: a malformed one stops start-up either way.
        let disabled = try settings.boolean("otel.sdkDisabled")
        let exporter = try settings.string("otel.tracesExporter")
        let base = try settings.raw("otel.exporterOtlpEndpoint").map { text throws(ConfigurationError) in
            try url(text, "otel.exporterOtlpEndpoint")
        }
        let traces = try settings.raw("otel.exporterOtlpTracesEndpoint").map { text throws(ConfigurationError) in
            try url(text, "otel.exporterOtlpTracesEndpoint")
        }
        _ = try settings.string("otel.exporterOtlpProtocol")
        try refuseUnsupported(settings.processEnvironment)
        let headers = try pairs(settings.raw("otel.exporterOtlpHeaders") ?? "", "otel.exporterOtlpHeaders")
        let timeout = try settings.integer("otel.exporterOtlpTimeout")
        let serviceName = try settings.string("otel.serviceName")
        guard !serviceName.isEmpty else {
            throw SettingsReader.refusal(GatewaySettings.byKey["otel.serviceName"]!, serviceName, expected: "a name")
        }
        let attributes = try pairs(settings.raw("otel.resourceAttributes") ?? "", "otel.resourceAttributes")
        let sampler = try settings.string("otel.tracesSampler")
        var ratio = 1.0
        if let text = settings.raw("otel.tracesSamplerArg") {
            let setting = GatewaySettings.byKey["otel.tracesSamplerArg"]!
            guard sampler.hasSuffix("traceidratio") else {
                throw SettingsReader.refusal(
                    setting,
                    text,
                    expected: "no value: otel.tracesSampler (\(sampler)) takes none; a ratio goes with traceidratio"
                )
            }
            guard let value = Double(text), (0...1).contains(value), text.allSatisfy({ $0.isNumber || $0 == "." })
            else { throw SettingsReader.refusal(setting, text, expected: "a ratio from 0 to 1, like 0.01") }
            ratio = value
        }
        let propagators = try settings.string("otel.propagators").split(separator: ",").map {
            $0.filter { $0 != " " && $0 != "\t" }
        }
        if let other = propagators.first(where: { !["tracecontext", "baggage", "none"].contains($0) }) {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["otel.propagators"]!,
                other,
                expected:
                    "tracecontext (baggage and none are accepted too; b3, jaeger, xray and ottrace are not built in)"
            )
        }
        let scheduleDelay = try settings.integer("otel.bspScheduleDelay")
        let exportTimeout = try settings.integer("otel.bspExportTimeout")
        let maxQueueSize = try settings.integer("otel.bspMaxQueueSize")
        let maxExportBatchSize = try settings.integer("otel.bspMaxExportBatchSize")
        guard maxExportBatchSize <= maxQueueSize else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey["otel.bspMaxExportBatchSize"]!,
                String(maxExportBatchSize),
                expected: "at most otel.bspMaxQueueSize (\(maxQueueSize))"
            )
        }
        guard !disabled, exporter == "otlp", let endpoint = traces ?? base.map({ $0 + "/v1/traces" }) else {
            return nil
        }
        return TracingConfiguration(
            endpoint: endpoint,
            headers: headers.map { Header(name: $0.0, value: $0.1) },
            timeout: .milliseconds(timeout),
            serviceName: serviceName,
            resourceAttributes: Dictionary(attributes, uniquingKeysWith: { $1 }),
            sampler: sampler,
            ratio: ratio,
            scheduleDelay: .milliseconds(scheduleDelay),
            exportTimeout: .milliseconds(exportTimeout),
            maxQueueSize: maxQueueSize,
            maxExportBatchSize: maxExportBatchSize,
            propagates: propagators.contains("tracecontext"),
            baggageNamed: propagators.contains("baggage")
        )
    }

    /// An `http` or `https` URL with a host, without a trailing slash. A user or password in it is refused (and
    /// not echoed): the collector's credentials go in `OTEL_EXPORTER_OTLP_HEADERS`, which is read as a secret.
    private static func url(_ text: String, _ key: String) throws(ConfigurationError) -> String {
        let setting = GatewaySettings.byKey[key]!
        let parsed = URL(string: text)
        guard parsed?.user == nil, parsed?.password == nil, !text.contains("@") else {
            throw SettingsReader.refusal(
                setting,
                "<redacted>",
                expected:
                    "a URL without a user or password: send the collector's credentials in OTEL_EXPORTER_OTLP_HEADERS"
            )
        }
        guard let url = parsed, ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            !(url.host ?? "").isEmpty, url.query == nil, url.fragment == nil
        else {
            throw SettingsReader.refusal(
                setting,
                text,
                expected: "an http or https URL, like http://otel-collector:4318"
            )
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// OpenTelemetry variables the gateway's exporter would not honour: refused when set, rather than ignored.
    static let unsupported: [(name: String, instead: String)] = [
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "no compression (unset it)"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "no compression (unset it)"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "a collector whose certificate the system trusts"),
        ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "a collector whose certificate the system trusts"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "a collector that does not ask for a client certificate"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "a collector that does not ask for a client certificate"),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "a collector that does not ask for a client certificate"),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "a collector that does not ask for a client certificate"),
    ]

    private static func refuseUnsupported(_ environment: [String: String]) throws(ConfigurationError) {
        for (name, instead) in unsupported where environment[name] != nil {
            // `none` compression is what the exporter does anyway.
            if name.hasSuffix("COMPRESSION"), environment[name] == "none" { continue }
            throw ConfigurationError(
                "\(name) is set, and the gateway's trace exporter does not support it: use \(instead)"
            )
        }
    }

    /// `k=v,k2=v2`, values percent-decoded (`%20` for a space, as the OpenTelemetry specification writes it);
    /// spaces around keys and values are left out, spaces inside a value kept.
    private static func pairs(_ text: String, _ key: String) throws(ConfigurationError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingASCIISpaces() }
            guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(" "),
                let value = PercentEncoding.decoded(Substring(parts[1]))
            else {
                throw SettingsReader.refusal(
                    GatewaySettings.byKey[key]!,
                    text,
                    expected: "key=value pairs separated by commas"
                )
            }
            pairs.append((parts[0], value))
        }
        return pairs
    }
}
