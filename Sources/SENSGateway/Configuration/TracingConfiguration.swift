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
    public var json: Bool
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
        let json = try settings.string("otel.exporterOtlpProtocol") == "http/json"
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
            json: json,
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
            baggageNamed: propagators.contains("baggage")
        )
    }

    /// An `http` or `https` URL with a host, without a trailing slash.
    private static func url(_ text: String, _ key: String) throws(ConfigurationError) -> String {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            !(url.host ?? "").isEmpty, url.query == nil, url.fragment == nil
        else {
            throw SettingsReader.refusal(
                GatewaySettings.byKey[key]!,
                text,
                expected: "an http or https URL, like http://otel-collector:4318"
            )
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// `k=v,k2=v2`, values percent-decoded (a space in one is written `%20`, as the OpenTelemetry specification
    /// has it; spaces around the pairs are left out).
    private static func pairs(_ text: String, _ key: String) throws(ConfigurationError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for item in text.split(separator: ",") {
            let parts = item.filter { $0 != " " && $0 != "\t" }.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, let value = PercentEncoding.decoded(parts[1]) else {
                throw SettingsReader.refusal(
                    GatewaySettings.byKey[key]!,
                    text,
                    expected: "key=value pairs separated by commas"
                )
            }
            pairs.append((String(parts[0]), value))
        }
        return pairs
    }
}
