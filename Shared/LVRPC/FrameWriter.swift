import CProtobufC
import LVMessages
import NIOCore

/// Builds frames straight into a `ByteBuffer`: header, then meta and payload packed by protobuf-c
/// in place, with the two lengths patched into the header afterwards.
public enum FrameWriter {
    public static func frame(
        _ type: FrameType, flags: UInt8 = 0, streamID: UInt32,
        meta: (any ProtoMessage)? = nil, payload: (any ProtoMessage)? = nil,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        try write(type, flags: flags, streamID: streamID, meta: meta, payload: payload, into: &buffer)
        return buffer
    }

    /// Appends one frame to `buffer`.
    public static func write(
        _ type: FrameType, flags: UInt8 = 0, streamID: UInt32,
        meta: (any ProtoMessage)?, payload: (any ProtoMessage)?, into buffer: inout ByteBuffer
    ) throws {
        try write(type, flags: flags, streamID: streamID, meta: meta, into: &buffer) { buffer in
            try payload.map { try buffer.writeMessage($0) } ?? 0
        }
    }

    /// A frame whose payload is bytes already encoded (generic tools that send any method).
    public static func frame(_ type: FrameType, streamID: UInt32, meta: (any ProtoMessage)?, encodedPayload: ByteBuffer) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try write(type, streamID: streamID, meta: meta, into: &buffer) { buffer in
            var payload = encodedPayload
            return buffer.writeBuffer(&payload)
        }
        return buffer
    }

    static func write(
        _ type: FrameType, flags: UInt8 = 0, streamID: UInt32, meta: (any ProtoMessage)?, into buffer: inout ByteBuffer,
        payload writePayload: (inout ByteBuffer) throws -> Int
    ) throws {
        let start = buffer.writerIndex
        buffer.writeInteger(FrameHeader.magic)
        buffer.writeInteger(FrameHeader.version)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt16(0)) // meta length, patched below
        buffer.writeInteger(streamID)
        buffer.writeInteger(UInt32(0)) // payload length, patched below
        do {
            let metaLength = try meta.map { try buffer.writeMessage($0) } ?? 0
            guard metaLength <= Int(UInt16.max) else {
                throw RPCError(.resourceExhausted, "frame meta of \(metaLength) bytes exceeds 65535")
            }
            let payloadLength = try writePayload(&buffer)
            buffer.setInteger(UInt16(metaLength), at: start + 6)
            buffer.setInteger(UInt32(payloadLength), at: start + 12)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
    }

    /// A frame whose payload is raw bytes (PING and PONG carry 8 opaque bytes).
    public static func rawFrame(_ type: FrameType, streamID: UInt32 = 0, payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(FrameHeader.size + payload.readableBytes)
        buffer.writeInteger(FrameHeader.magic)
        buffer.writeInteger(FrameHeader.version)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(streamID)
        buffer.writeInteger(UInt32(payload.readableBytes))
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }
}

extension ByteBuffer {
    /// Packs `message` with protobuf-c directly into this buffer; returns the bytes written.
    @discardableResult
    public mutating func writeMessage(_ message: some ProtoMessage) throws -> Int {
        try message.withCMessage { base in
            let size = protobuf_c_message_get_packed_size(base)
            guard size > 0 else { return 0 }
            return writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                out.withMemoryRebound(to: UInt8.self) { protobuf_c_message_pack(base, $0.baseAddress!) }
            }
        }
    }

    /// Decodes the readable bytes as `M` (see `ProtoMessage.init(serializedBytes:)`).
    public func readMessage<M: ProtoMessage>(_ type: M.Type, budget: WireBudget? = nil) throws -> M {
        try withUnsafeReadableBytes { try M(serializedBytes: $0, budget: budget) }
    }
}
