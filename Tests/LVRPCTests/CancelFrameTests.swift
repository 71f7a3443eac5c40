import LVAPI
import LVMessages
import LVRPC
import NIOCore
import Testing

/// docs/PROTOCOL.md §3.4 at the frame level: a raw peer plays the client against the real server,
/// and a fake server plays the server against the real client.
@Suite("CANCEL on the wire", .serialized, .timeLimit(.minutes(3)))
struct CancelFrameTests {
    static func cancelFrame(_ streamID: UInt32) -> ByteBuffer {
        FrameWriter.rawFrame(.cancel, streamID: streamID, payload: ByteBuffer())
    }

    @Test("after CANCEL the server cancels the handler and sends nothing for that stream; the next call is answered")
    func serverSendsNothingAfterCancel() async throws {
        let server = try await GatedServer.start()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        try await peer.request(1, echoRequest("cancel me"))
        try await peer.request(2, echoRequest("keep me"))
        try await eventually { server.echo.started.withLockedValue { $0 } == 2 }
        try await peer.send(Self.cancelFrame(1))
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 1 }
        // The cancelled handler threw; had the server answered it, the answer would precede the PONG.
        #expect(try await peer.framesBeforePong().isEmpty)
        server.echo.open()
        let answer = try #require(try await peer.next())
        #expect(answer.streamID == 2)
        #expect(try answer.status() == nil)
        // Still nothing for stream 1, and the connection is open.
        #expect(try await peer.framesBeforePong().isEmpty)
        #expect(server.echo.completed.withLockedValue { $0 } == 1)
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("CANCEL of a stream that is not in flight (never used, or already answered) is ignored: no answer, no connection error, ids unaffected")
    func cancelUnknownStreamIgnored() async throws {
        let server = try await GatedServer.start()
        server.echo.open()
        let peer = try await FramedPeer.connect(port: server.port)
        try await peer.hello()
        try await peer.request(1, echoRequest("one"))
        #expect(try await peer.next()?.streamID == 1)
        try await peer.send(Self.cancelFrame(1))   // already answered
        try await peer.send(Self.cancelFrame(99))  // never used
        #expect(try await peer.framesBeforePong().isEmpty)
        // A CANCEL does not consume stream ids: 2 (below the cancelled 99) is still a valid new id.
        try await peer.request(2, echoRequest("two"))
        let two = try #require(try await peer.next())
        #expect(two.type == FrameType.response.rawValue)
        #expect(two.streamID == 2)
        #expect(try two.status() == nil)
        #expect(try two.payload.readMessage(EchoResponse.self).text == "two")
        await peer.close()
        server.server.shutdown()
        try await server.runTask.value
    }

    @Test("the client sends CANCEL with the call's stream id, drops a RESPONSE that crosses it, and keeps the connection for the next call")
    func clientDropsResponseCrossingCancel() async throws {
        let fake = try await FakeServer()
        let client = RPCClient(host: "127.0.0.1", port: fake.port)
        let echo = Lv.Testing.V1.Echo.Client(client)
        let call = Task { try await echo.echo(echoRequest("first")) }
        let peer = try await fake.accept()
        let request = try #require(try await peer.next())
        #expect(request.type == FrameType.request.rawValue)
        call.cancel()
        let cancel = try #require(try await peer.next())
        #expect(cancel.type == FrameType.cancel.rawValue)
        #expect(cancel.streamID == request.streamID)
        // The server had already answered: the RESPONSE crosses the CANCEL on the wire.
        var stale = EchoResponse()
        stale.text = "stale"
        try await peer.send(FrameWriter.frame(.response, streamID: request.streamID, meta: nil, payload: stale))
        let result = await call.result
        guard case .failure(let error as RPCError) = result else {
            Issue.record("the cancelled call returned \(result)")
            return
        }
        #expect(error.code == .cancelled)

        // The next call goes out on the same connection and gets its own answer, not the stale one.
        let second = Task { try await echo.echo(echoRequest("second")) }
        let next = try #require(try await peer.next())
        #expect(next.type == FrameType.request.rawValue)
        #expect(next.streamID > request.streamID)
        var fresh = EchoResponse()
        fresh.text = "fresh"
        try await peer.send(FrameWriter.frame(.response, streamID: next.streamID, meta: nil, payload: fresh))
        #expect(try await second.value.text == "fresh")
        await client.close()
        await peer.close()
        await fake.close()
    }

    @Test("a call whose own deadline passes sends CANCEL and drops the late RESPONSE")
    func clientDeadlineCancels() async throws {
        let fake = try await FakeServer()
        let client = RPCClient(host: "127.0.0.1", port: fake.port)
        let echo = Lv.Testing.V1.Echo.Client(client)
        // Connect first, so the short deadline below only covers the call itself.
        let warm = Task { try await echo.echo(echoRequest("warm")) }
        let peer = try await fake.accept()
        let w = try #require(try await peer.next())
        var ok = EchoResponse()
        ok.text = "warm"
        try await peer.send(FrameWriter.frame(.response, streamID: w.streamID, meta: nil, payload: ok))
        _ = try await warm.value

        // Long enough that the REQUEST is surely sent before the deadline (a call whose deadline
        // has passed before sending is failed locally and never reaches the wire).
        let call = Task { try await echo.echo(echoRequest("late"), options: CallOptions(timeout: .seconds(1))) }
        let request = try #require(try await peer.next())
        let cancel = try #require(try await peer.next()) // the deadline passes: nothing is answered
        #expect(cancel.type == FrameType.cancel.rawValue)
        #expect(cancel.streamID == request.streamID)
        await #expect(throws: RPCError.self) {
            do { _ = try await call.value } catch let e as RPCError {
                #expect(e.code == .deadlineExceeded)
                throw e
            }
        }
        try await peer.send(FrameWriter.frame(.response, streamID: request.streamID, meta: nil, payload: ok))
        let again = Task { try await echo.echo(echoRequest("again")) }
        let r = try #require(try await peer.next())
        var fresh = EchoResponse()
        fresh.text = "again"
        try await peer.send(FrameWriter.frame(.response, streamID: r.streamID, meta: nil, payload: fresh))
        #expect(try await again.value.text == "again")
        await client.close()
        await peer.close()
        await fake.close()
    }
}
