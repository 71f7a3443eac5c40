import LVRPC
import LVStore

/// A database that could not be reached, or a connection lost before a COMMIT's outcome was
/// known: UNAVAILABLE, retryable. Nothing of the batch was acknowledged; the client's retry is
/// deduplicated by its request id or the event key (docs/OPERATIONS.md, failover).
extension DatabaseUnavailableError: RPCErrorConvertible {
    public var rpcError: RPCError {
        RPCError(.unavailable, "the database is unavailable; retry (\(message.prefix(200)))", retryable: true, retryAfterMs: 200)
    }
}
