import CProtobufC

/// Walks encoded protobuf bytes against a protoc-c descriptor before protobuf-c unpacks them.
///
/// protobuf-c copies a string field into a NUL-terminated `char *`: an embedded NUL would
/// truncate it silently and invalid UTF-8 is accepted. Its unpacker also recurses without a
/// depth limit. This pass rejects all three, and malformed framing, with the field's path.
///
/// With a `WireBudget` (every request a server decodes) it also counts, before protobuf-c
/// allocates anything, the elements protobuf-c would allocate: every sub-message, every entry of
/// a repeated field (packed ones included) and every unknown field. Each repeated field listed in
/// `WireLimits.repeated` is bounded per occurrence of its message, everything else by the total,
/// so a decoded request is a small multiple of its wire size. A violation names the field.
public enum WireCheck {
    /// Deepest message nesting accepted (protobuf's own default recursion limit is 100).
    public static let maximumDepth = 64

    public static func validate(_ bytes: UnsafeRawBufferPointer, descriptor: UnsafePointer<ProtobufCMessageDescriptor>,
                                budget: WireBudget? = nil) throws {
        var reader = Reader(bytes: bytes, message: String(cString: descriptor.pointee.name), budget: budget)
        try walk(&reader, end: bytes.count, descriptor: descriptor, path: "", depth: 0)
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let message: String
        let budget: WireBudget?
        var offset = 0
        /// Elements counted so far against `budget.maximumElements`.
        var elements = 0

        init(bytes: UnsafeRawBufferPointer, message: String, budget: WireBudget?) {
            self.bytes = bytes
            self.message = message
            self.budget = budget
        }

        /// Counts `n` more elements against the total.
        mutating func spend(_ n: Int, path: @autoclosure () -> String) throws {
            guard let budget else { return }
            elements += n
            if elements > budget.maximumElements {
                throw ProtoError.overBudget(field: path(), rule: "decode-budget",
                    reason: "more than \(budget.maximumElements) sub-messages, list entries and unknown fields in one message")
            }
        }

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
        // Entries of each repeated field in this occurrence of the message (only with a budget).
        var counts: [UInt32: (count: Int, limit: Int)] = [:]
        while r.offset < end {
            let key = try r.varint(end: end)
            let number = key >> 3
            guard number >= 1, number <= 0x1fff_ffff else { throw r.fail("field number \(number) out of range") }
            let known = protobuf_c_message_descriptor_get_field(descriptor, UInt32(number))
            if r.budget != nil {
                // How many elements protobuf-c allocates for this occurrence.
                var n = 1
                if let field = known, field.pointee.label != PROTOBUF_C_LABEL_REPEATED {
                    n = field.pointee.type == PROTOBUF_C_TYPE_MESSAGE ? 1 : 0
                } else if let field = known, key & 7 == 2, field.pointee.type != PROTOBUF_C_TYPE_MESSAGE,
                          field.pointee.type != PROTOBUF_C_TYPE_STRING, field.pointee.type != PROTOBUF_C_TYPE_BYTES {
                    n = try packedCount(r, end: end, type: field.pointee.type)
                }
                if n > 0 {
                    let name: UnsafePointer<CChar>? = known?.pointee.name
                    try r.spend(n, path: join(path, name, number: number))
                    if let field = known, field.pointee.label == PROTOBUF_C_LABEL_REPEATED {
                        var entry = counts[UInt32(number)] ?? (0, -1)
                        if entry.limit < 0 {
                            entry.limit = WireLimits.repeated["\(String(cString: descriptor.pointee.name)).\(String(cString: field.pointee.name))"] ?? Int.max
                        }
                        entry.count += n
                        counts[UInt32(number)] = entry
                        if entry.count > entry.limit {
                            throw ProtoError.overBudget(field: join(path, field.pointee.name), rule: "count",
                                                        reason: "more than \(entry.limit) entries")
                        }
                    }
                }
            }
            switch key & 7 {
            case 0: _ = try r.varint(end: end)
            case 1: try r.skip(8, end: end)
            case 5: try r.skip(4, end: end)
            case 2:
                let length = try r.varint(end: end)
                guard length <= UInt64(end - r.offset) else { throw r.fail("length \(length) runs past the end") }
                let start = r.offset
                let stop = start + Int(length)
                if let field = known {
                    switch field.pointee.type {
                    case PROTOBUF_C_TYPE_STRING:
                        if let budget = r.budget, Int(length) > budget.maximumStringBytes {
                            throw ProtoError.overBudget(field: join(path, field.pointee.name), rule: "length",
                                                        reason: "\(length) bytes; no string may exceed \(budget.maximumStringBytes)")
                        }
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

    private static func join(_ path: String, _ name: UnsafePointer<CChar>?, number: UInt64) -> String {
        if let name { return join(path, name) }
        return path.isEmpty ? "#\(number)" : "\(path).#\(number)"
    }

    /// Elements in a packed repeated scalar field starting at the length prefix under `r` (not consumed).
    private static func packedCount(_ r: Reader, end: Int, type: ProtobufCType) throws -> Int {
        var peek = r
        let length = try peek.varint(end: end)
        guard length <= UInt64(end - peek.offset) else { throw peek.fail("length \(length) runs past the end") }
        switch type {
        case PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FLOAT: return Int(length) / 4
        case PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_DOUBLE: return Int(length) / 8
        default:
            // Varints: one element per byte without the continuation bit.
            var n = 0
            for i in peek.offset..<(peek.offset + Int(length)) where r.bytes[i] & 0x80 == 0 { n += 1 }
            return n
        }
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
