import LVAPI
import LVMessages
import LVRPC
import NIOCore
import Testing

/// Documented connection rules (docs/PROTOCOL.md §3.1, §3.5, §5, §6) not covered by the behaviour
/// vectors, one test each, asserting the status code and what happens to the connection.
@Suite("connection rules", .serialized, .timeLimit(.minutes(3)))
struct ConnectionRuleTests {
    /// Reads the next frame, expects a GOAWAY with `code`, then the close.
    func expectConnectionError(_ peer: FramedPeer, _ code: StatusCode, lastStreamID: UInt32 = 0,
                               sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let frame = try #require(try await peer.next(), "no GOAWAY", sourceLocation: sourceLocation)
        #expect(frame.type == FrameType.goAway.rawValue, sourceLocation: sourceLocation)
        let goAway = try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self)
        #expect(goAway.status?.code == code, sourceLocation: sourceLocation)
        #expect(goAway.lastStreamId == lastStreamID, sourceLocation: sourceLocation)
        #expect(try await peer.next() == nil, "the server did not close the connection", sourceLocation: sourceLocation)
    }

    func hello(version: UInt32 = 1, credential: String = "") -> ByteBuffer {
        var hello = Lv_Rpc_V1_Hello()
        hello.protocolVersion = version
        hello.credential = credential
        return try! FrameWriter.frame(.hello, streamID: 0, payload: hello)
    }

    @Test("HELLO with protocol_version 0 is a connection error INVALID_ARGUMENT")
    func helloVersionZero() async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.send(hello(version: 0))
        try await expectConnectionError(peer, .invalidArgument)
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("a malformed HELLO payload is a connection error INVALID_ARGUMENT", arguments: [
        [0x08] as [UInt8],             // field 1 varint, value missing
        [0x08, 0x01, 0x1a, 0x05, 0x61], // credential claims 5 bytes, has 1
        [0x1a, 0x01, 0xff],            // credential not UTF-8
    ])
    func helloMalformed(payload: [UInt8]) async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.send(FrameWriter.rawFrame(.hello, payload: ByteBuffer(bytes: payload)))
        try await expectConnectionError(peer, .invalidArgument)
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("a server requiring a credential closes with UNAUTHENTICATED when it is missing or wrong, and accepts the right one")
    func credential() async throws {
        let server = try await GatedServer.start(credential: { $0 == "s3cret" ? nil : "credential refused" })
        for wrong in ["", "S3CRET", "s3cret "] {
            let peer = try await FramedPeer.connect(port: server.port)
            try await peer.send(hello(credential: wrong))
            try await expectConnectionError(peer, .unauthenticated)
        }
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.send(hello(credential: "s3cret"))
        #expect(try await peer.next()?.type == FrameType.helloAck.rawValue)
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("a server name protobuf-c cannot carry (a NUL) does not trap on HELLO: HELLO_ACK comes without it and calls are served")
    func helloAckWithUnencodableName() async throws {
        let server = try await GatedServer.start(serverName: "gated\u{0}name")
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.send(hello())
        let ack = try #require(try await peer.next(), "no HELLO_ACK")
        #expect(ack.type == FrameType.helloAck.rawValue)
        let decoded = try ack.payload.readMessage(Lv_Rpc_V1_HelloAck.self)
        #expect(decoded.protocolVersion == 1)
        #expect(decoded.serverName == "")
        #expect(decoded.maxConcurrentStreams == 256)
        server.echo.open()
        try await peer.request(1, echoRequest("after the ack"))
        let response = try #require(try await peer.next(), "no RESPONSE")
        #expect(response.type == FrameType.response.rawValue)
        #expect(try response.status()?.code ?? .ok == .ok)
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("a client sending HELLO_ACK or RESPONSE is a connection error FAILED_PRECONDITION; calls in flight get no RESPONSE and are cancelled",
          arguments: [FrameType.helloAck, FrameType.response])
    func clientSendsServerFrame(type: FrameType) async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        try await peer.request(1, echoRequest("in flight"))
        try await peer.request(2, echoRequest("in flight"))
        try await eventually { server.echo.started.withLockedValue { $0 } == 2 }
        try await peer.send(FrameWriter.rawFrame(type, streamID: type == .response ? 1 : 0, payload: ByteBuffer()))
        try await expectConnectionError(peer, .failedPrecondition, lastStreamID: 2)
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 2 }
        #expect(server.echo.completed.withLockedValue { $0 } == 0)
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("a RESPONSE larger than the client's max_frame_size is replaced by RESOURCE_EXHAUSTED for that stream; the connection stays open")
    func responseOverClientFrameSize() async throws {
        let server = try await GatedServer.start()
        server.echo.open()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello(maxFrameSize: 2_000)
        try await peer.request(1, echoRequest("big", padding: 5_000))  // the echo is over 2,000 bytes
        let big = try #require(try await peer.next())
        #expect(big.streamID == 1)
        #expect(try big.status()?.code == .resourceExhausted)
        #expect(big.payload.readableBytes == 0)
        try await peer.request(2, echoRequest("small", padding: 1_000)) // about 1,010 bytes: fits
        let small = try #require(try await peer.next())
        #expect(small.streamID == 2)
        #expect(try small.status() == nil)
        #expect(try small.payload.readMessage(EchoResponse.self).padding.count == 1_000)
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("the concurrency-limit refusal is UNAVAILABLE, retryable, with a retry_after_ms hint, and the refused call did not run")
    func retryAfterHint() async throws {
        let server = try await GatedServer.start(maxConcurrentStreams: 1)
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        try await peer.request(1, echoRequest("runs"))
        try await eventually { server.echo.started.withLockedValue { $0 } == 1 }
        try await peer.request(2, echoRequest("refused"))
        let refused = try #require(try await peer.next())
        #expect(refused.streamID == 2)
        let status = try #require(try refused.status())
        #expect(status.code == .unavailable)
        #expect(status.retryable)
        #expect(status.retryAfterMs > 0)
        #expect(server.echo.started.withLockedValue { $0 } == 1)
        server.echo.open()
        #expect(try await peer.next()?.streamID == 1)
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("a duplicate stream id with calls in flight: GOAWAY FAILED_PRECONDITION naming the highest accepted id; the calls in flight get no RESPONSE")
    func connectionErrorAbandonsInFlight() async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        try await peer.request(5, echoRequest("a"))
        try await peer.request(9, echoRequest("b"))
        try await eventually { server.echo.started.withLockedValue { $0 } == 2 }
        try await peer.request(7, echoRequest("not increasing"))
        try await expectConnectionError(peer, .failedPrecondition, lastStreamID: 9)
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 2 }
        server.server.shutdown()
        try await server.runTask.value
    }
}
