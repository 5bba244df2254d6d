import Foundation
import OptOutMirror
import OptOuts
import SENSGateway
import Testing

/// The alert rules and the dashboard in `deploy/monitoring` query only metrics the gateway exports: every
/// metric name in their expressions is one that `GatewayMetrics` writes (each recording method called once).
@Suite struct MonitoringTests {
    static let monitoring = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/monitoring")

    /// Every metric name the gateway can export: each family once recorded, histograms with their series.
    static func exported() -> Set<String> {
        let metrics = GatewayMetrics()
        metrics.recordRequest(route: "/healthz", method: "GET", status: 200, duration: .milliseconds(1))
        metrics.recordWritten(service: "default", operation: "register", count: 1)
        metrics.recordDroppedLogLines(0)
        let service = metrics.service("default")
        service.recordAttempt(operation: "list", outcome: "success", duration: .milliseconds(1))
        service.recordRetry(operation: "list")
        service.recordRejection(operation: "list", reason: "overloaded")
        service.recordBreakerState(.open)
        service.recordCredentialsRejected()
        service.recordHit(cache: "check")
        service.recordMiss(cache: "check")
        service.recordStale(cache: "check")
        service.recordEvictions(cache: "check", count: 1)
        service.recordEntries(cache: "check", count: 1)
        service.recordSync(service: "default", kind: "full", outcome: "ok", duration: .seconds(1), sensCalls: 1)
        service.recordRecords(service: "default", count: 1)
        service.recordChanges(service: "default", added: 1, removed: 1)
        service.recordLag(service: "default", seconds: 1)
        service.recordVerification(
            service: "default",
            report: VerificationReport(startedAt: 1, buckets: 1, bucketsDiffered: 1, recordsFound: 1, removalsFound: 1)
        )
        service.recordInDoubt(service: "default", count: 0)
        var names: Set<String> = []
        for line in metrics.exposition().split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            let name = String(parts[2])
            names.insert(name)
            if parts[3] == "histogram" { names.formUnion([name + "_bucket", name + "_sum", name + "_count"]) }
        }
        return names
    }

    /// The metric names in an expression: identifiers with the gateway's prefixes.
    static func metricNames(in expression: String) -> [String] {
        let prefixes = ["http_server_", "sens_", "mirror_", "cache_", "access_log_"]
        var names: [String] = []
        var token = ""
        for character in expression + " " {
            if character.isLetter || character.isNumber || character == "_" || character == ":" {
                token.append(character)
            } else {
                if prefixes.contains(where: token.hasPrefix) { names.append(token) }
                token = ""
            }
        }
        return names
    }

    @Test func everyQueryUsesMetricsTheGatewayExports() throws {
        let exported = Self.exported()
        #expect(exported.contains("mirror_staleness_seconds") && exported.contains("access_log_dropped_lines_total"))

        let dashboard = try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.monitoring.appendingPathComponent("grafana-dashboard.json"))
        )
        let panels = try #require((dashboard as? [String: Any])?["panels"] as? [[String: Any]])
        let panelExpressions = panels.flatMap {
            ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        #expect(panelExpressions.count >= 15)

        let rules = try String(
            contentsOf: Self.monitoring.appendingPathComponent("prometheusrule.yaml"),
            encoding: .utf8
        )
        let ruleExpressions = rules.split(separator: "\n").compactMap { line -> String? in
            let trimmed = line.drop { $0 == " " }
            return trimmed.hasPrefix("expr: ") ? String(trimmed.dropFirst(6)) : nil
        }
        #expect(ruleExpressions.count == 10)

        for expression in panelExpressions + ruleExpressions {
            let names = Self.metricNames(in: expression)
            #expect(!names.isEmpty, "\(expression)")
            for name in names { #expect(exported.contains(name), "\(name) in \(expression) is not exported") }
        }
        // The check itself can fail: a name the gateway does not export is caught.
        #expect(!exported.contains("mirror_staleness_secs"))
    }
}
