import LVRPC

/// The status a caller would get on the wire from `body`, nil when it succeeded: a handler called
/// directly throws domain errors, which the router converts with `RPCError.from`, as this does.
public func wireError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch {
        return RPCError.from(error)
    }
}
