import NIOConcurrencyHelpers
import Logging
import LVRPC
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// A listener that could not be bound: names what it was for and the address.
public struct ListenError: Error, CustomStringConvertible {
    public let what: String
    public let host: String
    public let port: Int
    public let underlying: any Error
    public var description: String {
        "cannot listen for \(what) on \(host.contains(":") ? "[\(host)]" : host):\(port): \(underlying)"
    }
}

/// Serves over HTTP/1.1: `GET /metrics` in the Prometheus text format; `GET /livez` (and its
/// older name `/healthz`), 200 while the process runs; `GET /readyz`, 200 only when the server
/// can answer correctly (serving, not draining, every dependency serving), else 503 with the
/// dependencies that are not, one a line.
public final class MetricsServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let registry: PrometheusCollectorRegistry
    private let health: HealthStatus
    private let logger: Logger
    private let bound = NIOLockedValueBox<SocketAddress?>(nil)

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, health: HealthStatus = HealthStatus(), logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.health = health
        self.logger = logger
    }

    /// The bound address once `run` has started listening.
    public var localAddress: SocketAddress? { bound.withLockedValue { $0 } }

    private let channel = NIOLockedValueBox<(any Channel)?>(nil)

    /// Binds the listening socket; `ServiceRunner` calls this before printing the ready line, so
    /// a port already taken fails start-up (naming the address) instead of being found later.
    /// `run` binds itself when this was not called.
    public func bind() async throws {
        let registry = self.registry
        let health = self.health
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(MetricsHTTPHandler(registry: registry, health: health))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            throw ListenError(what: "metrics", host: host, port: port, underlying: error)
        }
        bound.withLockedValue { $0 = channel.localAddress }
        self.channel.withLockedValue { $0 = channel }
        logger.info("metrics listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
    }

    public func run() async throws {
        if channel.withLockedValue({ $0 }) == nil { try await bind() }
        try? await gracefulShutdown()
        try? await channel.withLockedValue({ $0 })?.close()
    }
}

private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let health: HealthStatus

    init(registry: PrometheusCollectorRegistry, health: HealthStatus) {
        self.registry = registry
        self.health = health
    }

    /// 200 "ready", or 503 with what is not: the server itself, then each dependency.
    private func readiness() -> (HTTPResponseStatus, [UInt8]) {
        if health.isReady { return (.ok, Array("ready\n".utf8)) }
        var lines = ["not ready", "server \(health.status(of: "").protoName)"]
        for d in health.dependencyStatuses where d.status != .serving {
            lines.append("dependency \(d.name) \(d.status.protoName)\(d.detail.isEmpty ? "" : ": \(d.detail)")")
        }
        return (.serviceUnavailable, Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let (status, body): (HTTPResponseStatus, [UInt8])
        switch (request.method, request.uri) {
        case (.GET, "/metrics"): (status, body) = (.ok, registry.emitToBuffer() + Array(ProcessMetrics.text().utf8))
        case (.GET, "/livez"), (.GET, "/healthz"): (status, body) = (.ok, Array("ok\n".utf8))
        case (.GET, "/readyz"): (status, body) = readiness()
        default: (status, body) = (.notFound, Array("not found; try /metrics, /livez or /readyz\n".utf8))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        // HTTP/1.1 keeps the connection open unless asked not to; HTTP/1.0 closes unless asked to keep it.
        let keepAlive = request.isKeepAlive
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

