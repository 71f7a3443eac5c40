import LVMessages

/// A rule of the domain (or a store) refused the request. Domain code throws this, never the wire's
/// `RPCError`: it becomes a wire status in one place, at the handler boundary (`RPCError.from`,
/// through its `RPCErrorConvertible` conformance in LVAPI).
public struct DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of refusal, each one status code on the wire.
    public enum Kind: Sendable, Hashable {
        /// The request itself breaks a rule (INVALID_ARGUMENT).
        case invalidArgument
        /// It names something that does not exist (NOT_FOUND).
        case notFound
        /// It would create something that exists already (ALREADY_EXISTS).
        case alreadyExists
        /// It is valid but the state it needs is not there (FAILED_PRECONDITION).
        case failedPrecondition
    }

    public var kind: Kind
    public var message: String
    /// The fields and rules broken, as they go on the wire.
    public var violations: [Lv_Rpc_V1_FieldViolation]

    public init(_ kind: Kind, _ message: String, violations: [Lv_Rpc_V1_FieldViolation] = []) {
        self.kind = kind
        self.message = message
        self.violations = violations
    }

    /// INVALID_ARGUMENT naming one field and the rule it broke.
    public static func invalidArgument(field: String, rule: String, _ message: String) -> DomainError {
        DomainError(.invalidArgument, "\(field): \(message)", violations: [violation(field, rule, message)])
    }

    public var description: String { "\(kind): \(message)" }
}
