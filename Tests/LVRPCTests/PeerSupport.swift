import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// One frame as read off the wire by a test peer.
struct WireFrame {
    var type: UInt8
    var streamID: UInt32
    var meta: ByteBuffer
    var payload: ByteBuffer

    /// The status of a RESPONSE (nil = OK) or of a GOAWAY.
    func status() throws -> Lv_Rpc_V1_Status? {
        if type == FrameType.goAway.rawValue { return try payload.readMessage(Lv_Rpc_V1_GoAway.self).status }
        let s = try meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status
        return s?.code == .ok ? nil : s
    }
}

/// Either end of a connection driven by hand in a test: writes bytes, reads whole frames.
/// Used as a raw client against a real server, and as the server side of `FakeServer`.
final class FramedPeer: @unchecked Sendable { // used by one test task at a time
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    let channel: any Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private var pending = ByteBuffer()

    init(channel: any Channel, stream: AsyncStream<ByteBuffer>) {
        self.channel = channel
        iterator = stream.makeAsyncIterator()
    }

    static func connect(port: Int) async throws -> FramedPeer {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { $0.pipeline.addHandler(Collector(continuation)) }
            .connect(host: "127.0.0.1", port: port).get()
        return FramedPeer(channel: channel, stream: stream)
    }

    func send(_ buffer: ByteBuffer) async throws { try await channel.writeAndFlush(buffer) }

    func hello(maxFrameSize: UInt32 = 0) async throws {
        var hello = Lv_Rpc_V1_Hello()
        hello.protocolVersion = 1
        hello.maxFrameSize = maxFrameSize
        try await send(FrameWriter.frame(.hello, streamID: 0, payload: hello))
        let ack = try await next()
        precondition(ack?.type == FrameType.helloAck.rawValue, "no HELLO_ACK")
    }

    func request(_ streamID: UInt32, _ message: some ProtoMessage, method: String = "lv.testing.v1.Echo/Echo") async throws {
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = method
        try await send(FrameWriter.frame(.request, streamID: streamID, meta: meta, payload: message))
    }

    /// The next frame, or nil when the other side closed the connection.
    func next() async throws -> WireFrame? {
        while true {
            if let frame = takeFrame(&pending) { return frame }
            guard var chunk = await iterator.next() else { return nil }
            pending.writeBuffer(&chunk)
        }
    }

    /// Sends a PING and returns every frame that arrives before its PONG: a barrier that proves
    /// the other side sent nothing else (frames on one connection arrive in order).
    func framesBeforePong() async throws -> [WireFrame] {
        let token: [UInt8] = [0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58]
        try await send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: token)))
        var seen: [WireFrame] = []
        while let frame = try await next() {
            if frame.type == FrameType.pong.rawValue && Array(frame.payload.readableBytesView) == token { return seen }
            seen.append(frame)
        }
        Issue.record("the connection closed before the PONG")
        return seen
    }

    func close() async { try? await channel.close() }
}

/// A TCP server whose connections the test drives frame by frame (to play a misbehaving or
/// scripted server against the real client).
final class FakeServer: @unchecked Sendable { // `accept` is called from one task at a time
    let channel: any Channel
    private var iterator: AsyncStream<FramedPeer>.AsyncIterator

    init() async throws {
        let (stream, continuation) = AsyncStream<FramedPeer>.makeStream()
        iterator = stream.makeAsyncIterator()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                let (bytes, bytesContinuation) = AsyncStream<ByteBuffer>.makeStream()
                continuation.yield(FramedPeer(channel: child, stream: bytes))
                return child.pipeline.addHandler(FramedPeer.Collector(bytesContinuation))
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var port: Int { channel.localAddress!.port! }

    /// The next accepted connection, after answering its HELLO.
    func accept(maxConcurrentStreams: UInt32 = 100, maxFrameSize: UInt32 = 4 * 1024 * 1024) async throws -> FramedPeer {
        guard let peer = await iterator.next() else { throw RPCError(.unavailable, "fake server closed") }
        let hello = try #require(try await peer.next())
        #expect(hello.type == FrameType.hello.rawValue)
        var ack = Lv_Rpc_V1_HelloAck()
        ack.protocolVersion = 1
        ack.maxConcurrentStreams = maxConcurrentStreams
        ack.maxFrameSize = maxFrameSize
        try await peer.send(FrameWriter.frame(.helloAck, streamID: 0, payload: ack))
        return peer
    }

    func close() async { try? await channel.close() }
}

/// An echo handler whose calls wait until the test opens the gate (or their task is cancelled):
/// "in flight" without any timing assumption.
final class GatedEcho: Lv.Testing.V1.Echo.ServiceProtocol {
    let started = NIOLockedValueBox<Int>(0)
    let cancelled = NIOLockedValueBox<Int>(0)
    let completed = NIOLockedValueBox<Int>(0)
    private let gate = NIOLockedValueBox<(open: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>])>((false, [:]))
    private let counter = NIOLockedValueBox<UInt64>(0)

    func open() {
        let waiters = gate.withLockedValue { g -> [CheckedContinuation<Void, Never>] in
            g.open = true
            defer { g.waiters = [:] }
            return Array(g.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    private func wait() async {
        let id = counter.withLockedValue { $0 += 1; return $0 }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = gate.withLockedValue { g -> Bool in
                    if g.open || Task.isCancelled { return true }
                    g.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = gate.withLockedValue { $0.waiters.removeValue(forKey: id) }
            c?.resume()
        }
    }

    func echo(_ request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        started.withLockedValue { $0 += 1 }
        await wait()
        if Task.isCancelled {
            cancelled.withLockedValue { $0 += 1 }
            throw CancellationError()
        }
        completed.withLockedValue { $0 += 1 }
        var response = EchoResponse()
        response.text = request.text
        response.padding = request.padding
        return response
    }
}

/// An in-process server on port 0 serving `GatedEcho`.
struct GatedServer {
    let server: RPCServer
    let echo: GatedEcho
    let runTask: Task<Void, any Error>
    let port: Int

    static func start(maxConcurrentStreams: Int = 256, drainTimeout: TimeAmount = .seconds(60),
                      serverName: String = "gated",
                      credential: (@Sendable (String) -> String?)? = nil) async throws -> GatedServer {
        let echo = GatedEcho()
        var router = Router()
        echo.register(into: &router)
        var logger = Logger(label: "gated-server")
        logger.logLevel = .critical
        var configuration = RPCServer.Configuration(host: "127.0.0.1", port: 0, serverName: serverName,
                                                    maxConcurrentStreams: maxConcurrentStreams, drainTimeout: drainTimeout)
        configuration.credentialCheck = credential
        let server = RPCServer(configuration: configuration, router: router, interceptors: [], logger: logger)
        let task = Task { try await server.run() }
        let address = try await server.localAddress
        return GatedServer(server: server, echo: echo, runTask: task, port: address.port!)
    }
}

/// Takes one whole frame off the front of `pending` (header, meta, payload), or nil while it
/// holds less than a frame.
func takeFrame(_ pending: inout ByteBuffer) -> WireFrame? {
    guard pending.readableBytes >= FrameHeader.size else { return nil }
    let i = pending.readerIndex
    let metaLength = Int(pending.getInteger(at: i + 6, as: UInt16.self)!)
    let payloadLength = Int(pending.getInteger(at: i + 12, as: UInt32.self)!)
    guard pending.readableBytes >= FrameHeader.size + metaLength + payloadLength else { return nil }
    let type = pending.getInteger(at: i + 3, as: UInt8.self)!
    let stream = pending.getInteger(at: i + 8, as: UInt32.self)!
    pending.moveReaderIndex(forwardBy: FrameHeader.size)
    let meta = pending.readSlice(length: metaLength)!
    let payload = pending.readSlice(length: payloadLength)!
    return WireFrame(type: type, streamID: stream, meta: meta, payload: payload)
}
