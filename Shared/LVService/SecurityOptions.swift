import ArgumentParser
import Logging
import LVRPC
import LVSecurity
import LVTLS
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The security flags of every service (docs/SECURITY.md). Each falls back to `LV_<KEY>`, then the
/// configuration file, like the other flags.
public struct SecurityFlags: ParsableArguments {
    @Option(name: .customLong("key-file"), help: "API keys accepted (salted SHA-256 lines from `lvctl admin create-key`); reloaded on SIGHUP (env LV_KEY_FILE). Without it every caller is anonymous and allowed (loopback only).")
    var keyFile: String?

    @Option(name: .customLong("tls-cert"), help: "TLS server certificate chain, PEM; reloaded on SIGHUP (env LV_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "TLS server private key, PEM (env LV_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: "Require client certificates signed by this CA, PEM (mTLS) (env LV_TLS_CLIENT_CA).")
    var tlsClientCA: String?

    @Option(name: .customLong("audit-log"), help: "Audit log file (JSON lines, hash-chained), or off (env LV_AUDIT_LOG; default <data-dir>/<service>.audit.jsonl when --key-file is set, else off).")
    var auditLog: String?

    @Option(name: .customLong("max-auth-failures"), help: "Failed HELLO credentials per peer address before it is refused for a while; refilled at one per 6 s (env LV_MAX_AUTH_FAILURES; default 10).")
    var maxAuthFailures: Int?

    @Flag(name: .customLong("insecure"), help: "Listen on a non-loopback address without API keys and TLS: anyone who reaches the port can read and write everything. Also env LV_INSECURE=1.")
    var insecure = false

    public init() {}

    public static let fileKeys: Set<String> = ["key-file", "tls-cert", "tls-key", "tls-client-ca", "audit-log", "max-auth-failures", "insecure"]

    func resolve(host: String, file: ConfigFile?) throws -> SecuritySettings {
        func value(_ flag: String?, _ key: String) -> String? { ServiceOptions.value(flag, key: key, file: file) }
        var s = SecuritySettings()
        s.keyFile = value(keyFile, "key-file")
        s.tlsCertificate = value(tlsCert, "tls-cert")
        s.tlsKey = value(tlsKey, "tls-key")
        s.tlsClientCA = value(tlsClientCA, "tls-client-ca")
        s.auditLog = value(auditLog, "audit-log")
        let failures = value(maxAuthFailures.map { "\($0)" }, "max-auth-failures") ?? "10"
        guard let f = Int(failures), f >= 1 else { throw ValidationError("--max-auth-failures: '\(failures)' is not an integer ≥ 1") }
        s.maxAuthFailures = f
        let insecureText = value(insecure ? "1" : nil, "insecure") ?? "0"
        s.insecure = ["1", "true", "yes"].contains(insecureText.lowercased())
        if (s.tlsCertificate == nil) != (s.tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        if s.tlsClientCA != nil && s.tlsCertificate == nil {
            throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key (mTLS is TLS)")
        }
        if !Self.isLoopback(host) && !s.insecure && (s.keyFile == nil || s.tlsCertificate == nil) {
            throw ValidationError("""
                refusing to listen on \(host) without API keys and TLS: anyone who can reach the port could read \
                physicians' records. Set --key-file and --tls-cert/--tls-key (docs/SECURITY.md), listen on 127.0.0.1, \
                or pass --insecure to do it anyway.
                """)
        }
        return s
    }

    /// 127.0.0.0/8, ::1 and localhost; 0.0.0.0 and :: are every address, not loopback.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The resolved security settings.
public struct SecuritySettings: Sendable {
    public var keyFile: String?
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var tlsClientCA: String?
    public var auditLog: String?
    public var maxAuthFailures = 10
    public var insecure = false
    public init() {}
}

/// What `ServiceRunner` builds from the settings: the server's security, TLS and the SIGHUP reloader.
struct ServiceSecurity {
    let security: ServerSecurity
    let tls: TLSServer?

    init(name: String, settings: ServiceSettings, logger: Logger) throws {
        let s = settings.security
        let keys: KeyStore? = try s.keyFile.map { try KeyStore(path: $0) }
        var auditPath = s.auditLog
        if auditPath == nil, keys != nil { auditPath = try settings.databasePath("\(name).audit.jsonl") }
        if auditPath == "off" { auditPath = nil }
        let audit = try auditPath.map { try AuditLog(path: $0) }
        security = ServerSecurity(serviceName: name, keys: keys, audit: audit,
                                  failures: FailureLimiter(burst: Double(s.maxAuthFailures), perSecond: 1.0 / 6))
        if let cert = s.tlsCertificate, let key = s.tlsKey {
            tls = try TLSServer(certificate: cert, key: key, clientCA: s.tlsClientCA)
        } else {
            tls = nil
        }
        logger.info("security", metadata: [
            "keys": "\(keys.map { "\($0.count)" } ?? "none (anonymous callers allowed)")",
            "tls": "\(tls == nil ? "off" : (s.tlsClientCA == nil ? "on" : "on, client certificates required"))",
            "audit": "\(auditPath ?? "off")",
        ])
        if s.insecure && !SecurityFlags.isLoopback(settings.host) && (keys == nil || tls == nil) {
            logger.critical("INSECURE: listening on a non-loopback address without API keys and TLS (--insecure)",
                            metadata: ["address": "\(settings.host):\(settings.port)"])
        }
    }

    func configure(_ configuration: inout RPCServer.Configuration) {
        configuration.authenticator = security.authenticator
        configuration.channelSetup = tls?.channelSetup
    }

    var reloader: HangupReloader {
        HangupReloader(keys: security.keys, tls: tls)
    }
}

/// SIGHUP: reads the key file and the TLS files again. A file that fails to parse leaves the
/// current keys or certificates in use and is logged at error.
struct HangupReloader: Service {
    let keys: KeyStore?
    let tls: TLSServer?

    func run() async throws {
        let logger = Logger(label: "lv-reload")
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            let keys = self.keys
            let tls = self.tls
            let result: [String] = (try? await NIOThreadPool.singleton.runIfActive { () -> [String] in
                var done: [String] = []
                if let keys {
                    do { done.append("keys=\(try keys.reload())") } catch { done.append("keys failed: \(error)") }
                }
                if let tls {
                    do { try tls.reload(); done.append("tls=reloaded") } catch { done.append("tls failed: \(error)") }
                }
                return done
            }) ?? []
            if result.contains(where: { $0.contains("failed") }) {
                logger.error("reload on SIGHUP failed; the previous files stay in use", metadata: ["result": "\(result.joined(separator: "; "))"])
            } else {
                logger.notice("reloaded on SIGHUP", metadata: ["result": "\(result.joined(separator: " "))"])
            }
        }
    }
}
