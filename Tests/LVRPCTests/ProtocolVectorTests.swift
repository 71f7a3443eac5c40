import Foundation
import LVMessages
import LVRPC
import LVTestSupport
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

/// docs/protocol-vectors.json (LVTestSupport's `ProtocolVector`, shared with LVSecurityTests).
typealias Vector = ProtocolVector

/// Decodes `section` of a vector as the Swift type it names, so it can be packed again by protobuf-c.
func decodeSection(_ buffer: ByteBuffer, as section: Vector.Section?) throws -> (any ProtoMessage)? {
    guard let type = section?.type else { return nil }
    switch type {
    case "lv.rpc.v1.Hello": return try buffer.readMessage(Lv_Rpc_V1_Hello.self)
    case "lv.rpc.v1.HelloAck": return try buffer.readMessage(Lv_Rpc_V1_HelloAck.self)
    case "lv.rpc.v1.FrameMeta": return try buffer.readMessage(Lv_Rpc_V1_FrameMeta.self)
    case "lv.rpc.v1.GoAway": return try buffer.readMessage(Lv_Rpc_V1_GoAway.self)
    case "lv.health.v1.HealthCheckRequest": return try buffer.readMessage(Lv_Health_V1_HealthCheckRequest.self)
    case "lv.health.v1.HealthCheckResponse": return try buffer.readMessage(Lv_Health_V1_HealthCheckResponse.self)
    default: throw RPCError(.unimplemented, "vector section type \(type) unknown to this test")
    }
}

func decodeAll(_ bytes: [UInt8], limits: FrameLimits = FrameLimits()) throws -> [InboundFrame] {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: FrameLimitsBox(limits))))
    try channel.writeInbound(ByteBuffer(bytes: bytes))
    var out: [InboundFrame] = []
    while let f = try channel.readInbound(as: InboundFrame.self) { out.append(f) }
    _ = try? channel.finish()
    return out
}

@Suite("protocol test vectors")
struct ProtocolVectorTests {
    @Test("each valid frame decodes to the vector's header fields", arguments: Vector.frames)
    func decodes(vector: Vector) throws {
        let decoded = try decodeAll(vector.bytes)
        #expect(decoded.count == 1)
        guard case .frame(let frame)? = decoded.first else { Issue.record("not a frame: \(decoded)"); return }
        let spec = vector.frame!
        #expect("\(frame.type)" == Self.swiftName(spec.type))
        #expect(frame.streamID == spec.stream_id)
        if let raw = spec.payload?.raw_hex { #expect(Array(frame.payload.readableBytesView) == Vector.bytes(raw)) }
    }

    @Test("each valid frame, decoded into Swift types and packed by protobuf-c, gives the same bytes", arguments: Vector.frames)
    func reencodes(vector: Vector) throws {
        guard case .frame(let frame)? = try decodeAll(vector.bytes).first else { Issue.record("no frame"); return }
        let spec = vector.frame!
        let meta = try decodeSection(frame.meta, as: spec.meta)
        let encoded: ByteBuffer
        if spec.payload?.raw_hex != nil {
            encoded = FrameWriter.rawFrame(frame.type, streamID: frame.streamID, payload: frame.payload)
        } else {
            encoded = try FrameWriter.frame(frame.type, streamID: frame.streamID, meta: meta,
                                            payload: try decodeSection(frame.payload, as: spec.payload))
        }
        #expect(Array(encoded.readableBytesView) == vector.bytes)
    }

    @Test("a vector split at every byte boundary decodes to the same frames")
    func everySplit() throws {
        let bytes = Vector.frames.flatMap(\.bytes)
        let whole = try decodeAll(bytes)
        #expect(whole.count == Vector.frames.count)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: FrameLimitsBox(FrameLimits()))))
        for b in bytes { try channel.writeInbound(ByteBuffer(bytes: [b])) }
        var split: [InboundFrame] = []
        while let f = try channel.readInbound(as: InboundFrame.self) { split.append(f) }
        #expect(split == whole)
        _ = try channel.finish()
    }

    @Test("header-level error vectors are classified before any body is buffered")
    func headerErrors() throws {
        let byName = Dictionary(uniqueKeysWithValues: Vector.behaviours.map { ($0.name, $0) })
        #expect(try decodeAll(byName["bad_magic"]!.bytes) == [.violation(.badMagic(0x5858))])
        #expect(try decodeAll(byName["unsupported_version"]!.bytes) == [.violation(.unsupportedVersion(2))])
        #expect(try decodeAll(byName["over_hard_cap"]!.bytes)
                == [.violation(.frameTooLarge(bodyLength: 64 * 1024 * 1024 + 1, hardCap: 64 * 1024 * 1024))])
        // Only the 16-byte header is present: the decoder reports it at once, without waiting for the body.
        #expect(try decodeAll(byName["oversized_request"]!.bytes)
                == [.oversized(type: 3, streamID: 1, bodyLength: 4 * 1024 * 1024 + 1)])
        let unknown = try decodeAll(byName["unknown_frame_type"]!.bytes)
        #expect(unknown.count == 2)
        #expect(unknown.first == .unknownType(0x2a, streamID: 0))
    }

    static func swiftName(_ vectorName: String) -> String {
        switch vectorName {
        case "HELLO": return "hello"
        case "HELLO_ACK": return "helloAck"
        case "REQUEST": return "request"
        case "RESPONSE": return "response"
        case "CANCEL": return "cancel"
        case "PING": return "ping"
        case "PONG": return "pong"
        case "GOAWAY": return "goAway"
        default: return vectorName
        }
    }
}

@Suite("frame decoder")
struct FrameDecoderTests {
    @Test("ByteToMessageDecoderVerifier: every vector frame, fed whole, byte by byte and in odd chunks")
    func verifier() throws {
        let pairs: [(ByteBuffer, [InboundFrame])] = try Vector.frames.map { v in
            (ByteBuffer(bytes: v.bytes), try decodeAll(v.bytes))
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(limits: FrameLimitsBox(FrameLimits()))
        }
    }

    @Test("an oversized body is skipped without being buffered, and the next frame still decodes")
    func skipsOversized() throws {
        let limits = FrameLimits(maxFrameSize: 1024, hardCap: 1 << 20)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder(limits: FrameLimitsBox(limits))))
        var header = ByteBuffer()
        header.writeBytes([0x4c, 0x56, 1, 3, 0, 0, 0, 0, 0, 0, 0, 5])
        header.writeInteger(UInt32(100_000))
        try channel.writeInbound(header)
        #expect(try channel.readInbound(as: InboundFrame.self) == .oversized(type: 3, streamID: 5, bodyLength: 100_000))
        for _ in 0..<100 { try channel.writeInbound(ByteBuffer(repeating: 0, count: 1000)) }
        #expect(try channel.readInbound(as: InboundFrame.self) == nil)
        let ping = FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
        try channel.writeInbound(ping)
        guard case .frame(let f)? = try channel.readInbound(as: InboundFrame.self) else { Issue.record("no ping"); return }
        #expect(f.type == .ping)
        _ = try channel.finish()
    }

    @Test("after a violation nothing more is decoded from that connection")
    func stopsAfterViolation() throws {
        let ping = Array(FrameWriter.rawFrame(.ping, payload: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 0, 0])).readableBytesView)
        let frames = try decodeAll(Array("garbage!garbage!".utf8) + ping)
        #expect(frames.count == 1)
        guard case .violation(.badMagic)? = frames.first else { Issue.record("expected bad magic, got \(frames)"); return }
    }
}
