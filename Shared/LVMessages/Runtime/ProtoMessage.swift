import CProtobufC

/// A protobuf message as a Swift value, encoded and decoded by protobuf-c.
///
/// The generated conformances (scripts/protoc-gen-lvswift) only copy fields between the Swift
/// value and the protoc-c struct; packing and unpacking are protobuf-c's own.
public protocol ProtoMessage: Sendable, Hashable {
    /// The protoc-c struct for this message.
    associatedtype CStruct
    /// The message's full protobuf name ("lv.rpc.v1.FrameMeta").
    static var protoName: String { get }
    /// The protoc-c descriptor, used for unpacking and for checking strings on the wire.
    static var cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> { get }
    /// Calls the protoc-c `…__init` function on `c`.
    static func cInit(_ c: UnsafeMutablePointer<CStruct>)
    init()
    /// Copies an unpacked C struct into a Swift value.
    init(cStruct: CStruct)
    /// Copies this value into a C struct; all memory comes from `arena`.
    func fill(_ c: inout CStruct, in arena: CArena) throws
    /// Hands `body` the struct's `ProtobufCMessage` header (`&c.pointee.base`), the pointer every
    /// protobuf-c call takes; the struct's memory is never reinterpreted as another type.
    static func withBase<R>(_ c: UnsafeMutablePointer<CStruct>, _ body: (UnsafeMutablePointer<ProtobufCMessage>) throws -> R) rethrows -> R
}

/// Why bytes could not become a message, or a message could not become bytes.
public enum ProtoError: Error, Hashable, CustomStringConvertible {
    /// The bytes are not a valid encoding of the message (truncated, bad varint, wrong wire type…).
    case malformed(message: String, reason: String)
    /// A string field holds bytes that are not UTF-8.
    case invalidUTF8(field: String)
    /// A string field holds a NUL byte, which protobuf-c's `char *` strings cannot carry.
    case embeddedNUL(field: String)
    /// Messages nested deeper than `WireCheck.maximumDepth`.
    case tooDeep(message: String)
    /// Over the decode budget (`WireLimits`): too many entries in a list, elements in total, or bytes in a string.
    case overBudget(field: String, rule: String, reason: String)

    public var description: String {
        switch self {
        case .malformed(let message, let reason): return "malformed \(message): \(reason)"
        case .invalidUTF8(let field): return "\(field): string is not valid UTF-8"
        case .embeddedNUL(let field): return "\(field): string contains a NUL byte"
        case .tooDeep(let message): return "\(message): messages nested more than \(WireCheck.maximumDepth) deep"
        case .overBudget(let field, _, let reason): return "\(field): \(reason)"
        }
    }

    /// The field the error is about, when there is one.
    public var field: String? {
        switch self {
        case .invalidUTF8(let field), .embeddedNUL(let field), .overBudget(let field, _, _): return field
        case .malformed, .tooDeep: return nil
        }
    }

    /// The rule broken, as it goes in a field violation.
    public var rule: String {
        if case .overBudget(_, let rule, _) = self { return rule }
        return "wire-format"
    }
}

/// Reads the descriptor pointer that the protoc-c `…__init` function stores in the struct,
/// so no Swift code has to take the address of a C global.
public func cDescriptorOf<M: ProtoMessage>(_ type: M.Type) -> UnsafePointer<ProtobufCMessageDescriptor> {
    let c = UnsafeMutablePointer<M.CStruct>.allocate(capacity: 1)
    defer { c.deallocate() }
    M.cInit(c)
    return M.withBase(c) { $0.pointee.descriptor }
}

extension ProtoMessage {
    /// Decodes `bytes`: checks the wire form first (structure, string UTF-8 and NUL, depth), then
    /// lets protobuf-c unpack it, copies the result and frees every protobuf-c allocation.
    public init(serializedBytes bytes: UnsafeRawBufferPointer, budget: WireBudget? = nil) throws {
        try WireCheck.validate(bytes, descriptor: Self.cDescriptor, budget: budget)
        var empty: UInt8 = 0
        let unpacked: UnsafeMutablePointer<ProtobufCMessage>? = withUnsafeMutablePointer(to: &empty) { fallback in
            let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(fallback)
            return protobuf_c_message_unpack(Self.cDescriptor, nil, bytes.count, base)
        }
        guard let unpacked else {
            throw ProtoError.malformed(message: Self.protoName, reason: "protobuf-c could not unpack it")
        }
        defer { protobuf_c_message_free_unpacked(unpacked, nil) }
        // protobuf-c allocated a whole `CStruct` (its descriptor's sizeof) and returns a pointer to
        // its header: copy the struct out with an untyped load instead of rebinding the pointer.
        self.init(cStruct: UnsafeMutableRawPointer(unpacked).load(as: CStruct.self))
    }

    public init(serializedBytes bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try Self(serializedBytes: $0) }
    }

    /// A message field: absent (NULL) reads as the default value.
    public init(cMessage pointer: UnsafeMutablePointer<CStruct>?) {
        if let pointer { self.init(cStruct: pointer.pointee) } else { self.init() }
    }

    /// Builds the C struct in `arena` (for nesting inside another message).
    public func cMessage(in arena: CArena) throws -> UnsafeMutablePointer<CStruct> {
        let c = arena.struct(CStruct.self, initializer: Self.cInit)
        try fill(&c.pointee, in: arena)
        return c
    }

    /// Builds the C struct in an arena and hands `body` its `ProtobufCMessage` header. The arena
    /// (every string, array and sub-message the struct points into) stays alive until `body`
    /// returns; neither the pointer nor anything reached through it may escape `body`.
    public func withCMessage<R>(_ body: (UnsafePointer<ProtobufCMessage>) throws -> R) throws -> R {
        try CArena.scoped { arena in
            let c = try cMessage(in: arena)
            return try Self.withBase(c) { try body(UnsafePointer($0)) }
        }
    }

    /// Packs the message and hands the bytes to `body`; the bytes are valid only inside it.
    public func withSerializedBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let buffer = try withCMessage { message in
            let size = protobuf_c_message_get_packed_size(message)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 8)
            let written = buffer.withMemoryRebound(to: UInt8.self) { protobuf_c_message_pack(message, $0.baseAddress!) }
            precondition(written == size, "protobuf-c packed \(written) bytes, announced \(size)")
            return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<written])
        }
        defer { buffer.deallocate() }
        return try body(UnsafeRawBufferPointer(buffer))
    }

    /// The encoded message.
    public func serializedBytes() throws -> [UInt8] {
        try withSerializedBytes { Array($0) }
    }
}

/// A method of a service, as routing, reflection and clients name it.
public struct MethodDescriptor: Sendable, Hashable {
    public let service: String
    public let method: String
    public let requestType: String
    public let responseType: String

    public init(service: String, method: String, requestType: String, responseType: String) {
        self.service = service
        self.method = method
        self.requestType = requestType
        self.responseType = responseType
    }

    /// "package.Service/Method", the name carried in a REQUEST frame's meta.
    public var fullName: String { "\(service)/\(method)" }
}
