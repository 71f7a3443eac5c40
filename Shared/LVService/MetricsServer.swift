import NIOConcurrencyHelpers
import Logging
import LVRPC
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

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

    public func run() async throws {
        let registry = self.registry
        let health = self.health
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(MetricsHTTPHandler(registry: registry, health: health))
                }
            }
            .bind(host: host, port: port).get()
        bound.withLockedValue { $0 = channel.localAddress }
        logger.info("metrics listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        try? await gracefulShutdown()
        try? await channel.close()
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
        case (.GET, "/metrics"): (status, body) = (.ok, registry.emitToBuffer())
        case (.GET, "/livez"), (.GET, "/healthz"): (status, body) = (.ok, Array("ok\n".utf8))
        case (.GET, "/readyz"): (status, body) = readiness()
        default: (status, body) = (.notFound, Array("not found; try /metrics, /livez or /readyz\n".utf8))
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

