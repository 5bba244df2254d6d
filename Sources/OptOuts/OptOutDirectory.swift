import SENSCore

/// The opt-out list of one SMS service, in the domain's words. Implementations compose as decorators: the
/// SENS-backed directory, the cached one (and, next, a mirrored one); the HTTP layer only ever sees this.
public protocol OptOutDirectory: Sendable {
    /// Registers the numbers (deduplicated, in order); never throws: the outcome says what became of each.
    func register(_ numbers: [PhoneNumber]) async -> WriteOutcome
    /// Removes the numbers (deduplicated, in order); removing a number that is not listed succeeds.
    func remove(_ numbers: [PhoneNumber]) async -> WriteOutcome
    /// The number's opt-out when it has opted out, nil when it has not. `refresh` asks the source of truth.
    func check(_ number: PhoneNumber, refresh: Bool) async throws(OptOutError) -> Answer<OptOut?>
    /// One page of the list, newest registration first.
    func list(_ query: OptOutQuery, refresh: Bool) async throws(OptOutError) -> Answer<[OptOut]>
}

/// One opted-out number.
public struct OptOut: Sendable, Equatable {
    /// The normalized number (`01012345678`).
    public var phoneNumber: String
    public var registeredAtMilliseconds: Int64
    public var source: OptOutSource

    public init(phoneNumber: String, registeredAtMilliseconds: Int64, source: OptOutSource) {
        self.phoneNumber = phoneNumber
        self.registeredAtMilliseconds = registeredAtMilliseconds
        self.source = source
    }
}

/// How a number came onto the list.
public enum OptOutSource: String, Sendable, Equatable {
    /// The recipient called the company's 080 opt-out line.
    case ars
    /// The sender registered it (console or this gateway).
    case manual
}

/// Which page of the list: optionally one number, a registration time range (inclusive, epoch ms), a page.
public struct OptOutQuery: Sendable, Hashable {
    public var phoneNumber: PhoneNumber?
    /// One number as SENS holds it, in whatever form (`821012345678`): the mirror's lookups of records in other
    /// forms than the national number. Only the source answers it; it takes the place of `phoneNumber`.
    public var sensNumber: String?
    public var fromMilliseconds: Int64?
    public var toMilliseconds: Int64?
    public var page: Int
    public var pageSize: Int

    public static let maxPageSize = 100

    public init(
        phoneNumber: PhoneNumber? = nil,
        sensNumber: String? = nil,
        fromMilliseconds: Int64? = nil,
        toMilliseconds: Int64? = nil,
        page: Int = 0,
        pageSize: Int = maxPageSize
    ) {
        self.phoneNumber = phoneNumber
        self.sensNumber = sensNumber
        self.fromMilliseconds = fromMilliseconds
        self.toMilliseconds = toMilliseconds
        self.page = page
        self.pageSize = pageSize
    }
}

/// A read's value and where it came from, for the `X-Cache` and `Age` answer headers.
public struct Answer<Value: Sendable>: Sendable {
    public var value: Value
    public var origin: AnswerOrigin
    /// Whole seconds since the value was fetched from the source of truth.
    public var ageSeconds: Int

    public init(value: Value, origin: AnswerOrigin, ageSeconds: Int) {
        self.value = value
        self.origin = origin
        self.ageSeconds = ageSeconds
    }
}

public enum AnswerOrigin: String, Sendable {
    /// Fetched for this read.
    case fetched = "MISS"
    /// From the cache, within its time to live.
    case cached = "HIT"
    /// From an expired cache entry, because the source failed (stale-if-error).
    case stale = "STALE"
    /// From the service's synced mirror of the list, while it can vouch for it.
    case mirror = "MIRROR"
}

/// What a register or remove achieved. Every distinct number is in exactly one of the three lists.
public struct WriteOutcome: Sendable, Equatable {
    /// Numbers the source confirmed, in the order first given.
    public var done: [String] = []
    /// Numbers whose call went out but whose answer was lost (timed out, connection dropped, the source failed):
    /// they may or may not have been applied.
    public var unconfirmed: [String] = []
    /// Numbers not applied: their call was refused or never made (it or an earlier one failed).
    public var notSent: [String] = []
    /// The opt-outs confirmed by a register.
    public var registered: [OptOut] = []
    public var failure: OptOutError?
    /// Why what the source confirmed is not in the mirror yet, and how it catches up; nil when it is (or there is
    /// no mirror).
    public var mirrorNote: String?

    public init(
        done: [String] = [],
        unconfirmed: [String] = [],
        notSent: [String] = [],
        registered: [OptOut] = [],
        failure: OptOutError? = nil
    ) {
        self.done = done
        self.unconfirmed = unconfirmed
        self.notSent = notSent
        self.registered = registered
        self.failure = failure
    }
}
