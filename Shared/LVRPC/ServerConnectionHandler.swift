import Logging
import LVMessages
import NIOConcurrencyHelpers
import NIOCore

/// One server-side connection: the state rules of docs/PROTOCOL.md §4 (HELLO first, stream ids
/// increasing, concurrency limit, deadlines, CANCEL, PING, GOAWAY and drain, idle timeout).
///
/// Everything here runs on the connection's event loop. Handlers run as Swift tasks; their
/// results come back to the loop through `finish`, so a stream is answered exactly once.
/// By default (`handlersOnEventLoop`) a handler's task prefers the connection's event loop as
/// its executor and starts at once, inside the read that brought its REQUEST: a handler that
/// does not suspend (health, reflection, a refusal) is answered before the read returns, and
/// one that awaits (the store's threads, another server) resumes on the loop — no thread
/// switch per call. SQLite still runs only on the store's own threads.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    struct Configuration: Sendable {
        var serverName: String
        var maxConcurrentStreams: Int
        var idleTimeout: TimeAmount?
        /// Returns nil to accept the HELLO credential, or the reason to refuse it.
        var credentialCheck: (@Sendable (String) -> String?)?
        /// Checks the HELLO credential and names the connection's principal.
        var authenticator: Authenticator?
        /// Told the status of every call as sent (CANCELLED when nothing was sent).
        var observer: (any CallObserver)?
        /// Close a connection that has not sent HELLO within this long.
        var helloTimeout: TimeAmount? = .seconds(5)
        /// Close a connection whose frame body has been arriving for longer than this (slowloris).
        var bodyTimeout: TimeAmount? = .seconds(30)
        /// PINGs answered per second on one connection, with bursts up to `pingBurst`; beyond, the connection closes.
        var pingsPerSecond: Double = 10
        var pingBurst: Double = 50
        /// The server's budget for large bodies; frames carry their share of it into streams.
        var budget: BodyBudget?
        /// Whether to `malloc_trim` after large requests (`PeerLimits.returnMemory`).
        var returnMemory = false
        /// Run handlers on the connection's event loop (true) or on the Swift cooperative pool.
        var handlersOnEventLoop = true
    }

    private enum Phase { case awaitingHello, open, draining, closed }

    private struct ActiveStream {
        /// nil only while the handler's first synchronous part runs (`Task.immediate`).
        var task: Task<Void, Never>?
        var deadline: NIODeadline?
        var method: String
        var start: NIODeadline
        /// Bytes of the body budget the request's payload holds.
        var reserved = 0
    }

    private let configuration: Configuration
    /// Method name -> its descriptor and handler wrapped in the interceptors, built once per server.
    private let routes: [String: (descriptor: MethodDescriptor, handler: Router.Handler)]
    private let limitsBox: FrameLimitsBox
    private let registry: ConnectionRegistry
    private var logger: Logger

    private var phase = Phase.awaitingHello
    private var streams: [UInt32: ActiveStream] = [:]
    private var highestStreamID: UInt32 = 0
    private var peerMaxFrameSize = FrameLimits.defaultMaxFrameSize
    private var lastActivity = NIODeadline.now()
    private var idleTimer: RepeatedTask?
    private var context: ChannelHandlerContext?
    private var requestCounter: UInt64 = 0
    /// "<server>-<connection>": generated request ids are this, a dash and the counter.
    private var requestIDPrefix = ""
    /// The connection's event loop as a task executor (nil: handlers run on the cooperative pool).
    private var executor: EventLoopTaskExecutor?
    /// One timer for every deadline of the connection, due at the earliest (`deadlineTimerAt`):
    /// a call adds no timer of its own, and finishing one cancels nothing.
    private var deadlineTimer: Scheduled<Void>?
    private var deadlineTimerAt: NIODeadline?
    private var peer = ""
    private var principal: Principal?
    private var helloTimer: Scheduled<Void>?
    private var bodyTimer: RepeatedTask?
    private var pingTokens: Double = 0
    private var pingRefilled = NIODeadline.now()
    /// The reservation of the frame being handled, until a stream adopts it.
    private var unadopted = 0
    /// Whether this connection held large bodies (so closing it may return memory).
    private var heldLargeBodies = false

    init(configuration: Configuration, routes: [String: (descriptor: MethodDescriptor, handler: Router.Handler)],
         limits: FrameLimitsBox, registry: ConnectionRegistry, logger: Logger) {
        self.configuration = configuration
        self.routes = routes
        self.limitsBox = limits
        self.registry = registry
        self.logger = logger
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        requestIDPrefix = "\(configuration.serverName)-\(ObjectIdentifier(self).hashValue & 0xffff)"
        if configuration.handlersOnEventLoop { executor = EventLoopTaskExecutor(context.eventLoop) }
        peer = context.remoteAddress.map { "\($0)" } ?? "?"
        logger[metadataKey: "peer"] = "\(peer)"
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        registry.add(context.channel) { bound.value.beginDrain() }
        pingTokens = configuration.pingBurst
        if let timeout = configuration.helloTimeout {
            helloTimer = context.eventLoop.scheduleTask(in: timeout) {
                guard bound.value.phase == .awaitingHello else { return }
                bound.value.connectionError(RPCError(.deadlineExceeded,
                    "no HELLO within \(timeout.nanoseconds / 1_000_000)ms of connecting"))
            }
        }
        if let timeout = configuration.bodyTimeout {
            let every = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, TimeAmount.milliseconds(50).nanoseconds))
            bodyTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
                bound.value.checkBody(limit: timeout)
            }
        }
        if let idle = configuration.idleTimeout {
            let every = TimeAmount.nanoseconds(max(idle.nanoseconds / 4, TimeAmount.milliseconds(50).nanoseconds))
            idleTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in
                bound.value.checkIdle(limit: idle)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        idleTimer?.cancel()
        helloTimer?.cancel()
        bodyTimer?.cancel()
        deadlineTimer?.cancel()
        cancelAllStreams()
        registry.remove(context.channel)
        if heldLargeBodies && configuration.returnMemory { MemoryReturn.soon() }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase != .closed else { return }
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .violation(let violation):
            connectionError(RPCError(violation.status, violation.description))
        case .oversized(let type, let streamID, let length):
            guard phase != .awaitingHello else { return helloMissing() }
            guard type == FrameType.request.rawValue else { return }
            guard acceptStreamID(streamID) else { return }
            record("unknown", .resourceExhausted, since: .now())
            respond(streamID, error: RPCError(.resourceExhausted,
                "request of \(length) bytes exceeds the frame limit of \(limitsBox.limits.maxFrameSize) bytes"))
        case .overBudget(let type, let streamID, let length):
            guard phase != .awaitingHello else { return helloMissing() }
            guard type == FrameType.request.rawValue else { return }
            guard acceptStreamID(streamID) else { return }
            respond(streamID, error: RPCError(.resourceExhausted,
                "the server is holding its limit of large request bodies; this one (\(length) bytes) was not read",
                retryable: true, retryAfterMs: 100))
        case .unknownType(let type, _):
            guard phase != .awaitingHello else { return helloMissing() }
            logger.debug("skipped frame of unknown type", metadata: ["type": "\(type)"])
        case .frame(let frame):
            unadopted = frame.reservedBytes
            if unadopted > 0 { heldLargeBodies = true }
            handle(frame)
            if unadopted > 0 { configuration.budget?.release(unadopted) }
            unadopted = 0
        }
    }

    // MARK: frames

    private func handle(_ frame: Frame) {
        if phase == .awaitingHello {
            guard frame.type == .hello else { return helloMissing() }
            return handleHello(frame)
        }
        switch frame.type {
        case .request: handleRequest(frame)
        case .cancel:
            if let stream = removeStream(frame.streamID) {
                stream.task?.cancel()
                record(stream, .cancelled)
                closeIfDrained()
            }
        case .ping:
            guard takePingToken() else {
                return connectionError(RPCError(.resourceExhausted,
                    "more than \(Int(configuration.pingsPerSecond)) PINGs per second (bursts of \(Int(configuration.pingBurst)))"))
            }
            write(FrameWriter.rawFrame(.pong, payload: frame.payload))
        case .pong: break
        case .goAway:
            phase = .draining
            closeIfDrained()
        case .hello: connectionError(RPCError(.failedPrecondition, "HELLO sent twice on one connection"))
        case .helloAck, .response:
            connectionError(RPCError(.failedPrecondition, "a client may not send \(frame.type) frames"))
        }
    }

    private func helloMissing() {
        connectionError(RPCError(.failedPrecondition, "the first frame on a connection must be HELLO"))
    }

    private func handleHello(_ frame: Frame) {
        let hello: Lv_Rpc_V1_Hello
        do {
            hello = try frame.payload.readMessage(Lv_Rpc_V1_Hello.self, budget: .requests)
        } catch {
            return connectionError(RPCError(.invalidArgument, "HELLO payload: \(error)"))
        }
        guard hello.protocolVersion >= 1 else {
            return connectionError(RPCError(.invalidArgument, "HELLO protocol_version must be at least 1"))
        }
        if let check = configuration.credentialCheck, let reason = check(hello.credential) {
            return connectionError(RPCError(.unauthenticated, reason))
        }
        if let authenticate = configuration.authenticator {
            switch authenticate(hello.credential, RPCServer.host(of: context?.remoteAddress)) {
            case .success(let p):
                principal = p
                if let p { logger[metadataKey: "key"] = "\(p.name)" }
            case .failure(let error):
                return connectionError(error)
            }
        }
        if hello.maxFrameSize > 0 { peerMaxFrameSize = Int(hello.maxFrameSize) }
        if !hello.clientName.isEmpty { logger[metadataKey: "client"] = "\(LogSafe.clip(hello.clientName, 64))" }
        logger.info("client connected", metadata: [
            "client_version": "\(hello.clientVersion.isEmpty ? "unknown" : LogSafe.clip(hello.clientVersion, 64))",
        ])
        helloTimer?.cancel()
        var ack = Lv_Rpc_V1_HelloAck()
        ack.protocolVersion = 1
        ack.maxFrameSize = UInt32(limitsBox.limits.maxFrameSize)
        ack.maxConcurrentStreams = UInt32(configuration.maxConcurrentStreams)
        ack.serverName = configuration.serverName
        ack.serverVersion = BuildInfo.versionString
        ack.idleTimeoutS = UInt32((configuration.idleTimeout?.nanoseconds ?? 0) / 1_000_000_000)
        phase = .open
        if let frame = try? FrameWriter.frame(.helloAck, streamID: 0, payload: ack) {
            write(frame)
        } else {
            // A configured name or version protobuf-c cannot carry (a NUL): answer without them
            // rather than trap the process on a path every peer reaches.
            ack.serverName = ""
            ack.serverVersion = ""
            writeEncoded(.helloAck, payload: ack)
        }
    }

    /// Stream ids must increase; a reused or lower id is a connection error.
    private func acceptStreamID(_ id: UInt32) -> Bool {
        guard id > highestStreamID else {
            connectionError(RPCError(.failedPrecondition,
                "stream id \(id) is not above the last one (\(highestStreamID)); stream ids must increase"))
            return false
        }
        highestStreamID = id
        return true
    }

    private func handleRequest(_ frame: Frame) {
        let streamID = frame.streamID
        guard acceptStreamID(streamID) else { return }
        let start = NIODeadline.now()
        if phase == .draining {
            record("unknown", .unavailable, since: start)
            return respond(streamID, error: RPCError(.unavailable,
                "the server is draining (GOAWAY sent); retry on a new connection", retryable: true))
        }
        if streams.count >= configuration.maxConcurrentStreams {
            record("unknown", .unavailable, since: start)
            return respond(streamID, error: RPCError(.unavailable,
                "\(configuration.maxConcurrentStreams) calls already in flight on this connection",
                retryable: true, retryAfterMs: 5))
        }
        let meta: Lv_Rpc_V1_FrameMeta
        do {
            meta = try frame.meta.readMessage(Lv_Rpc_V1_FrameMeta.self, budget: .requests)
        } catch {
            record("unknown", .invalidArgument, since: start)
            return respond(streamID, error: RPCError(.invalidArgument, "frame meta: \(error)"))
        }
        guard let route = routes[meta.method] else {
            record("unknown", .unimplemented, since: start)
            return respond(streamID, error: RPCError(.unimplemented, "method '\(LogSafe.clip(meta.method))' is not served here"))
        }
        // Values that reach logs and other servers: printable ASCII, at most 128 bytes, or the call is refused.
        if let id = meta.metadata["x-request-id"], !LogSafe.isPrintableASCII(id) || id.isEmpty || id.utf8.count > LogSafe.maximumRequestIDBytes {
            return respond(streamID, error: RPCError.invalidArgument(field: "metadata.x-request-id", rule: "printable-ascii",
                "1-\(LogSafe.maximumRequestIDBytes) bytes of printable ASCII (0x20-0x7E)"))
        }
        if !meta.traceparent.isEmpty, !LogSafe.isPrintableASCII(meta.traceparent) || meta.traceparent.utf8.count > LogSafe.maximumRequestIDBytes {
            return respond(streamID, error: RPCError.invalidArgument(field: "traceparent", rule: "printable-ascii",
                "at most \(LogSafe.maximumRequestIDBytes) bytes of printable ASCII (a W3C traceparent is 55)"))
        }
        requestCounter &+= 1
        let deadline = meta.timeoutMs > 0 ? start + .milliseconds(Int64(meta.timeoutMs)) : nil
        let callContext = ServerContext(method: route.descriptor, metadata: meta.metadata, traceparent: meta.traceparent,
                                        deadline: deadline, givenRequestID: meta.metadata["x-request-id"],
                                        generatedPrefix: requestIDPrefix, counter: requestCounter, connectionLogger: logger,
                                        peer: peer, principal: principal)

        let eventLoop = context!.eventLoop
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let handler = route.handler
        let request = frame.payload
        // The stream exists before its handler starts: a handler that never suspends finishes
        // (and is answered through `finish`) before `Task.immediate` returns.
        streams[streamID] = ActiveStream(task: nil, deadline: deadline, method: meta.method, start: start, reserved: unadopted)
        unadopted = 0
        if let deadline { armDeadlineTimer(deadline) }
        let call: @Sendable () async -> Void = {
            let result: Result<any ProtoMessage, any Error>
            do {
                result = .success(try await handler(request, callContext))
            } catch {
                result = .failure(error)
            }
            // On the loop when the handler ran there (the default); from the pool, through it.
            if eventLoop.inEventLoop {
                bound.value.finish(streamID, result)
            } else {
                eventLoop.execute { bound.value.finish(streamID, result) }
            }
        }
        let task = executor.map { Task.immediate(executorPreference: $0, operation: call) } ?? Task(operation: call)
        // Still in flight (it suspended): keep the task to cancel on CANCEL, deadline or close.
        streams[streamID]?.task = task
    }

    /// Makes the connection's deadline timer fire no later than `deadline`.
    private func armDeadlineTimer(_ deadline: NIODeadline) {
        if let at = deadlineTimerAt, at <= deadline { return }
        deadlineTimer?.cancel()
        deadlineTimerAt = deadline
        let bound = NIOLoopBound(self, eventLoop: context!.eventLoop)
        deadlineTimer = context!.eventLoop.scheduleTask(deadline: deadline) { bound.value.deadlinesDue() }
    }

    /// The deadline timer fired: every stream whose deadline has passed is answered
    /// DEADLINE_EXCEEDED (in stream order), and the timer is set for the earliest one left.
    private func deadlinesDue() {
        deadlineTimer = nil
        deadlineTimerAt = nil
        let now = NIODeadline.now()
        var due: [UInt32] = []
        var next: NIODeadline?
        for (id, stream) in streams {
            guard let deadline = stream.deadline else { continue }
            if deadline <= now {
                due.append(id)
            } else if next.map({ deadline < $0 }) ?? true {
                next = deadline
            }
        }
        for id in due.sorted() { expire(id) }
        if let next, phase != .closed { armDeadlineTimer(next) }
    }

    /// Forgets a stream and returns its share of the body budget.
    private func removeStream(_ id: UInt32) -> ActiveStream? {
        guard let stream = streams.removeValue(forKey: id) else { return nil }
        if stream.reserved > 0 {
            configuration.budget?.release(stream.reserved)
            if configuration.returnMemory { MemoryReturn.soon() }
        }
        return stream
    }

    private func cancelAllStreams() {
        for id in Array(streams.keys) {
            if let stream = removeStream(id) {
                stream.task?.cancel()
                record(stream, .cancelled)
            }
        }
    }

    private func takePingToken() -> Bool {
        let now = NIODeadline.now()
        let seconds = Double((now - pingRefilled).nanoseconds) / 1e9
        pingRefilled = now
        pingTokens = min(configuration.pingBurst, pingTokens + seconds * configuration.pingsPerSecond)
        guard pingTokens >= 1 else { return false }
        pingTokens -= 1
        return true
    }

    private func finish(_ streamID: UInt32, _ result: Result<any ProtoMessage, any Error>) {
        guard let stream = removeStream(streamID) else { return } // expired or cancelled
        lastActivity = .now()
        switch result {
        case .success(let response):
            do {
                let frame = try FrameWriter.frame(.response, streamID: streamID, meta: nil, payload: response)
                if frame.readableBytes - FrameHeader.size > peerMaxFrameSize {
                    record(stream, .resourceExhausted)
                    respond(streamID, error: RPCError(.resourceExhausted,
                        "response of \(frame.readableBytes - FrameHeader.size) bytes exceeds the client's frame limit of \(peerMaxFrameSize)"))
                } else {
                    record(stream, .ok)
                    write(frame)
                }
            } catch {
                logger.error("response could not be encoded", metadata: ["error": "\(error)", "stream": "\(streamID)"])
                record(stream, .internal)
                respond(streamID, error: RPCError(.internal, "the response could not be encoded: \(error)"))
            }
        case .failure(let error):
            let status = RPCError.from(error)
            record(stream, status.code)
            respond(streamID, error: status)
        }
        closeIfDrained()
    }

    private func expire(_ streamID: UInt32) {
        guard let stream = removeStream(streamID) else { return }
        stream.task?.cancel()
        record(stream, .deadlineExceeded)
        respond(streamID, error: RPCError(.deadlineExceeded, "the call's deadline passed before it finished"))
        closeIfDrained()
    }

    private func record(_ stream: ActiveStream, _ code: StatusCode) {
        record(stream.method, code, since: stream.start)
    }

    private func record(_ method: String, _ code: StatusCode, since start: NIODeadline) {
        configuration.observer?.callEnded(method: method, code: code, duration: .now() - start)
    }

    /// Longest status message sent, and most violations: an error always fits in a frame's meta.
    static let maximumMessageBytes = 2048
    static let maximumViolations = 50

    private func respond(_ streamID: UInt32, error: RPCError) {
        var meta = Lv_Rpc_V1_FrameMeta()
        var status = error.status
        if status.message.utf8.count > Self.maximumMessageBytes {
            status.message = String(decoding: status.message.utf8.prefix(Self.maximumMessageBytes), as: UTF8.self) + "…"
        }
        if status.violations.count > Self.maximumViolations {
            status.violations = Array(status.violations.prefix(Self.maximumViolations))
        }
        meta.status = status
        guard let frame = try? FrameWriter.frame(.response, streamID: streamID, meta: meta),
              frame.readableBytes - FrameHeader.size <= Int(UInt16.max) else {
            // A NUL or an oversized text: send the code and the first field and rule, escaped.
            var bare = Lv_Rpc_V1_FrameMeta()
            var s = RPCError(error.code, "error message could not be encoded").status
            if let first = error.violations.first {
                s.message = "\(LogSafe.clip(first.field)): rule \(LogSafe.clip(first.rule, 64))"
                s.violations = [FieldViolation(field: LogSafe.clip(first.field), rule: LogSafe.clip(first.rule, 64), description: "")]
            }
            s.retryable = error.retryable
            bare.status = s
            return writeEncoded(.response, streamID: streamID, meta: bare)
        }
        write(frame)
    }

    // MARK: connection lifecycle

    /// GOAWAY carrying the failure, then close (docs/PROTOCOL.md §6).
    private func connectionError(_ error: RPCError) {
        guard phase != .closed, let context else { return }
        logger.notice("closing connection", metadata: ["code": "\(error.code.protoName)", "reason": "\(LogSafe.clip(error.message, 256))"])
        sendGoAway(error.status)
        phase = .closed
        helloTimer?.cancel()
        cancelAllStreams()
        flushThenClose(context)
    }

    /// Closes after everything written so far has reached the socket (a plain close would drop it).
    private func flushThenClose(_ context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in channel.close(promise: nil) }
    }

    private func sendGoAway(_ status: Lv_Rpc_V1_Status) {
        var goAway = Lv_Rpc_V1_GoAway()
        goAway.lastStreamId = highestStreamID
        goAway.status = status
        if let frame = try? FrameWriter.frame(.goAway, streamID: 0, payload: goAway) {
            return write(frame)
        }
        // The status's text could not be encoded: the code, the retry hints and the stream id still go.
        var bare = Lv_Rpc_V1_Status()
        bare.code = status.code
        bare.retryable = status.retryable
        bare.retryAfterMs = status.retryAfterMs
        goAway.status = bare
        writeEncoded(.goAway, payload: goAway)
    }

    /// Writes a frame built only from values this handler chose (integers, clipped and escaped
    /// text). Should even that fail to encode, the connection is closed: a peer must never be able
    /// to trap the process.
    private func writeEncoded(_ type: FrameType, streamID: UInt32 = 0, meta: Lv_Rpc_V1_FrameMeta? = nil, payload: (any ProtoMessage)? = nil) {
        do {
            write(try FrameWriter.frame(type, streamID: streamID, meta: meta, payload: payload))
        } catch {
            logger.error("could not encode a \(type) frame; closing the connection", metadata: ["error": "\(error)"])
            phase = .closed
            context?.close(promise: nil)
        }
    }

    /// Graceful shutdown: GOAWAY with the last accepted stream id, finish what is in flight, close.
    func beginDrain() {
        switch phase {
        case .closed, .draining: return
        case .awaitingHello:
            phase = .closed
            context?.close(promise: nil)
        case .open:
            sendGoAway(RPCError(.unavailable, "the server is shutting down", retryable: true).status)
            phase = .draining
            closeIfDrained()
        }
    }

    private func closeIfDrained() {
        guard phase == .draining, streams.isEmpty, let context else { return }
        phase = .closed
        flushThenClose(context)
    }

    /// Slowloris: a frame whose body trickles in for longer than `limit` closes the connection.
    private func checkBody(limit: TimeAmount) {
        guard phase != .closed, let since = limitsBox.partialSince, NIODeadline.now() - since >= limit else { return }
        connectionError(RPCError(.deadlineExceeded, "a frame's body took longer than \(limit.nanoseconds / 1_000_000_000)s to arrive"))
    }

    private func checkIdle(limit: TimeAmount) {
        guard phase == .open || phase == .awaitingHello, streams.isEmpty, NIODeadline.now() - lastActivity >= limit else { return }
        logger.debug("closing idle connection")
        if phase == .open {
            sendGoAway(RPCError(.unavailable, "idle for \(limit.nanoseconds / 1_000_000_000)s", retryable: true).status)
        }
        phase = .closed
        if let context { flushThenClose(context) }
    }

    /// Writes and asks for a flush; `FlushCoalescingHandler` merges the flushes of one tick.
    private func write(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}

/// A NIO event loop as a Swift task executor: a task that prefers it runs its jobs on the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Every open connection of a server, so shutdown can drain them all.
final class ConnectionRegistry: Sendable {
    private let connections = NIOLockedValueBox<[ObjectIdentifier: (channel: any Channel, drain: @Sendable () -> Void)]>([:])

    func add(_ channel: any Channel, drain: @escaping @Sendable () -> Void) {
        connections.withLockedValue { $0[ObjectIdentifier(channel)] = (channel, drain) }
    }

    func remove(_ channel: any Channel) {
        _ = connections.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { connections.withLockedValue { $0.count } }

    /// Sends GOAWAY on every connection, waits up to `timeout` for them to close, then closes the rest.
    func drainAll(timeout: TimeAmount) async {
        let all = connections.withLockedValue { Array($0.values) }
        for c in all { c.channel.eventLoop.execute { c.drain() } }
        let deadline = NIODeadline.now() + timeout
        for c in all {
            let remaining = deadline - .now()
            let closed = c.channel.closeFuture
            let timer = c.channel.eventLoop.scheduleTask(in: max(remaining, TimeAmount.nanoseconds(0))) { c.channel.close(promise: nil) }
            try? await closed.get()
            timer.cancel()
        }
    }
}
