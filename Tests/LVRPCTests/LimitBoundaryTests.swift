import LVAPI
import LVMessages
@testable import LVRPC
import NIOCore
import Testing

/// The limits of docs/PROTOCOL.md at their exact edges, and the client's side of the concurrency
/// limit, on the wire. Written for mutants of scripts/mutate.py that survived the other suites
/// (a `>` turned `>=` at a limit, a client that ignores `max_concurrent_streams`).
@Suite("limits at their edges", .serialized, .timeLimit(.minutes(2)))
struct LimitBoundaryTests {
    /// The body (meta + payload) of the RESPONSE the gated echo sends for `request`.
    func responseBody(_ request: EchoRequest) throws -> Int {
        var response = EchoResponse()
        response.text = request.text
        response.padding = request.padding
        return try FrameWriter.frame(.response, streamID: 1, meta: nil, payload: response).readableBytes - FrameHeader.size
    }

    @Test("§5: a RESPONSE exactly the client's max_frame_size is sent; one byte over is replaced by RESOURCE_EXHAUSTED")
    func responseAtClientFrameSize() async throws {
        let server = try await GatedServer.start()
        server.echo.open()
        let request = echoRequest("edge", padding: 1_500)
        let body = try responseBody(request)

        let fits = try await FramedPeer.connect(port: server.port)
        try await fits.hello(maxFrameSize: UInt32(body))
        try await fits.request(1, request)
        let ok = try #require(try await fits.next())
        #expect(try ok.status() == nil, "a \(body)-byte response to a client accepting \(body) bytes was refused")
        #expect(ok.payload.readableBytes + ok.meta.readableBytes == body)
        await fits.close()

        let over = try await FramedPeer.connect(port: server.port)
        try await over.hello(maxFrameSize: UInt32(body - 1))
        try await over.request(1, request)
        let refused = try #require(try await over.next())
        #expect(try refused.status()?.code == .resourceExhausted)
        await over.close()

        // The smallest limit a client can announce (0 means the 4 MiB default) holds too.
        let tiny = try await FramedPeer.connect(port: server.port)
        try await tiny.hello(maxFrameSize: 1)
        try await tiny.request(1, echoRequest("e"))
        let tinyAnswer = try #require(try await tiny.next())
        #expect(try tinyAnswer.status()?.code == .resourceExhausted, "a response went to a client that accepts 1-byte bodies")
        await tiny.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("§3.1: the client sends a REQUEST exactly the server's max_frame_size; one byte over fails locally with RESOURCE_EXHAUSTED and is never sent")
    func requestAtServerFrameSize() async throws {
        let fake = try await FakeServer()
        var method = Lv_Rpc_V1_FrameMeta()
        method.method = "lv.testing.v1.Echo/Echo"
        let atLimit = echoRequest("edge", padding: 1_500)
        let limit = try FrameWriter.frame(.request, streamID: 1, meta: method, payload: atLimit).readableBytes - FrameHeader.size
        let client = RPCClient(configuration: RPCClient.Configuration(host: "127.0.0.1", port: fake.port, connections: 1))
        let echo = Lv.Testing.V1.Echo.Client(client)
        let noDeadline = CallOptions(timeout: nil) // no timeout_ms in the meta, so the body size is exact

        let call = Task { try await echo.echo(atLimit, options: noDeadline).text }
        let server = try await fake.accept(maxFrameSize: UInt32(limit))
        let frame = try #require(try await server.next())
        #expect(frame.type == FrameType.request.rawValue)
        #expect(frame.meta.readableBytes + frame.payload.readableBytes == limit)
        var response = EchoResponse()
        response.text = "edge"
        try await server.send(FrameWriter.frame(.response, streamID: frame.streamID, meta: nil, payload: response))
        #expect(try await call.value == "edge")

        do {
            _ = try await echo.echo(echoRequest("edge", padding: 1_501), options: noDeadline)
            Issue.record("a request one byte over the server's max_frame_size was accepted")
        } catch let error as RPCError {
            #expect(error.code == .resourceExhausted)
        }
        #expect(try await server.framesBeforePong().filter { $0.type == FrameType.request.rawValue }.isEmpty,
                "the oversized request went on the wire")
        await client.close()
        await server.close()
        await fake.close()
    }

    @Test("§3.1/§3.5: the client keeps at most max_concurrent_streams calls on the wire and sends each queued call when one ends")
    func clientQueuesAtServerLimit() async throws {
        let fake = try await FakeServer()
        let client = RPCClient(configuration: RPCClient.Configuration(host: "127.0.0.1", port: fake.port, connections: 1))
        let echo = Lv.Testing.V1.Echo.Client(client)
        let calls = (1...5).map { i in Task { try await echo.echo(echoRequest("c\(i)")).text } }
        let server = try await fake.accept(maxConcurrentStreams: 2)

        var inFlight: [UInt32] = []
        func takeRequest() async throws {
            let frame = try #require(try await server.next(), "the client closed the connection")
            #expect(frame.type == FrameType.request.rawValue)
            inFlight.append(frame.streamID)
        }
        /// Proves the client sent nothing more: frames are in order, so a PONG with no REQUEST
        /// before it means none was sent before the client read the PING.
        func expectNoMoreRequests() async throws {
            let extra = try await server.framesBeforePong().filter { $0.type == FrameType.request.rawValue }
            #expect(extra.isEmpty, "\(inFlight.count + extra.count) calls on the wire with max_concurrent_streams 2")
        }
        try await takeRequest()
        try await takeRequest()
        // Every call has asked for the connection (and gone on to queue or send) before the barrier.
        try await eventually { client.callsByConnection.reduce(0, +) >= 5 }
        try await expectNoMoreRequests()

        var answered = 0
        while answered < 5 {
            let id = inFlight.removeFirst()
            var response = EchoResponse()
            response.text = "s\(id)"
            try await server.send(FrameWriter.frame(.response, streamID: id, meta: nil, payload: response))
            answered += 1
            if answered <= 3 { try await takeRequest() } // one queued call takes the freed slot
            try await expectNoMoreRequests()
            #expect(inFlight.count == min(2, 5 - answered))
        }
        var texts: [String] = []
        for call in calls { texts.append(try await call.value) }
        #expect(Set(texts).count == 5, "a call was answered twice or with another call's response: \(texts)")
        await client.close()
        await server.close()
        await fake.close()
    }

    @Test("§5.2: an x-request-id and a traceparent of exactly 128 printable bytes are accepted; 129 are refused INVALID_ARGUMENT printable-ascii")
    func requestIDAndTraceparentAt128() async throws {
        let server = try await GatedServer.start()
        server.echo.open()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        func send(_ id: UInt32, requestID: String? = nil, traceparent: String = "") async throws -> Lv_Rpc_V1_Status? {
            var meta = Lv_Rpc_V1_FrameMeta()
            meta.method = "lv.testing.v1.Echo/Echo"
            if let requestID { meta.metadata = ["x-request-id": requestID] }
            meta.traceparent = traceparent
            try await peer.send(FrameWriter.frame(.request, streamID: id, meta: meta, payload: echoRequest("x")))
            let frame = try #require(try await peer.next())
            #expect(frame.streamID == id)
            return try frame.status()
        }
        let max = String(repeating: "r", count: 128)
        #expect(try await send(1, requestID: max) == nil, "a 128-byte x-request-id was refused")
        #expect(try await send(2, traceparent: max) == nil, "a 128-byte traceparent was refused")
        let longID = try #require(try await send(3, requestID: max + "r"))
        #expect(longID.code == .invalidArgument)
        #expect(longID.violations.first?.field == "metadata.x-request-id")
        #expect(longID.violations.first?.rule == "printable-ascii")
        let longTrace = try #require(try await send(4, traceparent: max + "r"))
        #expect(longTrace.code == .invalidArgument)
        #expect(longTrace.violations.first?.field == "traceparent")
        #expect(longTrace.violations.first?.rule == "printable-ascii")
        let controlTrace = try #require(try await send(5, traceparent: "00-abc\u{7F}"))
        #expect(controlTrace.violations.first?.field == "traceparent")
        #expect(server.echo.started.withLockedValue { $0 } == 2)
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }
}
