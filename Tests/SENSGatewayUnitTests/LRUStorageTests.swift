import SENSClient
import Testing

@testable import OptOuts
@testable import SENSGateway

@Suite("LRU storage")
struct LRUStorageTests {
    @Test func evictsTheLeastRecentlyUsed() {
        var storage = LRUStorage<String, Int>(capacity: 3)
        #expect(storage.set("a", 1) == 0)
        #expect(storage.set("b", 2) == 0)
        #expect(storage.set("c", 3) == 0)
        #expect(storage.get("a") == 1)  // a is now the newest
        #expect(storage.set("d", 4) == 1)  // b goes
        #expect(storage.peek("b") == nil)
        #expect(storage.keysByRecency == ["d", "a", "c"])
        #expect(storage.set("c", 30) == 0)  // replacing refreshes recency without evicting
        #expect(storage.keysByRecency == ["c", "d", "a"])
        #expect(storage.peek("a") == 1)
        #expect(storage.keysByRecency == ["c", "d", "a"], "peek does not change recency")
    }

    @Test func removesAndReusesSlots() {
        var storage = LRUStorage<Int, Int>(capacity: 2)
        storage.set(1, 1)
        storage.set(2, 2)
        storage.remove(1)
        #expect(storage.count == 1)
        #expect(storage.set(3, 3) == 0)
        #expect(storage.keysByRecency == [3, 2])
        storage.remove(2)
        storage.remove(3)
        #expect(storage.keysByRecency.isEmpty)
        storage.set(4, 4)
        #expect(storage.keysByRecency == [4])
        storage.removeAll()
        #expect(storage.count == 0)
    }

    @Test func staysConsistentUnderManyOperations() {
        var storage = LRUStorage<Int, Int>(capacity: 50)
        var reference: [Int] = []  // most recent first
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let key = Int.random(in: 0..<120, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                storage.set(key, key)
                reference.removeAll { $0 == key }
                reference.insert(key, at: 0)
                if reference.count > 50 { reference.removeLast() }
            case 1:
                let found = storage.get(key)
                #expect(found == (reference.contains(key) ? key : nil))
                if found != nil {
                    reference.removeAll { $0 == key }
                    reference.insert(key, at: 0)
                }
            default:
                storage.remove(key)
                reference.removeAll { $0 == key }
            }
        }
        #expect(storage.keysByRecency == reference)
    }
}
