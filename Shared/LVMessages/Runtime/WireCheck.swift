import CProtobufC

/// Walks encoded protobuf bytes against a protoc-c descriptor before protobuf-c unpacks them.
///
/// protobuf-c copies a string field into a NUL-terminated `char *`: an embedded NUL would
/// truncate it silently and invalid UTF-8 is accepted. Its unpacker also recurses without a
/// depth limit. This pass rejects all three, and malformed framing, with the field's path.
public enum WireCheck {
    /// Deepest message nesting accepted (protobuf's own default recursion limit is 100).
    public static let maximumDepth = 64

    public static func validate(_ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>) throws {
        var reader = Reader(bytes: bytes, message: String(cString: descriptor.pointee.name))
        try walk(&reader, end: bytes.count, descriptor: descriptor, path: "", depth: 0)
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let message: String
        var offset = 0

        func fail(_ reason: String) -> ProtoError {
            .malformed(message: message, reason: "\(reason) at byte \(offset)")
        }

        mutating func varint(end: Int) throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < end else { throw fail("truncated varint") }
                let byte = bytes[offset]
                offset += 1
                if shift == 63 && byte > 1 { throw fail("varint overflows 64 bits") }
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { throw fail("varint longer than 10 bytes") }
            }
        }

        mutating func skip(_ count: Int, end: Int) throws {
            guard count <= end - offset else { throw fail("field runs past the end") }
            offset += count
        }
    }

    private static func walk(_ r: inout Reader, end: Int, descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
                             path: String, depth: Int) throws {
        guard depth <= maximumDepth else { throw ProtoError.tooDeep(message: r.message) }
        while r.offset < end {
            let key = try r.varint(end: end)
            let number = key >> 3
            guard number >= 1, number <= 0x1fff_ffff else { throw r.fail("field number \(number) out of range") }
            switch key & 7 {
            case 0: _ = try r.varint(end: end)
            case 1: try r.skip(8, end: end)
            case 5: try r.skip(4, end: end)
            case 2:
                let length = try r.varint(end: end)
                guard length <= UInt64(end - r.offset) else { throw r.fail("length \(length) runs past the end") }
                let start = r.offset
                let stop = start + Int(length)
                if let field = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number)) {
                    switch field.pointee.type {
                    case PROTOBUF_C_TYPE_STRING:
                        try checkString(UnsafeRawBufferPointer(rebasing: r.bytes[start..<stop]),
                                        field: join(path, field.pointee.name))
                    case PROTOBUF_C_TYPE_MESSAGE:
                        let sub = field.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                        try walk(&r, end: stop, descriptor: sub, path: join(path, field.pointee.name), depth: depth + 1)
                    default:
                        break
                    }
                }
                r.offset = stop
            default:
                throw r.fail("wire type \(key & 7) is not used by proto3")
            }
        }
        guard r.offset == end else { throw r.fail("field runs past the end of its message") }
    }

    private static func join(_ path: String, _ name: UnsafePointer<CChar>) -> String {
        let name = String(cString: name)
        return path.isEmpty ? name : "\(path).\(name)"
    }

    /// Valid UTF-8 with no NUL byte; ASCII (the common case) is checked without allocating.
    static func checkString(_ bytes: UnsafeRawBufferPointer, field: @autoclosure () -> String) throws {
        var ascii = true
        for byte in bytes {
            if byte == 0 { throw ProtoError.embeddedNUL(field: field()) }
            if byte >= 0x80 { ascii = false }
        }
        if !ascii && String(validating: bytes, as: UTF8.self) == nil {
            throw ProtoError.invalidUTF8(field: field())
        }
    }
}
