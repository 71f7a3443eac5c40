import Foundation
import Logging
import LVMessages
import LVRPC
import LVSecurity
import LVTestSupport
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
        func openssl(_ args: [String]) throws { try LVTestSupport.openssl(args, in: dir) }
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

@Suite("protocol inside TLS", .serialized, .timeLimit(.minutes(3)))
struct TLSVectorTests {
    static let typeNames: [String: UInt8] = ["HELLO": 1, "HELLO_ACK": 2, "REQUEST": 3, "RESPONSE": 4, "CANCEL": 5, "PING": 6, "PONG": 7, "GOAWAY": 8]

    @Test("every behaviour vector gets the reaction docs/PROTOCOL.md specifies over a mutual-TLS connection", arguments: ProtocolVector.behaviours)
    func behaviourOverTLS(vector: ProtocolVector) async throws {
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
        let setup = client.channelSetup
        let raw = try await RawFramePeer.connect(port: port) { try setup($0, "127.0.0.1") } // a raw peer inside TLS
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
        var answeredFirst: [UInt32] = []
        for reply in [expect.reply] + (expect.then.map { [$0] } ?? []) {
            var frame = try #require(try await raw.nextFrame(), "no \(reply.type) over TLS")
            // A call the server finished before it met the error may be answered first (PROTOCOL.md §6, §9).
            while expect.answeredFirst(type: frame.type, streamID: frame.streamID, answered: &answeredFirst) {
                frame = try #require(try await raw.nextFrame(), "no \(reply.type) over TLS after answering \(answeredFirst)")
            }
            #expect(frame.type == Self.typeNames[reply.type], "\(vector.name): got type \(frame.type), expected \(reply.type)")
            if let stream = reply.stream_id { #expect(frame.streamID == stream) }
            if let code = reply.code {
                let actual: Int32 = frame.type == 8
                    ? (try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self).status?.code.rawValue ?? 0)
                    : (try frame.meta.readMessage(Lv_Rpc_V1_FrameMeta.self).status?.code.rawValue ?? 0)
                #expect(actual == code, "\(vector.name)")
            }
            if let last = reply.last_stream_id {
                let lastStreamID = try frame.payload.readMessage(Lv_Rpc_V1_GoAway.self).lastStreamId
                #expect(lastStreamID == last, "\(vector.name)")
                #expect(answeredFirst.allSatisfy { $0 <= lastStreamID }, "\(vector.name): answered \(answeredFirst) above \(lastStreamID)")
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
