/// Ids that sort by creation time ("act_0191c7e5a2b4_9f3a1c"), so keyset pages and B-tree
/// inserts follow the clock (DESIGN §8).
public enum TimeOrderedID {
    public static func make(prefix: String, now: Int64) -> String {
        let time = String(UInt64(max(0, now)), radix: 16)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(prefix)_\(String(repeating: "0", count: max(0, 12 - time.count)))\(time)_\(String(repeating: "0", count: 8 - random.count))\(random)"
    }
}
