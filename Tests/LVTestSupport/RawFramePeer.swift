import LVMessages
import LVRPC
import NIOCore
import NIOPosix

/// One frame as read off the wire by a test peer.
public struct WireFrame: Sendable, Equatable {
    public var type: UInt8
    public var streamID: UInt32
    public var meta: ByteBuffer
    public var payload: ByteBuffer

    public init(type: UInt8, streamID: UInt32, meta: ByteBuffer, payload: ByteBuffer) {
        (self.type, self.streamID, self.meta, self.payload) = (type, streamID, meta, payload)
    }

    /// The status of a RESPONSE (nil = OK) or of a GOAWAY.
    public func status() throws -> Lv_Rpc_V1_Status? {
        if type == FrameType.goAway.rawValue { return try payload.readMessage(Lv_Rpc_V1_GoAway.self).status }
        let s = try meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status
        return s?.code == .ok ? nil : s
    }
}

/// Takes one whole frame off the front of `pending` (header, meta, payload), or nil while it
/// holds less than a frame.
public func takeFrame(_ pending: inout ByteBuffer) -> WireFrame? {
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

/// Either end of a connection driven by hand in a test: writes bytes, reads whole frames, so the
/// test sees exactly what the other side sent (the RPC client would hide refusals behind retries).
/// The raw client of LVRPCTests, LVSecurityTests (inside TLS) and EndToEndTests, and the server side
/// of LVRPCTests' `FakeServer`.
public final class RawFramePeer: @unchecked Sendable { // `next` from one task at a time
    /// Hands every chunk read to the peer's stream; put it last in a channel's pipeline.
    public final class Collector: ChannelInboundHandler, Sendable {
        public typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        public init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        public func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        public func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        public func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    public let channel: any Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private var pending = ByteBuffer()

    public init(channel: any Channel, stream: AsyncStream<ByteBuffer>) {
        self.channel = channel
        iterator = stream.makeAsyncIterator()
    }

    /// Connects to 127.0.0.1:`port`; `setup` adds handlers (TLS) before the collector.
    public static func connect(port: Int, setup: (@Sendable (any Channel) throws -> Void)? = nil) async throws -> RawFramePeer {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try setup?(channel)
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawFramePeer(channel: channel, stream: stream)
    }

    public func send(_ buffer: ByteBuffer) async throws { try await channel.writeAndFlush(buffer) }
    public func send(_ bytes: [UInt8]) async throws { try await send(ByteBuffer(bytes: bytes)) }

    /// Sends HELLO and reads the HELLO_ACK; throws UNAVAILABLE when something else comes back.
    public func hello(maxFrameSize: UInt32 = 0) async throws {
        var hello = Lv_Rpc_V1_Hello()
        hello.protocolVersion = 1
        hello.maxFrameSize = maxFrameSize
        try await send(FrameWriter.frame(.hello, streamID: 0, payload: hello))
        guard try await next()?.type == FrameType.helloAck.rawValue else { throw RPCError(.unavailable, "no HELLO_ACK") }
    }

    /// The next frame, or nil when the other side closed the connection.
    public func next() async throws -> WireFrame? {
        while true {
            if let frame = takeFrame(&pending) { return frame }
            guard var chunk = await iterator.next() else { return nil }
            pending.writeBuffer(&chunk)
        }
    }

    /// True when the other side closed the connection (reads end) rather than sending more.
    public func isClosedByPeer() async throws -> Bool { try await next() == nil }

    /// The next frame as a tuple (the older tests' shape).
    public func nextFrame() async throws -> (type: UInt8, streamID: UInt32, meta: ByteBuffer, payload: ByteBuffer)? {
        try await next().map { ($0.type, $0.streamID, $0.meta, $0.payload) }
    }

    public func close() async { try? await channel.close() }
}
