import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Records what the server reports for each call.
final class RecordingObserver: CallObserver {
    let calls = NIOLockedValueBox<[(method: String, code: StatusCode)]>([])
    func callEnded(method: String, code: StatusCode, duration: TimeAmount) {
        calls.withLockedValue { $0.append((method, code)) }
    }
    var codes: [String] { calls.withLockedValue { $0.map { "\($0.method) \($0.code.protoName)" } } }
}

/// A method whose handler ignores cancellation and answers OK once `release` is set: the
/// server must still count it as the client saw it (CANCELLED, nothing sent).
let stubborn = MethodDescriptor(service: "lv.testing.v1.Stubborn", method: "Wait",
                                requestType: EchoRequest.protoName, responseType: EchoResponse.protoName)

@Suite("call metrics record the status on the wire", .serialized, .timeLimit(.minutes(2)))
struct CallMetricsTests {
    @Test("OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, CANCELLED and UNIMPLEMENTED are each recorded once, as sent")
    func codes() async throws {
        let observer = RecordingObserver()
        let started = NIOLockedValueBox(false)
        let release = NIOLockedValueBox(false)
        let server = try await TestServer.start(observer: observer) { router in
            router.register(stubborn) { (_: EchoRequest, _) -> EchoResponse in
                started.withLockedValue { $0 = true }
                while !release.withLockedValue({ $0 }) { try? await Task.sleep(nanoseconds: 5_000_000) }
                return EchoResponse()
            }
        }
        let client = server.client()
        let echo = Lv.Testing.V1.Echo.Client(client)
        let method = "lv.testing.v1.Echo/Echo"

        _ = try await echo.echo(echoRequest("ok"))
        try await eventually { observer.codes == ["\(method) OK"] }

        var bad = echoRequest("bad")
        bad.failCode = StatusCode.invalidArgument.rawValue
        await #expect(throws: RPCError.self) { _ = try await echo.echo(bad) }
        try await eventually { observer.codes.count == 2 }
        #expect(observer.codes.last == "\(method) INVALID_ARGUMENT")

        // The deadline fires first: DEADLINE_EXCEEDED goes on the wire, and the handler's own
        // CancellationError afterwards is not counted again.
        // (A raw connection: the Swift client would also send CANCEL at its own deadline, racing the server's.)
        let raw = try await RawConnection.connect(port: server.port)
        try await raw.hello()
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = method
        meta.timeoutMs = 100
        try await raw.send(FrameWriter.frame(.request, streamID: 1, meta: meta, payload: echoRequest("slow", delayMs: 10_000)))
        let reply = try #require(try await raw.nextFrame())
        #expect(try statusCode(ofResponseMeta: reply.meta) == StatusCode.deadlineExceeded.rawValue)
        try await eventually { server.echo.cancelled.withLockedValue { $0 } == 1 }
        try await eventually { observer.codes.count == 3 }
        #expect(observer.codes.last == "\(method) DEADLINE_EXCEEDED")

        // Cancelled by the client while a handler that ignores cancellation runs: CANCELLED, even
        // though the handler later returns a response (which is dropped).
        let call = Task { try await client.call(stubborn, echoRequest("wait"), as: EchoResponse.self) }
        try await eventually { started.withLockedValue { $0 } }
        call.cancel()
        _ = await call.result
        try await eventually { observer.codes.count == 4 }
        #expect(observer.codes.last == "\(stubborn.fullName) CANCELLED")
        release.withLockedValue { $0 = true }

        // A method not served: UNIMPLEMENTED, under a bounded label.
        await #expect(throws: RPCError.self) { _ = try await client.callRaw("lv.nothing.v1.Nothing/Do", echoRequest("?")) }
        try await eventually { observer.codes.count == 5 }
        #expect(observer.codes.last == "unknown UNIMPLEMENTED")

        // The stubborn handler's late OK is not counted.
        _ = try await echo.echo(echoRequest("after"))
        try await eventually { observer.codes.count == 6 }
        #expect(observer.codes == ["\(method) OK", "\(method) INVALID_ARGUMENT", "\(method) DEADLINE_EXCEEDED",
                                   "\(stubborn.fullName) CANCELLED", "unknown UNIMPLEMENTED", "\(method) OK"])
        await raw.close()
        await client.close()
        try await server.stop()
    }
}
