import LVMessages

public typealias StatusCode = Lv_Rpc_V1_StatusCode
public typealias FieldViolation = Lv_Rpc_V1_FieldViolation

/// A failed call: a gRPC status code, a message for people, the rules broken (field and rule),
/// and whether sending the call again is safe. Handlers throw it; clients catch it.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var violations: [FieldViolation]
    /// True only when the call certainly had no effect (refused before it ran).
    public var retryable: Bool
    public var retryAfterMs: UInt32

    public init(_ code: StatusCode, _ message: String, violations: [FieldViolation] = [], retryable: Bool = false, retryAfterMs: UInt32 = 0) {
        self.code = code
        self.message = message
        self.violations = violations
        self.retryable = retryable
        self.retryAfterMs = retryAfterMs
    }

    /// INVALID_ARGUMENT naming one field and the rule it broke.
    public static func invalidArgument(field: String, rule: String, _ message: String) -> RPCError {
        RPCError(.invalidArgument, "\(field): \(message)",
                 violations: [FieldViolation(field: field, rule: rule, description: message)])
    }

    public init(status: Lv_Rpc_V1_Status) {
        self.init(status.code, status.message, violations: status.violations, retryable: status.retryable,
                  retryAfterMs: status.retryAfterMs)
    }

    public var status: Lv_Rpc_V1_Status {
        var s = Lv_Rpc_V1_Status()
        s.code = code
        s.message = message
        s.violations = violations
        s.retryable = retryable
        s.retryAfterMs = retryAfterMs
        return s
    }

    public var description: String {
        var text = "\(code.protoName): \(message)"
        for v in violations where !text.contains(v.field) || violations.count > 1 {
            text += "\n  \(v.field) [\(v.rule)]: \(v.description)"
        }
        if retryable { text += " (retryable)" }
        return text
    }

    /// Maps anything a handler throws to the status sent to the caller: the one place where
    /// domain and store errors (`RPCErrorConvertible`) become wire status.
    public static func from(_ error: any Error) -> RPCError {
        switch error {
        case let e as RPCError: return e
        case let e as any RPCErrorConvertible: return e.rpcError
        case let e as ProtoError:
            let violations = e.field.map { [FieldViolation(field: $0, rule: e.rule, description: e.description)] } ?? []
            return RPCError(.invalidArgument, e.description, violations: violations)
        case is CancellationError: return RPCError(.cancelled, "the call was cancelled")
        default: return RPCError(.internal, "internal error: \(String(describing: type(of: error)))")
        }
    }
}

/// An error of the domain or a store that knows its wire status (as grpc-swift-2's
/// `RPCErrorConvertible`). Handlers let such errors propagate; `RPCError.from` converts them.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}
