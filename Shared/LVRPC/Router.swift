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

/// A request as interceptors and handlers see it, typed by its message (grpc-swift-2's
/// `ServerRequest<Message>`). A request that came off the wire keeps its bytes and is decoded when
/// `message` is first read — by the handler at the end of the chain, under the request decode
/// budget — so an interceptor that refuses a call (authentication, limits) refuses it before any
/// byte is decoded, and a malformed request fails inside the chain (INVALID_ARGUMENT naming the
/// field), where every interceptor sees that status. An interceptor may pass on a different
/// message with `ServerRequest(message:)`.
public struct ServerRequest<Message: ProtoMessage>: Sendable {
    private enum Body: Sendable {
        case encoded(ByteBuffer)
        case decoded(Message)
    }

    private let body: Body

    /// A request of bytes as received, decoded when `message` is read.
    public init(payload: ByteBuffer) { body = .encoded(payload) }

    /// A request of a message (an interceptor's replacement, or a test's).
    public init(message: Message) { body = .decoded(message) }

    /// The request message; decoding the payload throws INVALID_ARGUMENT naming the broken field.
    /// Each read of an undecoded request decodes again: read it once and pass the value on.
    public var message: Message {
        get throws {
            switch body {
            case .decoded(let message): return message
            case .encoded(let payload):
                do {
                    return try payload.readMessage(Message.self, budget: .requests)
                } catch {
                    throw RPCError.from(error)
                }
            }
        }
    }

    /// The request's bytes: as received (never decoded here), or the replacement message encoded.
    public var payload: ByteBuffer {
        get throws {
            switch body {
            case .encoded(let payload): return payload
            case .decoded(let message):
                var buffer = ByteBuffer()
                try buffer.writeMessage(message)
                return buffer
            }
        }
    }
}

/// A handler's answer as interceptors see it, typed (grpc-swift-2's `ServerResponse<Message>`).
public struct ServerResponse<Message: ProtoMessage>: Sendable {
    public var message: Message
    public init(message: Message) { self.message = message }
}

/// Runs around every call, typed like grpc-swift-2's `ServerInterceptor`: generic over the method's
/// input and output, with its descriptor (`context.method`) and the call's context. Logging,
/// authentication and limits, the audit. Reject a call by throwing (`RPCError`, or an error that is
/// `RPCErrorConvertible`); pass it on with `next`, with the request as it came or another one.
public protocol ServerInterceptor: Sendable {
    func intercept<Input: ProtoMessage, Output: ProtoMessage>(
        request: ServerRequest<Input>, context: ServerContext,
        next: @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) async throws -> ServerResponse<Output>
}

/// Method name -> handler. Decoding the request and typing the response happen here, so the
/// connection only ever sees bytes in and a message out.
public struct Router: Sendable {
    /// A route as the connection runs it: the request's bytes in, the response message out.
    public typealias Handler = @Sendable (ByteBuffer, ServerContext) async throws -> any ProtoMessage

    public struct Route: Sendable {
        public let descriptor: MethodDescriptor
        /// The handler without interceptors (the fuzzers and tests call it directly).
        public let handler: Handler
        /// The handler inside a chain of interceptors, typed by the method's input and output.
        let intercepted: @Sendable ([any ServerInterceptor]) -> Handler
    }

    public private(set) var routes: [String: Route] = [:]

    public init() {}

    /// Adds a method in grpc-swift-2's shape: the handler gets the typed request (decoded when it
    /// reads `request.message`; failure: INVALID_ARGUMENT) and returns a typed response. The
    /// generated `register(into:)` uses this.
    public mutating func registerHandler<Input: ProtoMessage, Output: ProtoMessage>(
        forMethod descriptor: MethodDescriptor,
        handler: @escaping @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) {
        precondition(routes[descriptor.fullName] == nil, "\(descriptor.fullName) registered twice")
        routes[descriptor.fullName] = Route(descriptor: descriptor, handler: Self.erased(handler)) { interceptors in
            let chained = interceptors.reversed().reduce(handler) { next, interceptor in
                { request, context in try await interceptor.intercept(request: request, context: context, next: next) }
            }
            return Self.erased(chained)
        }
    }

    /// Adds a method whose handler takes the decoded request message and returns the response message.
    public mutating func register<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        registerHandler(forMethod: descriptor) { (request: ServerRequest<Request>, context) in
            ServerResponse(message: try await handler(try request.message, context))
        }
    }

    private static func erased<Input: ProtoMessage, Output: ProtoMessage>(
        _ handler: @escaping @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) -> Handler {
        { payload, context in try await handler(ServerRequest(payload: payload), context).message }
    }

    /// Every route with its handler wrapped in `interceptors` (the first runs outermost).
    func intercepted(by interceptors: [any ServerInterceptor]) -> [String: (descriptor: MethodDescriptor, handler: Handler)] {
        routes.mapValues { route in (route.descriptor, route.intercepted(interceptors)) }
    }

    /// Services and their methods, sorted, as reflection reports them.
    public var services: [String: [MethodDescriptor]] {
        Dictionary(grouping: routes.values.map(\.descriptor), by: \.service)
            .mapValues { $0.sorted { $0.method < $1.method } }
    }
}
