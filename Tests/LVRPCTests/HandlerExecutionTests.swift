import Logging
import LVAPI
import LVMessages
import LVRPC
import NIOCore
import NIOPosix
import Testing

/// Where handlers run (`RPCServer.Configuration.handlersOnEventLoop`), and the connection's one
/// deadline timer: several deadlines in flight, each answered when its own time comes.
@Suite("handler execution and deadlines", .serialized, .timeLimit(.minutes(2)))
struct HandlerExecutionTests {
    /// Answers "event-loop" or "pool" by where it runs, before and after a suspension.
    static let whereAmI = MethodDescriptor(service: "lv.testing.v1.Where", method: "Am",
                                           requestType: EchoRequest.protoName, responseType: EchoResponse.protoName)

    static func start(handlersOnEventLoop: Bool) async throws -> (RPCServer, Task<Void, any Error>, Int) {
        var router = Router()
        EchoService().register(into: &router)
        router.register(whereAmI) { (request: EchoRequest, _: ServerContext) -> EchoResponse in
            func place() -> String { MultiThreadedEventLoopGroup.currentEventLoop != nil ? "event-loop" : "pool" }
            let before = place()
            if request.delayMs > 0 { try await Task.sleep(nanoseconds: UInt64(request.delayMs) * 1_000_000) }
            var response = EchoResponse()
            response.text = "\(before) \(place())"
            return response
        }
        var logger = Logger(label: "execution")
        logger.logLevel = .critical
        var configuration = RPCServer.Configuration(host: "127.0.0.1", port: 0, serverName: "execution")
        configuration.handlersOnEventLoop = handlersOnEventLoop
        let server = RPCServer(configuration: configuration, router: router, logger: logger)
        let task = Task { try await server.run() }
        return (server, task, try await server.localAddress.port!)
    }

    @Test("by default a handler runs on its connection's event loop, and resumes there after awaiting; when asked, on the cooperative pool")
    func whereHandlersRun() async throws {
        for (onLoop, expected) in [(true, "event-loop event-loop"), (false, "pool pool")] {
            let (server, task, port) = try await Self.start(handlersOnEventLoop: onLoop)
            let client = RPCClient(host: "127.0.0.1", port: port)
            for delay: UInt32 in [0, 2] {
                var request = EchoRequest()
                request.delayMs = delay
                let response = try await client.call(Self.whereAmI, request, as: EchoResponse.self)
                #expect(response.text == expected, "handlersOnEventLoop \(onLoop), delay \(delay) ms")
            }
            await client.close()
            server.shutdown()
            try await task.value
        }
    }

    static func request(_ streamID: UInt32, delayMs: UInt32, timeoutMs: UInt32) throws -> ByteBuffer {
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = "lv.testing.v1.Echo/Echo"
        meta.timeoutMs = timeoutMs
        return try FrameWriter.frame(.request, streamID: streamID, meta: meta, payload: echoRequest("x", delayMs: delayMs))
    }

    @Test("a call sent after another with a later deadline still gets DEADLINE_EXCEEDED at its own deadline, not at the other's")
    func earlierDeadlineAfterLaterOne() async throws {
        let (server, task, port) = try await Self.start(handlersOnEventLoop: true)
        let raw = try await RawConnection.connect(port: port)
        try await raw.hello()
        // Stream 1 waits 30 s with a 60 s deadline; stream 2 waits as long with a 50 ms deadline.
        try await raw.send(Self.request(1, delayMs: 30_000, timeoutMs: 60_000))
        try await raw.send(Self.request(2, delayMs: 30_000, timeoutMs: 50))
        let first = try #require(try await raw.nextFrame())
        // Had the connection's timer stayed at stream 1's deadline, nothing would come for 60 s
        // (past this suite's time limit), and then stream 1's answer first.
        #expect(first.streamID == 2)
        #expect(try statusCode(ofResponseMeta: first.meta) == StatusCode.deadlineExceeded.rawValue)
        // Stream 1 is still in flight: a PING is answered before anything for it.
        try await raw.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        let next = try #require(try await raw.nextFrame())
        #expect(next.type == FrameType.pong.rawValue)
        try await raw.send(FrameWriter.rawFrame(.cancel, streamID: 1, payload: ByteBuffer()))
        await raw.close()
        server.shutdown()
        try await task.value
    }

    @Test("a call answered before its deadline gets nothing more when the deadline passes; calls still in flight are untouched")
    func answeredCallsAreNotExpired() async throws {
        let (server, task, port) = try await Self.start(handlersOnEventLoop: true)
        let raw = try await RawConnection.connect(port: port)
        try await raw.hello()
        // Stream 1 answers at once with a 100 ms deadline, which arms the connection's timer;
        // stream 2 takes 400 ms with a 60 s deadline, so the timer fires while it is in flight.
        try await raw.send(Self.request(1, delayMs: 0, timeoutMs: 100))
        try await raw.send(Self.request(2, delayMs: 400, timeoutMs: 60_000))
        var answers: [(UInt32, Int32)] = []
        while answers.count < 2, let f = try await raw.nextFrame() {
            answers.append((f.streamID, try statusCode(ofResponseMeta: f.meta)))
        }
        #expect(answers.map(\.0) == [1, 2])
        #expect(answers.map(\.1) == [0, 0])
        // Nothing else was sent for either stream: the next frame is the PONG.
        try await raw.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        let next = try #require(try await raw.nextFrame())
        #expect(next.type == FrameType.pong.rawValue)
        await raw.close()
        server.shutdown()
        try await task.value
    }
}
