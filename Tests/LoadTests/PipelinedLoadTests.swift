import Histogram
import Load
import Logging
import LVAPI
import LVMessages
import LVRPC
import NIOCore
import Testing

/// `lv-load unary --pipelined`'s engine against a real RPCServer on loopback port 0.
@Suite("pipelined load", .serialized, .timeLimit(.minutes(2)))
struct PipelinedLoadTests {
    /// A server answering the Echo service (its handler sleeps `delay_ms`), with at most `streams` calls in flight per connection.
    static func withServer(streams: Int, _ body: (Int) async throws -> Void) async throws {
        var router = Router()
        InjectedLatency().register(into: &router)
        var logger = Logger(label: "pipelined-test")
        logger.logLevel = .critical
        let server = RPCServer(configuration: .init(host: "127.0.0.1", port: 0, serverName: "pipelined", maxConcurrentStreams: streams),
                               router: router, logger: logger)
        let running = Task { try await server.run() }
        let port = try await server.localAddress.port!
        do { try await body(port) } catch { server.shutdown(); try? await running.value; throw error }
        server.shutdown()
        try await running.value
    }

    @Test("every call is answered and timed, and no more are sent at once than the server's max_concurrent_streams")
    func callsWithinTheServersLimit() async throws {
        var request = Lv_Testing_V1_EchoRequest()
        request.delayMs = 2
        let payload = try request.serializedBytes()
        try await Self.withServer(streams: 4) { port in
            // 16 asked, 4 allowed: a client that ignored HELLO_ACK would get UNAVAILABLE for the excess.
            let settings = PipelinedLoad.Settings(host: "127.0.0.1", port: port, method: Lv.Testing.V1.Echo.Method.Echo.descriptor.fullName,
                                                  payload: payload, concurrency: 16, duration: 600, timeoutMs: 60_000, requests: 300)
            let result = try await PipelinedLoad.run(settings)
            #expect(result.errors.isEmpty, "\(result.errors)")
            #expect(result.calls == 300)
            #expect(result.uncorrected.totalCount == 300)
            // Each handler slept 2 ms: no measured latency can be below it (load only adds).
            #expect(result.uncorrected.min >= 2_000)
        }
    }

    @Test("answers with a status are counted as errors by code, not as calls")
    func errorsByCode() async throws {
        try await Self.withServer(streams: 256) { port in
            let settings = PipelinedLoad.Settings(host: "127.0.0.1", port: port, method: "lv.nothing.v1.Nothing/Call",
                                                  concurrency: 8, duration: 600, requests: 100)
            let result = try await PipelinedLoad.run(settings)
            #expect(result.calls == 0)
            #expect(result.errors == ["UNIMPLEMENTED": 100])
        }
    }
}
