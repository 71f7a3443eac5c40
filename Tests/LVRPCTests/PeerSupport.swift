import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
import LVTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The raw peer of these tests (LVTestSupport's, shared with LVSecurityTests and EndToEndTests).
typealias FramedPeer = RawFramePeer

extension RawFramePeer {
    func request(_ streamID: UInt32, _ message: some ProtoMessage, method: String = "lv.testing.v1.Echo/Echo") async throws {
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = method
        try await send(FrameWriter.frame(.request, streamID: streamID, meta: meta, payload: message))
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
