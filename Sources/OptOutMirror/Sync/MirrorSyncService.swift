import Logging
import OptOuts
import SENSCore
import ServiceLifecycle

/// Keeps every service's mirror in step with its source, each in its own loop: load from the store, then a full
/// pass until one completes, then an incremental sync every interval and a reconciliation whenever one is due.
/// A failed sync is tried again after a delay that doubles up to the sync interval. Stops at graceful shutdown
/// (a pass in the middle resumes at the next start) and closes the store.
///
/// With a shared store, only the replica that holds a service's lead syncs it (the others ask for the lead every
/// sync interval, so one takes over within an interval when the syncing replica goes), and every replica follows
/// the change table: when notified of a change, and every `followInterval` in any case.
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
        let coordination = store.coordination
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for target in targets {
                    group.addTask {
                        await Self.keepInStep(
                            MirrorSync(mirror: target.mirror, source: target.source),
                            coordination: coordination
                        )
                    }
                }
            }
        }
        // In a task of its own: a cancelled service (not a graceful shutdown) must still close the store.
        let store = self.store
        do { try await Task { try await store.close() }.value } catch {
            logger.warning("the mirror store did not close cleanly", metadata: ["error": "\(error)"])
        }
    }

    static func keepInStep(_ sync: MirrorSync, coordination: any MirrorCoordination) async {
        let mirror = sync.mirror
        let settings = mirror.settings
        var delay = settings.retryDelay
        while true {
            do {
                try await mirror.load()
                break
            } catch {
                mirror.logger.error("the mirror could not load from its store", metadata: ["error": "\(error)"])
                guard await mirror.pause(delay) else { return }
                delay = min(delay * 2, settings.syncInterval)
            }
        }
        await withDiscardingTaskGroup { group in
            if coordination.shared { group.addTask { await following(mirror, coordination: coordination) } }
            group.addTask { await syncing(sync, coordination: coordination) }
            group.addTask { await resolvingDoubts(sync) }
            group.addTask { await ChangePruning.run(mirror, coordination: coordination) }
        }
    }

    /// Syncs the service whenever this process holds its lead.
    static func syncing(_ sync: MirrorSync, coordination: any MirrorCoordination) async {
        let mirror = sync.mirror
        let settings = mirror.settings
        var delay = settings.retryDelay
        var leading = false
        var toldFollowing = false
        // Since when this replica's syncs have failed without progress: past half the staleness bound it gives the
        // lead up for a while, so that a replica that can reach SENS and the store takes over.
        var failingSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            if coordination.shared, leading, let since = failingSince,
                ContinuousClock.now - since > .milliseconds(settings.maxStalenessMilliseconds / 2)
            {
                mirror.logger.warning(
                    "this replica has not synced the mirror successfully for a while: it gives the lead up to another replica"
                )
                await coordination.resign(mirror.storeKey)
                leading = false
                failingSince = nil
                guard await mirror.pause(settings.syncInterval * 3) else { return }
                continue
            }
            guard await coordination.lead(mirror.storeKey) else {
                if leading || !toldFollowing {
                    mirror.logger.notice(
                        "another replica syncs the mirror; this one follows the shared store's changes"
                    )
                }
                leading = false
                failingSince = nil
                toldFollowing = true
                guard await mirror.pause(settings.syncInterval) else { return }
                continue
            }
            if !leading, coordination.shared {
                mirror.logger.notice("this replica syncs the mirror for every replica sharing its store")
            }
            leading = true
            if coordination.shared {
                // The progress the last syncing replica saved, and every change it made.
                do { try await mirror.follow(asSyncer: true) } catch {
                    failingSince = failingSince ?? .now
                    guard await mirror.pause(delay) else { return }
                    continue
                }
            }
            let progress = mirror.progress
            do {
                if !progress.complete {
                    try await sync.traced("full") { () async throws(OptOutError) in try await sync.fullPass() }
                } else if progress.passUnderWay || reconcileDue(progress, mirror) {
                    // A reconciliation that fails is tried again next time; the incremental syncs go on meanwhile.
                    do {
                        try await sync.traced("full") { () async throws(OptOutError) in try await sync.fullPass() }
                    } catch {
                        guard !Task.isCancelled else { return }
                        mirror.logger.warning(
                            "mirror reconciliation failed; it is tried again at the next sync",
                            metadata: ["error": "\(error.reason)"]
                        )
                    }
                }
                try await sync.traced("incremental") { () async throws(OptOutError) in try await sync.incremental() }
                if sync.verificationDue {
                    try await sync.traced("verify") { () async throws(OptOutError) in try await sync.verify() }
                }
                failingSince = nil
                delay = settings.retryDelay
                guard await mirror.pause(settings.syncInterval) else { return }
            } catch {
                guard !Task.isCancelled else { return }
                // A pass that moved on before failing starts its back-off again: it is not stuck.
                if mirror.progress.passRanges != progress.passRanges {
                    delay = settings.retryDelay
                    failingSince = nil
                } else {
                    failingSince = failingSince ?? .now
                }
                mirror.logger.warning(
                    "mirror sync failed; trying again",
                    metadata: [
                        "error": "\(error.reason)", "retryInSeconds": "\(Double(delay.totalMilliseconds) / 1000)",
                    ]
                )
                guard await mirror.pause(delay) else { return }
                delay = min(delay * 2, settings.syncInterval)
            }
        }
    }

    /// Reads the change table when notified and every `followInterval`: the other replicas' writes, and with them
    /// the syncing replica's progress, reach this one's index.
    static func following(_ mirror: ServiceMirror, coordination: any MirrorCoordination) async {
        let (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let stop = coordination.observeChanges(of: mirror.storeKey) { continuation.yield() }
        defer { stop() }
        var failing = false
        await withDiscardingTaskGroup { group in
            group.addTask {
                while (try? await Task.sleep(for: mirror.settings.followInterval)) != nil { continuation.yield() }
                continuation.finish()
            }
            for await _ in signals {
                do {
                    try await mirror.follow(asSyncer: false)
                    if failing { mirror.logger.notice("the mirror reads the shared store again") }
                    failing = false
                } catch {
                    if !failing {
                        mirror.logger.warning(
                            "the mirror cannot read the shared store; it stops answering until it can",
                            metadata: ["error": "\(error)"]
                        )
                    }
                    failing = true
                }
            }
        }
    }

    /// On every replica: asks SENS about the numbers in doubt here as soon as there are some, again shortly for
    /// a number another write overlapped once more, and every sync interval while SENS cannot answer.
    static func resolvingDoubts(_ sync: MirrorSync) async {
        let mirror = sync.mirror
        await withDiscardingTaskGroup { group in
            group.addTask {
                while (try? await Task.sleep(for: mirror.settings.syncInterval)) != nil {
                    mirror.doubtSignalContinuation.yield()
                }
                mirror.doubtSignalContinuation.finish()
            }
            var failing = false
            for await _ in mirror.doubtSignal {
                for key in mirror.doubtedNumbers {
                    do {
                        try await sync.resolveDoubt(key)
                        failing = false
                    } catch {
                        if !failing {
                            mirror.logger.warning(
                                "the mirror could not ask SENS about a number in doubt; it asks again at the next sync",
                                metadata: ["error": "\(error)", "phoneNumber": "\(PhoneNumber.mask(key.digits))"]
                            )
                        }
                        failing = true
                        break
                    }
                }
                mirror.reportLag()
                // A number another write overlapped again is asked about again shortly, not a sync interval later.
                if !failing, !mirror.doubtedNumbers.isEmpty {
                    guard (try? await Task.sleep(for: mirror.settings.retryDelay)) != nil else { return }
                    mirror.doubtSignalContinuation.yield()
                }
            }
        }
    }

    private static func reconcileDue(_ progress: MirrorProgress, _ mirror: ServiceMirror) -> Bool {
        guard let last = progress.lastReconciliationAt else { return true }
        return mirror.clock.nowMilliseconds() - last >= mirror.settings.reconcileInterval.totalMilliseconds
    }
}

extension ServiceMirror {
    /// Waits `duration` between two syncs (or attempts), having exported the lag; false when the task is cancelled.
    fileprivate func pause(_ duration: Duration) async -> Bool {
        reportLag()
        do { try await Task.sleep(for: duration) } catch { return false }
        return true
    }
}
