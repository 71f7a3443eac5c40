import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
@testable import LVSecurity
import LVTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

func temporaryDirectory(_ tag: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lv-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("audit chain")
struct AuditChainTests {
    static func field(_ i: Int) -> String {
        "\"ts_ms\":\(i),\"method\":\"m\(i)\",\"npis\":[\"12345678\(i % 10)3\"],\"outcome\":\"OK\""
    }

    @Test("records written concurrently form one chain; an altered line and a removed line are named")
    func chain() async throws {
        let dir = try temporaryDirectory("audit")
        let path = dir.appendingPathComponent("a.jsonl").path
        let log = try AuditLog(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 { group.addTask { try await log.append(fields: Self.field(i)) } }
            try await group.waitForAll()
        }
        log.close()
        // Reopened, the chain continues from the last line.
        let again = try AuditLog(path: path)
        try await again.append(fields: Self.field(50))
        again.close()
        let report = try AuditChain.verify(path: path)
        #expect(report.records == 51)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 51)
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }, "every line is JSON")

        var altered = lines
        altered[19] = altered[19].replacingOccurrences(of: "\"outcome\":\"OK\"", with: "\"outcome\":\"NO\"")
        #expect(altered[19] != lines[19])
        do {
            _ = try AuditChain.verify(text: altered.joined(separator: "\n") + "\n")
            Issue.record("an altered line verified")
        } catch let e as AuditError {
            #expect(e.line == 20)
            #expect(e.reason.contains("altered"))
        }

        var removed = lines
        removed.remove(at: 30)
        do {
            _ = try AuditChain.verify(text: removed.joined(separator: "\n") + "\n")
            Issue.record("a removed line went unnoticed")
        } catch let e as AuditError {
            #expect(e.line == 31)
            #expect(e.reason.contains("removed"))
        }

        lines.removeFirst()
        #expect(throws: AuditError.self) { try AuditChain.verify(text: lines.joined(separator: "\n") + "\n") }
    }

    @Test("a torn last line (a crash mid-write, never acknowledged) is cut off when the log is opened again")
    func tornTail() async throws {
        let dir = try temporaryDirectory("audit-torn")
        let path = dir.appendingPathComponent("a.jsonl").path
        let log = try AuditLog(path: path)
        for i in 0..<3 { try await log.append(fields: Self.field(i)) }
        log.close()
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"seq\":4,\"ts_ms\":1,\"meth".utf8))
        handle.closeFile()
        let reopened = try AuditLog(path: path)
        try await reopened.append(fields: Self.field(3))
        reopened.close()
        #expect(try AuditChain.verify(path: path).records == 4)
    }
}

/// An in-process server with the security interceptor, and handlers held open by a gate.
final class Gate: Sendable {
    private let waiting = NIOLockedValueBox<[CheckedContinuation<Void, Never>]>([])
    private let opened = NIOLockedValueBox(false)
    func wait() async {
        await withCheckedContinuation { c in
            let now = opened.withLockedValue { $0 }
            if now { c.resume() } else { waiting.withLockedValue { $0.append(c) } }
        }
    }
    var count: Int { waiting.withLockedValue { $0.count } }
    func open() {
        opened.withLockedValue { $0 = true }
        for c in waiting.withLockedValue({ w in defer { w = [] }; return w }) { c.resume() }
    }
}

func startServer(security: ServerSecurity, tls: TLSServer? = nil, gate: Gate? = nil) async throws -> (RPCServer, Int, Task<Void, any Error>) {
    var router = Router()
    // GetActivity (scope registrar.read) answers after the gate opens; Echo is in no table (deny by default).
    router.register(Lv.Registration.V1.Registration.Method.GetActivity.descriptor) { (_: Lv_Registration_V1_GetActivityRequest, _) in
        if let gate { await gate.wait() }
        return Lv_Registration_V1_GetActivityResponse()
    }
    router.register(Lv.Testing.V1.Echo.Method.Echo.descriptor) { (r: Lv_Testing_V1_EchoRequest, _) in
        var out = Lv_Testing_V1_EchoResponse()
        out.text = r.text
        return out
    }
    var configuration = RPCServer.Configuration(port: 0, serverName: "sec-test")
    configuration.authenticator = security.authenticator
    configuration.channelSetup = tls?.channelSetup
    let server = RPCServer(configuration: configuration, router: router, interceptors: [security.interceptor],
                           logger: Logger(label: "sec-test"))
    let task = Task { try await server.run() }
    let port = try await server.localAddress.port!
    return (server, port, task)
}

func client(_ port: Int, credential: String = "", tls: ClientSecurity? = nil) throws -> RPCClient {
    var c = RPCClient.Configuration(host: "127.0.0.1", port: port, credential: credential)
    if let tls { try tls.apply(to: &c); c.credential = credential }
    return RPCClient(configuration: c)
}

func code(_ body: () async throws -> Void) async -> StatusCode? {
    do { try await body(); return .ok } catch { return RPCError.from(error).code }
}

@Suite("security interceptor in process", .serialized, .timeLimit(.minutes(2)))
struct InterceptorTests {
    @Test("a key's concurrent-call limit answers RESOURCE_EXHAUSTED with retry_after_ms while its calls are in flight")
    func concurrency() async throws {
        var (key, entry) = APIKey.generate(name: "one-at-a-time", roles: [.registrar])
        entry.concurrent = 2
        let security = ServerSecurity(serviceName: "t", keys: KeyStore(entries: [entry]), audit: nil)
        let gate = Gate()
        let (server, port, task) = try await startServer(security: security, gate: gate)
        let c = try client(port, credential: key)
        let api = Lv.Registration.V1.Registration.Client(c)
        async let first = api.getActivity(Lv_Registration_V1_GetActivityRequest())
        async let second = api.getActivity(Lv_Registration_V1_GetActivityRequest())
        while gate.count < 2 { try await Task.sleep(nanoseconds: 1_000_000) }
        do {
            _ = try await api.getActivity(Lv_Registration_V1_GetActivityRequest(), options: CallOptions(timeout: .seconds(5)))
            Issue.record("a third concurrent call was admitted")
        } catch let e as RPCError {
            #expect(e.code == .resourceExhausted)
            #expect(e.retryAfterMs > 0)
            #expect(e.message.contains("2 calls in flight"))
        }
        gate.open()
        _ = try await (first, second)
        // Their slots are free again.
        _ = try await api.getActivity(Lv_Registration_V1_GetActivityRequest())
        await c.close()
        server.shutdown()
        try await task.value
    }

    @Test("deny by default: a method missing from the table is PERMISSION_DENIED even for a key with every role")
    func denyByDefault() async throws {
        let (key, entry) = APIKey.generate(name: "all", roles: Role.allCases)
        let security = ServerSecurity(serviceName: "t", keys: KeyStore(entries: [entry]), audit: nil)
        let (server, port, task) = try await startServer(security: security)
        let c = try client(port, credential: key)
        var echo = Lv_Testing_V1_EchoRequest()
        echo.text = "hi"
        let status = await code { _ = try await Lv.Testing.V1.Echo.Client(c).echo(echo) }
        #expect(status == .permissionDenied)
        #expect(await code { _ = try await Lv.Registration.V1.Registration.Client(c).getActivity(.init()) } == .ok)
        await c.close()
        server.shutdown()
        try await task.value
    }
}
