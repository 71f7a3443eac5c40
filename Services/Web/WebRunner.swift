#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import LVRPC
import LVService
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// Starts lv-web like the other executables: logging from the settings, the Prometheus
/// endpoint (with /healthz and /readyz), the HTTP server, the ready line and systemd
/// notification once both listeners are bound, graceful shutdown on SIGTERM/SIGINT.
public enum WebRunner {
    public static func run(settings: ServiceSettings, configuration: WebConfiguration) async throws {
        ServiceRunner.bootstrapLogging(settings)
        let logger = Logger(label: "lv-web")
        logger.info("starting", metadata: ["version": "\(BuildInfo.version)", "commit": "\(BuildInfo.gitCommit)"])
        let registry = PrometheusCollectorRegistry()
        let factory = ServiceMetricsFactory(registry: registry)
        factory.registerBuildInfo(service: "lv-web")
        MetricsSystem.bootstrap(factory)

        var services: [any Service] = []
        var metricsText = "off"
        // /readyz follows lv-gateway's health: without the gateway lv-web can show nothing.
        let health = HealthStatus()
        health.setDependency("lv-gateway", .notServing, detail: "not checked yet")
        var monitorClient = RPCClient.Configuration(host: configuration.gatewayHost, port: configuration.gatewayPort, clientName: "lv-web-health",
                                                    connectTimeout: .seconds(2))
        monitorClient.logger = logger
        let monitor = GatewayMonitor(client: RPCClient(configuration: monitorClient), health: health, interval: .seconds(2))
        if let metrics = settings.metrics {
            let m = MetricsServer(host: metrics.host, port: metrics.port, registry: registry, health: health, logger: logger)
            try await m.bind()
            if let a = m.localAddress { metricsText = "\(a.ipAddress ?? "?"):\(a.port ?? 0)" }
            services.append(m)
        }
        let web = WebApp(configuration: configuration, logger: logger)
        let metricsLine = metricsText
        let app = Application(
            router: web.router(),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                health.set("", .serving)
                let a = channel.localAddress
                let ip = a?.ipAddress ?? "?"
                print("lv-web ready http=\(ip.contains(":") ? "[\(ip)]" : ip):\(a?.port ?? 0) metrics=\(metricsLine)")
                fflush(nil)
                _ = SystemdNotify.send("READY=1\nSTATUS=serving on \(ip):\(a?.port ?? 0)\nMAINPID=\(getpid())")
            },
            logger: logger)
        services.append(monitor)
        services.append(app)
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        _ = SystemdNotify.send("STOPPING=1")
        await web.close()
    }
}
