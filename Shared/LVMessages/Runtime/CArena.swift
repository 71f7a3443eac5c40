import CProtobufC
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns every C allocation made while building one message for protobuf-c to pack;
/// all of it is freed together when the arena goes away.
///
/// Allocations are carved from zeroed blocks (the first of `firstBlockBytes`, each next one twice
/// as large): building a small message — a frame's meta, a health answer — costs one `calloc`
/// however many strings and sub-messages it has, and freeing it one `free`.
public final class CArena {
    static let firstBlockBytes = 512
    static let alignment = 16

    /// The block allocations are carved from, its size, and the bytes used.
    private var block: UnsafeMutableRawPointer?
    private var blockBytes = 0
    private var used = 0
    /// Blocks filled before the current one, and allocations too large for a block.
    private var retired: [UnsafeMutableRawPointer] = []

    public init() {}

    /// Runs `body` with a fresh arena that lives until `body` returns. Use this rather than a local
    /// `let arena = CArena()`: Swift may end a local's lifetime after its last Swift use, before a C
    /// call reads the memory the arena owns.
    public static func scoped<R>(_ body: (CArena) throws -> R) rethrows -> R {
        let arena = CArena()
        return try withExtendedLifetime(arena) { try body(arena) }
    }

    deinit {
        if let block { free(block) }
        for p in retired { free(p) }
    }

    /// `bytes` zeroed bytes, aligned for any C type.
    private func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let size = (max(bytes, 1) + Self.alignment - 1) & ~(Self.alignment - 1)
        if let block, size <= blockBytes - used {
            defer { used += size }
            return block + used
        }
        let next = max(Self.firstBlockBytes, blockBytes * 2)
        if size > next / 2 {
            // Large (a long string or array): its own allocation, the current block kept.
            guard let p = calloc(1, size) else { fatalError("out of memory") }
            retired.append(p)
            return p
        }
        guard let p = calloc(1, next) else { fatalError("out of memory") }
        if let block { retired.append(block) }
        (block, blockBytes, used) = (p, next, size)
        return p
    }

    /// A zeroed C struct passed through its protoc-c initializer.
    public func `struct`<C>(_ type: C.Type, initializer: (UnsafeMutablePointer<C>) -> Void) -> UnsafeMutablePointer<C> {
        let p = allocate(bytes: MemoryLayout<C>.stride).bindMemory(to: C.self, capacity: 1)
        initializer(p)
        return p
    }

    /// A zeroed C array for a repeated field.
    public func array<T>(of type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        allocate(bytes: MemoryLayout<T>.stride * count).bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `value`; a NUL inside it cannot be represented and is refused.
    public func string(_ value: String, field: StaticString) throws -> UnsafeMutablePointer<CChar>? {
        var value = value
        return try value.withUTF8 { utf8 in
            if let base = utf8.baseAddress, memchr(base, 0, utf8.count) != nil {
                throw ProtoError.embeddedNUL(field: "\(field)")
            }
            let p = allocate(bytes: utf8.count + 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
            if let base = utf8.baseAddress { memcpy(p, base, utf8.count) }
            return p
        }
    }

    /// A copy of `value` for a bytes field.
    public func bytes(_ value: [UInt8]) -> ProtobufCBinaryData {
        guard !value.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let p = allocate(bytes: value.count).bindMemory(to: UInt8.self, capacity: value.count)
        value.withUnsafeBufferPointer { _ = memcpy(p, $0.baseAddress!, value.count) }
        return ProtobufCBinaryData(len: value.count, data: p)
    }
}

/// Reading protobuf-c field representations into Swift values.
public enum CValue {
    public static func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
        guard let p else { return "" }
        return String(cString: p)
    }

    public static func bytes(_ b: ProtobufCBinaryData) -> [UInt8] {
        guard b.len > 0, let data = b.data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: b.len))
    }

    public static func array<T>(_ p: UnsafeMutablePointer<T>?, count: Int) -> UnsafeMutableBufferPointer<T> {
        guard let p, count > 0 else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
        return UnsafeMutableBufferPointer(start: p, count: count)
    }
}
