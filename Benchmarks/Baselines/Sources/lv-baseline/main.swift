// lv-baseline grpc-serve PORT | grpc-load PORT CONCURRENCY SECONDS | echo-serve PORT | echo-load PORT CONCURRENCY SECONDS
//
// The request and response are the bytes of lv.health.v1.Health/Check in our protocol
// (request: HealthCheckRequest{} = 0 bytes; response: HealthCheckResponse{status: SERVING} = 08 01),
// so the three measurements move the same payloads:
//   grpc-*: a unary call "lv.bench.Baseline/Check" served by grpc-swift-2 over HTTP/2 (plaintext),
//           with the method descriptor and byte (de)serializers written in the shape of generated code;
//   echo-*: a raw SwiftNIO echo of a 16-byte frame header + payload, length-prefixed, no protocol logic.
// Closed loop, CONCURRENCY calls in flight on one connection; prints one JSON line.
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix

struct Bytes: MessageSerializer, MessageDeserializer {
    func serialize<B: GRPCContiguousBytes>(_ message: [UInt8]) throws -> B { B(message) }
    func deserialize<B: GRPCContiguousBytes>(_ bytes: B) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

let check = GRPCCore.MethodDescriptor(fullyQualifiedService: "lv.bench.Baseline", method: "Check")
let servingResponse: [UInt8] = [0x08, 0x01]

struct BaselineService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: check, deserializer: Bytes(), serializer: Bytes()) { request, _ in
            for try await _ in request.messages {}
            return StreamingServerResponse(single: ServerResponse(message: servingResponse))
        }
    }
}

func report(_ name: String, _ concurrency: Int, _ seconds: Double, _ latenciesNs: [UInt64]) {
    let sorted = latenciesNs.sorted()
    func p(_ q: Double) -> Double { sorted.isEmpty ? 0 : Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q / 100))]) / 1e6 }
    print(#"{"baseline":"\#(name)","concurrency":\#(concurrency),"seconds":\#(seconds),"calls":\#(sorted.count),"calls_per_s":\#(Int(Double(sorted.count) / seconds)),"p50_ms":\#(p(50)),"p90_ms":\#(p(90)),"p99_ms":\#(p(99)),"p999_ms":\#(p(99.9)),"max_ms":\#(Double(sorted.last ?? 0) / 1e6)}"#)
}

final class Latencies: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [UInt64] = []
    func add(_ v: [UInt64]) { lock.lock(); values += v; lock.unlock() }
    var all: [UInt64] { lock.lock(); defer { lock.unlock() }; return values }
}

func grpcServe(port: Int) async throws {
    let server = GRPCServer(transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
                            services: [BaselineService()])
    try await server.serve()
}

func grpcLoad(port: Int, concurrency: Int, seconds: Double) async throws {
    let latencies = Latencies()
    try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
        let request = ClientRequest(message: [UInt8]())
        // Warm up, then measure.
        for _ in 0..<200 { _ = try await client.unary(request: request, descriptor: check, serializer: Bytes(), deserializer: Bytes(), options: .defaults) { try $0.message } }
        let end = ContinuousClock.now + .nanoseconds(Int64(seconds * 1e9))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var local: [UInt64] = []
                    while ContinuousClock.now < end {
                        let start = DispatchTime.now().uptimeNanoseconds
                        _ = try await client.unary(request: request, descriptor: check, serializer: Bytes(), deserializer: Bytes(), options: .defaults) { try $0.message }
                        local.append(DispatchTime.now().uptimeNanoseconds - start)
                    }
                    latencies.add(local)
                }
            }
            try await group.waitForAll()
        }
    }
    report("grpc-swift-2", concurrency, seconds, latencies.all)
}

/// Length-prefixed frames: 4-byte length then the bytes.
final class EchoServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var pending = ByteBuffer()
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        pending.writeBuffer(&chunk)
        while let length = pending.getInteger(at: pending.readerIndex, as: UInt32.self),
              pending.readableBytes >= 4 + Int(length), let frame = pending.readSlice(length: 4 + Int(length)) {
            context.write(wrapOutboundOut(frame), promise: nil)
        }
        context.flush()
    }
}

/// Keeps `concurrency` echoes in flight on one connection, on the event loop (as wrk does).
final class EchoClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let frame: ByteBuffer
    let concurrency: Int
    let end: UInt64
    let done: EventLoopPromise<[UInt64]>
    var sentAt: [UInt64] = []
    var head = 0
    var latencies: [UInt64] = []
    var pending = ByteBuffer()
    init(frame: ByteBuffer, concurrency: Int, end: UInt64, done: EventLoopPromise<[UInt64]>) {
        (self.frame, self.concurrency, self.end, self.done) = (frame, concurrency, end, done)
    }
    func channelActive(context: ChannelHandlerContext) {
        for _ in 0..<concurrency { send(context) }
        context.flush()
    }
    func send(_ context: ChannelHandlerContext) {
        sentAt.append(DispatchTime.now().uptimeNanoseconds)
        context.write(wrapOutboundOut(frame), promise: nil)
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        pending.writeBuffer(&chunk)
        let size = frame.readableBytes
        while pending.readableBytes >= size {
            pending.moveReaderIndex(forwardBy: size)
            let now = DispatchTime.now().uptimeNanoseconds
            latencies.append(now - sentAt[head])
            head += 1
            if now < end { send(context) } else if head == sentAt.count { done.succeed(latencies); context.close(promise: nil); return }
        }
        context.flush()
    }
}

func echoServe(port: Int) async throws {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { $0.pipeline.addHandler(EchoServerHandler()) }
        .bind(host: "127.0.0.1", port: port).get()
    try await channel.closeFuture.get()
}

func echoLoad(port: Int, concurrency: Int, seconds: Double) async throws {
    // The bytes of one Health/Check REQUEST frame in our protocol: header + meta with the method name.
    var frame = ByteBuffer()
    let body = 16 + 27
    frame.writeInteger(UInt32(body))
    frame.writeBytes([UInt8](repeating: 0x41, count: body))
    let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    let group = MultiThreadedEventLoopGroup.singleton
    let done = group.next().makePromise(of: [UInt64].self)
    let frameCopy = frame
    _ = try await ClientBootstrap(group: group)
        .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(EchoClientHandler(frame: frameCopy, concurrency: concurrency, end: end, done: done))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    report("raw-swiftnio-echo", concurrency, seconds, try await done.futureResult.get())
}

let args = CommandLine.arguments.dropFirst().map { $0 }
guard let mode = args.first, args.count >= 2, let port = Int(args[1]) else {
    FileHandle.standardError.write(Data("usage: lv-baseline grpc-serve|echo-serve PORT | grpc-load|echo-load PORT CONCURRENCY SECONDS\n".utf8))
    exit(2)
}
let concurrency = args.count > 2 ? Int(args[2]) ?? 16 : 16
let seconds = args.count > 3 ? Double(args[3]) ?? 5 : 5
switch mode {
case "grpc-serve": try await grpcServe(port: port)
case "grpc-load": try await grpcLoad(port: port, concurrency: concurrency, seconds: seconds)
case "echo-serve": try await echoServe(port: port)
case "echo-load": try await echoLoad(port: port, concurrency: concurrency, seconds: seconds)
default:
    FileHandle.standardError.write(Data("unknown mode \(mode)\n".utf8))
    exit(2)
}
