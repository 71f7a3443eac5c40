import Foundation
import Logging
import LVAPI
import LVMessages
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import Testing
@testable import LVRPC

/// Issue #12: per-peer bounds of docs/PROTOCOL.md §5.2 — HELLO timeout, body timeout, PING rate,
/// connection limits, the body budget, backpressure, request-id hygiene. Every wait is for an
/// event (a frame, a close); the only bound is a generous guard against hanging forever.
@Suite("runtime under hostile peers")
struct HostileInputTests {
    static func start(_ change: (inout PeerLimits) -> Void, maxConcurrentStreams: Int = 256) async throws -> TestServer {
        var peer = PeerLimits()
        change(&peer)
        let echo = EchoService()
        var router = Router()
        echo.register(into: &router)
        var logger = Logger(label: "hostile")
        logger.logLevel = .critical
        var configuration = RPCServer.Configuration(host: "127.0.0.1", port: 0, serverName: "hostile",
                                                    maxConcurrentStreams: maxConcurrentStreams, idleTimeout: nil)
        configuration.peerLimits = peer
        let server = RPCServer(configuration: configuration, router: router, interceptors: [LoggingInterceptor()], logger: logger)
        let task = Task { try await server.run() }
        let address = try await server.localAddress
        return TestServer(server: server, echo: echo, runTask: task, port: address.port!)
    }

    /// Runs `body`, failing (instead of hanging) if it takes more than `seconds` — far above the expected time.
    static func guarded<T: Sendable>(_ seconds: Double = 60, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)); return nil }
            guard let first = try await group.next(), let value = first else {
                group.cancelAll()
                throw RPCError(.deadlineExceeded, "the test's guard of \(seconds)s passed")
            }
            group.cancelAll()
            return value
        }
    }

    static func request(_ streamID: UInt32, _ message: EchoRequest, metadata: [String: String] = [:]) throws -> ByteBuffer {
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = "lv.testing.v1.Echo/Echo"
        meta.metadata = metadata
        return try FrameWriter.frame(.request, streamID: streamID, meta: meta, payload: message)
    }

    static func goAwayCode(_ frame: (type: UInt8, streamID: UInt32, meta: ByteBuffer, payload: ByteBuffer)?) throws -> StatusCode? {
        guard let frame, frame.type == FrameType.goAway.rawValue else { return nil }
        return try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self).status?.code
    }

    @Test("a connection that sends no HELLO is closed after the HELLO timeout with GOAWAY DEADLINE_EXCEEDED")
    func helloTimeout() async throws {
        let server = try await Self.start { $0.helloTimeout = .milliseconds(200) }
        let raw = try await RawConnection.connect(port: server.port)
        let code = try await Self.guarded { try Self.goAwayCode(try await raw.nextFrame()) }
        #expect(code == .deadlineExceeded)
        #expect(try await raw.isClosedByPeer())
        try await server.stop()
    }

    @Test("a frame body that trickles in past the body timeout closes the connection (slowloris)")
    func bodyTimeout() async throws {
        let server = try await Self.start { $0.bodyTimeout = .milliseconds(300) }
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        var frame = try Self.request(1, echoRequest("slow", padding: 100_000))
        try await raw.send(frame.readSlice(length: 1000)!) // header and a little of the body, then nothing
        let code = try await Self.guarded { try Self.goAwayCode(try await raw.nextFrame()) }
        #expect(code == .deadlineExceeded)
        // A body being skipped (oversized, or refused for the budget) and a half-sent header are timed too.
        for partial in [Array(try Self.request(1, echoRequest("big", padding: 5 * 1024 * 1024)).readableBytesView.prefix(100)),
                        [0x4C, 0x56, 0x01]] {
            let raw = try await RawConnection.connect(port: server.port)
            try await raw.hello()
            try await raw.send(partial)
            let code = try await Self.guarded { () -> StatusCode? in
                while let f = try await raw.nextFrame() {
                    if f.type == FrameType.goAway.rawValue { return try Self.goAwayCode(f) }
                }
                return nil
            }
            #expect(code == .deadlineExceeded)
        }
        try await server.stop()
    }

    @Test("PINGs beyond the rate get GOAWAY RESOURCE_EXHAUSTED; within it, PONGs")
    func pingRate() async throws {
        let server = try await Self.start { $0.pingsPerSecond = 1; $0.pingBurst = 5 }
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        var burst = ByteBuffer()
        for _ in 0..<20 { burst.writeImmutableBuffer(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]))) }
        try await raw.send(burst)
        let (pongs, code) = try await Self.guarded { () -> (Int, StatusCode?) in
            var pongs = 0
            while let f = try await raw.nextFrame() {
                if f.type == FrameType.pong.rawValue { pongs += 1; continue }
                return (pongs, try Self.goAwayCode(f))
            }
            return (pongs, nil)
        }
        #expect(pongs == 5)
        #expect(code == .resourceExhausted)
        try await server.stop()
    }

    @Test("an x-request-id with a newline (log forging) or over 128 bytes is refused INVALID_ARGUMENT; the connection stays usable")
    func requestIDHygiene() async throws {
        let server = try await Self.start { _ in }
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        for (i, id) in ["ok\nFAKE LOG LINE level=error", String(repeating: "a", count: 129), "tab\there", ""].enumerated() {
            try await raw.send(Self.request(UInt32(i + 1), echoRequest("x"), metadata: ["x-request-id": id]))
            let f = try await Self.guarded { try await raw.nextFrame() }
            let status = try f?.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status
            #expect(status?.code == .invalidArgument)
            #expect(status?.violations.first?.field == "metadata.x-request-id")
        }
        try await raw.send(Self.request(10, echoRequest("fine"), metadata: ["x-request-id": "req-123_ABC"]))
        let f = try await Self.guarded { try await raw.nextFrame() }
        #expect(try f.map { try statusCode(ofResponseMeta: $0.meta) } == 0)
        #expect(server.echo.started.withLockedValue { $0 } == 1)
        try await server.stop()
    }

    @Test("connections beyond the per-peer limit get GOAWAY RESOURCE_EXHAUSTED; closing one frees its place")
    func connectionLimit() async throws {
        let server = try await Self.start { $0.maxConnectionsPerPeer = 3 }
        var open: [RawConnection] = []
        for _ in 0..<3 {
            let raw = try await RawConnection.connect(port: server.port)
            try await raw.hello()
            open.append(raw)
        }
        let refused = try await RawConnection.connect(port: server.port)
        let code = try await Self.guarded { try Self.goAwayCode(try await refused.nextFrame()) }
        #expect(code == .resourceExhausted)
        #expect(try await refused.isClosedByPeer())
        await open[0].close()
        // The server learns of the close asynchronously: retry until admitted (each refusal is an event).
        let admitted = try await Self.guarded { () -> Bool in
            while true {
                // A refused connection may be closed before the HELLO is written: that is a refusal too.
                let raw = try await RawConnection.connect(port: server.port)
                var hello = Lv_Rpc_V1_Hello()
                hello.protocolVersion = 1
                guard (try? await raw.send(FrameWriter.frame(.hello, streamID: 0, payload: hello))) != nil else { continue }
                if let f = try? await raw.nextFrame(), f.type == FrameType.helloAck.rawValue { return true }
            }
        }
        #expect(admitted)
        try await server.stop()
    }

    @Test("when the body budget is spent, a large REQUEST is skipped and refused RESOURCE_EXHAUSTED, retryable; others still run")
    func bodyBudget() async throws {
        let server = try await Self.start { $0.maxBufferedBodyBytes = 300_000 }
        let holder = try await RawConnection.connect(port: server.port)
        try await holder.hello()
        var big = try Self.request(1, echoRequest("big", padding: 250_000))
        let head = big.readSlice(length: 100_000)!
        try await holder.send(head) // 250 KB reserved while the rest does not come
        let other = try await RawConnection.connect(port: server.port)
        try await other.hello()
        // Wait (by events) until the holder's reservation is in place: a 100 KB request is refused.
        let refusal = try await Self.guarded { () -> Lv_Rpc_V1_Status? in
            var id: UInt32 = 0
            while true {
                id += 1
                var second = try Self.request(id, echoRequest("second", padding: 100_000))
                try await other.send(second.readSlice(length: 50_000)!)
                try await other.send(second)
                let f = try await other.nextFrame()
                let status = try f?.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status
                if status?.code == .resourceExhausted { return status }
            }
        }
        #expect(refusal?.retryable == true)
        // Small calls are not affected.
        try await other.send(Self.request(1000, echoRequest("small")))
        #expect(try await other.nextFrame().map { try statusCode(ofResponseMeta: $0.meta) } == 0)
        // The held body completes: answered, and the budget is back.
        try await holder.send(big)
        #expect(try await holder.nextFrame().map { try statusCode(ofResponseMeta: $0.meta) } == 0)
        try await server.stop()
    }

    @Test("reads are held while the channel is not writable and resume when it drains")
    func readsFollowWritability() throws {
        final class ReadCounter: ChannelOutboundHandler {
            typealias OutboundIn = Any
            var reads = 0
            func read(context: ChannelHandlerContext) { reads += 1; context.read() }
        }
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(ReadWhenWritableHandler())
        channel.read()
        #expect(counter.reads == 1)
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.read()
        channel.read()
        #expect(counter.reads == 1)
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == 2)
        _ = try channel.finish()
    }

    @Test("random frames through the decoder: no crash, and every byte of the body budget comes back")
    func decoderBudgetAccounting() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let budget = BodyBudget(capacity: 64 * 1024, threshold: 64)
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: FrameLimitsBox(FrameLimits(maxFrameSize: 48 * 1024)), budget: budget)))
            var stream = ByteBuffer()
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let meta = Int.random(in: 0...200, using: &generator)
                let payload = Int.random(in: 0...60_000, using: &generator)
                stream.writeInteger(FrameHeader.magic)
                stream.writeInteger(Bool.random(using: &generator) ? FrameHeader.version : UInt8.random(in: 0...3, using: &generator))
                stream.writeInteger(UInt8.random(in: 0...9, using: &generator))
                stream.writeInteger(UInt16(0))
                stream.writeInteger(UInt16(meta))
                stream.writeInteger(UInt32.random(in: 0...9, using: &generator))
                stream.writeInteger(UInt32(payload))
                stream.writeRepeatingByte(0, count: Int.random(in: 0...(meta + payload), using: &generator)) // often cut short
            }
            var held = 0
            while stream.readableBytes > 0 {
                let piece = stream.readSlice(length: min(stream.readableBytes, Int.random(in: 1...20_000, using: &generator)))!
                try? channel.writeInbound(piece)
                while let frame = try? channel.readInbound(as: InboundFrame.self) {
                    if case .frame(let f) = frame { held += f.reservedBytes }
                }
                if Bool.random(using: &generator) { budget.release(held); held = 0 }
            }
            budget.release(held)
            _ = try? channel.finish() // the decoder is removed: a partial frame's reservation is returned
            #expect(budget.inUse == 0)
        }
    }

    @Test("an error whose text cannot fit a frame still names its field")
    func hugeError() async throws {
        // 1.9M empty objectives used to come back as "error message could not be encoded": now the wire
        // budget names the field before anything is decoded.
        let objectives = Array(String(repeating: ":\0", count: 1_900_000).utf8) // 3A 00, an empty entry
        var body: [UInt8] = [0x12]
        var n = objectives.count
        while n >= 0x80 { body.append(UInt8(n & 0x7f) | 0x80); n >>= 7 }
        body.append(UInt8(n))
        body += objectives
        let thrown: any Error
        do {
            _ = try body.withUnsafeBytes { try Lv_Registration_V1_CreateActivityRequest(serializedBytes: $0, budget: .requests) }
            Issue.record("decoded")
            return
        } catch {
            thrown = error
        }
        let error = RPCError.from(thrown)
        #expect(error.code == .invalidArgument)
        #expect(error.violations.map(\.field) == ["activity.objectives"])
    }
}
