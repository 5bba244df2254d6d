#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One direction of a conversion through the C library's iconv (glibc's `UHC` module for CP949): what the
/// system already has, and what the container image carries (`libc6`). Not shared between tasks.
final class Iconv {
    private let descriptor: iconv_t

    /// Nil when the system cannot convert between the two (a libc without the module).
    init?(from source: String, to target: String) {
        let descriptor = iconv_open(target, source)
        guard let descriptor, descriptor != iconv_t(bitPattern: -1) else { return nil }
        self.descriptor = descriptor
    }

    deinit { iconv_close(descriptor) }

    /// How a conversion ended.
    enum Stop: Equatable {
        /// Every byte was converted.
        case done
        /// The last bytes, from `consumed` on, are the start of a character: the rest comes with the next bytes.
        case incomplete
        /// The byte at `consumed` starts no character of the source encoding (or one the target cannot hold).
        case invalid
    }

    /// Converts `input` into `output` (appended), as far as it can: `consumed` bytes of `input` were converted.
    func convert(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) -> (consumed: Int, stop: Stop) {
        guard let base = input.baseAddress, !input.isEmpty else { return (0, .done) }
        var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(
            mutating: base.assumingMemoryBound(to: CChar.self)
        )
        var inLeft = input.count
        while true {
            let start = output.count
            // CP949 to UTF-8 is at most 3 bytes for 2, UTF-8 to CP949 never more; what does not fit goes round
            // again (E2BIG).
            let room = inLeft + inLeft / 2 + 16
            var stop = Stop.done
            var outLeft = room
            output.append(contentsOf: repeatElement(0, count: room))
            output.withUnsafeMutableBytes { buffer in
                var outPointer: UnsafeMutablePointer<CChar>? = (buffer.baseAddress! + start).assumingMemoryBound(
                    to: CChar.self
                )
                if iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft) == -1 {
                    switch errno {
                    case EINVAL: stop = .incomplete
                    case E2BIG: stop = .done  // converted what fitted: go round again
                    default: stop = .invalid
                    }
                }
            }
            output.removeLast(outLeft)
            if stop != .done || inLeft == 0 { return (input.count - inLeft, stop) }
        }
    }
}
