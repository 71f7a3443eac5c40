import LVAPI
import LVMessages
import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// What one interceptor saw of a call.
struct SeenCall: Sendable, Equatable {
    var method: String
    var input: String
    var output: String
    var text: String?
    var outcome: StatusCode
}

/// Records each call's method, its Input and Output types, the request's text (for an echo) and
/// the status `next` ended with. With `shout`, an echo's request is replaced before the handler
/// (text uppercased) and its response changed after it — both typed, without any cast of bytes.
struct RecordingInterceptor: ServerInterceptor {
    let seen = NIOLockedValueBox<[SeenCall]>([])
    var shout = false

    func intercept<Input: ProtoMessage, Output: ProtoMessage>(
        request: ServerRequest<Input>, context: ServerContext,
        next: @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) async throws -> ServerResponse<Output> {
        var call = SeenCall(method: context.method.fullName, input: "\(Input.self)", output: "\(Output.self)", text: nil, outcome: .ok)
        var request = request
        if shout, var echo = (try? request.message) as? EchoRequest {
            call.text = echo.text
            echo.text = echo.text.uppercased()
            request = ServerRequest(message: echo as! Input)
        }
        do {
            var response = try await next(request, context)
            if shout, var echo = response.message as? EchoResponse {
                echo.text += " (intercepted)"
                response.message = echo as! Output
            }
            seen.withLockedValue { $0.append(call) }
            return response
        } catch {
            call.outcome = RPCError.from(error).code
            seen.withLockedValue { $0.append(call) }
            throw error
        }
    }
}

/// Refuses every call, as an authentication interceptor refuses a caller without a key.
struct RefusingInterceptor: ServerInterceptor {
    func intercept<Input: ProtoMessage, Output: ProtoMessage>(
        request: ServerRequest<Input>, context: ServerContext,
        next: @Sendable (ServerRequest<Input>, ServerContext) async throws -> ServerResponse<Output>
    ) async throws -> ServerResponse<Output> {
        throw RPCError(.permissionDenied, "refused by the test interceptor")
    }
}

/// The interceptor API in grpc-swift-2's shape (issue #13): typed requests and responses, the
/// method descriptor in the context, requests decoded only when read.
@Suite("typed interceptors", .timeLimit(.minutes(1)))
struct TypedInterceptorTests {
    /// A REQUEST whose payload cannot be decoded as an EchoRequest: field 1 (text) claims 5 bytes and has 1.
    static let malformed: [UInt8] = [0x0a, 0x05, 0x41]

    static func send(_ payload: [UInt8], to port: Int) async throws -> Lv_Rpc_V1_Status? {
        let peer = try await FramedPeer.connect(port: port)
        try await peer.hello()
        var meta = Lv_Rpc_V1_FrameMeta()
        meta.method = "lv.testing.v1.Echo/Echo"
        try await peer.send(FrameWriter.frame(.request, streamID: 1, meta: meta, encodedPayload: ByteBuffer(bytes: payload)))
        let frame = try await peer.next()
        await peer.close()
        #expect(frame?.type == FrameType.response.rawValue)
        return try frame?.status()
    }

    @Test("an interceptor sees the method and the typed Input and Output, and may replace the request and the response")
    func typed() async throws {
        let recorder = RecordingInterceptor(shout: true)
        let server = try await TestServer.start(interceptors: [LoggingInterceptor(), recorder])
        let client = server.client()
        let response = try await Lv.Testing.V1.Echo.Client(client).echo(echoRequest("hello"))
        #expect(response.text == "HELLO (intercepted)")
        #expect(recorder.seen.withLockedValue { $0 } == [
            SeenCall(method: "lv.testing.v1.Echo/Echo", input: "Lv_Testing_V1_EchoRequest", output: "Lv_Testing_V1_EchoResponse",
                     text: "hello", outcome: .ok),
        ])
        await client.close()
        try await server.stop()
    }

    @Test("a malformed request fails inside the chain: the interceptors see INVALID_ARGUMENT, and the handler never runs")
    func malformedInsideChain() async throws {
        let recorder = RecordingInterceptor()
        let server = try await TestServer.start(interceptors: [recorder])
        let status = try await Self.send(Self.malformed, to: server.port)
        #expect(status?.code == .invalidArgument)
        #expect(recorder.seen.withLockedValue { $0.map(\.outcome) } == [.invalidArgument])
        #expect(server.echo.started.withLockedValue { $0 } == 0)
        try await server.stop()
    }

    @Test("an interceptor that refuses does so before the request is decoded: a malformed request is refused, not INVALID_ARGUMENT")
    func refusedBeforeDecoding() async throws {
        let recorder = RecordingInterceptor()
        let server = try await TestServer.start(interceptors: [recorder, RefusingInterceptor()])
        let status = try await Self.send(Self.malformed, to: server.port)
        #expect(status?.code == .permissionDenied)
        #expect(recorder.seen.withLockedValue { $0.map(\.outcome) } == [.permissionDenied])
        #expect(server.echo.started.withLockedValue { $0 } == 0)
        try await server.stop()
    }
}
