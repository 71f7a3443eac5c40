import Foundation
import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A service started with chosen flags and environment, its stdout and stderr captured to files
/// (so a chatty log never blocks it); stopped with SIGTERM.
final class LaunchedService: @unchecked Sendable {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    init(_ name: String, arguments: [String], environment: [String: String] = [:]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        stdoutURL = dir.appendingPathComponent("stdout")
        stderrURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = binDirectory.appendingPathComponent(name)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LV_") }
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits for the ready line, or for the process to exit; returns the line (nil if it exited first).
    func readyLine() async throws -> String? {
        for _ in 0..<3000 {
            if let line = stdout.split(separator: "\n").first(where: { $0.contains(" ready ") }) { return String(line) }
            if !process.isRunning { return nil }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return nil
    }

    static func port(_ key: String, in line: String) -> Int? {
        guard let range = line.range(of: "\(key)=") else { return nil }
        let rest = line[range.upperBound...].prefix { $0 != " " }
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        return Int(rest[rest.index(after: colon)...])
    }

    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A raw TCP exchange: sends `request`, reads until the peer closes or 5 s pass without data.
/// Returns what was read and whether the peer closed.
func rawHTTP(port: Int, _ request: String) throws -> (text: String, closed: Bool) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw RPCError(.unavailable, "connect failed") }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
        if n < 0 { return (String(decoding: received, as: UTF8.self), false) } // timed out: still open
        received += buffer[0..<n]
    }
}

@Suite("operations: version, start-up, metrics, logs, configuration, backup", .serialized, .timeLimit(.minutes(5)))
struct OperationsTests {
    static let executables = ["lv-registration", "lv-engagement", "lv-assessment", "lv-gateway", "lv-load", "lvctl"]

    @Test("every binary answers --version with its name, version, commit and build date", arguments: executables)
    func version(executable: String) throws {
        let result = try run(executable, ["--version"])
        #expect(result.status == 0, "\(executable) --version exited \(result.status): \(result.errors)")
        #expect(result.output.hasPrefix("\(executable) \(BuildInfo.version) (commit "), "got: \(result.output)")
        #expect(result.output.contains(", built "))
    }

    @Test("a metrics port already taken: the service exits non-zero naming the address, and prints no ready line")
    func metricsPortTaken() async throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length); listen(holder, 1); return getsockname(holder, $0, &length) }
        }
        let taken = Int(UInt16(bigEndian: address.sin_port))
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-ops-\(UUID().uuidString)").path
        let service = try LaunchedService("lv-registration", arguments: [
            "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:\(taken)", "--data-dir", dataDir])
        let line = try await service.readyLine()
        let status = service.stop()
        #expect(line == nil, "printed a ready line although the metrics port was taken: \(line ?? "")")
        #expect(status != 0)
        #expect(service.stderr.contains("127.0.0.1:\(taken)"), "stderr does not name the address: \(service.stderr)")
    }

    @Test("under systemd (NOTIFY_SOCKET) the service sends READY=1 once listening, and STOPPING=1 on SIGTERM")
    func systemdNotify() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lv-notify-\(UUID().uuidString.prefix(8))").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in for (i, b) in path.utf8.enumerated() { bytes[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-ops-\(UUID().uuidString)").path
        let service = try LaunchedService("lv-engagement", arguments: ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data-dir", dataDir],
                                          environment: ["NOTIFY_SOCKET": path])
        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        }
        let ready = receive()
        #expect(ready.split(separator: "\n").contains("READY=1"), "got \(ready)")
        // READY=1 comes after the listeners are bound: the ready line is already out and the port answers.
        let line = try await service.readyLine()
        let port = try #require(line.flatMap { LaunchedService.port("rpc", in: $0) })
        #expect(try run("lvctl", ["health", "--addr", "127.0.0.1:\(port)"]).status == 0)
        service.process.terminate()
        let stopping = receive()
        #expect(stopping.contains("STOPPING=1"), "got \(stopping)")
        #expect(service.stop() == 0)
    }

    @Test("/metrics: HELP and TYPE for every metric, process_* and build info, latency buckets from 50 µs; HTTP/1.0 closes, HTTP/1.1 keeps alive")
    func metricsEndpoint() async throws {
        let running = try RunningService("lv-registration")
        defer { _ = running.stop() }
        #expect(try run("lvctl", ["health", "--addr", "127.0.0.1:\(running.port)"]).status == 0)
        let http10 = try rawHTTP(port: running.metricsPort, "GET /metrics HTTP/1.0\r\n\r\n")
        #expect(http10.closed, "HTTP/1.0 without keep-alive: the server must close after the response")
        #expect(http10.text.hasPrefix("HTTP/1.1 200"))
        let text = String(http10.text.split(separator: "\r\n\r\n", maxSplits: 1).last ?? "")
        for name in ["lv_rpc_requests_total", "lv_rpc_request_duration_seconds", "lv_build_info",
                     "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
            #expect(text.contains("# HELP \(name) "), "no HELP for \(name)")
            #expect(text.contains("# TYPE \(name) "), "no TYPE for \(name)")
        }
        #expect(text.contains(#"lv_build_info{service="lv-registration",version="\#(BuildInfo.version)""#) || text.contains("version=\"\(BuildInfo.version)\""))
        #expect(text.contains(#"le="5e-05""#) || text.contains(#"le="0.00005""#), "the lowest latency bucket is not 50 µs")
        // Every sample's metric has a TYPE line.
        let typed = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            let base = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in n.hasSuffix(suffix) && typed.contains(Substring(n.dropLast(suffix.count))) ? String(n.dropLast(suffix.count)) : n }
            #expect(typed.contains(Substring(base)), "\(name) has no TYPE line")
        }

        let twoRequests = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let http11 = try rawHTTP(port: running.metricsPort, twoRequests)
        #expect(http11.text.components(separatedBy: "HTTP/1.1 200").count - 1 == 2, "both pipelined requests answered on one connection")
        #expect(http11.closed, "Connection: close must close")
        let kept = try rawHTTP(port: running.metricsPort, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(kept.text.hasPrefix("HTTP/1.1 200"))
        #expect(!kept.closed, "HTTP/1.1 without Connection: close stays open")
    }

    @Test("--log-format json: one JSON object per line, RFC 3339 ms timestamps; each call at info with method, code, duration, request id; the client's version from HELLO")
    func jsonLogs() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-ops-\(UUID().uuidString)").path
        let service = try LaunchedService("lv-registration", arguments: [
            "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--data-dir", dataDir, "--log-format", "json"])
        let line = try #require(try await service.readyLine())
        let port = try #require(LaunchedService.port("rpc", in: line))
        #expect(try run("lvctl", ["health", "--addr", "127.0.0.1:\(port)"]).status == 0)
        #expect(try run("lvctl", ["registration", "enroll", "--addr", "127.0.0.1:\(port)", "--activity", "no-such-activity", "--npi", "1234567893"]).status != 0)
        #expect(service.stop() == 0)
        let lines = service.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        var objects: [[String: Any]] = []
        for l in lines {
            let object = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(l)")
            if let object { objects.append(object) }
        }
        for o in objects {
            let ts = o["ts"] as? String ?? ""
            #expect(ts.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "timestamp \(ts)")
        }
        let calls = objects.filter { $0["msg"] as? String == "call" }
        let ok = try #require(calls.first { $0["method"] as? String == "lv.health.v1.Health/Check" })
        #expect(ok["level"] as? String == "info")
        #expect(ok["code"] as? String == "OK")
        #expect(ok["ms"] != nil && ok["request-id"] != nil)
        let failed = try #require(calls.first { ($0["method"] as? String)?.hasSuffix("/Enroll") == true })
        #expect(failed["code"] as? String != "OK")
        #expect(!service.stderr.contains("1234567893"), "an NPI reached the log")
        let connected = try #require(objects.first { $0["msg"] as? String == "client connected" })
        #expect(connected["client"] as? String == "lvctl")
        #expect((connected["client_version"] as? String)?.hasPrefix(BuildInfo.version + "+") == true)
    }

    @Test("configuration: flag > environment > file > default; an unknown key is an error naming it")
    func configurationPrecedence() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("lv.conf")
        try """
        # a comment
        listen = 127.0.0.1:0
        metrics-listen = off
        data-dir = "\(dir.path)/from-file"
        log-level = warning
        """.write(to: config, atomically: true, encoding: .utf8)

        // The file alone: metrics off, data under from-file.
        let fileOnly = try LaunchedService("lv-registration", arguments: ["--config", config.path])
        let l1 = try #require(try await fileOnly.readyLine())
        #expect(l1.hasSuffix("metrics=off"))
        #expect(fileOnly.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: "\(dir.path)/from-file/registration.sqlite"))

        // The environment beats the file (metrics on, data elsewhere; the file named by LV_CONFIG).
        let env = try LaunchedService("lv-registration", arguments: [], environment: [
            "LV_CONFIG": config.path, "LV_METRICS_LISTEN": "127.0.0.1:0", "LV_DATA_DIR": "\(dir.path)/from-env"])
        let l2 = try #require(try await env.readyLine())
        #expect(!l2.hasSuffix("metrics=off"))
        #expect(env.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: "\(dir.path)/from-env/registration.sqlite"))

        // A flag beats both.
        let flag = try LaunchedService("lv-registration", arguments: ["--config", config.path, "--metrics-listen", "off",
                                                                      "--data-dir", "\(dir.path)/from-flag"],
                                       environment: ["LV_METRICS_LISTEN": "127.0.0.1:0", "LV_DATA_DIR": "\(dir.path)/from-env"])
        let l3 = try #require(try await flag.readyLine())
        #expect(l3.hasSuffix("metrics=off"))
        #expect(flag.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: "\(dir.path)/from-flag/registration.sqlite"))

        // An unknown key: exit non-zero before the ready line, naming the key and the line.
        try "listen = 127.0.0.1:0\nlisten-address = 127.0.0.1:0\n".write(to: config, atomically: true, encoding: .utf8)
        let bad = try run("lv-registration", ["--config", config.path])
        #expect(bad.status != 0)
        #expect(!bad.output.contains(" ready "))
        #expect(bad.errors.contains("listen-address") && bad.errors.contains("lv.conf:2"), "got: \(bad.errors)")

        // The gateway's own keys are accepted in its file.
        try "listen = 127.0.0.1:0\nmetrics-listen = off\nregistration-addr = 127.0.0.1:1\nbackend-connections = 1\n"
            .write(to: config, atomically: true, encoding: .utf8)
        let gateway = try LaunchedService("lv-gateway", arguments: ["--config", config.path])
        #expect(try await gateway.readyLine() != nil, "lv-gateway refused its own keys: \(gateway.stderr)")
        #expect(gateway.stop() == 0)
    }
}
