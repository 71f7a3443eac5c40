import Logging
import LVMessages
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A TCP server speaking docs/PROTOCOL.md, run as a swift-service-lifecycle `Service`:
/// on graceful shutdown (SIGTERM/SIGINT through `ServiceGroup`, or `shutdown()`) it stops
/// accepting, sends GOAWAY on every connection, lets calls in flight finish, then returns.
public final class RPCServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Sent in HELLO_ACK and used as the request-id prefix.
        public var serverName: String
        public var limits: FrameLimits
        public var maxConcurrentStreams: Int
        /// Close connections with nothing in flight after this long without a frame; nil = never.
        public var idleTimeout: TimeAmount?
        /// How long shutdown waits for calls in flight before closing connections anyway.
        public var drainTimeout: TimeAmount
        /// Returns nil to accept a HELLO credential, or the reason to refuse it (UNAUTHENTICATED).
        public var credentialCheck: (@Sendable (String) -> String?)?

        public init(host: String = "127.0.0.1", port: Int, serverName: String,
                    limits: FrameLimits = FrameLimits(), maxConcurrentStreams: Int = 256,
                    idleTimeout: TimeAmount? = .seconds(300), drainTimeout: TimeAmount = .seconds(30),
                    credentialCheck: (@Sendable (String) -> String?)? = nil) {
            self.host = host
            self.port = port
            self.serverName = serverName
            self.limits = limits
            self.maxConcurrentStreams = maxConcurrentStreams
            self.idleTimeout = idleTimeout
            self.drainTimeout = drainTimeout
            self.credentialCheck = credentialCheck
        }
    }

    public let configuration: Configuration
    public let health: HealthStatus
    private let router: Router
    private let interceptors: [any ServerInterceptor]
    private let observer: (any CallObserver)?
    private let logger: Logger
    private let group: any EventLoopGroup
    private let registry = ConnectionRegistry()
    private let bound = Signal<SocketAddress>()
    private let shutdownRequested = Signal<Void>()

    public init(configuration: Configuration, router: Router, interceptors: [any ServerInterceptor] = [],
                logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                health: HealthStatus = HealthStatus(), observer: (any CallObserver)? = nil) {
        self.health = health
        self.observer = observer
        var router = router
        BuiltinServices.register(into: &router, health: health)
        self.configuration = configuration
        self.router = router
        self.interceptors = interceptors
        self.logger = logger
        self.group = group
        health.set("", .serving)
        for service in router.services.keys { health.set(service, .serving) }
    }

    /// The address the server listens on, once bound (with port 0, the port the OS chose).
    public var localAddress: SocketAddress {
        get async throws { try await bound.wait() }
    }

    /// Every service and method this server answers, Health and Reflection included.
    public var services: [String: [MethodDescriptor]] { router.services }

    /// Starts a graceful shutdown, as SIGTERM would.
    public func shutdown() { shutdownRequested.fire(()) }

    public func run() async throws {
        let configuration = self.configuration
        let routes = router.intercepted(by: interceptors)
        let registry = self.registry
        let logger = self.logger
        let connectionConfiguration = ServerConnectionHandler.Configuration(
            serverName: configuration.serverName, limits: configuration.limits,
            maxConcurrentStreams: configuration.maxConcurrentStreams, idleTimeout: configuration.idleTimeout,
            credentialCheck: configuration.credentialCheck, observer: observer)

        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        let limits = FrameLimitsBox(configuration.limits)
                        try child.pipeline.syncOperations.addHandler(FlushCoalescingHandler())
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limits: limits)))
                        try child.pipeline.syncOperations.addHandler(ServerConnectionHandler(
                            configuration: connectionConfiguration, routes: routes, limits: limits, registry: registry, logger: logger))
                    }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            bound.fail(error)
            throw error
        }
        let address = channel.localAddress!
        logger.info("listening", metadata: ["address": "\(address)", "server": "\(configuration.serverName)"])
        bound.fire(address)

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await shutdownRequested.wait()
            } onCancel: {
                self.shutdownRequested.fire(())
            }
        } onGracefulShutdown: {
            self.shutdownRequested.fire(())
        }

        logger.info("draining", metadata: ["connections": "\(registry.count)"])
        health.setAll(.notServing)
        try? await channel.close()
        await registry.drainAll(timeout: configuration.drainTimeout)
        logger.info("stopped")
    }
}

/// A value that arrives once; everyone waiting for it, before or after, gets it.
final class Signal<Value: Sendable>: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Value, any Error>])
        case done(Result<Value, any Error>)
    }

    private let state = NIOLockedValueBox(State.waiting([]))

    func fire(_ value: Value) { complete(.success(value)) }
    func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ result: Result<Value, any Error>) {
        let waiters: [CheckedContinuation<Value, any Error>] = state.withLockedValue { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = .done(result)
            return waiters
        }
        for w in waiters { w.resume(with: result) }
    }

    func wait() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<Value, any Error>? = state.withLockedValue { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .done(let result):
                    return result
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
