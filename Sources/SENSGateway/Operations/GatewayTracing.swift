import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces (swift-otel), when `TracingConfiguration` has them on: the tracer the gateway's layers
/// make their spans with, and the service that exports them (OTLP/HTTP, in batches) and flushes what is left at
/// shutdown. Only traces: the metrics stay on swift-prometheus and the logs on the gateway's own handler.
public struct GatewayTracing: Sendable {
    public let tracer: any Tracer
    public let service: any Service
    /// Whether the W3C trace context is read from callers and sent to SENS (`OTEL_PROPAGATORS`).
    public let propagates: Bool

    /// Starts the traces; nil when they are off. Bootstraps the process's instrumentation (once per process: the
    /// executable calls this, never a test that runs gateways in-process).
    public static func start(_ configuration: TracingConfiguration?, logger: Logger) throws -> GatewayTracing? {
        guard let configuration else { return nil }
        var otel = OTel.Configuration.default
        otel.serviceName = configuration.serviceName
        otel.resourceAttributes = configuration.resourceAttributes
        otel.diagnosticLogger = .custom(logger)
        otel.diagnosticLogLevel = .warning
        otel.propagators = [.traceContext]
        otel.logs.enabled = false
        otel.metrics.enabled = false
        otel.traces.enabled = true
        otel.traces.sampler = sampler(configuration)
        otel.traces.batchSpanProcessor.scheduleDelay = configuration.scheduleDelay
        otel.traces.batchSpanProcessor.exportTimeout = configuration.exportTimeout
        otel.traces.batchSpanProcessor.maxQueueSize = configuration.maxQueueSize
        otel.traces.batchSpanProcessor.maxExportBatchSize = configuration.maxExportBatchSize
        otel.traces.exporter = .otlp
        otel.traces.otlpExporter.endpoint = configuration.endpoint
        otel.traces.otlpExporter.protocol = .httpProtobuf
        otel.traces.otlpExporter.headers = configuration.headers.map { ($0.name, $0.value) }
        otel.traces.otlpExporter.timeout = configuration.timeout
        // Every value is set here, checked: the environment is not read again (an `OTEL_*` value the exporter
        // does not support would otherwise stop the process).
        let service = try OTel.bootstrap(configuration: otel, environment: [:])
        logger.info(
            "traces exported over OTLP/HTTP",
            metadata: [
                "endpoint": "\(configuration.endpoint)",
                "propagates": "\(configuration.propagates)",
                "sampler": "\(configuration.sampler)", "ratio": "\(configuration.ratio)",
                "serviceName": "\(configuration.serviceName)",
            ]
        )
        if configuration.baggageNamed {
            logger.notice("OTEL_PROPAGATORS names baggage: the gateway carries the W3C trace context only")
        }
        return GatewayTracing(
            tracer: InstrumentationSystem.tracer,
            service: service,
            propagates: configuration.propagates
        )
    }

    private static func sampler(
        _ configuration: TracingConfiguration
    ) -> OTel.Configuration.TracesConfiguration.SamplerConfiguration {
        switch configuration.sampler {
        case "always_on": .alwaysOn
        case "always_off": .alwaysOff
        case "traceidratio": .traceIDRatio(ratio: configuration.ratio) ?? .alwaysOn
        case "parentbased_always_off": .parentBasedAlwaysOff
        case "parentbased_traceidratio": .parentBasedTraceIDRatio(ratio: configuration.ratio) ?? .parentBasedAlwaysOn
        default: .parentBasedAlwaysOn
        }
    }
}
