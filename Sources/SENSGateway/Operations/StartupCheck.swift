import Logging
import SENSCore
import ServiceLifecycle

/// At start-up, one signed list call (`pageSize=1`) tells whether SENS accepts the gateway's keys: refused keys
/// are one error line (and readiness stays down until a call succeeds); an unreachable SENS is only a warning,
/// since it may come back. Then waits for shutdown, as a service must not end early.
struct StartupCheck: Service {
    let sens: any SENSClient
    let accessKey: String
    let logger: Logger

    func run() async throws {
        do {
            _ = try await sens.list(SENSListQuery(pageSize: 1))
            logger.info("SENS accepted the gateway's keys", metadata: ["accessKey": "\(accessKey)"])
        } catch let error where error.isCredentialRefusal {
            logger.error("SENS refused the gateway's NCP keys: check the access key, the secret key, their permissions and the clock; /readyz answers 503 until a SENS call succeeds",
                         metadata: ["accessKey": "\(accessKey)", "status": "\(error.httpStatus)"])
        } catch {
            logger.warning("SENS could not be checked at start-up; calls will be tried as they come", metadata: ["reason": "\(error.detail)"])
        }
        try? await gracefulShutdown()
    }
}
