import Histogram
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// `lv-load unary --pipelined` (and `call --pipelined`): the cheapest client the protocol allows, so that a benchmark
/// measures the server and not the client (as h2load does for HTTP/2 and the echo client for
/// bare TCP). One channel handler per connection, on its event loop, keeps `concurrency` REQUEST
/// frames in flight: each answer sends the next one at once, written from a pre-encoded frame
/// (only the stream id changes) and flushed once per read. No Swift task, promise or RPCClient
/// per call. Answers are matched by stream id; a RESPONSE with a status counts as an error by
/// its code. Closed loop only.
public enum PipelinedLoad {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var method: String
        public var payload: [UInt8]
        public var concurrency: Int
        public var connections: Int
        public var warmup: Double
        public var duration: Double
        /// timeout_ms sent in every REQUEST's meta (0: none), as RPCClient sends its call timeout.
        public var timeoutMs: UInt32
        public var credential: String
        /// Stop after this many calls sent once measuring began (the duration still bounds the run).
        public var requests: Int?

        public init(host: String, port: Int, method: String, payload: [UInt8] = [], concurrency: Int, connections: Int = 1,
                    warmup: Double = 0, duration: Double, timeoutMs: UInt32 = 0, credential: String = "", requests: Int? = nil) {
            (self.host, self.port, self.method, self.payload, self.concurrency, self.connections) = (host, port, method, payload, concurrency, connections)
            (self.warmup, self.duration, self.timeoutMs, self.credential, self.requests) = (warmup, duration, timeoutMs, credential, requests)
        }
    }

    /// Runs the load and returns what was measured (latency in microseconds, as `runLoad`).
    public static func run(_ s: Settings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> LoadResult {
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = s.method
        meta.timeoutMs = s.timeoutMs
        var template = try FrameWriter.frame(.request, streamID: 1, meta: meta, encodedPayload: ByteBuffer(bytes: s.payload))
        let frame = template.readBytes(length: template.readableBytes)!
        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(s.warmup * 1e9))
        let end = measureFrom + .nanoseconds(Int64(s.duration * 1e9))
        var hello = Lv_Rpc_V1_Hello()
        hello.protocolVersion = 1
        hello.clientName = "lv-load-pipelined"
        hello.clientVersion = BuildInfo.versionString
        hello.credential = s.credential
        let helloFrame = try FrameWriter.frame(.hello, streamID: 0, payload: hello)

        let connections = max(1, s.connections)
        var futures: [EventLoopFuture<PipelinedClientHandler.Outcome>] = []
        for i in 0..<connections {
            // The calls in flight shared out over the connections.
            let share = s.concurrency / connections + (i < s.concurrency % connections ? 1 : 0)
            let quota = s.requests.map { $0 / connections + (i < $0 % connections ? 1 : 0) }
            let loop = group.next()
            let done = loop.makePromise(of: PipelinedClientHandler.Outcome.self)
            futures.append(done.futureResult)
            _ = try await ClientBootstrap(group: loop)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(PipelinedClientHandler(
                            hello: helloFrame, frame: frame, concurrency: max(1, share),
                            measureFrom: measureFrom, end: end, requests: quota, done: done))
                    }
                }
                .connect(host: s.host, port: s.port).get()
        }
        var result = LoadResult(uncorrected: LoadResult.histogram(), corrected: nil, calls: 0, errors: [:], seconds: s.duration)
        var last = measureFrom
        for f in futures {
            let outcome = try await f.get()
            last = max(last, outcome.finished)
            result.calls += outcome.calls
            result.uncorrected.add(outcome.latency)
            for (k, v) in outcome.errors { result.errors[k, default: 0] += v }
        }
        // With a call limit the run may end before the duration: the rate is over the time it took.
        if s.requests != nil { result.seconds = Double((last - measureFrom).nanoseconds) / 1e9 }
        return result
    }

}

/// Keeps a fixed number of calls in flight on one connection, on the event loop.
final class PipelinedClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Outcome: Sendable {
        var calls = 0
        var latency = LoadResult.histogram()
        var errors: [String: Int] = [:]
        /// When the last answer came.
        var finished = NIODeadline.now()
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let hello: ByteBuffer
    /// One encoded REQUEST frame; bytes 8..<12 (the stream id) are patched per call.
    private let frame: [UInt8]
    private let concurrency: Int
    private let measureFrom: NIODeadline
    private let end: NIODeadline
    /// Calls still to send once measuring began (nil: no limit).
    private var quota: Int?
    private var completed = false
    private let done: EventLoopPromise<Outcome>
    /// Bytes of a frame not yet complete, left from the last read (nil: none, the usual case).
    private var pending: ByteBuffer?
    private var outcome = Outcome()
    private var nextStreamID: UInt32 = 1
    /// Send time of each call in flight, by stream id modulo its size (a power of two ≥ in flight).
    private var sentAt: [UInt64]
    private var mask: UInt32
    private var inFlight = 0

    init(hello: ByteBuffer, frame: [UInt8], concurrency: Int, measureFrom: NIODeadline, end: NIODeadline, requests: Int?,
         done: EventLoopPromise<Outcome>) {
        (self.hello, self.frame, self.concurrency, self.measureFrom, self.end, self.done) = (hello, frame, concurrency, measureFrom, end, done)
        quota = requests
        var size = 1
        while size < concurrency * 2 { size *= 2 }
        sentAt = Array(repeating: 0, count: size)
        mask = UInt32(size - 1)
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(hello), promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        if !completed {
            completed = true
            done.fail(Failure(description: reason))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !completed {
            completed = true
            done.fail(Failure(description: "the server closed the connection with \(inFlight) calls in flight"))
        }
    }

    /// Whether another call may start: the run has time left and, with a limit, calls left.
    private func mayStart(_ now: UInt64) -> Bool {
        guard now < end.uptimeNanoseconds else { return false }
        if now >= measureFrom.uptimeNanoseconds, let q = quota {
            guard q > 0 else { return false }
            quota = q - 1
        }
        return true
    }

    /// Appends the next call's REQUEST to `out`.
    private func send(into out: inout ByteBuffer, now: UInt64) {
        let id = nextStreamID
        nextStreamID &+= 1
        sentAt[Int(id & mask)] = now
        let at = out.writerIndex
        out.writeBytes(frame)
        out.setInteger(id, at: at + 8)
        inFlight += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        var pending: ByteBuffer
        if var left = self.pending {
            self.pending = nil
            left.writeBuffer(&chunk)
            pending = left
        } else {
            pending = chunk
        }
        defer { self.pending = pending.readableBytes > 0 ? pending : nil }
        var out = context.channel.allocator.buffer(capacity: 0)
        var answered = 0
        while pending.readableBytes >= FrameHeader.size {
            let r = pending.readerIndex
            guard pending.getInteger(at: r, as: UInt16.self) == FrameHeader.magic,
                  let type = pending.getInteger(at: r + 3, as: UInt8.self),
                  let metaLength = pending.getInteger(at: r + 6, as: UInt16.self),
                  let streamID = pending.getInteger(at: r + 8, as: UInt32.self),
                  let payloadLength = pending.getInteger(at: r + 12, as: UInt32.self) else {
                return fail(context, "not a frame of the protocol")
            }
            let body = Int(metaLength) + Int(payloadLength)
            guard pending.readableBytes >= FrameHeader.size + body else { break }
            pending.moveReaderIndex(forwardBy: FrameHeader.size)
            let meta = pending.readSlice(length: Int(metaLength))!
            let payload = pending.readSlice(length: Int(payloadLength))!
            switch FrameType(rawValue: type) {
            case .response:
                let now = NIODeadline.now()
                let sent = sentAt[Int(streamID & mask)]
                inFlight -= 1
                answered += 1
                if sent >= UInt64(measureFrom.uptimeNanoseconds) {
                    if metaLength == 0 {
                        outcome.calls += 1
                        _ = outcome.latency.record((now.uptimeNanoseconds &- sent) / 1000)
                    } else {
                        let decoded = try? meta.readMessage(Lv_Rpc_V1_FrameMeta.self)
                        let code = decoded.map { $0.status?.code ?? .ok }
                        if code == .ok {
                            outcome.calls += 1
                            _ = outcome.latency.record((now.uptimeNanoseconds &- sent) / 1000)
                        } else {
                            outcome.errors[code?.protoName ?? "UNDECODABLE_STATUS", default: 0] += 1
                        }
                    }
                }
            case .helloAck:
                let ack = try? payload.readMessage(Lv_Rpc_V1_HelloAck.self)
                let limit = Int(ack?.maxConcurrentStreams ?? 0)
                let now = NIODeadline.now().uptimeNanoseconds
                for _ in 0..<(limit > 0 ? min(concurrency, limit) : concurrency) where mayStart(now) { send(into: &out, now: now) }
            case .goAway:
                let status = (try? payload.readMessage(Lv_Rpc_V1_GoAway.self))?.status
                return fail(context, "GOAWAY \(status?.code.protoName ?? "?"): \(status?.message ?? "")")
            case .ping:
                var pong = FrameWriter.rawFrame(.pong, payload: payload)
                out.writeBuffer(&pong)
            default:
                break
            }
        }
        if answered > 0 {
            let now = NIODeadline.now().uptimeNanoseconds
            for _ in 0..<answered where mayStart(now) { send(into: &out, now: now) }
            if inFlight == 0, !completed {
                completed = true
                outcome.finished = NIODeadline.now()
                done.succeed(outcome)
                context.close(promise: nil)
                return
            }
        }
        if out.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(out), promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }
}
