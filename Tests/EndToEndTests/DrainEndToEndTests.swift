import Foundation
import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// A raw protocol peer over TCP: pipelines hand-made frames and reads whole frames back, so the
/// test sees exactly what the server sent (the RPC client would hide refusals behind retries).
final class RawPeer: @unchecked Sendable { // `next` from one task, `send` from another
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    private let channel: any Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private var pending = ByteBuffer()

    init(port: Int) async throws {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { $0.pipeline.addHandler(Collector(continuation)) }
            .connect(host: "127.0.0.1", port: port).get()
        iterator = stream.makeAsyncIterator()
        var hello = Lv_Rpc_V1_Hello()
        hello.protocolVersion = 1
        try await send(FrameWriter.frame(.hello, streamID: 0, payload: hello))
        guard try await next()?.type == FrameType.helloAck.rawValue else { throw RPCError(.unavailable, "no HELLO_ACK") }
    }

    func send(_ buffer: ByteBuffer) async throws { try await channel.writeAndFlush(buffer) }

    func next() async throws -> (type: UInt8, streamID: UInt32, meta: ByteBuffer, payload: ByteBuffer)? {
        while true {
            if pending.readableBytes >= FrameHeader.size {
                let i = pending.readerIndex
                let metaLength = Int(pending.getInteger(at: i + 6, as: UInt16.self)!)
                let payloadLength = Int(pending.getInteger(at: i + 12, as: UInt32.self)!)
                if pending.readableBytes >= FrameHeader.size + metaLength + payloadLength {
                    let type = pending.getInteger(at: i + 3, as: UInt8.self)!
                    let stream = pending.getInteger(at: i + 8, as: UInt32.self)!
                    pending.moveReaderIndex(forwardBy: FrameHeader.size)
                    return (type, stream, pending.readSlice(length: metaLength)!, pending.readSlice(length: payloadLength)!)
                }
            }
            guard var chunk = await iterator.next() else { return nil }
            pending.writeBuffer(&chunk)
        }
    }

    func close() async { try? await channel.close() }
}

@Suite("SIGTERM drain of a real service", .serialized, .timeLimit(.minutes(3)))
struct DrainEndToEndTests {
    struct Answer: Sendable {
        var code: StatusCode
        var retryable: Bool
        var afterGoAway: Bool
    }

    @Test("SIGTERM with many RecordEvents calls in flight: GOAWAY(last_stream_id L); every id ≤ L answered OK exactly once, every later one refused retryable and not stored; exit 0")
    func sigtermWithCallsInFlight() async throws {
        let service = try RunningService("lv-engagement")
        let peer = try await RawPeer(port: service.port)
        let answers = NIOLockedValueBox<[UInt32: [Answer]]>([:])
        let goAways = NIOLockedValueBox<[Lv_Rpc_V1_GoAway]>([])

        let pongs = NIOLockedValueBox(0)
        let reader = Task {
            while let frame = try await peer.next() {
                if frame.type == FrameType.goAway.rawValue {
                    let g = try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self)
                    goAways.withLockedValue { $0.append(g) }
                    continue
                }
                if frame.type == FrameType.pong.rawValue {
                    pongs.withLockedValue { $0 += 1 }
                    continue
                }
                #expect(frame.type == FrameType.response.rawValue)
                let status = try frame.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status
                let seenGoAway = goAways.withLockedValue { !$0.isEmpty }
                let answer = Answer(code: status?.code ?? .ok, retryable: status?.retryable ?? false, afterGoAway: seenGoAway)
                answers.withLockedValue { $0[frame.streamID, default: []].append(answer) }
            }
        }
        func batch(_ id: UInt32) throws -> ByteBuffer {
            var request = Lv_Engagement_V1_RecordEventsRequest()
            let now = Int64(Date().timeIntervalSince1970 * 1000) - 1000
            request.events = (0..<2000).map { i in
                var e = Lv_Engagement_V1_Event()
                (e.eventId, e.npi, e.verb, e.activityId, e.timestampMs) = ("b\(id)-\(i)", testNPI(i % 50), .heartbeat, "drain", now)
                return e
            }
            var meta = Lv_Rpc_V1_FrameMeta()
            meta.method = "lv.engagement.v1.Engagement/RecordEvents"
            return try FrameWriter.frame(.request, streamID: id, meta: meta, payload: request)
        }
        // 24 batches of 2,000 events back to back (under the limit of 256 calls per connection, so
        // no refusal comes from it), then a PING: frames are read in order, so its PONG means the
        // server has accepted all 24. SIGTERM follows at once, while most are still being stored.
        let burst: UInt32 = 24
        for id in 1...burst { try await peer.send(try batch(id)) }
        try await peer.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        for _ in 0..<6000 where pongs.withLockedValue({ $0 }) == 0 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        #expect(pongs.withLockedValue { $0 } == 1)
        service.process.terminate()
        // Ten more after SIGTERM: each is refused (retryable) or never read, as it races the close.
        for id in burst + 1...burst + 10 {
            do { try await peer.send(try batch(id)) } catch { break }
        }
        service.process.waitUntilExit()
        #expect(service.process.terminationStatus == 0)
        try await reader.value
        await peer.close()

        let goAway = try #require(goAways.withLockedValue { $0 }.first, "no GOAWAY before the close")
        #expect(goAways.withLockedValue { $0.count } == 1)
        #expect(goAway.status?.code == .unavailable)
        #expect(goAway.status?.retryable == true)
        let last = goAway.lastStreamId
        let all = answers.withLockedValue { $0 }
        // The PONG showed all 24 were accepted; one sent after SIGTERM may still be accepted
        // before the signal reaches the server (then it is processed, and counts as ≤ L).
        #expect(last >= burst && last <= burst + 10, "GOAWAY names \(last); the PONG showed all \(burst) were accepted")
        for id in 1...last {
            let a = all[id] ?? []
            #expect(a.count == 1, "stream \(id) ≤ last_stream_id \(last) answered \(a.count) times")
            #expect(a.first?.code == .ok, "stream \(id) ≤ last_stream_id \(last): \(String(describing: a.first))")
        }
        for (id, a) in all where id > last {
            #expect(a.count == 1, "stream \(id) answered \(a.count) times")
            #expect(a.first?.code == .unavailable && a.first?.retryable == true, "stream \(id) > last_stream_id: \(a)")
        }
        // Calls were in flight at SIGTERM: some ids ≤ L were answered after the GOAWAY. Storing
        // 48,000 events takes far longer than delivering a signal, but that is a race this test
        // does not assert (DrainTests in LVRPCTests holds calls open and checks the drain
        // deterministically); it says what it saw.
        let drained = (1...last).filter { all[$0]?.first?.afterGoAway == true }.count
        let refusedAfter = all.keys.filter { $0 > last }.count
        print("drain: last_stream_id \(last), \(drained) answered after GOAWAY, \(refusedAfter) ids above it answered")
        if drained == 0 { print("drain: WARNING: nothing was in flight at SIGTERM in this run; only the invariants were checked") }

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
        #expect(batches.values.allSatisfy { $0 == 2000 })
        #expect(again.stop() == 0)
    }
}
