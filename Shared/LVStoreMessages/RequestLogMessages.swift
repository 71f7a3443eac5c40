import LVDomain
import LVMessages
import LVStore

extension RequestLog {
    /// `once` for protobuf requests and responses: a reused id is INVALID_ARGUMENT (rule "idempotency").
    public static func once<Response: ProtoMessage>(
        _ c: any StoreConnection, requestID: String, method: String, request: some ProtoMessage, now: Int64,
        perform: () throws -> Response
    ) throws -> (response: Response, replayed: Bool) {
        do {
            let (bytes, replayed) = try once(c, requestID: requestID, method: method, request: try request.serializedBytes(), now: now) {
                try perform().serializedBytes()
            }
            return (try Response(serializedBytes: bytes), replayed)
        } catch let reused as Reused {
            throw DomainError.invalidArgument(field: "request_id", rule: "idempotency",
                "request id '\(reused.requestID)' was already used for a different \(reused.method) request")
        }
    }
}
