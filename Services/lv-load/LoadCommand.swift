import ArgumentParser
import Histogram
import LVAPI
import LVMessages
import LVRPC
import NIOCore
import NIOPosix

/// `lv-load`: load generator for any Learning Validation server.
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lv-load",
        abstract: "Load-test Learning Validation services over their binary protocol.",
        subcommands: [Unary.self, Ingest.self])
}

/// Closed-loop unary calls: `concurrency` callers each send the next call when the last answers.
struct Unary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Closed-loop round trips of lv.health.v1.Health/Check: throughput and latency percentiles.")

    @Option(name: .customLong("addr"), help: "Server address HOST:PORT.")
    var address = "127.0.0.1:7400"

    @Option(help: "Calls in flight at once.")
    var concurrency = 16

    @Option(help: "Connections they share.")
    var connections = 1

    @Option(help: "Seconds to measure.")
    var duration = 5.0

    @Option(help: "Seconds to run before measuring.")
    var warmup = 1.0

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        var configuration = try RPCClient.Configuration(address: address)
        configuration.connections = connections
        configuration.clientName = "lv-load"
        let client = RPCClient(configuration: configuration)
        let health = Lv_Health_V1_HealthClient(client)
        let request = Lv_Health_V1_HealthCheckRequest()
        _ = try await health.check(request) // connect and fail fast if the server is not there

        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(warmup * 1e9))
        let end = measureFrom + .nanoseconds(Int64(duration * 1e9))
        let results = try await withThrowingTaskGroup(of: Worker.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var worker = Worker()
                    while true {
                        let sent = NIODeadline.now()
                        if sent >= end { break }
                        do {
                            _ = try await health.check(request)
                            if sent >= measureFrom {
                                _ = worker.latency.record(UInt64((NIODeadline.now() - sent).nanoseconds / 1000))
                            }
                        } catch let error as RPCError {
                            if sent >= measureFrom { worker.errors[error.code.protoName, default: 0] += 1 }
                        }
                    }
                    return worker
                }
            }
            var total = Worker()
            for try await w in group { total.merge(w) }
            return total
        }
        await client.close()
        report(results)
    }

    func report(_ w: Worker) {
        let h = w.latency
        let rate = Double(h.totalCount) / duration
        let p = { (q: Double) in Double(h.valueAtPercentile(q)) / 1000 }
        if json {
            print(#"{"method":"lv.health.v1.Health/Check","concurrency":\#(concurrency),"connections":\#(connections),"duration_s":\#(duration),"calls":\#(h.totalCount),"calls_per_s":\#(Int(rate)),"p50_ms":\#(p(50)),"p90_ms":\#(p(90)),"p99_ms":\#(p(99)),"p999_ms":\#(p(99.9)),"max_ms":\#(Double(h.max) / 1000),"errors":\#(w.errors.values.reduce(0, +))}"#)
        } else {
            print("lv.health.v1.Health/Check  concurrency=\(concurrency) connections=\(connections) duration=\(duration)s")
            print("  calls \(h.totalCount)  throughput \(Int(rate))/s")
            print("  latency ms  p50 \(p(50))  p90 \(p(90))  p99 \(p(99))  p99.9 \(p(99.9))  max \(Double(h.max) / 1000)")
            for (code, n) in w.errors.sorted(by: { $0.key < $1.key }) { print("  errors \(code): \(n)") }
        }
    }
}

struct Worker: Sendable {
    /// Microseconds.
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    var errors: [String: Int] = [:]

    mutating func merge(_ other: Worker) {
        latency.add(other.latency)
        errors.merge(other.errors, uniquingKeysWith: +)
    }
}
