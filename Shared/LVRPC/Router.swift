import Logging
import LVMessages
import NIOCore

/// What a handler knows about the call it serves.
///
/// The connection builds one per call, so the request id it makes up and the logger tagged with
/// the method and request id are built only when read (`requestID`, `logger`): a call that never
/// logs pays for neither.
public struct ServerContext: Sendable {
    public let method: MethodDescriptor
    /// Request metadata (lowercase keys), as sent by the caller.
    public let metadata: [String: String]
    /// The W3C traceparent sent by the caller, or empty.
    public let traceparent: String
    /// When the caller stops waiting; nil without a deadline. Pass `remainingTimeout` downstream.
    public let deadline: NIODeadline?
    /// The peer's address, for logs.
    public let peer: String
    /// Who the connection authenticated as (HELLO credential), or nil without one.
    public let principal: Principal?

    private enum RequestID: Sendable {
        case given(String)
        /// "<prefix>-<counter>", made up by the connection.
        case generated(prefix: String, counter: UInt64)
    }

    private let id: RequestID
    private let baseLogger: Logger
    /// Whether `baseLogger` still needs the method and request id (false when the caller passed a finished logger).
    private let tagLogger: Bool

    public init(method: MethodDescriptor, metadata: [String: String] = [:], traceparent: String = "",
                deadline: NIODeadline? = nil, requestID: String, logger: Logger, peer: String = "",
                principal: Principal? = nil) {
        self.principal = principal
        self.method = method
        self.metadata = metadata
        self.traceparent = traceparent
        self.deadline = deadline
        self.id = .given(requestID)
        self.baseLogger = logger
        self.tagLogger = false
        self.peer = peer
    }

    /// The connection's context: the request id is the caller's, or `prefix-counter`; the logger is
    /// `connectionLogger` tagged with the method and request id when first read.
    init(method: MethodDescriptor, metadata: [String: String], traceparent: String, deadline: NIODeadline?,
         givenRequestID: String?, generatedPrefix: String, counter: UInt64, connectionLogger: Logger, peer: String,
         principal: Principal?) {
        self.principal = principal
        self.method = method
        self.metadata = metadata
        self.traceparent = traceparent
        self.deadline = deadline
        self.id = givenRequestID.map { .given($0) } ?? .generated(prefix: generatedPrefix, counter: counter)
        self.baseLogger = connectionLogger
        self.tagLogger = true
        self.peer = peer
    }

    /// The caller's id for this call (metadata "x-request-id"), or one the server made up.
    public var requestID: String {
        switch id {
        case .given(let id): return id
        case .generated(let prefix, let counter): return "\(prefix)-\(counter)"
        }
    }

    /// A logger tagged with the method and request id.
    public var logger: Logger {
        guard tagLogger else { return baseLogger }
        var logger = baseLogger
        logger[metadataKey: "method"] = "\(method.fullName)"
        logger[metadataKey: "request-id"] = "\(requestID)"
        return logger
    }

    /// Whether `logger` writes messages of `level`, known without building it.
    public func logs(at level: Logger.Level) -> Bool { baseLogger.logLevel <= level }

    /// Time left before the deadline (never negative), for the timeout of downstream calls.
    public var remainingTimeout: TimeAmount? {
        deadline.map { max(.zero, $0 - .now()) }
    }
}

/// The raw request as interceptors see it: the undecoded payload and the call's context.
public struct ServerRequest: Sendable {
    public var payload: ByteBuffer
    public init(payload: ByteBuffer) { self.payload = payload }
}

/// Runs around every call: logging, metrics, authentication. Reject a call by throwing `RPCError`.
public protocol ServerInterceptor: Sendable {
    func intercept(
        _ request: ServerRequest, context: ServerContext,
        next: @Sendable (ServerRequest, ServerContext) async throws -> any ProtoMessage
    ) async throws -> any ProtoMessage
}

/// Method name -> handler. Decoding the request and typing the response happen here, so the
/// connection only ever sees bytes in and a message out.
public struct Router: Sendable {
    public typealias Handler = @Sendable (ServerRequest, ServerContext) async throws -> any ProtoMessage

    public struct Route: Sendable {
        public let descriptor: MethodDescriptor
        public let handler: Handler
    }

    public private(set) var routes: [String: Route] = [:]

    public init() {}

    /// Adds a method; its request bytes are decoded (failure: INVALID_ARGUMENT) before `handler` runs.
    public mutating func register<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        precondition(routes[descriptor.fullName] == nil, "\(descriptor.fullName) registered twice")
        routes[descriptor.fullName] = Route(descriptor: descriptor) { request, context in
            let decoded: Request
            do {
                decoded = try request.payload.readMessage(Request.self, budget: .requests)
            } catch {
                throw RPCError.from(error)
            }
            return try await handler(decoded, context)
        }
    }

    /// Every route with its handler wrapped in `interceptors` (the first runs outermost).
    func intercepted(by interceptors: [any ServerInterceptor]) -> [String: (descriptor: MethodDescriptor, handler: Handler)] {
        routes.mapValues { route in
            let chained = interceptors.reversed().reduce(route.handler) { next, interceptor in
                { request, context in try await interceptor.intercept(request, context: context, next: next) }
            }
            return (route.descriptor, chained)
        }
    }

    /// Services and their methods, sorted, as reflection reports them.
    public var services: [String: [MethodDescriptor]] {
        Dictionary(grouping: routes.values.map(\.descriptor), by: \.service)
            .mapValues { $0.sorted { $0.method < $1.method } }
    }
}
