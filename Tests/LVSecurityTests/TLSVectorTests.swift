import Foundation
import Logging
import LVMessages
import LVRPC
import LVSecurity
import LVTLS
import NIOCore
import NIOPosix
import Testing

/// Test certificates, made with openssl per run (nothing committed): a CA, a server certificate for
/// 127.0.0.1, a client certificate.
struct TestCertificates {
    let dir: URL
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static let shared: TestCertificates = try! make()

    static func make() throws -> TestCertificates {
        let dir = try temporaryDirectory("certs")
        func openssl(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.currentDirectoryURL = dir
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw RPCError(.internal, "openssl \(args.joined(separator: " ")) failed") }
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=lv-unit-ca"])
        try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(to: dir.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(to: dir.appendingPathComponent("client.ext"), atomically: true, encoding: .utf8)
        for leaf in ["server", "client"] {
            try openssl(["req"] + ec + ["-keyout", "\(leaf).key", "-out", "\(leaf).csr", "-subj", "/CN=lv-unit-\(leaf)"])
            try openssl(["x509", "-req", "-in", "\(leaf).csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                         "-out", "\(leaf).crt", "-days", "2", "-extfile", "\(leaf).ext"])
        }
        return TestCertificates(dir: dir)
    }
}

struct BehaviourVector: Decodable, Sendable, CustomTestStringConvertible {
    struct Reply: Decodable, Sendable {
        let type: String
        let stream_id: UInt32?
        let code: Int32?
    }
    struct Expect: Decodable, Sendable {
        let send_after_hello: Bool
        let reply: Reply
        let then: Reply?
        let closes: Bool
    }
    let name: String
    let hex: String
    let expect: Expect?
    let then_zero_bytes: Int?
    var testDescription: String { name }

    static let all: [BehaviourVector] = {
        struct File: Decodable { let vectors: [BehaviourVector] }
        let url = ScopeDocsTests.root.appendingPathComponent("docs/protocol-vectors.json")
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors.filter { $0.expect != nil }
    }()

    var bytes: [UInt8] { Hex.decode(hex)! }
}

/// A raw peer over TLS: bytes in, frames out.
final class RawTLSConnection: @unchecked Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
    private let channel: any Channel
    private var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    private var pending = ByteBuffer()

    init(port: Int, tls: TLSClient) async throws {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let setup = tls.channelSetup
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try setup(channel, "127.0.0.1")
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        iterator = stream.makeAsyncIterator()
    }

    func send(_ bytes: [UInt8]) async throws { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)) }

    func nextFrame() async throws -> (type: UInt8, streamID: UInt32, meta: ByteBuffer, payload: ByteBuffer)? {
        while true {
            if pending.readableBytes >= 16 {
                let i = pending.readerIndex
                let metaLength = Int(pending.getInteger(at: i + 6, as: UInt16.self)!)
                let payloadLength = Int(pending.getInteger(at: i + 12, as: UInt32.self)!)
                if pending.readableBytes >= 16 + metaLength + payloadLength {
                    let type = pending.getInteger(at: i + 3, as: UInt8.self)!
                    let stream = pending.getInteger(at: i + 8, as: UInt32.self)!
                    pending.moveReaderIndex(forwardBy: 16)
                    return (type, stream, pending.readSlice(length: metaLength)!, pending.readSlice(length: payloadLength)!)
                }
            }
            guard var chunk = await iterator.next() else { return nil }
            pending.writeBuffer(&chunk)
        }
    }

    func close() async { try? await channel.close() }
}

@Suite("protocol inside TLS", .serialized, .timeLimit(.minutes(3)))
struct TLSVectorTests {
    static let typeNames: [String: UInt8] = ["HELLO": 1, "HELLO_ACK": 2, "REQUEST": 3, "RESPONSE": 4, "CANCEL": 5, "PING": 6, "PONG": 7, "GOAWAY": 8]

    @Test("every behaviour vector gets the reaction docs/PROTOCOL.md specifies over a mutual-TLS connection", arguments: BehaviourVector.all)
    func behaviourOverTLS(vector: BehaviourVector) async throws {
        let certs = TestCertificates.shared
        let tls = try TLSServer(certificate: certs.path("server.crt"), key: certs.path("server.key"), clientCA: certs.path("ca.crt"))
        var configuration = RPCServer.Configuration(port: 0, serverName: "tls-vectors")
        configuration.channelSetup = tls.channelSetup
        // The HELLO timeout starts before the TLS handshake, which a debug build of BoringSSL on a
        // loaded CI machine can stretch past the default 5 s; no vector here is about that timeout.
        configuration.peerLimits.helloTimeout = .seconds(60)
        var logger = Logger(label: "tls-vectors")
        logger.logLevel = .critical
        var router = Router()
        router.register(Lv.Testing.V1.Echo.Method.Echo.descriptor) { (r: Lv_Testing_V1_EchoRequest, _) in
            var out = Lv_Testing_V1_EchoResponse()
            out.text = r.text
            return out
        }
        let server = RPCServer(configuration: configuration, router: router, logger: logger)
        let task = Task { try await server.run() }
        let port = try await server.localAddress.port!
        let client = try TLSClient(ca: certs.path("ca.crt"), certificate: certs.path("client.crt"), key: certs.path("client.key"))
        let raw = try await RawTLSConnection(port: port, tls: client)
        let expect = try #require(vector.expect)
        if expect.send_after_hello {
            var hello = Lv_Rpc_V1_Hello()
            hello.protocolVersion = 1
            var frame = try FrameWriter.frame(.hello, streamID: 0, payload: hello)
            try await raw.send(frame.readBytes(length: frame.readableBytes)!)
            #expect(try await raw.nextFrame()?.type == 2, "HELLO_ACK over TLS")
        }
        try await raw.send(vector.bytes)
        if var remaining = vector.then_zero_bytes {
            while remaining > 0 {
                let n = min(remaining, 256 * 1024)
                try await raw.send([UInt8](repeating: 0, count: n))
                remaining -= n
            }
        }
        for reply in [expect.reply] + (expect.then.map { [$0] } ?? []) {
            let frame = try #require(try await raw.nextFrame(), "no \(reply.type) over TLS")
            #expect(frame.type == Self.typeNames[reply.type], "\(vector.name): got type \(frame.type), expected \(reply.type)")
            if let stream = reply.stream_id { #expect(frame.streamID == stream) }
            if let code = reply.code {
                let actual: Int32 = frame.type == 8
                    ? (try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self).status?.code.rawValue ?? 0)
                    : (try frame.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status?.code.rawValue ?? 0)
                #expect(actual == code, "\(vector.name)")
            }
        }
        if expect.closes {
            #expect(try await raw.nextFrame() == nil, "\(vector.name): the server should close")
        } else {
            var ping = FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 1, 1, 1, 1, 1, 1, 1]))
            try await raw.send(ping.readBytes(length: ping.readableBytes)!)
            #expect(try await raw.nextFrame()?.type == 7)
        }
        await raw.close()
        server.shutdown()
        try await task.value
    }
}

@Suite("TLS reload", .timeLimit(.minutes(2)))
struct TLSReloadTests {
    @Test("reload() serves the new certificate to new connections; a file that does not parse keeps the old one")
    func reload() async throws {
        let a = try TestCertificates.make()
        let b = try TestCertificates.make()
        let dir = try temporaryDirectory("tls-reload")
        let cert = dir.appendingPathComponent("server.crt").path
        let key = dir.appendingPathComponent("server.key").path
        func install(_ from: TestCertificates) throws {
            for (src, dst) in [("server.crt", cert), ("server.key", key)] {
                try? FileManager.default.removeItem(atPath: dst)
                try FileManager.default.copyItem(atPath: from.path(src), toPath: dst)
            }
        }
        try install(a)
        let tls = try TLSServer(certificate: cert, key: key)
        var configuration = RPCServer.Configuration(port: 0, serverName: "tls-reload")
        configuration.channelSetup = tls.channelSetup
        var logger = Logger(label: "tls-reload")
        logger.logLevel = .critical
        let server = RPCServer(configuration: configuration, router: Router(), logger: logger)
        let task = Task { try await server.run() }
        let port = try await server.localAddress.port!
        func health(trusting ca: TestCertificates) async -> StatusCode? {
            await code {
                var c = RPCClient.Configuration(host: "127.0.0.1", port: port)
                try ClientSecurity(ca: ca.path("ca.crt")).apply(to: &c)
                let client = RPCClient(configuration: c)
                defer { Task { await client.close() } }
                _ = try await client.callRaw("lv.health.v1.Health/Check", encodedRequest: ByteBuffer())
            }
        }
        #expect(await health(trusting: a) == .ok)
        #expect(await health(trusting: b) == .unavailable)
        try install(b)
        try tls.reload()
        #expect(await health(trusting: b) == .ok)
        #expect(await health(trusting: a) == .unavailable)
        try "not a certificate".write(toFile: cert, atomically: true, encoding: .utf8)
        #expect(throws: TLSFileError.self) { try tls.reload() }
        #expect(await health(trusting: b) == .ok)
        server.shutdown()
        try await task.value
    }
}
