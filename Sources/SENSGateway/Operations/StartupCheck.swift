import Logging
import SENSClient
import SENSCore
import ServiceLifecycle

/// At start-up, one signed list call (`pageSize=1`) per service tells whether SENS accepts its keys: refused keys
/// are one error line (and that service is not ready until a call succeeds); an unreachable SENS is only a
/// warning, since it may come back. Then waits for shutdown, as a service must not end early.
struct StartupCheck: Service {
    struct Target: Sendable {
        let name: String
        let sens: any SENSUnsubscribes
        /// Masked: the first four characters.
        let accessKey: String
    }

    let targets: [Target]
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for target in targets {
                group.addTask { await check(target) }
            }
        }
        try? await gracefulShutdown()
    }

    private func check(_ target: Target) async {
        let metadata: Logger.Metadata = ["service": "\(target.name)", "accessKey": "\(target.accessKey)"]
        do {
            _ = try await target.sens.list(SENSListQuery(pageSize: 1))
            logger.info("SENS accepted the gateway's keys", metadata: metadata)
        } catch let error where error.isCredentialRefusal {
            logger.error("SENS refused the gateway's NCP keys: check the access key, the secret key, their permissions and the clock; /readyz reports this service not ready until a SENS call succeeds",
                         metadata: metadata)
        } catch {
            logger.warning("SENS could not be checked at start-up; calls will be tried as they come", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
