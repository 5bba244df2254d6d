import Logging
import OptOuts
import SENSCore
import ServiceLifecycle

/// Keeps every service's mirror in step with its source, each in its own loop: load from the store, then a full
/// pass until one completes, then an incremental sync every interval and a reconciliation whenever one is due.
/// A failed sync is tried again after a delay that doubles up to the sync interval. Stops at graceful shutdown
/// (a pass in the middle resumes at the next start) and closes the store.
public struct MirrorSyncService: Service {
    public struct Target: Sendable {
        public var mirror: ServiceMirror
        /// The source's own directory: no cache in front.
        public var source: any OptOutDirectory

        public init(mirror: ServiceMirror, source: any OptOutDirectory) {
            self.mirror = mirror
            self.source = source
        }
    }

    let targets: [Target]
    let store: any MirrorStore
    let logger: Logger

    public init(targets: [Target], store: any MirrorStore, logger: Logger) {
        self.targets = targets
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for target in targets {
                    group.addTask { await Self.keepInStep(MirrorSync(mirror: target.mirror, source: target.source)) }
                }
            }
        }
        // In a task of its own: a cancelled service (not a graceful shutdown) must still close the store.
        let store = self.store
        do { try await Task { try await store.close() }.value } catch {
            logger.warning("the mirror store did not close cleanly", metadata: ["error": "\(error)"])
        }
    }

    static func keepInStep(_ sync: MirrorSync) async {
        let mirror = sync.mirror
        let settings = mirror.settings
        var delay = settings.retryDelay
        func pause(_ duration: Duration) async -> Bool {
            mirror.reportLag()
            do { try await Task.sleep(for: duration) } catch { return false }
            return true
        }
        while true {
            do {
                try await mirror.load()
                break
            } catch {
                mirror.logger.error("the mirror could not load from its store", metadata: ["error": "\(error)"])
                guard await pause(delay) else { return }
                delay = min(delay * 2, settings.syncInterval)
            }
        }
        delay = settings.retryDelay
        while !Task.isCancelled {
            let progress = mirror.progress
            do {
                if !progress.complete {
                    try await sync.fullPass()
                } else if progress.passUnderWay || reconcileDue(progress, mirror) {
                    // A reconciliation that fails is tried again next time; the incremental syncs go on meanwhile.
                    do {
                        try await sync.fullPass()
                    } catch {
                        guard !Task.isCancelled else { return }
                        mirror.logger.warning("mirror reconciliation failed; it is tried again at the next sync", metadata: ["error": "\(error.reason)"])
                    }
                }
                try await sync.incremental()
                delay = settings.retryDelay
                guard await pause(settings.syncInterval) else { return }
            } catch {
                guard !Task.isCancelled else { return }
                // A pass that moved on before failing starts its back-off again: it is not stuck.
                if mirror.progress.passCursor != progress.passCursor { delay = settings.retryDelay }
                mirror.logger.warning("mirror sync failed; trying again", metadata: [
                    "error": "\(error.reason)", "retryInSeconds": "\(Double(delay.totalMilliseconds) / 1000)",
                ])
                guard await pause(delay) else { return }
                delay = min(delay * 2, settings.syncInterval)
            }
        }
    }

    private static func reconcileDue(_ progress: MirrorProgress, _ mirror: ServiceMirror) -> Bool {
        guard let last = progress.lastReconciliationAt else { return true }
        return mirror.clock.nowMilliseconds() - last >= mirror.settings.reconcileInterval.totalMilliseconds
    }
}
