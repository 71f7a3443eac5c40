import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
import LVTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

typealias EchoRequest = Lv_Testing_V1_EchoRequest
typealias EchoResponse = Lv_Testing_V1_EchoResponse

/// Echo service for runtime tests: delays, failures and payloads on demand; records what it saw.
final class EchoService: Lv.Testing.V1.Echo.ServiceProtocol {
    let started = NIOLockedValueBox<Int>(0)
    let cancelled = NIOLockedValueBox<Int>(0)
    let completed = NIOLockedValueBox<Int>(0)

    func echo(_ request: EchoRequest, context: ServerContext) async throws -> EchoResponse {
        started.withLockedValue { $0 += 1 }
        if request.delayMs > 0 {
            do {
                try await Task.sleep(nanoseconds: UInt64(request.delayMs) * 1_000_000)
            } catch {
                cancelled.withLockedValue { $0 += 1 }
                throw error
            }
        }
        if request.failCode != 0 {
            throw RPCError(StatusCode(rawValue: request.failCode), "failing as asked")
        }
        completed.withLockedValue { $0 += 1 }
        var response = EchoResponse()
        response.text = request.text
        response.padding = request.padding
        response.metadata = context.metadata
        if let remaining = context.remainingTimeout { response.remainingMs = UInt32(remaining.nanoseconds / 1_000_000) }
        return response
    }
}

/// An in-process server on 127.0.0.1 port 0, running until `stop()`.
struct TestServer {
    let server: RPCServer
    let echo: EchoService
    let runTask: Task<Void, any Error>
    let port: Int

    static func start(port: Int = 0, maxConcurrentStreams: Int = 256, limits: FrameLimits = FrameLimits(),
                      idleTimeout: TimeAmount? = nil, drainTimeout: TimeAmount = .seconds(10),
                      observer: (any CallObserver)? = RPCMetrics(),
                      interceptors: [any ServerInterceptor] = [LoggingInterceptor()],
                      handlersOnEventLoop: Bool = true,
                      routes: (inout Router) -> Void = { _ in }) async throws -> TestServer {
        let echo = EchoService()
        var router = Router()
        echo.register(into: &router)
        routes(&router)
        var logger = Logger(label: "test-server")
        logger.logLevel = .critical
        var configuration = RPCServer.Configuration(host: "127.0.0.1", port: port, serverName: "test", limits: limits,
                                                    maxConcurrentStreams: maxConcurrentStreams, idleTimeout: idleTimeout,
                                                    drainTimeout: drainTimeout)
        configuration.handlersOnEventLoop = handlersOnEventLoop
        let server = RPCServer(configuration: configuration, router: router, interceptors: interceptors, logger: logger, observer: observer)
        let task = Task { try await server.run() }
        let address = try await server.localAddress
        return TestServer(server: server, echo: echo, runTask: task, port: address.port!)
    }

    func client(connections: Int = 1) -> RPCClient {
        var c = RPCClient.Configuration(host: "127.0.0.1", port: port, connections: connections)
        c.initialBackoff = .milliseconds(20)
        c.maximumBackoff = .milliseconds(200)
        return RPCClient(configuration: c)
    }

    func stop() async throws {
        server.shutdown()
        try await runTask.value
    }
}

func echoRequest(_ text: String, delayMs: UInt32 = 0, failCode: Int32 = 0, padding: Int = 0) -> EchoRequest {
    var r = EchoRequest()
    r.text = text
    r.delayMs = delayMs
    r.failCode = failCode
    r.padding = [UInt8](repeating: 7, count: padding)
    return r
}

/// A raw TCP connection for sending hand-made bytes and reading frames back (LVTestSupport's peer).
typealias RawConnection = RawFramePeer

func statusCode(ofResponseMeta meta: ByteBuffer) throws -> Int32 {
    try meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status?.code.rawValue ?? 0
}

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
