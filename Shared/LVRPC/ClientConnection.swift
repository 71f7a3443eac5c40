import Logging
import LVMessages
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Per-call settings.
public struct CallOptions: Sendable {
    /// How long to wait for the answer; sent to the server as the call's deadline. nil = no deadline.
    public var timeout: TimeAmount?
    /// Metadata sent with the request (lowercase keys), e.g. "x-request-id".
    public var metadata: [String: String]
    /// W3C traceparent to propagate, or empty.
    public var traceparent: String
    /// When no connection can be made, keep retrying (with backoff) until the deadline instead of
    /// failing at once with UNAVAILABLE (gRPC's wait-for-ready).
    public var waitForReady: Bool

    public init(timeout: TimeAmount? = .seconds(30), metadata: [String: String] = [:], traceparent: String = "",
                waitForReady: Bool = false) {
        self.timeout = timeout
        self.metadata = metadata
        self.traceparent = traceparent
        self.waitForReady = waitForReady
    }
}

/// One client connection: HELLO, then many calls at once matched by stream id. Calls beyond the
/// server's concurrency limit wait in a queue, as gRPC clients do.
final class ClientConnection: Sendable {
    let channel: any Channel
    let helloAck: Lv_Rpc_V1_HelloAck
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let usable: NIOLockedValueBox<Bool>
    private static let callIDs = NIOLockedValueBox<UInt64>(0)

    private init(channel: any Channel, helloAck: Lv_Rpc_V1_HelloAck, handler: NIOLoopBound<ClientConnectionHandler>,
                 usable: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.helloAck = helloAck
        self.handler = handler
        self.usable = usable
    }

    /// True until the connection closes or the server sends GOAWAY.
    var isUsable: Bool { usable.withLockedValue { $0 } }

    static func connect(host: String, port: Int, hello: Lv_Rpc_V1_Hello, limits: FrameLimits,
                        connectTimeout: TimeAmount, group: any EventLoopGroup,
                        setup: ClientChannelSetup? = nil) async throws -> ClientConnection {
        let usable = NIOLockedValueBox(true)
        // The handler, kept from the initializer: a channel closed at once (a failed TLS handshake)
        // has an empty pipeline by the time it could be looked up.
        let made = NIOLockedValueBox<NIOLoopBound<ClientConnectionHandler>?>(nil)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let box = FrameLimitsBox(limits)
                    let handler = ClientConnectionHandler(usable: usable)
                    try setup?(channel, host)
                    try channel.pipeline.syncOperations.addHandler(FlushCoalescingHandler())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(limits: box)))
                    try channel.pipeline.syncOperations.addHandler(handler)
                    made.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
            .connect(host: host, port: port).get()
        guard let bound = made.withLockedValue({ $0 }) else {
            channel.close(promise: nil)
            throw RPCError(.unavailable, "connection to \(host):\(port) was not set up", retryable: true)
        }
        let ack: Lv_Rpc_V1_HelloAck
        do {
            ack = try await channel.eventLoop.flatSubmit { bound.value.sendHello(hello, timeout: connectTimeout) }.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return ClientConnection(channel: channel, helloAck: ack, handler: bound, usable: usable)
    }

    /// Sends one REQUEST and waits for its RESPONSE payload. Cancelling the calling task sends CANCEL.
    func call(method: String, payload: OutgoingPayload, options: CallOptions, deadline: NIODeadline?) async throws -> ByteBuffer {
        let callID = Self.callIDs.withLockedValue { $0 += 1; return $0 }
        let eventLoop = channel.eventLoop
        let handler = self.handler
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = method
        meta.metadata = options.metadata
        meta.traceparent = options.traceparent
        let request = OutgoingCall(id: callID, meta: meta, payload: payload, deadline: deadline, promise: promise)
        return try await withTaskCancellationHandler {
            eventLoop.execute { handler.value.start(request) }
            return try await promise.futureResult.get()
        } onCancel: {
            eventLoop.execute { handler.value.cancel(callID) }
        }
    }

    func close() async {
        try? await channel.close()
    }
}

/// A request payload: a message to pack, or bytes already encoded.
enum OutgoingPayload: @unchecked Sendable { // messages are immutable values; moved to the loop once
    case message(any ProtoMessage)
    case encoded(ByteBuffer)
}

struct OutgoingCall: Sendable {
    let id: UInt64
    var meta: Lv_Rpc_V1_FrameMeta
    let payload: OutgoingPayload
    let deadline: NIODeadline?
    let promise: EventLoopPromise<ByteBuffer>
}

/// The client side of docs/PROTOCOL.md §4, on the connection's event loop.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    private struct CallState {
        var call: OutgoingCall
        var streamID: UInt32?
        var timer: Scheduled<Void>?
    }

    private let usable: NIOLockedValueBox<Bool>
    private var context: ChannelHandlerContext?
    private var helloPromise: EventLoopPromise<Lv_Rpc_V1_HelloAck>?
    private var calls: [UInt64: CallState] = [:]
    private var streams: [UInt32: UInt64] = [:]
    private var queue = CircularBuffer<UInt64>()
    private var nextStreamID: UInt32 = 1
    private var maxConcurrentStreams = Int.max
    private var serverMaxFrameSize = FrameLimits.defaultMaxFrameSize
    private var goAway = false
    private var closed = false
    /// The first error seen before HELLO was sent (a TLS handshake that failed, say), to report it.
    private var setupError: (any Error)?

    init(usable: NIOLockedValueBox<Bool>) {
        self.usable = usable
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Sends HELLO; fails with UNAVAILABLE when no HELLO_ACK comes within `timeout` (a peer that
    /// accepts TCP but does not speak this protocol, e.g. an HTTP server on the port).
    func sendHello(_ hello: Lv_Rpc_V1_Hello, timeout: TimeAmount) -> EventLoopFuture<Lv_Rpc_V1_HelloAck> {
        let eventLoop = context!.eventLoop
        if closed {
            return eventLoop.makeFailedFuture(RPCError(.unavailable,
                "connection closed before HELLO\(setupError.map { ": \($0)" } ?? "")", retryable: setupError == nil))
        }
        let promise = eventLoop.makePromise(of: Lv_Rpc_V1_HelloAck.self)
        helloPromise = promise
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let timer = eventLoop.scheduleTask(in: timeout) {
            let handler = bound.value
            guard let pending = handler.helloPromise else { return }
            handler.helloPromise = nil
            pending.fail(RPCError(.unavailable, "no HELLO_ACK within \(timeout.nanoseconds / 1_000_000) ms; is this a Learning Validation server?", retryable: true))
            handler.closeNow()
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        do {
            write(try FrameWriter.frame(.hello, streamID: 0, payload: hello))
        } catch {
            promise.fail(error)
        }
        return promise.futureResult
    }

    // MARK: calls

    func start(_ call: OutgoingCall) {
        guard !closed, !goAway else {
            return call.promise.fail(RPCError(.unavailable, "connection is closing; the call was not sent", retryable: true))
        }
        var state = CallState(call: call)
        if let deadline = call.deadline {
            let bound = NIOLoopBound(self, eventLoop: context!.eventLoop)
            state.timer = context!.eventLoop.scheduleTask(deadline: deadline) { bound.value.expire(call.id) }
        }
        calls[call.id] = state
        if streams.count < maxConcurrentStreams {
            send(call.id)
        } else {
            queue.append(call.id)
        }
    }

    private func send(_ callID: UInt64) {
        guard var state = calls[callID] else { return }
        if let deadline = state.call.deadline {
            let remaining = deadline - .now()
            guard remaining.nanoseconds > 0 else { return expire(callID) }
            state.call.meta.timeoutMs = UInt32(clamping: max(1, remaining.nanoseconds / 1_000_000))
        }
        guard nextStreamID < UInt32.max else {
            goAway = true
            usable.withLockedValue { $0 = false }
            return finish(callID, .failure(RPCError(.unavailable, "stream ids exhausted on this connection", retryable: true)))
        }
        let streamID = nextStreamID
        let frame: ByteBuffer
        do {
            switch state.call.payload {
            case .message(let message):
                frame = try FrameWriter.frame(.request, streamID: streamID, meta: state.call.meta, payload: message)
            case .encoded(let bytes):
                frame = try FrameWriter.frame(.request, streamID: streamID, meta: state.call.meta, encodedPayload: bytes)
            }
        } catch {
            return finish(callID, .failure(RPCError(.invalidArgument, "the request could not be encoded: \(error)")))
        }
        let body = frame.readableBytes - FrameHeader.size
        guard body <= serverMaxFrameSize else {
            return finish(callID, .failure(RPCError(.resourceExhausted,
                "request of \(body) bytes exceeds the server's frame limit of \(serverMaxFrameSize) bytes")))
        }
        nextStreamID += 1
        state.streamID = streamID
        calls[callID] = state
        streams[streamID] = callID
        write(frame)
    }

    /// Completes a call once, releases its stream and starts queued calls in its place.
    private func finish(_ callID: UInt64, _ result: Result<ByteBuffer, any Error>) {
        guard let state = calls.removeValue(forKey: callID) else { return }
        state.timer?.cancel()
        if let streamID = state.streamID { streams.removeValue(forKey: streamID) }
        state.call.promise.completeWith(result)
        while streams.count < maxConcurrentStreams, !goAway, !closed, let next = queue.popFirst() {
            if calls[next] != nil { send(next) }
        }
        if goAway && streams.isEmpty && !closed { closeNow() }
    }

    func cancel(_ callID: UInt64) {
        guard let state = calls[callID] else { return }
        if let streamID = state.streamID { write(FrameWriter.rawFrame(.cancel, streamID: streamID, payload: ByteBuffer())) }
        finish(callID, .failure(RPCError(.cancelled, "the call was cancelled by the caller")))
    }

    private func expire(_ callID: UInt64) {
        guard let state = calls[callID] else { return }
        if let streamID = state.streamID { write(FrameWriter.rawFrame(.cancel, streamID: streamID, payload: ByteBuffer())) }
        finish(callID, .failure(RPCError(.deadlineExceeded, "no answer before the deadline")))
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .frame(let frame): handle(frame)
        case .unknownType, .overBudget: break
        case .oversized(_, let streamID, let length):
            if let callID = streams[streamID] {
                finish(callID, .failure(RPCError(.resourceExhausted, "response of \(length) bytes exceeds this client's frame limit")))
            }
        case .violation(let violation):
            failAll(RPCError(.internal, "server sent an invalid frame: \(violation)"))
            closeNow()
        }
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .helloAck:
            guard let promise = helloPromise else { return }
            helloPromise = nil
            do {
                let ack = try frame.payload.readMessage(Lv_Rpc_V1_HelloAck.self)
                if ack.maxConcurrentStreams > 0 { maxConcurrentStreams = Int(ack.maxConcurrentStreams) }
                if ack.maxFrameSize > 0 { serverMaxFrameSize = Int(ack.maxFrameSize) }
                promise.succeed(ack)
            } catch {
                promise.fail(RPCError(.internal, "HELLO_ACK payload: \(error)"))
            }
        case .response:
            guard let callID = streams[frame.streamID] else { return } // cancelled or expired meanwhile
            do {
                let meta = try frame.meta.readMessage(Lv_Rpc_V1_FrameMeta.self)
                if let status = meta.status, status.code != .ok {
                    finish(callID, .failure(RPCError(status: status)))
                } else {
                    finish(callID, .success(frame.payload))
                }
            } catch {
                finish(callID, .failure(RPCError(.internal, "response meta: \(error)")))
            }
        case .goAway:
            let message = (try? frame.payload.readMessage(Lv_Rpc_V1_GoAway.self)) ?? Lv_Rpc_V1_GoAway()
            receivedGoAway(message)
        case .ping:
            write(FrameWriter.rawFrame(.pong, payload: frame.payload))
        case .pong, .hello, .request, .cancel:
            break
        }
    }

    private func receivedGoAway(_ message: Lv_Rpc_V1_GoAway) {
        goAway = true
        usable.withLockedValue { $0 = false }
        let reason = message.status.map { RPCError(status: $0) } ?? RPCError(.unavailable, "server sent GOAWAY")
        if let promise = helloPromise {
            helloPromise = nil
            promise.fail(reason)
        }
        // Calls the server never accepted are safe to send again elsewhere.
        let notProcessed = RPCError(.unavailable, "server sent GOAWAY before this call (\(reason.message))", retryable: true)
        for (streamID, callID) in streams where streamID > message.lastStreamId {
            finish(callID, .failure(notProcessed))
        }
        while let callID = queue.popFirst() { finish(callID, .failure(notProcessed)) }
        if streams.isEmpty { closeNow() }
    }

    private func failAll(_ error: RPCError) {
        if let promise = helloPromise {
            helloPromise = nil
            promise.fail(error)
        }
        let sentIDs = Array(streams.values)
        while let callID = queue.popFirst() {
            finish(callID, .failure(RPCError(.unavailable, "connection lost before the call was sent", retryable: true)))
        }
        for callID in sentIDs { finish(callID, .failure(error)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        usable.withLockedValue { $0 = false }
        failAll(RPCError(.unavailable, "connection closed with the call in flight; it may or may not have run"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Before HELLO_ACK (e.g. a TLS handshake that failed): say why, not just "closed".
        if let promise = helloPromise {
            helloPromise = nil
            promise.fail(RPCError(.unavailable, "connection failed before HELLO_ACK: \(error)"))
        } else if setupError == nil {
            setupError = error
        }
        context.close(promise: nil)
    }

    private func closeNow() {
        guard !closed, let context else { return }
        closed = true
        usable.withLockedValue { $0 = false }
        context.close(promise: nil)
    }

    /// Writes and asks for a flush; `FlushCoalescingHandler` merges the flushes of one tick.
    private func write(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
