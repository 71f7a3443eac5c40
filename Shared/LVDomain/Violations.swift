import LVRPC

/// Collects broken rules, each with its field path, and throws them together as one
/// INVALID_ARGUMENT so a caller fixes everything in one round.
public struct Violations {
    public private(set) var list: [FieldViolation] = []

    public init() {}

    public mutating func add(_ field: String, _ rule: String, _ message: String) {
        var v = FieldViolation()
        v.field = field
        v.rule = rule
        v.description = message
        list.append(v)
    }

    public mutating func require(_ condition: Bool, _ field: String, _ rule: String, _ message: @autoclosure () -> String) {
        if !condition { add(field, rule, message()) }
    }

    public func throwIfAny() throws {
        guard let first = list.first else { return }
        let summary = list.count == 1 ? "\(first.field): \(first.description)" : "\(list.count) fields are invalid; first \(first.field): \(first.description)"
        throw RPCError(.invalidArgument, summary, violations: list)
    }
}
