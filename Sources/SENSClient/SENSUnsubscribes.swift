import SENSCore

/// SENS's unsubscribe resource of one SMS service (`/sms/v2/services/{serviceId}/unsubscribes`): its three
/// operations, with every failure already classified.
public protocol SENSUnsubscribes: Sendable {
    /// Registers at most 1,000 normalized numbers; returns SENS's records.
    func register(_ targets: SENSTargets) async throws(SENSError) -> [SENSRecord]
    /// One page of the list.
    func list(_ query: SENSListQuery) async throws(SENSError) -> [SENSRecord]
    /// Removes at most 1,000 normalized numbers.
    func delete(_ targets: SENSTargets) async throws(SENSError)
}

/// One opt-out as SENS holds it, its zone-less `registerTime` already read into an instant (once, by the client).
public struct SENSRecord: Sendable, Equatable {
    public var phoneNumber: String
    public var source: SENSRegisterType
    public var registeredAtMilliseconds: Int64

    public init(phoneNumber: String, source: SENSRegisterType, registeredAtMilliseconds: Int64) {
        self.phoneNumber = phoneNumber
        self.source = source
        self.registeredAtMilliseconds = registeredAtMilliseconds
    }
}
