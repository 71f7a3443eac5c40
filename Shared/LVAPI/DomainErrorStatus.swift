import LVDomain
import LVRPC

/// The wire status of each kind of domain refusal; `RPCError.from` applies it at the handler boundary.
extension DomainError: RPCErrorConvertible {
    public var rpcError: RPCError {
        let code: StatusCode = switch kind {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        }
        return RPCError(code, message, violations: violations)
    }
}
