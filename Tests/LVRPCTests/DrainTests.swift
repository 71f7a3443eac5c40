import LVAPI
import LVMessages
import LVRPC
import LVTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// docs/PROTOCOL.md §3.7 (graceful drain) and §3.8 (GOAWAY), checked on the wire.
@Suite("drain and GOAWAY", .serialized, .timeLimit(.minutes(3)))
struct DrainTests {
    @Test("drain with 40 calls in flight: GOAWAY(last_stream_id = 40, UNAVAILABLE, retryable); ids 41–50 sent after it are refused retryable; 1–40 each answered OK once; then the server closes")
    func drainManyInFlight() async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        for id in UInt32(1)...40 { try await peer.request(id, echoRequest("c\(id)")) }
        try await eventually { server.echo.started.withLockedValue { $0 } == 40 }
        server.server.shutdown()

        let goAway = try #require(try await peer.next())
        #expect(goAway.type == FrameType.goAway.rawValue)
        let message = try goAway.payload.readMessage(Lv_Rpc_V1_GoAway.self)
        #expect(message.lastStreamId == 40)
        #expect(message.status?.code == .unavailable)
        #expect(message.status?.retryable == true)

        // Requests after GOAWAY: each refused, retryable, none run.
        for id in UInt32(41)...50 { try await peer.request(id, echoRequest("late\(id)")) }
        var refused: [UInt32] = []
        for _ in 41...50 {
            let frame = try #require(try await peer.next())
            #expect(frame.type == FrameType.response.rawValue)
            let status = try #require(try frame.status(), "stream \(frame.streamID) was answered OK during drain")
            #expect(status.code == .unavailable)
            #expect(status.retryable)
            refused.append(frame.streamID)
        }
        #expect(refused.sorted() == Array(41...50))
        #expect(server.echo.started.withLockedValue { $0 } == 40)

        server.echo.open()
        var answered: [UInt32: Int] = [:]
        while let frame = try await peer.next() {
            #expect(frame.type == FrameType.response.rawValue)
            #expect(try frame.status() == nil, "stream \(frame.streamID) failed during drain")
            #expect(try frame.payload.readMessage(EchoResponse.self).text == "c\(frame.streamID)")
            answered[frame.streamID, default: 0] += 1
        }
        // The loop ended because the server closed the connection.
        #expect(answered.keys.sorted() == Array(1...40), "lost or extra streams")
        #expect(answered.values.allSatisfy { $0 == 1 }, "a stream was answered twice")
        try await server.runTask.value
        await peer.close()
    }

    @Test("drain timeout: a call that never finishes is cancelled, gets no RESPONSE, and the connection is closed so shutdown returns")
    func drainTimeout() async throws {
        let server = try await GatedServer.start(drainTimeout: .milliseconds(200))
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        try await peer.request(1, echoRequest("forever"))
        try await eventually { server.echo.started.withLockedValue { $0 } == 1 }
        server.server.shutdown()
        let goAway = try #require(try await peer.next())
        #expect(goAway.type == FrameType.goAway.rawValue)
        #expect(try goAway.payload.readMessage(Lv_Rpc_V1_GoAway.self).lastStreamId == 1)
        // Nothing but the close follows: the call is abandoned, not answered.
        let after = try await peer.next()
        #expect(after == nil, "expected the connection to close, got frame type \(after?.type ?? 0) for stream \(after?.streamID ?? 0)")
        try await server.runTask.value
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 1 }
        #expect(server.echo.completed.withLockedValue { $0 } == 0)
        await peer.close()
    }

    @Test("a client-sent GOAWAY: later REQUESTs are refused retryable, calls in flight finish, then the server closes that connection only")
    func clientGoAway() async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        for id in UInt32(1)...3 { try await peer.request(id, echoRequest("c\(id)")) }
        try await eventually { server.echo.started.withLockedValue { $0 } == 3 }
        var goAway = Lv_Rpc_V1_GoAway()
        goAway.lastStreamId = 0
        try await peer.send(FrameWriter.frame(.goAway, streamID: 0, payload: goAway))
        try await peer.request(4, echoRequest("after goaway"))
        let refused = try #require(try await peer.next())
        #expect(refused.streamID == 4)
        #expect(try refused.status()?.code == .unavailable)
        #expect(try refused.status()?.retryable == true)
        #expect(server.echo.started.withLockedValue { $0 } == 3)

        server.echo.open()
        var answered: [UInt32] = []
        while let frame = try await peer.next() {
            #expect(try frame.status() == nil)
            answered.append(frame.streamID)
        }
        #expect(answered.sorted() == [1, 2, 3])
        // Another connection is served as before.
        let other = try await FramedPeer.connect(port: server.port)
        try await other.hello()
        try await other.request(1, echoRequest("other"))
        #expect(try await other.next().map { try $0.status() == nil } == true)
        await other.close()
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("the client resends exactly the calls above GOAWAY's last_stream_id, on a new connection, and completes each call once")
    func clientRetriesAboveLastStreamID() async throws {
        let fake = try await FakeServer()
        var configuration = RPCClient.Configuration(host: "127.0.0.1", port: fake.port, connections: 1)
        configuration.initialBackoff = .milliseconds(20)
        let client = RPCClient(configuration: configuration)
        let echo = Lv.Testing.V1.Echo.Client(client)
        let calls = (1...5).map { i in Task { try await echo.echo(echoRequest("c\(i)")).text } }

        // First connection: read all five REQUESTs, then GOAWAY(last_stream_id = 3) and answer 1–3.
        let first = try await fake.accept()
        var textByStream: [UInt32: String] = [:]
        while textByStream.count < 5 {
            let frame = try #require(try await first.next())
            #expect(frame.type == FrameType.request.rawValue)
            textByStream[frame.streamID] = try frame.payload.readMessage(EchoRequest.self).text
        }
        let ids = textByStream.keys.sorted()
        let last = ids[2]
        var goAway = Lv_Rpc_V1_GoAway()
        goAway.lastStreamId = last
        goAway.status = RPCError(.unavailable, "draining", retryable: true).status
        try await first.send(FrameWriter.frame(.goAway, streamID: 0, payload: goAway))
        for id in ids.prefix(3) {
            var response = EchoResponse()
            response.text = textByStream[id]!
            try await first.send(FrameWriter.frame(.response, streamID: id, meta: nil, payload: response))
        }
        let expectedRetries = Set(ids.dropFirst(3).map { textByStream[$0]! })

        // Second connection: exactly the two calls above last_stream_id arrive again.
        let second = try await fake.accept()
        var retried: [String] = []
        while retried.count < 2 {
            let frame = try #require(try await second.next())
            guard frame.type == FrameType.request.rawValue else { continue }
            let text = try frame.payload.readMessage(EchoRequest.self).text
            retried.append(text)
            var response = EchoResponse()
            response.text = text
            try await second.send(FrameWriter.frame(.response, streamID: frame.streamID, meta: nil, payload: response))
        }
        #expect(Set(retried) == expectedRetries)
        #expect(retried.count == Set(retried).count)
        for (i, call) in calls.enumerated() { #expect(try await call.value == "c\(i + 1)") }
        // Nothing more is resent: a barrier on the second connection sees no other REQUEST.
        let extra = try await second.framesBeforePong()
        #expect(extra.filter { $0.type == FrameType.request.rawValue }.isEmpty)
        // The client closed the first connection once 1–3 were answered.
        #expect(try await first.next() == nil)
        await client.close()
        await second.close()
        await fake.close()
    }
}
