#if canImport(Glibc)
import Glibc
#endif
import Logging
import LVRPC
import Metrics
import NIOConcurrencyHelpers
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

    /// `health` is the server's health status; a service that depends on others (the gateway)
    /// passes one it keeps updating with `HealthStatus.setDependency`. `/readyz` follows it.
    ///
    /// `resources` are what the handlers use (`OwnedResource.database`, `.client`): they start
    /// first and stop last, after the server has drained, so shutdown order is declared here once.
    public static func run(name: String, settings: ServiceSettings, router: Router, resources: [OwnedResource] = [],
                           extraServices: [any Service] = [], health: HealthStatus = HealthStatus()) async throws {
        _ = ProcessMetrics.startTime
        bootstrapLogging(settings)
        let logger = Logger(label: name)
        logger.info("starting", metadata: ["version": "\(BuildInfo.version)", "commit": "\(BuildInfo.gitCommit)",
                                           "build_date": "\(BuildInfo.buildDate)",
                                           "handlers": "\(settings.handlersOnEventLoop ? HandlerPlacement.eventLoop.rawValue : HandlerPlacement.pool.rawValue)"])
        let registry = PrometheusCollectorRegistry()
        let factory = ServiceMetricsFactory(registry: registry)
        factory.registerBuildInfo(service: name)
        MetricsSystem.bootstrap(factory)

        var configuration = RPCServer.Configuration(host: settings.host, port: settings.port, serverName: name, limits: settings.limits,
                                                    maxConcurrentStreams: settings.maxConcurrentStreams, idleTimeout: settings.idleTimeout,
                                                    drainTimeout: settings.drainTimeout)
        configuration.peerLimits = settings.peerLimits
        configuration.handlersOnEventLoop = settings.handlersOnEventLoop
        let security = try ServiceSecurity(name: name, settings: settings, logger: logger)
        security.configure(&configuration)
        defer { security.security.audit?.close() }
        var interceptors: [any ServerInterceptor] = [LoggingInterceptor(), security.security.interceptor]
        if let hold = TestHoldInterceptor.fromEnvironment() {
            logger.warning("test hook on: every call waits for a gate file (\(TestHoldInterceptor.environmentKey)); never set this in production")
            interceptors.append(hold)
        }
        let server = RPCServer(
            configuration: configuration,
            router: router, interceptors: interceptors, logger: logger, health: health, observer: RPCMetrics())
        var services: [any Service] = resources // first to start, last to stop
        var metricsText = "off"
        if let metrics = settings.metrics {
            let m = MetricsServer(host: metrics.host, port: metrics.port, registry: registry, health: health, logger: logger)
            // Bound before anything else starts: a taken port fails start-up, before the ready line.
            try await m.bind()
            if let a = m.localAddress { metricsText = hostPort(a) }
            services.append(m)
        }
        services += extraServices
        services.append(security.reloader)
        services.append(server) // last to start, first to stop
        services.append(StoppingNotifier())
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)

        async let running: Void = group.run()
        // The ready line comes only once every listener is bound; a failed bind ends the process
        // with an error naming the address, and no ready line. Tests and launchers read the real
        // ports from it (port 0 picks free ones).
        let address: SocketAddress
        do {
            address = try await server.localAddress
        } catch {
            throw ListenError(what: "rpc", host: settings.host, port: settings.port, underlying: error)
        }
        print("\(name) ready rpc=\(hostPort(address)) metrics=\(metricsText)")
        fflush(nil)
        SystemdNotify.send("READY=1\nSTATUS=serving on \(hostPort(address))\nMAINPID=\(getpid())")
        try await running
    }

    private static let loggingBootstrapped = NIOLockedValueBox(false)

    /// Sets up logging from the settings (format, level); once per process. `run` calls it;
    /// an executable that makes loggers before `run` (the gateway's backend clients) calls it first.
    public static func bootstrapLogging(_ settings: ServiceSettings) {
        let level = settings.logLevel
        let format = settings.logFormat
        loggingBootstrapped.withLockedValue { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in LVLogHandler(label: label, level: level, format: format) }
        }
    }

    static func hostPort(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        return "\(ip.contains(":") ? "[\(ip)]" : ip):\(address.port ?? 0)"
    }
}

/// Tells systemd "STOPPING=1" as soon as graceful shutdown begins (before the drain).
private struct StoppingNotifier: Service {
    func run() async throws {
        try? await gracefulShutdown()
        SystemdNotify.send("STOPPING=1")
    }
}
