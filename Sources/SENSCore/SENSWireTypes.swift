/// JSON shapes of the SENS unsubscribe API, exactly as they travel on the wire.

/// One item of a register or delete body: `{"clientTelNo": "01012345678"}`.
public struct SENSUnsubscribeTarget: Codable, Sendable, Hashable {
    public var clientTelNo: String

    public init(clientTelNo: String) {
        self.clientTelNo = clientTelNo
    }
}

/// How a number reached the opt-out list.
public enum SENSRegisterType: String, Codable, Sendable {
    /// The recipient called the 080 opt-out line (ARS).
    case ars = "C"
    /// Registered by the sender, through the console or this API.
    case manual = "M"
}

/// One opt-out record as SENS returns it from register and list.
public struct SENSUnsubscribeRecord: Codable, Sendable, Hashable {
    public var clientTelNo: String
    public var registerType: SENSRegisterType
    /// Local time without zone, `YYYY-MM-DDTHH:mm:ss.sss` (see ``SENSLocalTime``).
    public var registerTime: String

    public init(clientTelNo: String, registerType: SENSRegisterType, registerTime: String) {
        self.clientTelNo = clientTelNo
        self.registerType = registerType
        self.registerTime = registerTime
    }
}

/// The list call's parameters, as SENS takes them. `startTime` and `endTime` are inclusive epoch milliseconds.
public struct SENSListQuery: Sendable, Equatable, Hashable {
    public var clientTelNo: String?
    public var pageSize: Int
    public var pageIndex: Int
    public var startTime: Int64?
    public var endTime: Int64?

    public init(
        clientTelNo: String? = nil,
        pageSize: Int = SENSLimits.defaultPageSize,
        pageIndex: Int = 0,
        startTime: Int64? = nil,
        endTime: Int64? = nil
    ) {
        self.clientTelNo = clientTelNo
        self.pageSize = pageSize
        self.pageIndex = pageIndex
        self.startTime = startTime
        self.endTime = endTime
    }

    /// `?clientTelNo=…&pageSize=…&pageIndex=…&startTime=…&endTime=…`: every value is digits, so nothing needs
    /// percent-encoding, and this exact text is what gets signed.
    public var queryString: String {
        var items: [String] = []
        if let clientTelNo { items.append("clientTelNo=\(clientTelNo)") }
        items.append("pageSize=\(pageSize)")
        items.append("pageIndex=\(pageIndex)")
        if let startTime { items.append("startTime=\(startTime)") }
        if let endTime { items.append("endTime=\(endTime)") }
        return "?" + items.joined(separator: "&")
    }
}

/// SENS limits the gateway and the simulator both honour.
public enum SENSLimits {
    /// Items in one register or delete call.
    public static let maxItemsPerCall = 1_000
    /// `pageSize` bounds and default of the list call.
    public static let pageSizeRange = 1...100
    public static let defaultPageSize = 100
    /// How far a signed timestamp may be from the server's clock before the call is refused (exclusive).
    public static let timestampToleranceMilliseconds: Int64 = 5 * 60 * 1000
}

/// The error body of NCP's API Gateway: `{"error":{"errorCode":"200","message":"Authentication Failed"}}`.
public struct APIGatewayErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var errorCode: String
        public var message: String
        public var details: String?

        public init(errorCode: String, message: String, details: String? = nil) {
            self.errorCode = errorCode
            self.message = message
            self.details = details
        }
    }

    public var error: Detail

    public init(error: Detail) {
        self.error = error
    }
}

/// The error body of the SENS service itself (bad request bodies or parameters).
public struct SENSServiceErrorBody: Codable, Sendable, Equatable {
    public var status: Int
    public var errorMessage: String

    public init(status: Int, errorMessage: String) {
        self.status = status
        self.errorMessage = errorMessage
    }
}
