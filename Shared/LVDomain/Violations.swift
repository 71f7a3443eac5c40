import LVMessages

/// Collects broken rules, each with its field path, and throws them together as one
/// INVALID_ARGUMENT so a caller fixes everything in one round.
public struct Violations {
    /// At most this many violations are reported; a request breaking more rules gets the first ones
    /// and a count, so the error always fits in a frame's meta.
    public static let maximumReported = 50

    public private(set) var list: [Lv_Rpc_V1_FieldViolation] = []
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
        throw DomainError(.invalidArgument, summary, violations: list)
    }
}

/// One broken rule as it goes on the wire.
public func violation(_ field: String, _ rule: String, _ message: String) -> Lv_Rpc_V1_FieldViolation {
    Lv_Rpc_V1_FieldViolation(field: field, rule: rule, description: message)
}
