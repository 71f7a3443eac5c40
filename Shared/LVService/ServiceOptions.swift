import Logging
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import LVStore
import LVRPC
import NIOCore

/// The flags every service executable takes. Each falls back to an environment variable, then
/// to the configuration file (`--config`, see `ConfigFile`), then to the documented default
/// (docs/OPERATIONS.md lists them all).
public struct ServiceOptions: ParsableArguments {
    @Option(name: .customLong("listen"), help: "RPC address HOST:PORT (env LV_LISTEN; default 127.0.0.1 and the service's port).")
    var listenFlag: String?

    @Option(name: .customLong("data-dir"), help: "Directory for the service's SQLite database (env LV_DATA_DIR; default ./var).")
    var dataDirFlag: String?

    @Option(name: .customLong("database"), help: "sqlite:PATH or postgres://HOST:PORT[,HOST:PORT…]/DB?target_session_attrs=read-write (env LV_DATABASE; default sqlite:<data-dir>/<service>.sqlite). docs/OPERATIONS.md.")
    var databaseFlag: String?

    @Option(name: .customLong("metrics-listen"), help: "Prometheus /metrics address HOST:PORT, or off (env LV_METRICS_LISTEN; default the RPC host and port + 2000).")
    var metricsListenFlag: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LV_LOG_LEVEL; default info).")
    var logLevelFlag: String?

    @Option(name: .customLong("max-frame-size"), help: "Largest frame body accepted, in bytes (env LV_MAX_FRAME_SIZE; default 4194304).")
    var maxFrameSizeFlag: Int?

    @Option(name: .customLong("max-concurrent-streams"), help: "Calls in flight per connection before refusing with UNAVAILABLE (env LV_MAX_CONCURRENT_STREAMS; default 256).")
    var maxConcurrentStreamsFlag: Int?

    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle connection is closed, 0 = never (env LV_IDLE_TIMEOUT; default 300).")
    var idleTimeoutFlag: Int?

    @Option(name: .customLong("sqlite-synchronous"), help: "full (an acknowledged write survives power loss) or normal (survives a crash) (env LV_SQLITE_SYNCHRONOUS; default full).")
    var synchronousFlag: String?

    @Option(name: .customLong("drain-timeout"), help: "Seconds shutdown waits for calls in flight (env LV_DRAIN_TIMEOUT; default 30).")
    var drainTimeoutFlag: Int?

    @Option(name: .customLong("log-format"), help: "text or json (one object per line) (env LV_LOG_FORMAT; default text).")
    var logFormatFlag: String?

    @OptionGroup(title: "Security (docs/SECURITY.md)") var securityFlags: SecurityFlags

    @Option(name: .customLong("config"), help: "A configuration file of 'key = value' lines, keys the flag names (env LV_CONFIG). Flags win over environment variables, which win over the file.")
    var configFlag: String?

    /// The keys a configuration file may set for every service (each flag's name without `--`).
    public static let fileKeys: Set<String> = [
        "listen", "data-dir", "database", "metrics-listen", "log-level", "log-format", "max-frame-size",
        "max-concurrent-streams", "idle-timeout", "sqlite-synchronous", "drain-timeout",
        "max-connections", "max-connections-per-peer", "hello-timeout", "body-timeout", "max-buffered-bytes",
        "write-high-water", "max-pings-per-second", "malloc-arena-max", "handlers-on",
    ]

    /// The configuration file, when `--config` or `LV_CONFIG` names one; `extraKeys` are the
    /// executable's own flags (the gateway's backend addresses).
    public func configFile(extraKeys: Set<String> = []) throws -> ConfigFile? {
        guard let path = configFlag ?? Self.environment("LV_CONFIG") else { return nil }
        return try ConfigFile.load(path: path, allowedKeys: Self.fileKeys.union(SecurityFlags.fileKeys).union(extraKeys))
    }

    /// A setting by precedence: the flag's value, else `LV_<KEY>`, else the file's, else nil.
    public static func value(_ flag: String?, key: String, file: ConfigFile?) -> String? {
        flag ?? environment(ConfigFile.environmentName(key)) ?? file?.values[key]
    }

    @Option(name: .customLong("max-connections"), help: "Open connections in total (env LV_MAX_CONNECTIONS; default 1024).")
    var maxConnectionsFlag: Int?

    @Option(name: .customLong("max-connections-per-peer"), help: "Open connections from one IP address (env LV_MAX_CONNECTIONS_PER_PEER; default 256).")
    var maxConnectionsPerPeerFlag: Int?

    @Option(name: .customLong("hello-timeout"), help: "Milliseconds a new connection has to send HELLO, 0 = no limit (env LV_HELLO_TIMEOUT; default 5000).")
    var helloTimeoutFlag: Int?

    @Option(name: .customLong("body-timeout"), help: "Seconds a frame's body may take to arrive, 0 = no limit (env LV_BODY_TIMEOUT; default 30).")
    var bodyTimeoutFlag: Int?

    @Option(name: .customLong("max-buffered-bytes"), help: "Bytes of large request bodies held at once over all connections (env LV_MAX_BUFFERED_BYTES; default 67108864).")
    var maxBufferedBytesFlag: Int?

    @Option(name: .customLong("write-high-water"), help: "Response bytes queued for a connection before it is no longer read (env LV_WRITE_HIGH_WATER; default 262144).")
    var writeHighWaterFlag: Int?

    @Option(name: .customLong("max-pings-per-second"), help: "PINGs answered per second per connection, bursts of 5x (env LV_MAX_PINGS_PER_SECOND; default 10).")
    var pingsPerSecondFlag: Int?

    @Option(name: .customLong("malloc-arena-max"), help: "glibc malloc arenas, 0 = glibc's default (env LV_MALLOC_ARENA_MAX; default 2).")
    var mallocArenaMaxFlag: Int?

    @Option(name: .customLong("handlers-on"), help: "Where call handlers run: event-loop (their connection's, no thread switch per call) or pool (the Swift cooperative pool) (env LV_HANDLERS_ON; default event-loop, lv-gateway: pool).")
    var handlersOnFlag: String?

    public init() {}

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    private func int(_ flag: Int?, env: String, default value: Int) throws -> Int {
        if let flag { return flag }
        let file = ConfigFile.current
        let key = String(env.dropFirst(3).lowercased().map { $0 == "_" ? "-" : $0 })
        guard let text = Self.environment(env) ?? file?.values[key] else { return value }
        guard let parsed = Int(text) else {
            throw ValidationError("\(Self.environment(env) != nil ? env : "\(file?.path ?? ""): \(key)")='\(text)' is not an integer")
        }
        return parsed
    }

    /// A string setting by precedence: flag, environment (`env`), configuration file.
    private func string(_ flag: String?, env: String) -> String? {
        let file = ConfigFile.current
        let key = String(env.dropFirst(3).lowercased().map { $0 == "_" ? "-" : $0 })
        return flag ?? Self.environment(env) ?? file?.values[key]
    }

    /// The resolved settings for a service whose default RPC port is `defaultPort`; `extraKeys`
    /// are further keys the configuration file may hold (read them with `value(_:key:file:)`).
    /// `handlersOn` is where the service's handlers run unless `--handlers-on` (or its variable or
    /// key) says otherwise: the event loop for servers whose handlers only wait (on their store's
    /// threads), the pool for one whose handlers compute at length (the gateway's view).
    public func resolve(defaultPort: Int, extraKeys: Set<String> = [], handlersOn: HandlerPlacement = .eventLoop) throws -> ServiceSettings {
        let file = try configFile(extraKeys: extraKeys)
        return try ConfigFile.$current.withValue(file) { try resolveSettings(defaultPort: defaultPort, handlersOn: handlersOn) }
    }

    private func resolveSettings(defaultPort: Int, handlersOn defaultPlacement: HandlerPlacement) throws -> ServiceSettings {
        let file = ConfigFile.current
        let listen = string(listenFlag, env: "LV_LISTEN") ?? "127.0.0.1:\(defaultPort)"
        let (host, port): (String, Int)
        do { (host, port) = try parseHostPort(listen) } catch { throw ValidationError("--listen: \(error)") }
        let metricsText = string(metricsListenFlag, env: "LV_METRICS_LISTEN") ?? "\(host.contains(":") ? "[\(host)]" : host):\(port == 0 ? 0 : port + DefaultPorts.metricsOffset)"
        var metrics: (String, Int)?
        if metricsText != "off" {
            do { metrics = try parseHostPort(metricsText) } catch { throw ValidationError("--metrics-listen: \(error)") }
        }
        let levelText = string(logLevelFlag, env: "LV_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("--log-level: '\(levelText)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        let maxFrame = try int(maxFrameSizeFlag, env: "LV_MAX_FRAME_SIZE", default: FrameLimits.defaultMaxFrameSize)
        guard maxFrame >= 1024, maxFrame <= FrameLimits.defaultHardCap else {
            throw ValidationError("--max-frame-size must be between 1024 and \(FrameLimits.defaultHardCap)")
        }
        let streams = try int(maxConcurrentStreamsFlag, env: "LV_MAX_CONCURRENT_STREAMS", default: 256)
        guard streams >= 1 else { throw ValidationError("--max-concurrent-streams must be at least 1") }
        let idle = try int(idleTimeoutFlag, env: "LV_IDLE_TIMEOUT", default: 300)
        let drain = try int(drainTimeoutFlag, env: "LV_DRAIN_TIMEOUT", default: 30)
        guard idle >= 0, drain >= 0 else { throw ValidationError("--idle-timeout and --drain-timeout cannot be negative") }
        let syncText = (string(synchronousFlag, env: "LV_SQLITE_SYNCHRONOUS") ?? "full").uppercased()
        guard let synchronous = DatabaseOptions.Synchronous(rawValue: syncText) else {
            throw ValidationError("--sqlite-synchronous: '\(syncText.lowercased())' is not full or normal")
        }
        let formatText = string(logFormatFlag, env: "LV_LOG_FORMAT") ?? "text"
        guard let logFormat = LogFormat(rawValue: formatText) else {
            throw ValidationError("--log-format: '\(formatText)' is not text or json")
        }
        var peer = PeerLimits()
        peer.maxConnections = try int(maxConnectionsFlag, env: "LV_MAX_CONNECTIONS", default: peer.maxConnections)
        peer.maxConnectionsPerPeer = try int(maxConnectionsPerPeerFlag, env: "LV_MAX_CONNECTIONS_PER_PEER", default: peer.maxConnectionsPerPeer)
        let hello = try int(helloTimeoutFlag, env: "LV_HELLO_TIMEOUT", default: 5000)
        let body = try int(bodyTimeoutFlag, env: "LV_BODY_TIMEOUT", default: 30)
        peer.helloTimeout = hello == 0 ? nil : .milliseconds(Int64(hello))
        peer.bodyTimeout = body == 0 ? nil : .seconds(Int64(body))
        peer.maxBufferedBodyBytes = try int(maxBufferedBytesFlag, env: "LV_MAX_BUFFERED_BYTES", default: peer.maxBufferedBodyBytes)
        peer.writeBufferHighWater = try int(writeHighWaterFlag, env: "LV_WRITE_HIGH_WATER", default: peer.writeBufferHighWater)
        let pings = try int(pingsPerSecondFlag, env: "LV_MAX_PINGS_PER_SECOND", default: 10)
        (peer.pingsPerSecond, peer.pingBurst) = (Double(pings), Double(pings * 5))
        peer.mallocArenaMax = try int(mallocArenaMaxFlag, env: "LV_MALLOC_ARENA_MAX", default: 2)
        peer.returnMemory = true
        guard peer.maxConnections >= 1, peer.maxConnectionsPerPeer >= 1, hello >= 0, body >= 0, peer.maxBufferedBodyBytes >= maxFrame,
              peer.writeBufferHighWater >= 1024, pings >= 1, peer.mallocArenaMax >= 0 else {
            throw ValidationError("connection limits must be positive, and --max-buffered-bytes at least --max-frame-size")
        }

        let handlersOnText = string(handlersOnFlag, env: "LV_HANDLERS_ON") ?? defaultPlacement.rawValue
        guard let handlersOn = HandlerPlacement(rawValue: handlersOnText) else {
            throw ValidationError("--handlers-on: '\(handlersOnText)' is not event-loop or pool")
        }

        let security = try securityFlags.resolve(host: host, file: file)
        var settings = ServiceSettings(
            host: host, port: port, metrics: metrics, peerLimits: peer, security: security,
            dataDirectory: string(dataDirFlag, env: "LV_DATA_DIR") ?? "./var",
            databaseLocation: string(databaseFlag, env: "LV_DATABASE"),
            logLevel: level, limits: FrameLimits(maxFrameSize: maxFrame), maxConcurrentStreams: streams,
            idleTimeout: idle == 0 ? nil : .seconds(Int64(idle)), drainTimeout: .seconds(Int64(drain)),
            database: DatabaseOptions(synchronous: synchronous), logFormat: logFormat, configFile: file)
        settings.handlersOnEventLoop = handlersOn == .eventLoop
        return settings
    }
}

/// Where a server's call handlers run (`--handlers-on`; `RPCServer.Configuration.handlersOnEventLoop`).
public enum HandlerPlacement: String, Sendable, CaseIterable {
    /// On the connection's event loop, started inside the read: no thread switch per call; a
    /// handler's CPU work delays the loop's other connections while it runs.
    case eventLoop = "event-loop"
    /// A task on the Swift cooperative pool per call, its answer sent back to the loop.
    case pool
}

/// Settings after flags, environment and defaults are combined.
public struct ServiceSettings: Sendable {
    public var host: String
    public var port: Int
    public var metrics: (host: String, port: Int)?
    public var peerLimits = PeerLimits()
    /// Keys, TLS, audit log; all off by default (loopback only).
    public var security = SecuritySettings()
    public var dataDirectory: String
    /// `--database`: sqlite:PATH or a postgres:// URL; nil means `<data-dir>/<service>.sqlite`.
    public var databaseLocation: String? = nil
    public var logLevel: Logger.Level
    public var limits: FrameLimits
    public var maxConcurrentStreams: Int
    public var idleTimeout: TimeAmount?
    public var drainTimeout: TimeAmount
    public var database: DatabaseOptions
    public var logFormat: LogFormat = .text
    /// `RPCServer.Configuration.handlersOnEventLoop` (`--handlers-on`).
    public var handlersOnEventLoop = true
    /// The configuration file read (for the executable's own keys), if any.
    public var configFile: ConfigFile?

    /// The backend `--database` names, or SQLite at `<data-dir>/<file>` (the default). `postgres`
    /// makes the PostgreSQL backend from a URL (`PostgresBackend.init(url:)` from LVStorePostgres,
    /// which only the executables with data link, so the gateway and lv-web never load libpq).
    public func databaseBackend(_ file: String, postgres: (String) -> any DatabaseBackend) throws -> any DatabaseBackend {
        if let location = databaseLocation, !location.isEmpty {
            if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") { return postgres(location) }
            guard location.hasPrefix("sqlite:") else {
                throw ValidationError("--database: expected sqlite:PATH or postgres://…, got '\(location.prefix(16))…'")
            }
            return SQLiteBackend(path: String(location.dropFirst("sqlite:".count)))
        }
        return SQLiteBackend(path: try databasePath(file))
    }

    /// `<data-dir>/<file>`, creating the directory when it is missing.
    public func databasePath(_ file: String) throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--data-dir \(dataDirectory): cannot create it: \(error)")
        }
        return "\(dataDirectory)/\(file)"
    }
}

