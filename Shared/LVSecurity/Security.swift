#if canImport(Glibc)
import Glibc
#endif
import Logging
import LVJSON
import LVMessages
import LVRPC
import NIOCore

/// A server's security: the keys it accepts (nil = none configured: every connection is anonymous
/// and every method allowed, the loopback default), per-key limits, failed-HELLO limits per
/// address, and the audit log. `authenticator` goes into `RPCServer.Configuration`, `interceptor`
/// into its interceptors (after logging, so refusals are logged with their code).
public final class ServerSecurity: Sendable {
    public let keys: KeyStore?
    public let audit: AuditLog?
    public let serviceName: String
    let limiter = KeyLimiter()
    public let failures: FailureLimiter

    public init(serviceName: String, keys: KeyStore?, audit: AuditLog?, failures: FailureLimiter = FailureLimiter()) {
        self.serviceName = serviceName
        self.keys = keys
        self.audit = audit
        self.failures = failures
    }

    /// Checks HELLO credentials: no credential = anonymous (health and reflection only);
    /// a malformed, unknown, wrong or expired key closes the connection UNAUTHENTICATED and counts
    /// as a failure of the peer's address; past the failure limit, RESOURCE_EXHAUSTED.
    public var authenticator: Authenticator? {
        guard let keys else { return nil }
        let failures = self.failures
        return { credential, host in
            if let wait = failures.blocked(host) {
                return .failure(RPCError(.resourceExhausted, "too many failed credentials from this address; retry later",
                                         retryable: false, retryAfterMs: UInt32(clamping: wait)))
            }
            if credential.isEmpty { return .success(nil) }
            switch keys.check(credential) {
            case .valid(let entry):
                return .success(entry.principal)
            case .malformed, .unknown, .wrongSecret:
                failures.failed(host)
                return .failure(RPCError(.unauthenticated, "the credential is not a valid API key for this server"))
            case .expired:
                failures.failed(host)
                return .failure(RPCError(.unauthenticated, "the API key has expired"))
            }
        }
    }

    public var interceptor: any ServerInterceptor { SecurityInterceptor(security: self) }
}

/// Per call: the method's scope (deny by default), the key still valid, its limits; then the
/// audit record, on disk before the answer goes out.
struct SecurityInterceptor: ServerInterceptor {
    let security: ServerSecurity

    func intercept<Input: ProtoMessage, Output: ProtoMessage>(
        request: ServerRequest<Input>, context: ServerContext,
        next: @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) async throws -> ServerResponse<Output> {
        let method = context.method.fullName
        let policy = MethodPolicies.policy(for: method)
        var entry: KeyEntry?
        if let keys = security.keys {
            guard let policy else {
                throw RPCError(.permissionDenied, "\(method) is not in the method scope table; every caller is denied (deny by default)")
            }
            if let scope = policy.scope {
                guard let principal = context.principal else {
                    try await record(policy, request, context, outcome: "UNAUTHENTICATED")
                    throw RPCError(.unauthenticated, "\(method) needs scope '\(scope.rawValue)': present an API key in HELLO")
                }
                guard let current = keys.current(id: principal.keyID) else {
                    try await record(policy, request, context, outcome: "UNAUTHENTICATED")
                    throw RPCError(.unauthenticated, "the API key '\(principal.name)' was revoked or has expired")
                }
                guard current.scopes.contains(scope) else {
                    try await record(policy, request, context, outcome: "PERMISSION_DENIED")
                    throw RPCError(.permissionDenied,
                                   "\(method) needs scope '\(scope.rawValue)'; key '\(current.name)' (roles \(current.roles.map(\.rawValue).joined(separator: ","))) does not have it")
                }
                switch security.limiter.begin(current) {
                case .admitted: entry = current
                case .overRate(let wait):
                    throw RPCError(.resourceExhausted, "key '\(current.name)' is over its rate of \(current.rate) calls/s",
                                   retryable: true, retryAfterMs: UInt32(clamping: wait))
                case .overConcurrency(let limit):
                    throw RPCError(.resourceExhausted, "key '\(current.name)' already has \(limit) calls in flight",
                                   retryable: true, retryAfterMs: 50)
                }
            }
        }
        defer { if let entry { security.limiter.finish(entry) } }
        guard let policy, policy.audit != .none, security.audit != nil else {
            return try await next(request, context)
        }
        do {
            let response = try await next(request, context)
            try await record(policy, request, context, outcome: "OK")
            return response
        } catch {
            try await record(policy, request, context, outcome: RPCError.from(error).code.protoName)
            throw error
        }
    }

    /// Appends the call's audit record when the method is audited; a failure to write it fails the call.
    private func record<Input: ProtoMessage>(_ policy: MethodPolicy, _ request: ServerRequest<Input>, _ context: ServerContext, outcome: String) async throws {
        guard policy.audit != .none, let audit = security.audit else { return }
        // The subjects from the bytes by the descriptor, never by decoding: the call may not be authorized,
        // or its request may be malformed (then it is recorded with what can be read).
        let subjects = AuditSubjects.extract((try? request.payload) ?? ByteBuffer(), descriptor: policy.request)
        let p = context.principal
        var fields = "\"ts_ms\":\(Self.nowMillis()),\"service\":\(JSONValue.quoted(security.serviceName))"
        fields += ",\"key\":\(JSONValue.quoted(p?.name ?? "")),\"key_id\":\(JSONValue.quoted(p?.keyID ?? ""))"
        fields += ",\"roles\":[\((p?.roles ?? []).map(JSONValue.quoted).joined(separator: ","))]"
        fields += ",\"peer\":\(JSONValue.quoted(context.peer)),\"method\":\(JSONValue.quoted(policy.method))"
        fields += ",\"kind\":\"\(policy.audit.rawValue)\",\"request_id\":\(JSONValue.quoted(context.requestID))"
        fields += ",\"activity\":\(JSONValue.quoted(subjects.activity)),\"npis\":[\(subjects.npis.map(JSONValue.quoted).joined(separator: ","))]"
        fields += ",\"npi_count\":\(subjects.npiCount),\"outcome\":\(JSONValue.quoted(outcome))"
        do {
            try await audit.append(fields: fields)
        } catch {
            context.logger.error("audit record not written; call failed", metadata: ["error": "\(error)"])
            throw RPCError(.internal, "the call could not be audited")
        }
    }

    static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
