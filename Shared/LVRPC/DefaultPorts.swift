/// The default port of every executable: the one table. The executables and lvctl/lv-load take
/// their defaults from it, `lvctl ports` prints it (deploy/local/lv-local.sh reads that), the
/// Python tests read this file (`scripts/lvports.py`), and Tests/deploy checks every deploy/ file
/// against it. Metrics listen on the RPC (or HTTP) port + `metricsOffset` unless told otherwise.
/// Keep one `public static let name = port` a line: scripts/lvports.py parses them.
public enum DefaultPorts {
    public static let gateway = 7400
    public static let registration = 7401
    public static let engagement = 7402
    public static let assessment = 7403
    /// lv-web's HTTP port.
    public static let web = 7410
    public static let metricsOffset = 2000

    /// Every executable that listens, with its port, in start order (the gateway after its backends, lv-web last).
    public static let all: [(executable: String, port: Int)] = [
        ("lv-registration", registration), ("lv-engagement", engagement), ("lv-assessment", assessment),
        ("lv-gateway", gateway), ("lv-web", web),
    ]

    /// "127.0.0.1:PORT", the default address of a client of that port.
    public static func loopback(_ port: Int) -> String { "127.0.0.1:\(port)" }
}
