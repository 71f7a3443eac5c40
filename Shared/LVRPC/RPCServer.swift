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
        /// Per-peer bounds (docs/PROTOCOL.md §5.2); every one a flag of the service executables.
        public var peerLimits = PeerLimits()
        /// Checks HELLO credentials and gives each connection its principal (handlers see it in
        /// `ServerContext.principal`); nil accepts every connection without one (loopback default).
        public var authenticator: Authenticator?
        /// Puts handlers (TLS) under the protocol on every accepted connection.
        public var channelSetup: ServerChannelSetup?
        /// Where handlers run. true (the default): on their connection's event loop, started inside
        /// the read that brought the REQUEST, so a call costs no thread switch (docs/BENCHMARKS.md);
        /// a handler's CPU work then delays that loop's other connections while it runs. false: each call is a task on the Swift cooperative pool, its result sent
        /// back to the loop — for servers whose handlers compute for long stretches.
        public var handlersOnEventLoop = true

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

    /// The address part of a peer (connections are limited per host, not per port).
    static func host(of address: SocketAddress?) -> String {
        address?.ipAddress ?? "?"
    }

    /// Starts a graceful shutdown, as SIGTERM would.
    public func shutdown() { shutdownRequested.fire(()) }

    public func run() async throws {
        let configuration = self.configuration
        let routes = router.intercepted(by: interceptors)
        let registry = self.registry
        let logger = self.logger
        let peerLimits = configuration.peerLimits
        let budget = BodyBudget(capacity: peerLimits.maxBufferedBodyBytes)
        let connectionConfiguration = ServerConnectionHandler.Configuration(
            serverName: configuration.serverName,
            maxConcurrentStreams: configuration.maxConcurrentStreams, idleTimeout: configuration.idleTimeout,
            credentialCheck: configuration.credentialCheck, authenticator: configuration.authenticator, observer: observer,
            helloTimeout: peerLimits.helloTimeout, bodyTimeout: peerLimits.bodyTimeout,
            pingsPerSecond: peerLimits.pingsPerSecond, pingBurst: peerLimits.pingBurst, budget: budget,
            returnMemory: peerLimits.returnMemory, handlersOnEventLoop: configuration.handlersOnEventLoop)
        let admission = ConnectionAdmission(total: peerLimits.maxConnections, perPeer: peerLimits.maxConnectionsPerPeer)
        MemoryReturn.limitArenas(peerLimits.mallocArenaMax)

        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 16)
                .childChannelOption(.writeBufferWaterMark,
                                    value: .init(low: peerLimits.writeBufferHighWater / 2, high: peerLimits.writeBufferHighWater))
                .childChannelInitializer { child in
                    child.eventLoop.makeCompletedFuture {
                        let host = Self.host(of: child.remoteAddress)
                        guard admission.admit(host) else {
                            // Over the connection limits: GOAWAY RESOURCE_EXHAUSTED (retryable), then close.
                            try child.pipeline.syncOperations.addHandler(RefuseConnectionHandler())
                            return
                        }
                        child.closeFuture.whenComplete { _ in admission.release(host) }
                        try configuration.channelSetup?(child)
                        let limits = FrameLimitsBox(configuration.limits)
                        try child.pipeline.syncOperations.addHandler(ReadWhenWritableHandler())
                        try child.pipeline.syncOperations.addHandler(FlushCoalescingHandler())
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limits: limits, budget: budget)))
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

/// Per-peer and per-server bounds on what clients can make a server hold (docs/PROTOCOL.md §5.2).
public struct PeerLimits: Sendable {
    /// Open connections in total, and from one IP address; beyond, a new connection gets GOAWAY RESOURCE_EXHAUSTED.
    public var maxConnections = 1024
    public var maxConnectionsPerPeer = 256
    /// A connection must send HELLO within this long.
    public var helloTimeout: TimeAmount? = .seconds(5)
    /// A frame's body must arrive within this long of its header.
    public var bodyTimeout: TimeAmount? = .seconds(30)
    /// Bytes of large (≥ 64 KiB) request bodies held at once over all connections, arriving or in flight;
    /// beyond, a large REQUEST is skipped and refused RESOURCE_EXHAUSTED (retryable).
    public var maxBufferedBodyBytes = 64 * 1024 * 1024
    /// Stop reading a connection while more than this many response bytes wait to be sent to it.
    public var writeBufferHighWater = 256 * 1024
    /// PINGs per second per connection, bursts up to `pingBurst`; beyond, GOAWAY RESOURCE_EXHAUSTED.
    public var pingsPerSecond: Double = 10
    public var pingBurst: Double = 50
    /// glibc malloc arenas, set process-wide when the server starts (0 = leave glibc's default of 8 per core;
    /// the service executables pass 2, `--malloc-arena-max`).
    public var mallocArenaMax = 0
    /// Return freed heap to the OS (`malloc_trim`) after large requests and closed connections that held them.
    /// Process-wide and briefly stalls other threads' allocations, so off in the library; the executables turn it on.
    public var returnMemory = false

    public init() {}
}

/// Counts open connections, in total and per host.
final class ConnectionAdmission: Sendable {
    private let state = NIOLockedValueBox<(total: Int, perHost: [String: Int])>((0, [:]))
    let total: Int
    let perPeer: Int

    init(total: Int, perPeer: Int) {
        self.total = total
        self.perPeer = perPeer
    }

    func admit(_ host: String) -> Bool {
        state.withLockedValue { s in
            guard s.total < total, s.perHost[host, default: 0] < perPeer else { return false }
            s.total += 1
            s.perHost[host, default: 0] += 1
            return true
        }
    }

    func release(_ host: String) {
        state.withLockedValue { s in
            s.total -= 1
            let n = s.perHost[host, default: 1] - 1
            s.perHost[host] = n > 0 ? n : nil
        }
    }
}

/// Backpressure: holds the channel's `read()` while its outbound buffer is above the high-water mark
/// (NIO's writability), and lets it through once the peer has read enough for the channel to become
/// writable again. A client that sends and never reads is simply not read from.
final class ReadWhenWritableHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    private var pendingRead = false

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && pendingRead {
            pendingRead = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }
}

/// The whole pipeline of a refused connection: GOAWAY RESOURCE_EXHAUSTED, then close.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        var goAway = Lv_Rpc_V1_GoAway()
        goAway.status = RPCError(.resourceExhausted, "too many connections; retry later", retryable: true, retryAfterMs: 1000).status
        let channel = context.channel
        // Built from constants; were it ever to fail to encode, the connection is still closed.
        guard let frame = try? FrameWriter.frame(.goAway, streamID: 0, payload: goAway) else {
            return channel.close(promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
