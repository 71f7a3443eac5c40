import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@Suite("server and client over loopback", .serialized, .timeLimit(.minutes(3)))
struct LiveServerTests {
    @Test("1,000 concurrent calls on one connection all complete, answered out of order")
    func thousandConcurrentCalls() async throws {
        let server = try await TestServer.start(maxConcurrentStreams: 1000)
        let client = server.client(connections: 1)
        let echo = Lv.Testing.V1.Echo.Client(client)
        let order = NIOLockedValueBox<[Int]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<1000 {
                group.addTask {
                    // Later calls get shorter delays, so they overtake earlier ones.
                    let delay = UInt32((1000 - i) % 50)
                    let response = try await echo.echo(echoRequest("call \(i)", delayMs: delay))
                    #expect(response.text == "call \(i)")
                    order.withLockedValue { $0.append(i) }
                }
            }
            try await group.waitForAll()
        }
        let finished = order.withLockedValue { $0 }
        #expect(finished.count == 1000)
        #expect(Set(finished).count == 1000)
        #expect(finished != finished.sorted(), "answers came back in send order; expected out of order")
        #expect(server.echo.completed.withLockedValue { $0 } == 1000)
        await client.close()
        try await server.stop()
    }

    @Test("a call past its deadline gets DEADLINE_EXCEEDED and its handler is cancelled")
    func deadlineExceeded() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        // Connect first: connecting counts against a call's deadline, and on a loaded machine it
        // can take longer than the 100 ms this call allows.
        _ = try await echo.echo(echoRequest("warm-up"))
        await #expect(throws: RPCError.self) {
            do {
                _ = try await echo.echo(echoRequest("slow", delayMs: 5_000), options: CallOptions(timeout: .milliseconds(100)))
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
                throw error
            }
        }
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 1 }
        #expect(server.echo.completed.withLockedValue { $0 } == 1) // the warm-up only
        // The handler saw the deadline the client sent.
        let response = try await echo.echo(echoRequest("fast"), options: CallOptions(timeout: .seconds(3)))
        #expect(response.remainingMs > 2_000 && response.remainingMs <= 3_000)
        await client.close()
        try await server.stop()
    }

    @Test("the server enforces the deadline it was sent, even if the client keeps waiting")
    func serverSideDeadline() async throws {
        let server = try await TestServer.start()
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = "lv.testing.v1.Echo/Echo"
        meta.timeoutMs = 50
        try await raw.send(FrameWriter.frame(.request, streamID: 1, meta: meta, payload: echoRequest("x", delayMs: 5_000)))
        let reply = try #require(try await raw.nextFrame())
        #expect(reply.type == FrameType.response.rawValue)
        #expect(try statusCode(ofResponseMeta: reply.meta) == StatusCode.deadlineExceeded.rawValue)
        await raw.close()
        try await server.stop()
    }

    @Test("cancelling the calling task sends CANCEL and the server cancels the handler")
    func cancel() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        let task = Task { try await echo.echo(echoRequest("cancel me", delayMs: 10_000)) }
        try await eventually { server.echo.started.withLockedValue { $0 } == 1 }
        task.cancel()
        let result = await task.result
        guard case .failure(let error as RPCError) = result else { Issue.record("expected RPCError, got \(result)"); return }
        #expect(error.code == .cancelled)
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 1 }
        // The connection is still good.
        #expect(try await echo.echo(echoRequest("after")).text == "after")
        await client.close()
        try await server.stop()
    }

    @Test("a request over the frame limit is refused with RESOURCE_EXHAUSTED; the connection survives")
    func oversizedRequest() async throws {
        let server = try await TestServer.start(limits: FrameLimits(maxFrameSize: 64 * 1024))
        // The client knows the server's limit from HELLO_ACK and refuses locally.
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        await #expect(throws: RPCError.self) {
            do { _ = try await echo.echo(echoRequest("big", padding: 100_000)) } catch let e as RPCError {
                #expect(e.code == .resourceExhausted)
                throw e
            }
        }
        #expect(try await echo.echo(echoRequest("small", padding: 1000)).padding.count == 1000)
        // A raw peer that sends it anyway gets RESOURCE_EXHAUSTED for that stream, then PONG.
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = "lv.testing.v1.Echo/Echo"
        try await raw.send(FrameWriter.frame(.request, streamID: 1, meta: meta, payload: echoRequest("big", padding: 100_000)))
        let reply = try #require(try await raw.nextFrame())
        #expect(reply.streamID == 1)
        #expect(try statusCode(ofResponseMeta: reply.meta) == StatusCode.resourceExhausted.rawValue)
        try await raw.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [9, 9, 9, 9, 9, 9, 9, 9])))
        let pong = try #require(try await raw.nextFrame())
        #expect(pong.type == FrameType.pong.rawValue)
        #expect(Array(pong.payload.readableBytesView) == [9, 9, 9, 9, 9, 9, 9, 9])
        await raw.close()
        await client.close()
        try await server.stop()
    }

    @Test("garbage bytes close that connection while another keeps being served")
    func garbageIsolated() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        let slow = Task { try await echo.echo(echoRequest("in flight", delayMs: 300)) }
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        try await raw.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let goAway = try #require(try await raw.nextFrame())
        #expect(goAway.type == FrameType.goAway.rawValue)
        let status = try goAway.payload.readMessage(Lv_Rpc_V1_GoAway.self).status
        #expect(status?.code == .invalidArgument)
        #expect(try await raw.isClosedByPeer())
        #expect(try await slow.value.text == "in flight")
        #expect(try await echo.echo(echoRequest("still here")).text == "still here")
        await client.close()
        try await server.stop()
    }

    @Test("an unknown method is UNIMPLEMENTED; a handler's error arrives with its code")
    func unknownMethodAndErrors() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        await #expect(throws: RPCError.self) {
            do { _ = try await client.callRaw("lv.nothing.v1.Nothing/Nope", echoRequest("x")) } catch let e as RPCError {
                #expect(e.code == .unimplemented)
                #expect(e.message.contains("lv.nothing.v1.Nothing/Nope"))
                throw e
            }
        }
        await #expect(throws: RPCError.self) {
            do { _ = try await Lv.Testing.V1.Echo.Client(client).echo(echoRequest("x", failCode: 5)) } catch let e as RPCError {
                #expect(e.code == .notFound)
                throw e
            }
        }
        await client.close()
        try await server.stop()
    }

    @Test("calls beyond the concurrency limit wait in the client; a raw peer is refused, retryable")
    func concurrencyLimit() async throws {
        let server = try await TestServer.start(maxConcurrentStreams: 2)
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<10 { group.addTask { _ = try await echo.echo(echoRequest("\(i)", delayMs: 20)) } }
            try await group.waitForAll()
        }
        #expect(server.echo.completed.withLockedValue { $0 } == 10)

        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = "lv.testing.v1.Echo/Echo"
        for id in UInt32(1)...3 {
            try await raw.send(FrameWriter.frame(.request, streamID: id, meta: meta, payload: echoRequest("r", delayMs: 300)))
        }
        let refused = try #require(try await raw.nextFrame())
        #expect(refused.streamID == 3)
        let status = try #require(try refused.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status)
        #expect(status.code == .unavailable)
        #expect(status.retryable)
        await raw.close()
        await client.close()
        try await server.stop()
    }

    @Test("graceful shutdown: GOAWAY, calls in flight finish, new calls are refused, run returns")
    func gracefulShutdown() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        let inFlight = (0..<20).map { i in Task { try await echo.echo(echoRequest("\(i)", delayMs: 400)) } }
        try await eventually { server.echo.started.withLockedValue { $0 } == 20 }
        server.server.shutdown()
        for (i, t) in inFlight.enumerated() { #expect(try await t.value.text == "\(i)") }
        try await server.runTask.value
        #expect(server.server.health.status(of: "") == .notServing)
        await #expect(throws: RPCError.self) {
            do { _ = try await echo.echo(echoRequest("late"), options: CallOptions(timeout: .milliseconds(500))) } catch let e as RPCError {
                #expect(e.code == .unavailable)
                throw e
            }
        }
        await client.close()
    }

    @Test("the client reconnects after the server restarts on the same port")
    func reconnect() async throws {
        // A port below the ephemeral range, so no other test's port-0 socket takes it while the
        // server is down.
        var first: TestServer?
        for _ in 0..<20 where first == nil {
            first = try? await TestServer.start(port: Int.random(in: 20_000..<30_000))
        }
        let firstServer = try #require(first)
        try await reconnect(firstServer)
    }

    func reconnect(_ first: TestServer) async throws {
        let client = first.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        #expect(try await echo.echo(echoRequest("one")).text == "one")
        try await first.stop()
        // While nothing listens, the call fails fast with UNAVAILABLE.
        await #expect(throws: RPCError.self) { _ = try await echo.echo(echoRequest("nobody")) }
        let second = try await TestServer.start(port: first.port)
        let response = try await echo.echo(echoRequest("two"), options: CallOptions(timeout: .seconds(5), waitForReady: true))
        #expect(response.text == "two")
        await client.close()
        try await second.stop()
    }

    @Test("a peer that accepts TCP but never answers HELLO fails the call at its deadline instead of hanging")
    func silentPeer() async throws {
        // A plain TCP server that reads and never writes.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let client = RPCClient(host: "127.0.0.1", port: silent.localAddress!.port!)
        let start = NIODeadline.now()
        await #expect(throws: RPCError.self) {
            _ = try await Lv.Testing.V1.Echo.Client(client).echo(echoRequest("x"), options: CallOptions(timeout: .milliseconds(300)))
        }
        #expect(NIODeadline.now() - start < .seconds(5))
        await client.close()
        try await silent.close()
    }

    @Test("a pool spreads calls over its connections round robin, and counts them")
    func poolSpread() async throws {
        let server = try await TestServer.start()
        let client = server.client(connections: 3)
        let echo = Lv.Testing.V1.Echo.Client(client)
        for i in 0..<30 { _ = try await echo.echo(echoRequest("\(i)")) }
        #expect(client.callsByConnection == [10, 10, 10])
        #expect(server.server.services.keys.contains("lv.testing.v1.Echo"))
        await client.close()
        try await server.stop()
    }

    @Test("health and reflection answer on every server")
    func healthAndReflection() async throws {
        let server = try await TestServer.start()
        let client = server.client()
        var request = Lv_Health_V1_HealthCheckRequest()
        #expect(try await Lv.Health.V1.Health.Client(client).check(request).status == .serving)
        request.service = "lv.testing.v1.Echo"
        #expect(try await Lv.Health.V1.Health.Client(client).check(request).status == .serving)
        request.service = "lv.nothing.v1.Nothing"
        #expect(try await Lv.Health.V1.Health.Client(client).check(request).status == .serviceUnknown)
        let services = try await Lv.Reflection.V1.Reflection.Client(client).listServices(.init()).services
        #expect(services.map(\.name) == ["lv.health.v1.Health", "lv.reflection.v1.Reflection", "lv.testing.v1.Echo"])
        let echo = try #require(services.first { $0.name == "lv.testing.v1.Echo" })
        #expect(echo.methods.map(\.name) == ["Echo"])
        #expect(echo.methods.first?.requestType == "lv.testing.v1.EchoRequest")
        await client.close()
        try await server.stop()
    }

    @Test("an idle connection is closed with GOAWAY after the idle timeout")
    func idleTimeout() async throws {
        let server = try await TestServer.start(idleTimeout: .milliseconds(200))
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        let goAway = try #require(try await raw.nextFrame())
        #expect(goAway.type == FrameType.goAway.rawValue)
        #expect(try await raw.isClosedByPeer())
        try await server.stop()
    }

    @Test("every behaviour vector gets the reaction docs/PROTOCOL.md specifies, with handlers on the event loop and on the pool",
          arguments: Vector.behaviours, [true, false])
    func behaviourVector(vector: Vector, handlersOnEventLoop: Bool) async throws {
        let server = try await TestServer.start(handlersOnEventLoop: handlersOnEventLoop)
        let raw = try await RawConnection.connect(port: server.port)
        let expect = vector.expect!
        if expect.send_after_hello { try await raw.hello() }
        try await raw.send(vector.bytes)
        if let zeros = vector.then_zero_bytes {
            var remaining = zeros
            while remaining > 0 {
                let n = min(remaining, 256 * 1024)
                try await raw.send([UInt8](repeating: 0, count: n))
                remaining -= n
            }
        }
        var answeredFirst: [UInt32] = []
        for reply in [expect.reply] + (expect.then.map { [$0] } ?? []) {
            var frame = try #require(try await raw.nextFrame(), "no \(reply.type) from the server")
            // A call the server finished before it met the error may be answered first (PROTOCOL.md §6, §9).
            while expect.answeredFirst(type: frame.type, streamID: frame.streamID, answered: &answeredFirst) {
                frame = try #require(try await raw.nextFrame(), "no \(reply.type) from the server after answering \(answeredFirst)")
            }
            #expect("\(FrameType(rawValue: frame.type).map { "\($0)" } ?? "?")" == ProtocolVectorTests.swiftName(reply.type))
            if let stream = reply.stream_id { #expect(frame.streamID == stream) }
            if let code = reply.code {
                let actual: Int32 = frame.type == FrameType.goAway.rawValue
                    ? (try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self).status?.code.rawValue ?? 0)
                    : try statusCode(ofResponseMeta: frame.meta)
                #expect(actual == code)
            }
            if let last = reply.last_stream_id {
                let lastStreamID = try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self).lastStreamId
                #expect(lastStreamID == last)
                // Only calls the GOAWAY counts as accepted can have been answered.
                #expect(answeredFirst.allSatisfy { $0 <= lastStreamID }, "answered \(answeredFirst) above \(lastStreamID)")
            }
        }
        if expect.closes {
            #expect(try await raw.isClosedByPeer())
        } else {
            try await raw.send(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 1, 1, 1, 1, 1, 1, 1])))
            #expect(try await raw.nextFrame()?.type == FrameType.pong.rawValue)
        }
        await raw.close()
        try await server.stop()
    }
}

/// Polls `condition` every 10 ms for up to 5 s.
func eventually(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    Issue.record("condition not met within 5 s")
}
