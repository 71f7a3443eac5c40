import ArgumentParser
import NIOCore
import Gateway
import LVRPC
import LVService
import Logging
import LVTLS

/// `lv-gateway`: the unified learning-validation view.
@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-gateway",
        abstract: "Learning Validation Gateway service: the unified learning-validation view.",
        discussion: "Reads lv-registration, lv-engagement and lv-assessment over the protocol, concurrently and within each caller's deadline. Serves lv.health.v1.Health and lv.reflection.v1.Reflection too. Prints 'lv-gateway ready rpc=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT drains calls in flight and exits 0.",
        version: BuildInfo.versionLine("lv-gateway"))

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("registration-addr"), help: "lv-registration HOST:PORT (env LV_REGISTRATION_ADDR; default \(DefaultPorts.loopback(DefaultPorts.registration))).")
    var registration: String?
    @Option(name: .customLong("engagement-addr"), help: "lv-engagement HOST:PORT (env LV_ENGAGEMENT_ADDR; default \(DefaultPorts.loopback(DefaultPorts.engagement))).")
    var engagement: String?
    @Option(name: .customLong("assessment-addr"), help: "lv-assessment HOST:PORT (env LV_ASSESSMENT_ADDR; default \(DefaultPorts.loopback(DefaultPorts.assessment))).")
    var assessment: String?
    @Option(name: .customLong("backend-connections"), help: "Pooled connections to each backend (env LV_BACKEND_CONNECTIONS; default 2).")
    var connectionsFlag: Int?
    @Option(name: .customLong("health-interval"), help: "Seconds between checks of each backend's health, each check bounded by the same time (default 1).")
    var healthInterval = 1.0

    @Option(name: .customLong("backend-credential-file"), help: "A file holding the gateway's own API key (role analyst), presented to every backend (env LV_BACKEND_CREDENTIAL_FILE).")
    var backendCredentialFile: String?
    @Option(name: .customLong("backend-ca"), help: "Connect to the backends with TLS, trusting this CA, PEM (env LV_BACKEND_CA).")
    var backendCA: String?
    @Option(name: .customLong("backend-cert"), help: "The gateway's client certificate for backends that require one (mTLS), PEM (env LV_BACKEND_CERT).")
    var backendCert: String?
    @Option(name: .customLong("backend-cert-key"), help: "The private key of --backend-cert, PEM (env LV_BACKEND_CERT_KEY).")
    var backendCertKey: String?

    static let fileKeys: Set<String> = ["registration-addr", "engagement-addr", "assessment-addr", "backend-connections",
                                        "backend-credential-file", "backend-ca", "backend-cert", "backend-cert-key"]

    /// The gateway's own key and TLS toward the backends (never the caller's key: the gateway is the principal there).
    func backendSecurity(_ settings: ServiceSettings) throws -> ClientSecurity {
        func value(_ flag: String?, _ key: String) -> String? { ServiceOptions.value(flag, key: key, file: settings.configFile) }
        let credential = try value(backendCredentialFile, "backend-credential-file").map { try ClientSecurity.readCredential(path: $0) } ?? ""
        return ClientSecurity(credential: credential, ca: value(backendCA, "backend-ca"),
                              certificate: value(backendCert, "backend-cert"), key: value(backendCertKey, "backend-cert-key"))
    }

    func client(_ flag: String?, key: String, default value: String, settings: ServiceSettings) throws -> RPCClient {
        var c = try RPCClient.Configuration(address: ServiceOptions.value(flag, key: key, file: settings.configFile) ?? value)
        let connectionsText = ServiceOptions.value(connectionsFlag.map { "\($0)" }, key: "backend-connections", file: settings.configFile) ?? "2"
        guard let connections = Int(connectionsText) else {
            throw ValidationError("backend-connections: '\(connectionsText)' is not an integer")
        }
        c.connections = max(1, connections)
        c.clientName = "lv-gateway"
        c.logger = Logger(label: "lv-gateway")
        c.connectTimeout = .seconds(2)
        try backendSecurity(settings).apply(to: &c)
        return RPCClient(configuration: c)
    }

    func run() async throws {
        // Handlers on the pool by default: computing a view (every participant's measures, the
        // statistics) is CPU work growing with the participants, which on an event loop would stall every
        // other connection of that loop; the backends' handlers only wait on their stores and
        // keep the event-loop default (docs/ARCHITECTURE.md, "Where handlers run").
        let settings = try options.resolve(defaultPort: DefaultPorts.gateway, extraKeys: Self.fileKeys, handlersOn: .pool)
        ServiceRunner.bootstrapLogging(settings)
        let registration = try client(registration, key: "registration-addr", default: DefaultPorts.loopback(DefaultPorts.registration), settings: settings)
        let engagement = try client(engagement, key: "engagement-addr", default: DefaultPorts.loopback(DefaultPorts.engagement), settings: settings)
        let assessment = try client(assessment, key: "assessment-addr", default: DefaultPorts.loopback(DefaultPorts.assessment), settings: settings)
        var router = Router()
        let metrics = GatewayMetrics()
        GatewayService(registration: registration, engagement: engagement, assessment: assessment, metrics: metrics).register(into: &router)
        // The gateway answers correctly only with every backend: its health and /readyz follow theirs.
        let health = HealthStatus()
        let monitor = DependencyMonitor(health: health, registration: registration, engagement: engagement, assessment: assessment,
                                        metrics: metrics, interval: .milliseconds(Int64(healthInterval * 1000)),
                                        timeout: .milliseconds(Int64(healthInterval * 1000)))
        try await ServiceRunner.run(name: "lv-gateway", settings: settings, router: router,
                                    resources: [registration, engagement, assessment].map(OwnedResource.client),
                                    extraServices: [monitor], health: health)
    }
}
