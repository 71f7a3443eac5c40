import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LVAPI
import LVMessages
import LVRPC
import Testing

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The directory holding the built executables (the same build as these tests).
let binDirectory: URL = {
    if let dir = ProcessInfo.processInfo.environment["LV_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    // .build/<triple>/debug/EndToEndTests... → .build/<triple>/debug
    var url = Bundle.main.bundleURL
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("lvctl").path) {
        url = url.deletingLastPathComponent()
    }
    return url
}()

/// A service executable started on loopback port 0; stopped with SIGTERM.
final class RunningService: @unchecked Sendable {
    let process = Process()
    let name: String
    private(set) var port = 0
    private(set) var metricsPort = 0
    private let stdout = Pipe()

    let dataDirectory: URL

    /// `listen` other than port 0 restarts a service where its clients expect it.
    init(_ name: String, dataDirectory: URL? = nil, listen: String = "127.0.0.1:0", extraArguments: [String] = [],
         environment: [String: String] = [:], logLevel: String = "warning", stderr: URL? = nil) throws {
        self.name = name
        let dataDir = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("lv-e2e-\(UUID().uuidString)")
        self.dataDirectory = dataDir
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        process.executableURL = binDirectory.appendingPathComponent(name)
        process.arguments = ["--listen", listen, "--metrics-listen", "127.0.0.1:0", "--data-dir", dataDir.path,
                             "--log-level", logLevel] + extraArguments
        process.standardOutput = stdout
        if let stderr {
            FileManager.default.createFile(atPath: stderr.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: stderr)
        }
        // A loaded 2-core CI machine can take seconds between accepting a connection and reading
        // the client's HELLO (or finishing a debug-build TLS handshake). Tests that are not about
        // the HELLO timeout give it 60 s, so a slow scheduler is not taken for a slowloris peer;
        // a test of the timeout passes `--hello-timeout`, which wins over this variable.
        let quietDefaults = ["LV_HELLO_TIMEOUT": "60000"]
        process.environment = ProcessInfo.processInfo.environment.merging(quietDefaults.merging(environment) { $1 }) { $1 }
        try process.run()
        // The ready line carries the ports the OS chose.
        var line = ""
        let handle = stdout.fileHandleForReading
        let deadline = Date().addingTimeInterval(30)
        while !line.contains("\n") && Date() < deadline {
            let data = handle.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        guard let rpc = line.firstMatch(of: /rpc=127\.0\.0\.1:(\d+)/), let metrics = line.firstMatch(of: /metrics=127\.0\.0\.1:(\d+)/) else {
            process.terminate()
            throw RPCError(.unavailable, "\(name) printed no ready line: \(line)")
        }
        port = Int(rpc.1)!
        metricsPort = Int(metrics.1)!
    }

    /// Sends `signal` (SIGKILL, SIGSTOP, SIGCONT) to the process.
    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// SIGTERM and the exit status.
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Runs one of the built executables to completion; returns its exit status, stdout and stderr.
/// `input`, when given, is the child's whole standard input (small: written before reading its output).
func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String, errors: String) {
    let p = Process()
    p.executableURL = binDirectory.appendingPathComponent(executable)
    p.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let stdin = input.map { _ in Pipe() }
    if let stdin { p.standardInput = stdin }
    try p.run()
    if let stdin, let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    // stderr is small here; read stdout to the end first so a full pipe never blocks the child.
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errors, as: UTF8.self))
}

@Suite("service executables", .serialized, .timeLimit(.minutes(3)))
struct ExecutableTests {
    static let services = ["lv-registration", "lv-engagement", "lv-assessment", "lv-gateway"]

    @Test("each service starts on port 0, answers lvctl health and lvctl list, and exits 0 on SIGTERM; its handlers run on the event loop, the gateway's on the pool", arguments: services)
    func healthListAndSigterm(service: String) throws {
        // The gateway's backends point at a port nothing listens on (port 1), whatever runs on this machine.
        let unreachable = ["--registration-addr", "127.0.0.1:1", "--engagement-addr", "127.0.0.1:1", "--assessment-addr", "127.0.0.1:1"]
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("lv-e2e-\(service)-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        // No LV_HANDLERS_ON from the environment running the tests: the executable's own default is checked.
        let running = try RunningService(service, extraArguments: service == "lv-gateway" ? unreachable : [],
                                         environment: ["LV_HANDLERS_ON": ""], logLevel: "info", stderr: log)
        let health = try run("lvctl", ["health", "--addr", "127.0.0.1:\(running.port)"])
        if service == "lv-gateway" {
            // Started alone, its backends (the default ports) are not there: it cannot answer correctly.
            #expect(health.status == 1)
            #expect(health.output.contains("NOT_SERVING"))
            #expect(health.output.contains("dependency registration"))
        } else {
            #expect(health.status == 0)
            #expect(health.output.contains("SERVING"))
        }
        let list = try run("lvctl", ["list", "--addr", "127.0.0.1:\(running.port)"])
        #expect(list.status == 0)
        #expect(list.output.contains("lv.health.v1.Health"))
        #expect(list.output.contains("Check(lv.health.v1.HealthCheckRequest) returns (lv.health.v1.HealthCheckResponse)"))
        #expect(list.output.contains("lv.reflection.v1.Reflection"))
        let json = try run("lvctl", ["list", "--addr", "127.0.0.1:\(running.port)", "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
        #expect(parsed?.compactMap { $0["name"] as? String }.contains("lv.reflection.v1.Reflection") == true)
        #expect(running.stop() == 0)
        // The gateway computes views (CPU work of up to a second) and must not hold an event loop
        // meanwhile; the storage services only wait on their stores' threads.
        let starting = try #require(try String(contentsOf: log, encoding: .utf8).split(separator: "\n").first { $0.contains(": starting") })
        #expect(starting.contains(service == "lv-gateway" ? "handlers=pool" : "handlers=event-loop"), "\(starting)")
    }

    @Test("--handlers-on overrides a service's default, and a value other than event-loop or pool is refused naming the flag")
    func handlersOnFlag() throws {
        let unreachable = ["--registration-addr", "127.0.0.1:1", "--engagement-addr", "127.0.0.1:1", "--assessment-addr", "127.0.0.1:1"]
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("lv-e2e-handlers-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let running = try RunningService("lv-gateway", extraArguments: unreachable + ["--handlers-on", "event-loop"],
                                         logLevel: "info", stderr: log)
        #expect(running.stop() == 0)
        let starting = try #require(try String(contentsOf: log, encoding: .utf8).split(separator: "\n").first { $0.contains(": starting") })
        #expect(starting.contains("handlers=event-loop"), "\(starting)")
        let refused = try run("lv-registration", ["--listen", "127.0.0.1:0", "--handlers-on", "loop"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("--handlers-on"), "\(refused.errors)")
    }

    @Test("lvctl health exits 4 when nothing listens (an error as JSON with --json) and 1 for an unknown service")
    func healthExitCodes() throws {
        let running = try RunningService("lv-registration")
        let unknown = try run("lvctl", ["health", "--addr", "127.0.0.1:\(running.port)", "--service", "lv.nothing.v1.Nothing"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("SERVICE_UNKNOWN"))
        #expect(running.stop() == 0)
        let down = try run("lvctl", ["health", "--addr", "127.0.0.1:\(running.port)", "--timeout", "2"])
        #expect(down.status == 4)
        let downJSON = try run("lvctl", ["health", "--addr", "127.0.0.1:\(running.port)", "--timeout", "2", "--json"])
        #expect(downJSON.status == 4)
        let error = (try? JSONSerialization.jsonObject(with: Data(downJSON.errors.utf8)) as? [String: Any])?["error"] as? [String: Any]
        #expect(error?["name"] as? String == "UNAVAILABLE" && error?["code"] as? Int == 14, "\(downJSON.errors)")
    }

    @Test("the metrics port serves per-method Prometheus metrics")
    func metrics() async throws {
        let running = try RunningService("lv-engagement")
        defer { _ = running.stop() }
        _ = try run("lvctl", ["health", "--addr", "127.0.0.1:\(running.port)"])
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(running.metricsPort)/metrics")!)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#"lv_rpc_requests_total{method="lv.health.v1.Health/Check",code="OK"} 1"#))
        #expect(text.contains("lv_rpc_request_duration_seconds_bucket"))
    }

    // SIGTERM with calls in flight: DrainEndToEndTests (every call answered or refused retryable,
    // checked stream by stream against GOAWAY's last_stream_id).

    @Test("--help documents every flag")
    func help() throws {
        let help = try run("lv-registration", ["--help"])
        for flag in ["--listen", "--data-dir", "--metrics-listen", "--log-level", "--max-frame-size",
                     "--max-concurrent-streams", "--idle-timeout", "--drain-timeout", "LV_LISTEN", "LV_DATA_DIR"] {
            #expect(help.output.contains(flag), "--help does not mention \(flag)")
        }
    }

    @Test("a bad flag value is refused with the flag's name")
    func badFlag() throws {
        let result = try run("lv-assessment", ["--listen", "nonsense"])
        #expect(result.status != 0)
        #expect(result.errors.contains("--listen"))
    }
}

@Suite("generated code")
struct GeneratedCodeTests {
    @Test("the committed protoc-c, Swift, descriptor-set and vector files match what the generators produce now")
    func fresh() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("scripts/generate-proto.sh").path, "--check"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "generated files are stale; run `make proto`:\n\(text)")
    }
}
