#if canImport(Glibc)
import Glibc
#endif
import Logging
import LVRPC
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Starts one service executable: logging, metrics, the RPC server with the standard
/// interceptors, and graceful shutdown on SIGTERM/SIGINT. Returns when the server has drained.
public enum ServiceRunner {
    /// Opens a store (SQLite open and migrations block) on NIO's blocking thread pool, so no
    /// SQLite work runs on the Swift cooperative pool even at start-up.
    public static func openStore<Store: Sendable>(_ open: @escaping @Sendable () throws -> Store) async throws -> Store {
        try await NIOThreadPool.singleton.runIfActive(open)
    }

    public static func run(name: String, settings: ServiceSettings, router: Router,
                           extraServices: [any Service] = []) async throws {
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: name)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        var configuration = RPCServer.Configuration(host: settings.host, port: settings.port, serverName: name, limits: settings.limits,
                                                    maxConcurrentStreams: settings.maxConcurrentStreams, idleTimeout: settings.idleTimeout,
                                                    drainTimeout: settings.drainTimeout)
        configuration.peerLimits = settings.peerLimits
        let server = RPCServer(
            configuration: configuration,
            router: router, interceptors: [LoggingInterceptor(), MetricsInterceptor()], logger: logger)
        var services: [any Service] = []
        var metricsServer: MetricsServer?
        if let metrics = settings.metrics {
            let m = MetricsServer(host: metrics.host, port: metrics.port, registry: registry, logger: logger)
            metricsServer = m
            services.append(m)
        }
        services += extraServices
        services.append(server) // last to start, first to stop
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        async let running: Void = group.run()
        // The ready line: tests and launchers read the real ports from it (port 0 picks free ones).
        let address = try await server.localAddress
        var metricsText = "off"
        if metricsServer != nil {
            for _ in 0..<500 {
                if let a = metricsServer?.localAddress { metricsText = "\(a.ipAddress ?? "?"):\(a.port ?? 0)"; break }
                try await Task.sleep(nanoseconds: 2_000_000)
            }
        }
        print("\(name) ready rpc=\(address.ipAddress ?? "?"):\(address.port ?? 0) metrics=\(metricsText)")
        fflush(nil)
        try await running
    }
}

