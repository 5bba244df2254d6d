import Logging
import SENSCore
import Synchronization

/// Keeps the change table from growing for ever: changes observed longer than `MirrorSettings.changeRetention` ago
/// are deleted, oldest first, in small batches (each one short transaction; writes go on between them). With a
/// shared store the replica that syncs the service prunes it; every replica reads where the feed starts, for the
/// status page.
enum ChangePruning {
    /// Changes a batch deletes at most.
    static let batch = 1_000
    /// Time between two prunes, and at most between two reads of where the feed starts.
    static let pruneInterval: Duration = .seconds(3_600)
    static let readInterval: Duration = .seconds(60)

    static func run(_ mirror: ServiceMirror, coordination: any MirrorCoordination) async {
        var lastPrune: ContinuousClock.Instant?
        var failing = false
        while !Task.isCancelled {
            do {
                if let retention = mirror.settings.changeRetention,
                    !coordination.shared || coordination.holdsLead(mirror.storeKey),
                    lastPrune.map({ ContinuousClock.now - $0 >= pruneInterval }) ?? true
                {
                    lastPrune = .now
                    let pruned = try await prune(mirror, retention: retention)
                    if pruned > 0 {
                        mirror.logger.info(
                            "old changes pruned from the change feed",
                            metadata: [
                                "changes": "\(pruned)",
                                "retentionDays": "\(Double(retention.totalMilliseconds) / 86_400_000)",
                            ]
                        )
                    }
                }
                try await mirror.readChangeFeedStart()
                failing = false
            } catch {
                guard !Task.isCancelled else { return }
                if !failing {
                    mirror.logger.warning(
                        "the change feed could not be pruned or read; trying again later",
                        metadata: ["error": "\(error)"]
                    )
                }
                failing = true
            }
            // A replica that has just taken a service's lead prunes it within a sync interval.
            guard (try? await Task.sleep(for: min(readInterval, mirror.settings.syncInterval))) != nil else { return }
        }
    }

    /// Deletes every change observed more than `retention` ago, a batch at a time; returns how many.
    static func prune(_ mirror: ServiceMirror, retention: Duration) async throws -> Int {
        let cutoff = mirror.clock.nowMilliseconds() - retention.totalMilliseconds
        var total = 0
        while true {
            let deleted = try await mirror.store.pruneChanges(
                service: mirror.storeKey,
                observedBefore: cutoff,
                limit: batch
            )
            total += deleted
            guard deleted == batch else { return total }
            // A pause between batches, for the writes waiting on the embedded store's one connection.
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

extension ServiceMirror {
    /// Reads where the change feed starts, for the status page.
    func readChangeFeedStart() async throws {
        let start = try await store.changeFeedStart(service: storeKey)
        state.withLock { $0.changeFeedStart = start }
    }
}
