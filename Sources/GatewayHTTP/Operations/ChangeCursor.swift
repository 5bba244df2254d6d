import OptOutMirror

/// A page of a service's change feed: its changes, oldest first, the scope their cursors are bound to, and the
/// cursor to continue from.
struct ChangeFeedPage {
    let scope: String
    let changes: [MirrorChange]
    let next: String
}

/// The change feed's cursors: a change's sequence with a check bound to the store and the service (`scope`), so
/// that a cursor of another service or another store (another replica's own, or one made anew), or a mistyped one,
/// is refused instead of silently skipping or repeating changes. Stable across restarts: it depends on nothing but
/// the stored sequence and scope.
enum ChangeCursor {
    static func text(_ sequence: Int64, scope: String) -> String {
        String(sequence, radix: 36) + "." + check(sequence, scope)
    }

    static func sequence(of text: String, scope: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 13, parts[0].allSatisfy({ $0.isNumber || ("a"..."z").contains($0) }),
            let sequence = Int64(parts[0], radix: 36), sequence >= 0, parts[1] == check(sequence, scope)
        else { return nil }
        return sequence
    }

    /// Eight hex digits of FNV-1a over the scope and the sequence.
    private static func check(_ sequence: Int64, _ scope: String) -> Substring {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in scope.utf8 + [0] + "\(sequence)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let text = String(hash, radix: 16)
        return (String(repeating: "0", count: 16 - text.count) + text).prefix(8)
    }
}
