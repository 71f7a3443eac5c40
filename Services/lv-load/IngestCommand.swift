import ArgumentParser
import Foundation
import LVAPI
import LVDomain
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore

/// `lv-load ingest`: engagement events in batches through `RecordEvents`.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send engagement events in batches to lv-engagement: events/s and acknowledgement latency.")

    enum IDKind: String, ExpressibleByArgument { case time, random }

    @OptionGroup var load: LoadOptions
    @Option(help: "Events per RecordEvents call.")
    var batch = 500
    @Option(name: .customLong("id-kind"), help: "time: time-ordered ids (UUIDv7-like); random: UUIDv4-like.")
    var idKind: IDKind = .time
    @Option(help: "Distinct physicians the events come from.")
    var physicians = 2000
    @Option(help: "Activity id to stamp on every event.")
    var activity = "load-activity"
    @Option(name: .customLong("ack-log"), help: "Append every acknowledged event id to this file (one per line).")
    var ackLog: String?

    func run() async throws {
        let client = try load.client(default: DefaultPorts.loopback(DefaultPorts.engagement))
        let engagement = Lv.Engagement.V1.Engagement.Client(client)
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
        let worker = NIOLockedValueBox(0)
        let (batchSize, kind, activity, options) = (batch, idKind, activity, load.callOptions)
        try await load.run("ingest batch=\(batch) ids=\(idKind.rawValue)", unit: "events", perCall: batch, clients: [client]) {
            // One generator per call keeps calls independent; ids stay unique by worker number.
            var generator = EventGenerator(worker: worker.withLockedValue { $0 += 1; return $0 }, kind: kind, npis: npis, activity: activity)
            var request = Lv_Engagement_V1_RecordEventsRequest()
            request.events = generator.batch(batchSize)
            let response = try await engagement.recordEvents(request, options: options)
            guard response.rejected.isEmpty else {
                throw RPCError(.invalidArgument, "\(response.rejected.count) events rejected: \(response.rejected[0].description)")
            }
            if let log {
                let text = request.events.map(\.eventId).joined(separator: "\n") + "\n"
                logLock.withLock { log.write(Data(text.utf8)) }
            }
        }
        try log?.close()
        await client.close()
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
