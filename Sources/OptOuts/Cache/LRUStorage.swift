/// A bounded key-value store that evicts the least recently used entry, with O(1) get, set and remove.
/// Not thread-safe: `QueryCache` guards it with a lock.
struct LRUStorage<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var newer: Int?
        var older: Int?
    }

    let capacity: Int
    private var index: [Key: Int] = [:]
    private var nodes: [Node?] = []
    private var free: [Int] = []
    private var newest: Int?
    private var oldest: Int?

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var count: Int { index.count }

    /// The value, marked as most recently used.
    mutating func get(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToNewest(slot)
        return nodes[slot]!.value
    }

    /// The value, without changing its recency.
    func peek(_ key: Key) -> Value? {
        index[key].map { nodes[$0]!.value }
    }

    /// Stores the value as most recently used; returns how many entries were evicted to make room (0 or 1).
    @discardableResult
    mutating func set(_ key: Key, _ value: Value) -> Int {
        if let slot = index[key] {
            nodes[slot]!.value = value
            moveToNewest(slot)
            return 0
        }
        var evicted = 0
        if index.count >= capacity, let oldest {
            remove(at: oldest)
            evicted = 1
        }
        let node = Node(key: key, value: value, newer: nil, older: newest)
        let slot: Int
        if let reused = free.popLast() {
            nodes[reused] = node
            slot = reused
        } else {
            nodes.append(node)
            slot = nodes.count - 1
        }
        if let newest { nodes[newest]!.newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
        index[key] = slot
        return evicted
    }

    mutating func remove(_ key: Key) {
        if let slot = index[key] { remove(at: slot) }
    }

    mutating func removeAll() {
        self = LRUStorage(capacity: capacity)
    }

    /// Keys from most to least recently used (for tests and diagnostics).
    var keysByRecency: [Key] {
        var keys: [Key] = []
        var cursor = newest
        while let slot = cursor {
            keys.append(nodes[slot]!.key)
            cursor = nodes[slot]!.older
        }
        return keys
    }

    private mutating func remove(at slot: Int) {
        unlink(slot)
        index[nodes[slot]!.key] = nil
        nodes[slot] = nil
        free.append(slot)
    }

    private mutating func moveToNewest(_ slot: Int) {
        guard newest != slot else { return }
        unlink(slot)
        nodes[slot]!.older = newest
        nodes[slot]!.newer = nil
        if let newest { nodes[newest]!.newer = slot }
        newest = slot
        if oldest == nil { oldest = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let node = nodes[slot]!
        if let newer = node.newer { nodes[newer]!.older = node.older } else { newest = node.older }
        if let older = node.older { nodes[older]!.newer = node.newer } else { oldest = node.newer }
        nodes[slot]!.newer = nil
        nodes[slot]!.older = nil
    }
}
