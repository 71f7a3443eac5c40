import Foundation
import LVAPI
import LVMessages
import LVRPC
import LVTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite("SIGTERM drain of a real service", .serialized, .timeLimit(.minutes(3)))
struct DrainEndToEndTests {
    enum Phase: Int, Comparable, Sendable {
        case beforeSigterm, sigtermSent, gateOpen
        static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    struct Answer: Sendable {
        var code: StatusCode
        var retryable: Bool
        var phase: Phase
        var afterGoAway: Bool
    }

    @Test("SIGTERM with 24 RecordEvents calls provably in flight: GOAWAY(last_stream_id 24) first; each of 1…24 answered OK exactly once after it, each of 25…34 refused retryable exactly once and not stored; exit 0")
    func sigtermWithCallsInFlight() async throws {
        // Every call waits for this file before its handler runs (the service's test hook), so
        // the calls are held in flight across SIGTERM by the test, not by a race against it.
        let gate = FileManager.default.temporaryDirectory.appendingPathComponent("lv-drain-gate-\(UUID().uuidString)")
        let service = try RunningService("lv-engagement", extraArguments: ["--drain-timeout", "600"],
                                         environment: ["LV_TEST_HOLD_CALLS_UNTIL": gate.path])
        defer { try? FileManager.default.removeItem(at: gate) }
        // A raw peer (LVTestSupport): it sees exactly what the server sent (the RPC client would hide refusals behind retries).
        let peer = try await RawFramePeer.connect(port: service.port)
        try await peer.hello()
        var answers: [UInt32: [Answer]] = [:]
        var goAways: [Lv_Rpc_V1_GoAway] = []
        var phase = Phase.beforeSigterm
        var pongs = 0

        /// Reads frames in arrival order until `done` holds (or the connection ends), recording each.
        func read(until done: () -> Bool) async throws {
            while !done(), let frame = try await peer.next() {
                switch frame.type {
                case FrameType.goAway.rawValue:
                    goAways.append(try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self))
                case FrameType.pong.rawValue:
                    pongs += 1
                default:
                    #expect(frame.type == FrameType.response.rawValue, "unexpected frame type \(frame.type)")
                    let status = try frame.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status
                    answers[frame.streamID, default: []].append(Answer(
                        code: status?.code ?? .ok, retryable: status?.retryable ?? false, phase: phase, afterGoAway: !goAways.isEmpty))
                }
            }
        }
        func batch(_ id: UInt32) throws -> ByteBuffer {
            var request = Lv_Engagement_V1_RecordEventsRequest()
            let now = Int64(Date().timeIntervalSince1970 * 1000) - 1000
            request.events = (0..<500).map { i in
                var e = Lv_Engagement_V1_Event()
                (e.eventId, e.npi, e.verb, e.activityId, e.timestampMs) = ("b\(id)-\(i)", testNPI(i % 50), .heartbeat, "drain", now)
                return e
            }
            var meta = Lv_Rpc_V1_FrameMeta()
            meta.method = "lv.engagement.v1.Engagement/RecordEvents"
            return try FrameWriter.frame(.request, streamID: id, meta: meta, payload: request)
        }

        // 24 batches back to back (under the limit of 256 calls per connection), then a PING:
        // frames are read in order, so its PONG means the server has accepted all 24, and no
        // RESPONSE can come before the gate opens. So all 24 are in flight at SIGTERM.
        let burst: UInt32 = 24
        for id in 1...burst { try await peer.send(try batch(id)) }
        try await peer.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        try await read(until: { pongs == 1 })
        try #require(pongs == 1, "the connection ended before the PONG")
        #expect(answers.isEmpty, "answered while the gate was shut: \(answers.keys.sorted())")

        phase = .sigtermSent
        service.process.terminate()
        try await read(until: { !goAways.isEmpty })
        let goAway = try #require(goAways.first, "no GOAWAY after SIGTERM")
        #expect(goAway.status?.code == .unavailable)
        #expect(goAway.status?.retryable == true)
        #expect(goAway.lastStreamId == burst, "GOAWAY names \(goAway.lastStreamId); the PONG showed exactly \(burst) accepted")
        #expect(answers.isEmpty, "answered before the GOAWAY with the gate shut: \(answers.keys.sorted())")

        // Ten more after the GOAWAY, while the 24 hold the connection open: each is refused,
        // retryable, as it is read; a second PING's PONG comes after those ten answers.
        let late = (burst + 1)...(burst + 10)
        for id in late { try await peer.send(try batch(id)) }
        try await peer.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [8, 7, 6, 5, 4, 3, 2, 1])))
        try await read(until: { pongs == 2 })
        #expect(Set(answers.keys) == Set(late), "before the gate opened, answers came for \(answers.keys.sorted()), not exactly \(late)")

        // Open the gate: the 24 run, are answered, and the server closes the connection and exits.
        phase = .gateOpen
        try Data().write(to: gate)
        try await read(until: { false }) // to the close
        service.process.waitUntilExit()
        #expect(service.process.terminationStatus == 0)
        await peer.close()

        #expect(goAways.count == 1)
        let last = goAway.lastStreamId
        for id in 1...last {
            let a = answers[id] ?? []
            #expect(a.count == 1, "stream \(id) ≤ last_stream_id \(last) answered \(a.count) times")
            #expect(a.first?.code == .ok, "stream \(id) ≤ last_stream_id \(last): \(String(describing: a.first))")
            #expect(a.first?.phase == .gateOpen && a.first?.afterGoAway == true,
                    "stream \(id) answered before the gate opened: it was not in flight at SIGTERM")
        }
        for id in late {
            let a = answers[id] ?? []
            #expect(a.count == 1, "stream \(id) > last_stream_id answered \(a.count) times")
            #expect(a.first?.code == .unavailable && a.first?.retryable == true, "stream \(id) > last_stream_id: \(a)")
            #expect(a.first?.phase == .sigtermSent, "stream \(id) refused only after the gate opened")
        }
        #expect(Set(answers.keys) == Set(1...(burst + 10)), "answers for ids never sent: \(answers.keys.sorted())")

        // Exactly the batches ≤ L are stored; the refused ones never ran.
        let again = try RunningService("lv-engagement", dataDirectory: service.dataDirectory)
        let client = RPCClient(host: "127.0.0.1", port: again.port)
        var list = Lv_Engagement_V1_ListEventsRequest()
        (list.activityId, list.pageSize) = ("drain", 1000)
        var batches: [UInt32: Int] = [:]
        repeat {
            let page = try await Lv.Engagement.V1.Engagement.Client(client).listEvents(list)
            for e in page.events { batches[UInt32(e.eventId.dropFirst().split(separator: "-")[0])!, default: 0] += 1 }
            list.pageToken = page.nextPageToken
        } while !list.pageToken.isEmpty
        await client.close()
        #expect(batches.keys.sorted() == Array(1...last))
        #expect(batches.values.allSatisfy { $0 == 500 })
        #expect(again.stop() == 0)
    }
}
