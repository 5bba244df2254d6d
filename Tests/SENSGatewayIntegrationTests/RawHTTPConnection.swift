import Glibc
import OptOuts
import SENSClient

/// A bare TCP connection to a loopback port, for requests no HTTP client library sends as written (a chunked
/// body sent piece by piece after `Expect: 100-continue`).
final class RawHTTPConnection {
    private let socket: Int32

    /// `receiveBuffer` sets a small receive buffer (before connecting, so the window stays small): a slow reader.
    init(port: Int, receiveBuffer: Int? = nil) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw GatewayProcessError("socket() failed") }
        if var size = receiveBuffer.map(Int32.init) {
            _ = setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw GatewayProcessError("connect() failed") }
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Small writes only: the kernel takes them at once, so this does not block. (A large one blocks its thread
    /// until the peer has read it.)
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw GatewayProcessError("send() failed: the gateway closed the connection") }
            offset += sent
        }
    }

    /// Reads until the text read so far holds `marker`, or nothing more comes for `milliseconds`, or the peer
    /// closes. Never blocks a thread: the socket is polled, so the test runner's few threads stay free.
    func read(until marker: String, waitingAtMost milliseconds: Int = 5_000) async throws -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 262_144)
        let deadline = ContinuousClock.now + .milliseconds(milliseconds)
        let markerBytes = Array(marker.utf8)
        var searchedUpTo = 0
        func holdsMarker() -> Bool {
            // Only the bytes not searched yet, and the marker's length before them: a long answer is read in linear time.
            let start = max(0, searchedUpTo - markerBytes.count)
            searchedUpTo = received.count
            guard received.count - start >= markerBytes.count else { return false }
            return received[start...].firstRange(of: markerBytes) != nil
        }
        while !holdsMarker(), ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            let error = errno
            if count > 0 {
                received += buffer[..<count]
            } else if count < 0 && error == EINTR {
                continue
            } else if count == 0 || (error != EAGAIN && error != EWOULDBLOCK) {
                break  // closed
            } else {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Whether the peer closes the connection within `milliseconds` (whatever it still sends is read and dropped).
    func readsToEnd(within milliseconds: Int) async throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let deadline = ContinuousClock.now + .milliseconds(milliseconds)
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            if count < 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        return false
    }

    deinit {
        close(socket)
    }
}
