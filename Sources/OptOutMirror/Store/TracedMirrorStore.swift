import Tracing

/// A store whose calls are spans, when traces are on: children of the request or the sync that makes them. Calls
/// made outside one (the replicas' reads of the change table, twice a second) make none.
public struct TracedMirrorStore: MirrorStore {
    let base: any MirrorStore
    let tracer: any Tracer
    /// `postgresql` or `sqlite`, for `db.system.name`.
    let system: String

    public init(_ base: any MirrorStore, system: String, tracer: any Tracer) {
        self.base = base
        self.system = system
        self.tracer = tracer
    }

    private func traced<T>(
        _ operation: String,
        service: String?,
        _ body: () async throws -> T
    ) async throws -> T {
        guard ServiceContext.current != nil else { return try await body() }
        return try await tracer.withSpan("mirror store \(operation)", ofKind: .client) { span in
            span.attributes["db.system.name"] = system
            span.attributes["db.operation.name"] = operation
            if let service { span.attributes["sens_gateway.sens_service_id"] = service }
            return try await body()
        }
    }

    public func migrate() async throws {
        try await traced("migrate", service: nil) { try await base.migrate() }
    }

    public func apply(service: String, _ write: MirrorWrite) async throws -> MirrorApplied {
        try await traced("apply", service: service) { try await base.apply(service: service, write) }
    }

    public func gatewayWriteClock(service: String) async throws -> Int64 {
        try await traced("write_clock", service: service) { try await base.gatewayWriteClock(service: service) }
    }

    public func progress(service: String) async throws -> MirrorProgress? {
        try await traced("progress", service: service) { try await base.progress(service: service) }
    }

    public func loadRecords(
        service: String,
        batch: (_ records: [MirrorRecord]) -> Void
    ) async throws -> (count: Int, lastSequence: Int64) {
        try await traced("load", service: service) { try await base.loadRecords(service: service, batch: batch) }
    }

    public func changes(service: String, after sequence: Int64, limit: Int) async throws -> [MirrorChange] {
        try await traced("changes", service: service) {
            try await base.changes(service: service, after: sequence, limit: limit)
        }
    }

    public func pruneChanges(service: String, observedBefore cutoff: Int64, limit: Int) async throws -> Int {
        try await traced("prune", service: service) {
            try await base.pruneChanges(service: service, observedBefore: cutoff, limit: limit)
        }
    }

    public func changeFeedStart(service: String) async throws -> ChangeFeedStart {
        try await traced("feed_start", service: service) { try await base.changeFeedStart(service: service) }
    }

    public func storeID() async throws -> String { try await base.storeID() }

    public var callTimeout: Duration? { base.callTimeout }

    public var coordination: any MirrorCoordination { base.coordination }

    public func close() async throws { try await base.close() }
}
