import ArgumentParser
import LVRPC
import LVService
import Web

/// `lv-web`: the web view and printable outcomes reports, read from lv-gateway.
@main
struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-web",
        abstract: "Learning Validation web view: activities, the Moore ladder, outcomes reports and transcripts, read from lv-gateway.",
        discussion: "Holds no data: every page is read from lv-gateway with the signed-in user's API key as the HELLO credential. Serves HTTP on --listen (default \(DefaultPorts.loopback(DefaultPorts.web))) and Prometheus metrics on --metrics-listen. Prints 'lv-web ready http=HOST:PORT metrics=HOST:PORT' on stdout once listening. SIGTERM or SIGINT lets requests in flight finish and exits 0.",
        version: BuildInfo.versionLine("lv-web"))

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("gateway-addr"), help: "lv-gateway HOST:PORT (env LV_GATEWAY_ADDR; default \(DefaultPorts.loopback(DefaultPorts.gateway))).")
    var gateway: String?
    @Option(name: .customLong("secure-cookies"), help: "true when served over TLS or behind a TLS proxy: cookies get Secure (env LV_SECURE_COOKIES; default false).")
    var secureCookies: String?
    @Option(name: .customLong("session-minutes"), help: "Idle minutes before a session ends (env LV_SESSION_MINUTES; default 480).")
    var sessionMinutes: String?
    @Option(name: .customLong("page-timeout"), help: "Seconds a page may wait for the gateway (env LV_PAGE_TIMEOUT; default 20).")
    var pageTimeout: String?

    @Flag(help: "Only check that lv-web answers GET /healthz on its --listen address (exit 0) or not (exit 1); for container health checks.")
    var probe = false

    static let fileKeys: Set<String> = ["gateway-addr", "secure-cookies", "session-minutes", "page-timeout"]

    func run() async throws {
        let settings = try options.resolve(defaultPort: DefaultPorts.web, extraKeys: Self.fileKeys)
        if probe {
            let host = settings.host == "0.0.0.0" ? "127.0.0.1" : settings.host == "::" ? "::1" : settings.host
            guard probeHTTP(host: host, port: settings.port) else { throw ExitCode(1) }
            return
        }
        let file = settings.configFile
        let gatewayText = ServiceOptions.value(gateway, key: "gateway-addr", file: file) ?? DefaultPorts.loopback(DefaultPorts.gateway)
        let (host, port): (String, Int)
        do { (host, port) = try parseHostPort(gatewayText) } catch { throw ValidationError("--gateway-addr: \(error)") }
        let secureText = ServiceOptions.value(secureCookies, key: "secure-cookies", file: file) ?? "false"
        guard let secure = Bool(secureText) else { throw ValidationError("--secure-cookies: '\(secureText)' is not true or false") }
        let minutesText = ServiceOptions.value(sessionMinutes, key: "session-minutes", file: file) ?? "480"
        guard let minutes = Int(minutesText), minutes >= 1 else { throw ValidationError("--session-minutes: '\(minutesText)' is not a whole number of minutes ≥ 1") }
        let timeoutText = ServiceOptions.value(pageTimeout, key: "page-timeout", file: file) ?? "20"
        guard let timeout = Int(timeoutText), timeout >= 1 else { throw ValidationError("--page-timeout: '\(timeoutText)' is not a whole number of seconds ≥ 1") }
        try await WebRunner.run(settings: settings, configuration: WebConfiguration(
            gatewayHost: host, gatewayPort: port, secureCookies: secure, sessionLifetime: Double(minutes) * 60, callTimeout: .seconds(Int64(timeout))))
    }
}
