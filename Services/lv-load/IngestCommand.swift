import ArgumentParser
import Foundation
import Histogram
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore

/// `lv-load ingest`: engagement events in batches through `RecordEvents`, closed loop.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send engagement events in batches to lv-engagement and report events/s and acknowledgement latency.")

    enum IDKind: String, ExpressibleByArgument { case time, random }

    @Option(name: .customLong("addr"), help: "lv-engagement address HOST:PORT.")
    var address = "127.0.0.1:7402"
    @Option(help: "Events per RecordEvents call.")
    var batch = 500
    @Option(help: "Calls in flight at once.")
    var concurrency = 8
    @Option(help: "Connections they share.")
    var connections = 2
    @Option(help: "Seconds to measure.")
    var duration = 10.0
    @Option(help: "Seconds to run before measuring.")
    var warmup = 1.0
    @Option(name: .customLong("id-kind"), help: "time: time-ordered ids (UUIDv7-like); random: UUIDv4-like.")
    var idKind: IDKind = .time
    @Option(help: "Distinct physicians the events come from.")
    var physicians = 2000
    @Option(help: "Activity id to stamp on every event.")
    var activity = "load-activity"
    @Option(name: .customLong("ack-log"), help: "Append every acknowledged event id to this file (one per line).")
    var ackLog: String?
    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        var configuration = try RPCClient.Configuration(address: address)
        configuration.connections = connections
        configuration.clientName = "lv-load"
        let client = RPCClient(configuration: configuration)
        let engagement = Lv_Engagement_V1_EngagementClient(client)
        let npis = (0..<physicians).map { n -> String in
            let nine = String(format: "%09d", 500_000_000 + n).utf8.map { Int($0) - 48 }
            return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
        }
        let log = try ackLog.map { path -> FileHandle in
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            h.seekToEndOfFile()
            return h
        }
        let logLock = NIOLock()
        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(warmup * 1e9))
        let end = measureFrom + .nanoseconds(Int64(duration * 1e9))
        let (batchSize, kind, activity, workers) = (batch, idKind, activity, concurrency)
        let progress = NIOLockedValueBox<Int>(0)
        let reporter = Task {
            while !Task.isCancelled {
                try await Task.sleep(nanoseconds: 1_000_000_000)
                let n = progress.withLockedValue { v -> Int in defer { v = 0 }; return v }
                FileHandle.standardError.write(Data("\r\(n) events/s acknowledged   ".utf8))
            }
        }
        let result = try await withThrowingTaskGroup(of: IngestWorker.self) { group in
            for w in 0..<workers {
                group.addTask {
                    var worker = IngestWorker()
                    var generator = EventGenerator(worker: w, kind: kind, npis: npis, activity: activity)
                    while true {
                        let sent = NIODeadline.now()
                        if sent >= end { break }
                        var request = Lv_Engagement_V1_RecordEventsRequest()
                        request.events = generator.batch(batchSize)
                        do {
                            let response = try await engagement.recordEvents(request, options: CallOptions(timeout: .seconds(30)))
                            let acked = Int(response.accepted + response.duplicates)
                            progress.withLockedValue { $0 += acked }
                            if let log {
                                let rejected = Set(response.rejected.compactMap { v -> Int? in
                                    let digits = v.field.dropFirst("events[".count).prefix { $0.isNumber }
                                    return Int(digits)
                                })
                                let ids = request.events.enumerated().filter { !rejected.contains($0.offset) }.map(\.element.eventId)
                                let text = ids.joined(separator: "\n") + "\n"
                                logLock.withLock { log.write(Data(text.utf8)) }
                            }
                            if sent >= measureFrom {
                                worker.events += acked
                                worker.rejected += response.rejected.count
                                _ = worker.latency.record(UInt64((NIODeadline.now() - sent).nanoseconds / 1000))
                            }
                        } catch let error as RPCError {
                            worker.errors[error.code.protoName, default: 0] += 1
                            if ackLog != nil && error.code == .unavailable { break } // the server went away
                        }
                    }
                    return worker
                }
            }
            var total = IngestWorker()
            for try await w in group { total.merge(w) }
            return total
        }
        reporter.cancel()
        FileHandle.standardError.write(Data("\n".utf8))
        try log?.close()
        await client.close()
        let h = result.latency
        let rate = Double(result.events) / duration
        let p = { (q: Double) in Double(h.valueAtPercentile(q)) / 1000 }
        if json {
            print(#"{"scenario":"ingest","batch":\#(batch),"id_kind":"\#(idKind.rawValue)","concurrency":\#(concurrency),"connections":\#(connections),"duration_s":\#(duration),"events":\#(result.events),"events_per_s":\#(Int(rate)),"calls":\#(h.totalCount),"p50_ms":\#(p(50)),"p90_ms":\#(p(90)),"p99_ms":\#(p(99)),"p999_ms":\#(p(99.9)),"max_ms":\#(Double(h.max) / 1000),"rejected":\#(result.rejected),"errors":\#(result.errors.values.reduce(0, +))}"#)
        } else {
            print("ingest  batch=\(batch) ids=\(idKind.rawValue) concurrency=\(concurrency) connections=\(connections) duration=\(duration)s")
            print("  events \(result.events)  throughput \(Int(rate)) events/s  (\(h.totalCount) calls)")
            print("  ack latency ms  p50 \(p(50))  p90 \(p(90))  p99 \(p(99))  p99.9 \(p(99.9))  max \(Double(h.max) / 1000)")
            for (code, n) in result.errors.sorted(by: { $0.key < $1.key }) { print("  errors \(code): \(n)") }
        }
    }
}

/// A fast seeded generator (Steele, Lea & Flood 2014): the system generator is a syscall per
/// number, which cost the load client more than the events it sent.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

struct IngestWorker: Sendable {
    var latency = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
    var events = 0
    var rejected = 0
    var errors: [String: Int] = [:]

    mutating func merge(_ other: IngestWorker) {
        latency.add(other.latency)
        events += other.events
        rejected += other.rejected
        errors.merge(other.errors, uniquingKeysWith: +)
    }
}

/// Realistic-looking events: heartbeats mostly, some attendance, answers and ratings, from a
/// pool of physicians, stamped with the current time.
struct EventGenerator {
    let worker: Int
    let kind: Ingest.IDKind
    let npis: [String]
    let activity: String
    var counter: UInt64 = 0
    var rng: SplitMix64

    init(worker: Int, kind: Ingest.IDKind, npis: [String], activity: String) {
        self.worker = worker
        self.kind = kind
        self.npis = npis
        self.activity = activity
        var seed = SystemRandomNumberGenerator()
        rng = SplitMix64(seed: seed.next())
    }

    mutating func id(now: Int64) -> String {
        counter += 1
        switch kind {
        case .time:
            // UUIDv7 layout: 48-bit ms time, then a per-worker counter.
            return hex(UInt64(now), 12) + "-7" + hex(UInt64(worker), 3) + "-" + hex(counter, 16)
        case .random:
            return hex(rng.next(), 16) + "-" + hex(rng.next(), 16)
        }
    }

    mutating func batch(_ n: Int) -> [Lv_Engagement_V1_Event] {
        var now = Int64(Date().timeIntervalSince1970 * 1000)
        now -= 1000 // never ahead of the server's clock
        return (0..<n).map { i in
            var e = Lv_Engagement_V1_Event()
            e.eventId = id(now: now)
            e.npi = npis[Int(rng.next() % UInt64(npis.count))]
            e.activityId = activity
            e.sessionId = "load-session"
            e.timestampMs = now
            switch i % 20 {
            case 0:
                e.verb = .answered
                e.objectId = "poll-\(i % 7)"
                var r = Lv_Engagement_V1_Result()
                r.response = "B"
                e.result = r
            case 1:
                e.verb = .attended
                var r = Lv_Engagement_V1_Result()
                r.durationMs = 60_000
                e.result = r
            case 2:
                e.verb = .rated
                var r = Lv_Engagement_V1_Result()
                r.rating = 4
                e.result = r
            default:
                e.verb = .heartbeat
            }
            return e
        }
    }

    func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? String(s.suffix(width)) : String(repeating: "0", count: width - s.count) + s
    }
}
