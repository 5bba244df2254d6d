import Logging
import OptOuts
import SENSCore
import Synchronization

extension ServiceMirror {
    /// Runs a write through the gateway (`body`: call SENS, then `recordWrite`) with its numbers' locks held, so
    /// that this replica's writes of one number reach the mirror in the order SENS applied them. With a shared
    /// store, `body` gets the store's gateway write clock as the locks were taken (`MirrorWriteTicket.since`):
    /// another replica's write of the same number recorded after it overlapped this one (`MirrorStore.apply`'s
    /// `conflictsSince`). When the clock cannot be read, every write the store has marked counts as overlapping
    /// (the safe side).
    public func writing<T: Sendable>(_ keys: [PhoneKey], _ body: (_ ticket: MirrorWriteTicket) async -> T) async -> T {
        await numberLocks.withLocks(keys) {
            // Counted while under way: a verification probe beside it may see SENS after the write and the mirror
            // before it, so it is not conclusive (`writeActivity`).
            state.withLock { state in
                state.writesStarted &+= 1
                state.writesInFlight += 1
            }
            defer { state.withLock { $0.writesInFlight -= 1 } }
            let started = ContinuousClock.now
            let since = await writeClock()
            // The store's part of the write (the clock, then the recording) takes its call time-out at most.
            let budget = store.callTimeout.map { $0 - (ContinuousClock.now - started) }
            return await body(MirrorWriteTicket(since: since, storeBudget: budget))
        }
    }

    /// The store's gateway write clock with a shared store, nil alone on it.
    private func writeClock() async -> Int64? {
        guard shared else { return nil }
        return (try? await store.gatewayWriteClock(service: storeKey)) ?? 0
    }

    /// Records what a write through the gateway achieved, begun with `ticket` (`writing`):
    /// - registered records and removed numbers that SENS confirmed;
    /// - numbers whose register SENS may have applied (its answer was lost): recorded as opted out now, the safe
    ///   side, and put in doubt until SENS is asked;
    /// - numbers another gateway write recorded meanwhile (two replicas, or a resolution): kept opted out and put in
    ///   doubt, as the order SENS applied the two in is unknown.
    /// A register that cannot be recorded puts its numbers in doubt; a removal that cannot be recorded leaves the
    /// number opted out in the mirror (the safe side) until a verification pass finds it. A write waits for its turn
    /// to be recorded no longer than the store's call time-out, so that its answer is not held up by a store that
    /// does not answer. Returns why it was not recorded, for the write's answer; nil when it was.
    @discardableResult
    public func recordWrite(
        registered: [OptOut],
        removed: [String],
        unconfirmedRegistrations: [String],
        ticket: MirrorWriteTicket
    ) async -> String? {
        let now = clock.nowMilliseconds()
        let unconfirmed = unconfirmedRegistrations.compactMap { PhoneKey(digits: $0) }
        // Stamped now even when the number is held already: the write then leaves a change in the store, which every
        // replica's syncs respect (they remove no number a gateway wrote after their read began). The lookup that
        // ends the doubt records SENS's own record.
        let records =
            registered.compactMap(MirrorRecord.init)
            + unconfirmed.map { MirrorRecord(key: $0, registeredAtMilliseconds: now, source: .manual) }
        let removals = removed.compactMap { PhoneKey(digits: $0) }
        guard !records.isEmpty || !removals.isEmpty || !unconfirmed.isEmpty else { return nil }
        do {
            let conflicted = try await recordGatewayChange(
                records: records,
                removals: removals,
                since: ticket.since,
                at: now,
                waitingAtMost: ticket.storeBudget.map { max($0, .zero) }
            )
            doubt(Set(unconfirmed).union(conflicted), since: now)
            return nil
        } catch {
            logger.error(
                "the mirror could not record a confirmed write",
                metadata: ["error": "\(error)", "records": "\(records.count)", "removals": "\(removals.count)"]
            )
            doubt(Set(records.map(\.key) + unconfirmed), since: now)
            return "this replica could not record it in the mirror's store (\(error)); "
                + (removals.isEmpty
                    ? "until SENS has been asked about these numbers, this replica's checks ask SENS and its filter "
                        + "lists them as unverified; every replica has them by the next sync"
                    : "the mirror goes on answering the removed numbers as opted out (the safe side) until its next "
                        + "verification pass, and every replica has the change by then")
        }
    }

    /// Writes a gateway change to the store and the index; returns the numbers another gateway write recorded since
    /// `since`, which the store left opted out. With `limit`, waiting for its turn and writing end within it.
    private func recordGatewayChange(
        records: [MirrorRecord],
        removals: [PhoneKey],
        since: Int64?,
        at now: Int64,
        waitingAtMost limit: Duration? = nil
    ) async throws -> Set<PhoneKey> {
        guard !records.isEmpty || !removals.isEmpty else { return [] }
        let deadline = limit.map { ContinuousClock.now + $0 }
        let write = { [self] () async throws -> Set<PhoneKey> in
            // No catch-up read first: the write's answer is waiting, and the store returns what it missed.
            let after = appliedSequence
            let applied = try await store.apply(
                service: storeKey,
                MirrorWrite(
                    records: records,
                    removals: removals,
                    observedAtMilliseconds: now,
                    origin: .gateway,
                    progress: nil,
                    after: after,
                    conflictsSince: since,
                    deadline: deadline
                )
            )
            guard applied.prunedThrough <= after else {
                // This replica fell behind the change retention (paused, cut off for days): the changes it missed
                // are gone, so its index cannot follow on. It stops vouching until its follow loop has loaded the
                // whole list again (`follow`); the write is in the store.
                state.withLock { $0.loaded = false }
                logger.warning(
                    "this replica fell behind the shared store's change retention: it stops answering from the mirror until it has loaded the whole list again"
                )
                return applied.conflicted
            }
            state.withLock { state in
                state.writeGeneration += 1
                let write = RecentWrite(generation: state.writeGeneration, atMilliseconds: now)
                for key in records.map(\.key) + removals { state.recentWrites[key] = write }
                apply(applied.changes, to: &state)
            }
            report(applied.changes)
            return applied.conflicted
        }
        guard let limit else { return try await writes.run(write) }
        return try await writes.run(within: limit, write)
    }

    /// Puts numbers in doubt and wakes the loop that asks SENS about them.
    func doubt(_ keys: Set<PhoneKey>, since now: Int64) {
        guard !keys.isEmpty else { return }
        state.withLock { state in
            for key in keys where state.doubted[key] == nil { state.doubted[key] = now }
        }
        logger.notice(
            "numbers in doubt: the mirror asks SENS about them before it vouches for them again",
            metadata: ["count": "\(keys.count)"]
        )
        doubtSignalContinuation.yield()
    }

    /// The numbers in doubt now.
    var doubtedNumbers: [PhoneKey] { state.withLock { Array($0.doubted.keys) } }

    /// Asks SENS about one number in doubt (one `clientTelNo` lookup, with the number's lock held, so no write of
    /// it here goes between the answer and its recording) and records what SENS holds. The doubt ends unless
    /// another gateway write of the number overlapped the lookup. Throws what the lookup or the store threw.
    func resolveDoubt(
        _ key: PhoneKey,
        lookUp: @escaping (PhoneNumber) async throws(OptOutError) -> OptOut?
    ) async throws {
        guard let number = try? PhoneNumber.parse(key.digits) else {
            state.withLock { _ = $0.doubted.removeValue(forKey: key) }
            return
        }
        try await numberLocks.withLocks([key]) { () async -> Result<Void, any Error> in
            do {
                let since = await writeClock()
                let listed = try await lookUp(number).flatMap(MirrorRecord.init)
                let now = clock.nowMilliseconds()
                let conflicted = try await recordGatewayChange(
                    records: listed.map { [$0] } ?? [],
                    removals: listed == nil ? [key] : [],
                    since: since,
                    at: now,
                    waitingAtMost: store.callTimeout
                )
                if !conflicted.contains(key) { state.withLock { _ = $0.doubted.removeValue(forKey: key) } }
                return .success(())
            } catch {
                return .failure(error)
            }
        }.get()
    }
}

/// What a write through the gateway begins with (`ServiceMirror.writing`).
public struct MirrorWriteTicket: Sendable {
    /// The store's gateway write clock as the write's locks were taken (nil alone on a store).
    public let since: Int64?
    /// What is left, after reading the clock, of the store's call time-out for recording the write (nil: not
    /// bounded).
    let storeBudget: Duration?
}
