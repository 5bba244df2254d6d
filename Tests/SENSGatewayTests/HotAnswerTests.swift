import Foundation
import GatewayAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import OptOuts
import SENSClient
import SENSGateway
import SENSSimulator
import SENSTestSupport
import Testing

/// The hot paths (`HotReadMiddleware`, `HotWriteMiddleware`) against the generated handlers: two gateways over
/// one simulator, one with the hot paths and one without, get the same requests (plain ones, and the odd ones the
/// hot paths pass on) and must give the same status, headers and bytes, also while SENS fails. The cache is off,
/// so both ask SENS each time.
@Suite(.serialized) struct HotAnswerTests {
    static let comparedHeaders: [HTTPField.Name] = [.contentType, .contentLength, .xCacheName, .age, .retryAfter, .allow]

    @Test func hotReadsAnswerAsTheGeneratedHandlersDo() async throws {
        let simulator = SENSSimulator(configuration: SimulatorConfiguration())
        let simulatorApp = simulator.buildApplication(server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                                                      logger: Logger(label: "simulator"))
        try await simulatorApp.test(.live) { simulatorClient in
            let sensClient = GatewayClient(client: simulatorClient)
            #expect(try await sensClient.send(.post, "/_simulator/unsubscribes", json: #"{"count":250,"prefix":"0105","start":0}"#).status == 200)
            let sens = SENSServiceSettings(credentials: simulator.configuration.credentials, serviceID: simulator.configuration.serviceID,
                                           baseURL: SENSBaseURL("http://127.0.0.1:\(try #require(simulatorClient.port))")!)
            try await Self.withGateway(sens: sens, hotPaths: true) { hot in
                try await Self.withGateway(sens: sens, hotPaths: false) { generic in
                    let listed = try await generic.get("/v1/unsubscribes?pageSize=3").decodeGenerated(Components.Schemas.OptOutPage.self)
                    let number = try #require(listed.items.first?.phoneNumber)
                    let dashed = number.prefix(3) + "-" + number.dropFirst(3).prefix(4) + "-" + number.suffix(4)
                    let numbers = [number, String(dashed), "+82" + number.dropFirst(), "+82-" + dashed.dropFirst(), "(010)" + number.dropFirst(3),
                                   "%2B82" + number.dropFirst(), "01099998888", "0101234", "abc", "010%2", "010.1234.5678"]
                    var targets: [String] = ["/healthz", "/healthz?x=1", "/v1/unsubscribes/changes", "/v1/services/default/unsubscribes/changes?limit=5"]
                    for prefix in ["/v1/unsubscribes/", "/v1/services/default/unsubscribes/", "/v1/services/nope/unsubscribes/"] {
                        targets += numbers.map { prefix + $0 }
                    }
                    targets += ["/v1/unsubscribes/" + number + "?x=1", "/v1/unsubscribes/" + number + "?", "/v1/unsubscribes/", "/v1//unsubscribes",
                                "/v1/unsubscribes//" + number, "/healthz/", "/v1/unsubscribes/changes/", "/v1/services//unsubscribes"]
                    let queries = ["", "?page=0", "?pageSize=5", "?page=1&pageSize=3", "?pageSize=3&page=1", "?page=01", "?pageSize=0",
                                   "?pageSize=101", "?page=1000001", "?page=-1", "?page=1&page=2", "?pageSize=5&", "?phoneNumber=" + number,
                                   "?from=2020-01-01T00:00:00Z", "?x=1", "?page=%31", "?page=+1", "?page=99999999"]
                    for prefix in ["/v1/unsubscribes", "/v1/services/default/unsubscribes", "/v1/services/nope/unsubscribes"] {
                        targets += queries.map { prefix + $0 }
                    }
                    let headerSets: [HTTPFields] = [[:], [.cacheControl: "no-cache"], [.cacheControl: "max-age=0, No-Cache"], [.accept: "text/csv"],
                                                    .twoCacheControls]
                    var compared = 0, hotAnswered = 0
                    for target in targets {
                        for headers in headerSets {
                            for method in [HTTPRequest.Method.get, .head] {
                                let fast = try await hot.exchange(target, method, headers, nil)
                                let slow = try await generic.exchange(target, method, headers, nil)
                                #expect(fast.status == slow.status, "\(method) \(target) \(headers)")
                                #expect(fast.body == slow.body, "\(method) \(target) \(headers)")
                                for name in Self.comparedHeaders {
                                    #expect(fast.headers[values: name] == slow.headers[values: name], "\(name) of \(method) \(target) \(headers)")
                                }
                                compared += 1
                                if fast.status == 200 && fast.headers[.contentType]?.hasPrefix("application/json") == true { hotAnswered += 1 }
                            }
                        }
                    }
                    #expect(compared > 500 && hotAnswered > 150)
                    // A body on a read is the generic path's to refuse.
                    let withBody = try await hot.send(.get, "/v1/unsubscribes/" + number, json: "{}")
                    #expect(withBody.status == 400)
                    #expect(withBody.problem?.detail == "GET /v1/unsubscribes/{phoneNumber} takes no body")
                }
            }
        }
    }

    @Test func hotWritesAnswerAsTheGeneratedHandlersDo() async throws {
        try await Self.withPair { hot, generic, _ in
            let good = (0..<300).map { String(format: "010-7%03d-%04d", $0 % 1000, $0) }
            let plain = #"{"phoneNumbers":["# + good.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
            let bodies: [(String, String)] = [
                (plain, "application/json"), (plain, "application/json; charset=utf-8"), (plain, "Application/JSON"),
                (#" { "phoneNumbers" : [ "+82 10-7000-0001" , "(010) 7000 0002" ] } "#, "application/json"),
                (#"{"phoneNumbers":["010\u00317000003"]}"#, "application/json"), (#"{"phoneNumbers":["０１０７０００００４"]}"#, "application/json"),
                ("\u{FEFF}" + #"{"phoneNumbers":["01070000005"]}"#, "application/json"),
                (#"{"phoneNumbers":[]}"#, "application/json"), (#"{"phoneNumbers":["abc","01070000006","0101"]}"#, "application/json"),
                (#"{"phoneNumbers":["01070000007"],"x":1}"#, "application/json"), (#"{"phoneNumbers":[1]}"#, "application/json"),
                (#"{"phoneNumbers":"01070000008"}"#, "application/json"), ("[]", "application/json"), ("{}", "application/json"),
                (#"{"phoneNumbers":["01070000009",]}"#, "application/json"), (#"{"phoneNumbers":["01070000010"]"#, "application/json"),
                (#"{"phoneNumbers":["01070000011"]} x"#, "application/json"), (#"{"phoneNumbers":["01070000012"]}"#, "text/plain"),
                (#"{"phoneNumbers":[""# + (0..<10_001).map { "0107\(String(format: "%07d", $0))" }.joined(separator: #"",""#) + #""]}"#, "application/json"),
                (#"{"phoneNumbers":["01070000013","01070000013"]}"#, "application/json"),
            ]
            var compared = 0
            for (body, contentType) in bodies {
                for target in ["/v1/unsubscribes", "/v1/services/default/unsubscribes", "/v1/services/nope/unsubscribes", "/v1/unsubscribes?x=1"] {
                    for method in [HTTPRequest.Method.post, .delete] {
                        let fast = try await hot.send(method, target, bytes: Array(body.utf8), contentType: contentType)
                        let slow = try await generic.send(method, target, bytes: Array(body.utf8), contentType: contentType)
                        Self.expectSame(fast, slow, "\(method) \(target) \(body.prefix(80)) \(contentType)")
                        compared += 1
                    }
                }
            }
            #expect(compared == bodies.count * 8)
            let registered = try await hot.send(.post, "/v1/unsubscribes", json: plain).decodeGenerated(Components.Schemas.RegisterResult.self)
            #expect(registered.count == 300 && Set(registered.registered.map(\.phoneNumber)) == Set(good.map { $0.filter(\.isNumber) }))
        }
    }

    @Test func hotPathsFailAsTheGeneratedHandlersDo() async throws {
        try await Self.withPair { hot, generic, simulator in
            let faults = [#""throttleRate":1,"failureRate":0,"failureStatus":500"#, #""throttleRate":0,"failureRate":1,"failureStatus":503"#,
                          #""throttleRate":0,"failureRate":1,"failureStatus":500"#, #""throttleRate":0,"failureRate":1,"failureStatus":401"#]
            for fault in faults {
                let settings = #"{"latencyMilliseconds":0,"retryAfterSeconds":7,"dropRate":0,"truncateRate":0,"garbageRate":0,"# + fault + "}"
                #expect(try await simulator.send(.put, "/_simulator/faults", json: settings).status == 200)
                for target in ["/v1/unsubscribes/01070000001", "/v1/unsubscribes?pageSize=7"] {
                    Self.expectSame(try await hot.get(target), try await generic.get(target), "\(fault) GET \(target)")
                }
                for method in [HTTPRequest.Method.post, .delete] {
                    let body = #"{"phoneNumbers":["01070000001","010-7000-0002"]}"#
                    let fast = try await hot.send(method, "/v1/unsubscribes", json: body)
                    Self.expectSame(fast, try await generic.send(method, "/v1/unsubscribes", json: body), "\(fault) \(method)")
                    #expect(fast.status >= 429)
                }
            }
        }
    }

    /// Two replicas on one shared store, one with the hot paths: their change feeds (one store, so the same
    /// cursors) and their mirrored answers must be the same bytes.
    @Test func hotMirrorReadsAnswerAsTheGeneratedHandlersDo() async throws {
        try await MirrorHarness(store: .postgres).withSimulator { session in
            try await session.seed(count: 300)
            try await StoreLocation.with(.postgres) { location in
                try await session.withGateway(store: location) { hot in
                    try await hot.waitForMirror()
                    try await session.withGateway(store: location, hotPaths: false) { generic in
                        try await generic.waitForMirror()
                        #expect(try await hot.post("/v1/unsubscribes", phoneNumbers: ["010-7100-0001", "01071000002"]).status == 200)
                        #expect(try await generic.delete("/v1/unsubscribes", phoneNumbers: ["01050000003"]).status == 200)
                        // Both have followed every change when their feeds end at the same cursor.
                        var last = "", caughtUp = false
                        for _ in 0..<100 where !caughtUp {
                            let (_, hotNext) = try await hot.allChanges()
                            let (_, genericNext) = try await generic.allChanges()
                            (last, caughtUp) = (hotNext, hotNext == genericNext)
                            if !caughtUp { try await Task.sleep(for: .milliseconds(50)) }
                        }
                        #expect(caughtUp)
                        let middle = try #require(try await hot.get("/v1/unsubscribes/changes?limit=150").decodeGenerated(Components.Schemas.ChangePage.self).next)
                        var targets: [String] = []
                        for prefix in ["/v1/unsubscribes/changes", "/v1/services/default/unsubscribes/changes"] {
                            targets += ["", "?limit=5", "?limit=0", "?limit=10001", "?limit=abc", "?after=" + middle, "?after=" + last,
                                        "?after=" + middle + "&limit=3", "?limit=3&after=" + middle, "?after=zz.00000000", "?after=",
                                        "?limit=5&limit=6", "?x=1", "?after=" + middle.uppercased()].map { prefix + $0 }
                        }
                        targets += ["/v1/unsubscribes/01050000007", "/v1/unsubscribes/010-7100-0001", "/v1/unsubscribes/01050000003",
                                    "/v1/unsubscribes/01099990000", "/v1/unsubscribes?pageSize=7", "/v1/unsubscribes?page=2&pageSize=50"]
                        for target in targets {
                            for headers in [HTTPFields(), [.cacheControl: "no%2Dcache"], [.cacheControl: "x=%zz"]] {
                                let fast = try await hot.exchange(target, .get, headers, nil)
                                let slow = try await generic.exchange(target, .get, headers, nil)
                                // Age is whole seconds since each replica last read the store: it may differ by one.
                                Self.expectSame(fast, slow, "GET \(target) \(headers)", headers: Self.comparedHeaders.filter { $0 != .age })
                            }
                        }
                    }
                }
            }
        }
    }

    static func expectSame(_ fast: HTTPAnswer, _ slow: HTTPAnswer, _ what: String, headers: [HTTPField.Name] = comparedHeaders) {
        #expect(fast.status == slow.status, "\(what)")
        #expect(fast.body == slow.body, "\(what)")
        for name in headers {
            #expect(fast.headers[values: name] == slow.headers[values: name], "\(name) of \(what)")
        }
    }

    /// The simulator, and a gateway with the hot paths and one without in front of it.
    static func withPair(_ body: @escaping @Sendable (_ hot: GatewayClient, _ generic: GatewayClient, _ simulator: GatewayClient) async throws -> Void) async throws {
        let simulator = SENSSimulator(configuration: SimulatorConfiguration())
        let simulatorApp = simulator.buildApplication(server: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                                                      logger: Logger(label: "simulator"))
        try await simulatorApp.test(.live) { simulatorClient in
            let sens = SENSServiceSettings(credentials: simulator.configuration.credentials, serviceID: simulator.configuration.serviceID,
                                           baseURL: SENSBaseURL("http://127.0.0.1:\(try #require(simulatorClient.port))")!)
            try await withGateway(sens: sens, hotPaths: true) { hot in
                try await withGateway(sens: sens, hotPaths: false) { generic in
                    try await body(hot, generic, GatewayClient(client: simulatorClient))
                }
            }
        }
    }

    static func withGateway(sens: SENSServiceSettings, hotPaths: Bool, _ body: @escaping @Sendable (GatewayClient) async throws -> Void) async throws {
        let app = try GatewayApplication.build(http: .init(host: "127.0.0.1", port: 0), services: [.init(name: "default", sens: sens)],
                                               cache: .disabled, resilience: GatewayHarness.singleAttempt, logger: Logger(label: "gateway"),
                                               hotPaths: hotPaths)
        try await app.test(.live) { client in try await body(GatewayClient(client: client)) }
    }
}

extension HTTPField.Name {
    fileprivate static let xCacheName = Self("X-Cache")!
}

extension HTTPFields {
    /// `Cache-Control` given as two fields, as a proxy might send it.
    fileprivate static var twoCacheControls: HTTPFields {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .cacheControl, value: "no-cache"))
        fields.append(HTTPField(name: .cacheControl, value: "max-age=0"))
        return fields
    }
}
