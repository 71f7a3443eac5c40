import LVRPC

/// Collects broken rules, each with its field path, and throws them together as one
/// INVALID_ARGUMENT so a caller fixes everything in one round.
public struct Violations {
    /// At most this many violations are reported; a request breaking more rules gets the first ones
    /// and a count, so the error always fits in a frame's meta.
    public static let maximumReported = 50

    public private(set) var list: [FieldViolation] = []
    /// Violations beyond `maximumReported`, counted but not listed.
    public private(set) var omitted = 0

    public init() {}

    public mutating func add(_ field: String, _ rule: String, _ message: String) {
        guard list.count < Self.maximumReported else { omitted += 1; return }
        list.append(violation(field, rule, message))
    }

    public mutating func require(_ condition: Bool, _ field: String, _ rule: String, _ message: @autoclosure () -> String) {
        if !condition { add(field, rule, message()) }
    }

    public func throwIfAny() throws {
        guard let first = list.first else { return }
        let total = list.count + omitted
        let summary = total == 1 ? "\(first.field): \(first.description)"
            : "\(total) fields are invalid\(omitted > 0 ? " (first \(list.count) listed)" : ""); first \(first.field): \(first.description)"
        throw RPCError(.invalidArgument, summary, violations: list)
    }
}

/// One broken rule as it goes on the wire.
public func violation(_ field: String, _ rule: String, _ message: String) -> FieldViolation {
    var v = FieldViolation()
    v.field = field
    v.rule = rule
    v.description = message
    return v
}

/// Ids that sort by creation time ("act_0191c7e5a2b4_9f3a1c"), so keyset pages and B-tree
/// inserts follow the clock (DESIGN §8).
public enum TimeOrderedID {
    public static func make(prefix: String, now: Int64) -> String {
        let time = String(UInt64(max(0, now)), radix: 16)
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "\(prefix)_\(String(repeating: "0", count: max(0, 12 - time.count)))\(time)_\(String(repeating: "0", count: 8 - random.count))\(random)"
    }
}
