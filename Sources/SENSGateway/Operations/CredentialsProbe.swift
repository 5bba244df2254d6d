import Logging
import OptOuts
import SENSClient
import SENSCore
import ServiceLifecycle

/// Asks SENS, with one signed `pageSize=1` list call per service and no retries, whether it accepts the
/// service's keys: at start-up (refused keys are one error line; an unreachable SENS is only a warning, since it
/// may come back), and then every `interval` for each service whose keys were refused, so that a service comes
/// back as soon as its keys are fixed, even while no traffic reaches it.
struct CredentialsProbe: Service {
    struct Target: Sendable {
        let name: String
        /// The service's unsubscribes resource without the resilience layer: one call, its own verdict.
        let sens: any SENSUnsubscribes
        let credentials: CredentialsHealth
        let metrics: any ResilienceMetrics
        /// Masked: the first four characters.
        let accessKey: String
    }

    let targets: [Target]
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for target in targets {
                group.addTask { await probe(target, atStart: true) }
            }
        }
        // Until shutdown: re-probe the services whose keys are refused.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // The wait ends at shutdown, so that the service group can stop.
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
            for target in targets where target.credentials.isRefused {
                await probe(target, atStart: false)
            }
        }
    }

    private func probe(_ target: Target, atStart: Bool) async {
        var metadata: Logger.Metadata = ["service": "\(target.name)", "accessKey": "\(target.accessKey)"]
        do {
            _ = try await target.sens.list(SENSListQuery(pageSize: 1))
            target.credentials.recordAccepted()
            logger.info(
                atStart ? "SENS accepted the gateway's keys" : "SENS accepts the gateway's keys again",
                metadata: metadata
            )
        } catch let error where error.isCredentialRefusal {
            if case .refused(let status) = error.lastFailure { metadata["status"] = "\(status)" }
            let wasRefused = target.credentials.isRefused
            target.credentials.recordRefused()
            target.metrics.recordCredentialsRejected()
            // One line when the refusal is found; the periodic probes that confirm it stay quiet.
            if atStart || !wasRefused {
                logger.error(
                    "SENS refused the gateway's NCP keys: check the access key, the secret key, their permissions and the clock; /readyz reports this service not ready until SENS accepts them",
                    metadata: metadata
                )
            }
        } catch  where error.lastFailure == .refused(status: 404) {
            if atStart {
                logger.error(
                    "SENS does not know the service id: check it in sens.services or sens.serviceId; every call to this service will fail",
                    metadata: metadata
                )
            }
        } catch {
            if atStart {
                metadata["reason"] = "\(error)"
                logger.warning(
                    "SENS could not be checked at start-up; calls will be tried as they come",
                    metadata: metadata
                )
            }
        }
    }
}
