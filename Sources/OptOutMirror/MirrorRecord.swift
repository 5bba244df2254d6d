import OptOuts

/// One opted-out number as the mirror holds it.
public struct MirrorRecord: Sendable, Equatable {
    public var key: PhoneKey
    public var registeredAtMilliseconds: Int64
    public var source: OptOutSource

    public init(key: PhoneKey, registeredAtMilliseconds: Int64, source: OptOutSource) {
        self.key = key
        self.registeredAtMilliseconds = registeredAtMilliseconds
        self.source = source
    }

    /// Nil for a number that is not digits (the source never answers one).
    public init?(_ optOut: OptOut) {
        guard let key = PhoneKey(digits: optOut.phoneNumber) else { return nil }
        self.init(key: key, registeredAtMilliseconds: optOut.registeredAtMilliseconds, source: optOut.source)
    }

    public var optOut: OptOut {
        OptOut(phoneNumber: key.digits, registeredAtMilliseconds: registeredAtMilliseconds, source: source)
    }
}

/// One entry of the change table: a number added to (or updated on) the list, or removed from it.
public struct MirrorChange: Sendable, Equatable {
    public enum Kind: Int, Sendable {
        case removed = 0
        case added = 1
    }

    /// What made a change: a sync's read of the source, or a write through a gateway (any replica's).
    public enum Origin: Int, Sendable {
        case sync = 0
        case gateway = 1
    }

    /// The change's position in its service's feed: increasing, never reused.
    public var sequence: Int64
    /// The number as SENS holds it.
    public var key: PhoneKey
    /// The national number `key` stands for, when SENS holds another form of it (`821012345678`); filled in by
    /// `ServiceMirror.changes`.
    public var national: PhoneKey?
    public var kind: Kind
    /// For an addition: the record as added.
    public var registeredAtMilliseconds: Int64?
    public var source: OptOutSource?
    /// When the mirror recorded it.
    public var observedAtMilliseconds: Int64
    public var origin: Origin

    public init(
        sequence: Int64,
        key: PhoneKey,
        kind: Kind,
        registeredAtMilliseconds: Int64?,
        source: OptOutSource?,
        observedAtMilliseconds: Int64,
        origin: Origin,
        national: PhoneKey? = nil
    ) {
        self.sequence = sequence
        self.key = key
        self.national = national
        self.kind = kind
        self.registeredAtMilliseconds = registeredAtMilliseconds
        self.source = source
        self.observedAtMilliseconds = observedAtMilliseconds
        self.origin = origin
    }

    /// The number the change is of: the national number, or the digits as SENS holds them.
    public var phoneNumber: PhoneKey { national ?? key }
}
