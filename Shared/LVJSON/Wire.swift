/// The protobuf wire format, read and written by field number: what the JSON mapping and the
/// descriptor-set reader need without a compiled message type.
struct WireError: Error, CustomStringConvertible {
    let description: String
}

enum WireValue {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    case bytes(ArraySlice<UInt8>)
}

struct WireReader {
    let bytes: ArraySlice<UInt8>
    var i: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.i = bytes.startIndex
    }

    var atEnd: Bool { i >= bytes.endIndex }

    mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < bytes.endIndex else { throw WireError(description: "truncated varint") }
            let b = bytes[i]
            i += 1
            if shift == 63 && b > 1 { throw WireError(description: "varint longer than 64 bits") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }

    mutating func fixed(_ n: Int) throws -> UInt64 {
        guard bytes.endIndex - i >= n else { throw WireError(description: "truncated fixed\(n * 8)") }
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(bytes[i + k]) << (8 * UInt64(k)) }
        i += n
        return v
    }

    /// The next field: its number and value. Groups are refused (proto3 has none).
    mutating func field() throws -> (number: UInt32, value: WireValue) {
        let tag = try varint()
        let number = tag >> 3
        guard number > 0, number <= 536_870_911 else { throw WireError(description: "field number \(number) out of range") }
        switch tag & 7 {
        case 0: return (UInt32(number), .varint(try varint()))
        case 1: return (UInt32(number), .fixed64(try fixed(8)))
        case 5: return (UInt32(number), .fixed32(UInt32(try fixed(4))))
        case 2:
            let n = try varint()
            guard n <= UInt64(bytes.endIndex - i) else { throw WireError(description: "length \(n) past the end") }
            defer { i += Int(n) }
            return (UInt32(number), .bytes(bytes[i..<i + Int(n)]))
        default: throw WireError(description: "wire type \(tag & 7) is not supported")
        }
    }

    /// Every field, in order.
    static func fields(_ bytes: ArraySlice<UInt8>) throws -> [(number: UInt32, value: WireValue)] {
        var r = WireReader(bytes)
        var out: [(number: UInt32, value: WireValue)] = []
        while !r.atEnd { out.append(try r.field()) }
        return out
    }
}

struct WireWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ number: UInt32, _ wireType: UInt64) { varint(UInt64(number) << 3 | wireType) }

    mutating func fixed(_ v: UInt64, _ n: Int) {
        for k in 0..<n { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
    }

    mutating func lengthDelimited(_ number: UInt32, _ payload: [UInt8]) {
        tag(number, 2)
        varint(UInt64(payload.count))
        bytes += payload
    }
}

extension WireValue {
    var asUInt64: UInt64? {
        switch self {
        case .varint(let v), .fixed64(let v): return v
        case .fixed32(let v): return UInt64(v)
        case .bytes: return nil
        }
    }
}
