import ArgumentParser
import Foundation
import Histogram
import Load
import LVAPI
import LVMessages
import LVRPC
import LVTLS
import NIOConcurrencyHelpers
import NIOCore

/// `lv-load`: load generator for any Learning Validation server (anchors: ghz, wrk2).
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-load",
        abstract: "Load-test Learning Validation services over their binary protocol.",
        discussion: """
        Closed loop by default (--concurrency calls in flight). Give --rate for an open loop at a fixed rate, with \
        --steps or --ramp-to for schedules; open-loop latency is reported corrected for coordinated omission (from \
        each call's intended send time, as wrk2) and uncorrected.
        """,
        version: BuildInfo.versionLine("lv-load"),
        subcommands: [Unary.self, Call.self, Ingest.self, CheckInBurst.self, Submissions.self, ViewReads.self, WholeEvent.self])
}

/// Load shape, duration and output: the same for every scenario.
struct LoadOptions: ParsableArguments {
    @Option(name: .customLong("addr"), help: "Server address HOST:PORT.")
    var address: String?
    @Option(help: "Closed loop: calls in flight at once.")
    var concurrency = 16
    @Option(help: "Connections the calls share.")
    var connections = 1
    @Option(help: "Open loop: calls per second (the start rate with --ramp-to).")
    var rate: Double?
    @Option(help: "Open loop in steps: comma-separated rates, each held --step-seconds.")
    var steps: String?
    @Option(name: .customLong("step-seconds"), help: "Seconds per step.")
    var stepSeconds = 10.0
    @Option(name: .customLong("ramp-to"), help: "Open loop ramp: from --rate to this rate over the duration.")
    var rampTo: Double?
    @Option(help: "Seconds to measure.")
    var duration = 10.0
    @Option(help: "Stop after this many measured calls instead of the duration.")
    var requests: Int?
    @Option(help: "Seconds to run before measuring.")
    var warmup = 1.0
    @Option(help: "Seconds each call may take.")
    var timeout = 30.0
    @Option(help: "text or json.")
    var output = "text"
    @Option(name: .customLong("histogram-log"), help: "Write the latency percentile distribution (HdrHistogram text) to this file.")
    var histogramLog: String?
    @Option(name: .customLong("credential-file"), help: "A file holding the API key to present (env LV_CREDENTIAL_FILE, or the key in LV_CREDENTIAL).")
    var credentialFile: String?
    @Option(help: "Connect with TLS, trusting this CA certificate, PEM (env LV_CA).")
    var ca: String?
    @Option(help: "Client certificate for mTLS, PEM (env LV_CERT).")
    var cert: String?
    @Option(help: "The private key of --cert, PEM (env LV_CERT_KEY).")
    var key: String?

    /// The credential and TLS every client of this run uses.
    func security() throws -> ClientSecurity {
        func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        var credential = env("LV_CREDENTIAL") ?? ""
        if let path = credentialFile ?? env("LV_CREDENTIAL_FILE") { credential = try ClientSecurity.readCredential(path: path) }
        return ClientSecurity(credential: credential, ca: ca ?? env("LV_CA"), certificate: cert ?? env("LV_CERT"), key: key ?? env("LV_CERT_KEY"))
    }

    func plan() throws -> LoadPlan {
        var shape = LoadShape.closed(concurrency: concurrency)
        if let steps {
            let rates = steps.split(separator: ",").compactMap { Double($0) }
            guard !rates.isEmpty else { throw ValidationError("--steps: comma-separated rates, e.g. 500,1000,2000") }
            shape = .steps(rates, stepSeconds: stepSeconds)
        } else if let rate, let rampTo {
            shape = .ramp(from: rate, to: rampTo, seconds: duration)
        } else if let rate {
            shape = .fixed(rate)
        }
        return LoadPlan(shape: shape, duration: duration, requests: requests, warmup: warmup)
    }

    func client(default address: String) throws -> RPCClient {
        var c = try RPCClient.Configuration(address: self.address ?? address)
        c.connections = max(1, connections)
        c.clientName = "lv-load"
        try security().apply(to: &c)
        return RPCClient(configuration: c)
    }

    var callOptions: CallOptions { CallOptions(timeout: .nanoseconds(Int64(timeout * 1e9))) }

    /// Runs the plan, printing a live progress line on stderr, then the report on stdout.
    /// `clients` are asked for their per-connection call counts at the end.
    func run(_ name: String, unit: String = "calls", perCall: Int = 1, clients: [RPCClient] = [],
             call: @escaping @Sendable () async throws -> Void) async throws {
        let plan = try plan()
        let done = NIOLockedValueBox(0)
        let ticker = Task {
            while !Task.isCancelled {
                try await Task.sleep(nanoseconds: 1_000_000_000)
                let n = done.withLockedValue { v -> Int in defer { v = 0 }; return v }
                FileHandle.standardError.write(Data("\r\(name): \(n * perCall) \(unit)/s   ".utf8))
            }
        }
        let result = await runLoad(plan, classify: { RPCError.from($0).code.protoName }, progress: { n in done.withLockedValue { $0 += n } },
                                   call: call)
        ticker.cancel()
        FileHandle.standardError.write(Data("\n".utf8))
        report(name, result, unit: unit, perCall: perCall, byConnection: clients.flatMap(\.callsByConnection))
        if let path = histogramLog {
            var text = ""
            (result.corrected ?? result.uncorrected).outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    func report(_ name: String, _ r: LoadResult, unit: String, perCall: Int, byConnection: [Int]) {
        let shape = rate.map { "open loop \(Int($0))/s" + (rampTo.map { "→\(Int($0))/s" } ?? "") } ?? (steps.map { "open loop steps \($0)/s" } ?? "closed loop, \(concurrency) in flight")
        if output == "json" {
            var object: [String: Any] = [
                "scenario": name, "shape": shape, "connections": connections, "seconds": r.seconds, "calls": r.calls,
                "calls_per_s": r.throughput, "errors": r.errors,
                "latency_ms": Dictionary(uniqueKeysWithValues: percentiles(r.uncorrected)),
            ]
            if unit != "calls" { object["\(unit)_per_s"] = r.throughput * Double(perCall) }
            if !byConnection.isEmpty { object["calls_by_connection"] = byConnection }
            if let c = r.corrected { object["latency_corrected_ms"] = Dictionary(uniqueKeysWithValues: percentiles(c)) }
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("\(name)  \(shape)  connections=\(connections)  \(fixedText(r.seconds))s")
        print("  calls \(r.calls)  throughput \(Int(r.throughput))/s" + (perCall > 1 ? "  (\(Int(r.throughput * Double(perCall))) \(unit)/s)" : ""))
        print("  latency ms        " + percentiles(r.uncorrected).map { "\($0.0) \(fixedText($0.1))" }.joined(separator: "  "))
        if let c = r.corrected {
            print("  corrected (wrk2)  " + percentiles(c).map { "\($0.0) \(fixedText($0.1))" }.joined(separator: "  "))
        }
        for (code, n) in r.errors.sorted(by: { $0.key < $1.key }) { print("  errors \(code): \(n)") }
        if !byConnection.isEmpty { print("  calls by connection (warm-up included): " + byConnection.map(String.init).joined(separator: ", ")) }
    }
}

func fixedText(_ x: Double) -> String { String(format: "%.3f", x) }

/// Round trips of `lv.health.v1.Health/Check` (any server).
struct Unary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "lv.health.v1.Health/Check round trips on any server.")
    @OptionGroup var load: LoadOptions
    @Flag(help: "Keep the calls in flight from a channel handler on the event loop (pre-encoded frames, no task per call): the cheapest client, for measuring the server. Closed loop, plaintext.")
    var pipelined = false

    func run() async throws {
        if pipelined {
            return try await PipelinedLoad.run(load, method: Lv.Health.V1.Health.Method.Check.descriptor.fullName, payload: [],
                                               defaultAddress: DefaultPorts.loopback(DefaultPorts.gateway))
        }
        let client = try load.client(default: DefaultPorts.loopback(DefaultPorts.gateway))
        let health = Lv.Health.V1.Health.Client(client)
        let request = Lv_Health_V1_HealthCheckRequest()
        _ = try await health.check(request) // connect, and fail fast when nobody is there
        let options = load.callOptions
        try await load.run("lv.health.v1.Health/Check", clients: [client]) { _ = try await health.check(request, options: options) }
        await client.close()
    }
}

/// Any method with a request given as encoded protobuf bytes.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Any method of any service, with a request encoded by any protobuf implementation.",
        discussion: "Example: lv-load call --addr \(DefaultPorts.loopback(DefaultPorts.registration)) --method lv.registration.v1.Registration/GetPhysician --payload-hex 0a0a31323334353637383933")
    @OptionGroup var load: LoadOptions
    @Option(help: "package.Service/Method") var method: String
    @Option(name: .customLong("payload-hex"), help: "The encoded request, in hex.") var payloadHex = ""
    @Option(name: .customLong("payload-file"), help: "A file holding the encoded request.") var payloadFile: String?
    @Flag(help: "As `unary --pipelined`: calls kept in flight on the event loop, no task per call.") var pipelined = false

    func run() async throws {
        var bytes: [UInt8]
        if let payloadFile {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: payloadFile)))
        } else {
            guard payloadHex.count % 2 == 0 else { throw ValidationError("--payload-hex: an even number of hex digits") }
            bytes = []
            var i = payloadHex.startIndex
            while i < payloadHex.endIndex {
                let j = payloadHex.index(i, offsetBy: 2)
                guard let b = UInt8(payloadHex[i..<j], radix: 16) else { throw ValidationError("--payload-hex: not hex") }
                bytes.append(b)
                i = j
            }
        }
        if pipelined {
            return try await PipelinedLoad.run(load, method: method, payload: bytes,
                                               defaultAddress: DefaultPorts.loopback(DefaultPorts.gateway))
        }
        let client = try load.client(default: DefaultPorts.loopback(DefaultPorts.gateway))
        let payload = ByteBuffer(bytes: bytes)
        let options = load.callOptions
        let method = self.method
        _ = try await client.callRaw(method, encodedRequest: payload, options: options)
        try await load.run(method, clients: [client]) { _ = try await client.callRaw(method, encodedRequest: payload, options: options) }
        await client.close()
    }
}
