#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open files, which bounds its connections: raised at start from the soft limit to the
/// hard one (a shell's default soft limit of 1,024 is far below what a server holds), and checked against
/// `http.maxConnections` with room for everything else the gateway opens.
public enum FileDescriptorLimit {
    /// Files the gateway opens besides its callers' connections: SENS and database connections, the store, logs.
    public static let headroom = 1_024

    /// Raises the soft limit to the hard one; returns both soft limits, before and after.
    public static func raise() -> (before: Int, after: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (0, 0) }
        let before = Int(clamping: limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        #if canImport(Darwin)
        // macOS refuses an unlimited soft limit on open files: OPEN_MAX is the most it takes.
        raised.rlim_cur = min(limit.rlim_max, rlim_t(OPEN_MAX))
        #endif
        guard setrlimit(resource, &raised) == 0 else { return (before, before) }
        return (before, Int(clamping: raised.rlim_cur))
    }

    /// Why `maxConnections` cannot be held under `limit` open files, if it cannot.
    public static func refusal(maxConnections: Int, limit: Int) -> String? {
        guard maxConnections + headroom > limit else { return nil }
        return
            "http.maxConnections (HTTP_MAX_CONNECTIONS, --http-max-connections) is \(maxConnections), but the process may open "
            + "only \(limit) files (ulimit -n) and needs \(headroom) besides its connections: lower it to at most "
            + "\(max(0, limit - headroom)), or raise the limit"
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
