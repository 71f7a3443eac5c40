/// The canonical proto3 JSON mapping (https://protobuf.dev/programming-guides/json/), driven by a
/// `ProtoSchema`: lowerCamelCase keys (the .proto names accepted too), enums by name, 64-bit
/// integers as strings, bytes as base64, NaN and infinities as strings, maps as objects. Fields at
/// their default value are left out of the JSON (as the official libraries do by default); unknown
/// keys are an error unless `ignoringUnknownFields` is set.
public struct ProtoJSON: Sendable {
    public let schema: ProtoSchema
    public var ignoringUnknownFields = false

    public init(schema: ProtoSchema = .compiled, ignoringUnknownFields: Bool = false) {
        self.schema = schema
        self.ignoringUnknownFields = ignoringUnknownFields
    }

    /// What made a conversion fail: where (field path and, for parsed text, line) and why.
    public struct Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        public enum Kind: String, Sendable { case unknownField = "unknown-field", invalidValue = "invalid-value", malformed, unknownType = "unknown-type" }
        public let kind: Kind
        /// The field path ("activity.sessions[0].start_ms"), "" for the whole message.
        public let path: String
        /// 1-based line of the offending key in the input text, 0 when unknown.
        public let line: Int
        public let reason: String
        public var description: String {
            (line > 0 ? "line \(line): " : "") + (path.isEmpty ? "" : "\(path): ") + reason
        }
    }

    // MARK: bytes → JSON

    /// The JSON of the message `type` encoded in `bytes`.
    public func json(type: String, bytes: [UInt8]) throws(Error) -> JSONValue {
        guard let message = schema.message(type) else { throw Error(kind: .unknownType, path: "", line: 0, reason: "no message type \(type)") }
        return try json(message, bytes[...], path: "")
    }

    func json(_ message: ProtoSchema.Message, _ bytes: ArraySlice<UInt8>, path: String) throws(Error) -> JSONValue {
        var values: [UInt32: [WireValue]] = [:]
        do {
            var r = WireReader(bytes)
            while !r.atEnd {
                let (n, v) = try r.field()
                values[n, default: []].append(v)
            }
        } catch {
            throw Error(kind: .malformed, path: path, line: 0, reason: "malformed \(message.name): \(error)")
        }
        // A oneof member set later on the wire replaces one set earlier: keep the last one's number.
        var lastOfOneof: [Int: UInt32] = [:]
        do {
            var r = WireReader(bytes)
            while !r.atEnd {
                let (n, _) = try r.field()
                if let f = message.field(number: n), let o = f.oneof { lastOfOneof[o] = n }
            }
        } catch {}
        var members: [JSONValue.Member] = []
        for f in message.fields {
            guard let raw = values[f.number], !raw.isEmpty else { continue }
            if let o = f.oneof, lastOfOneof[o] != f.number { continue }
            let fieldPath = path.isEmpty ? f.name : "\(path).\(f.name)"
            if f.repeated {
                let items = try expand(raw, f, path: fieldPath)
                if let entry = f.type == .message ? schema.message(f.typeName) : nil, entry.isMapEntry {
                    var map: [(String, JSONValue)] = []
                    for item in items {
                        guard case .bytes(let b) = item else { throw Error(kind: .malformed, path: fieldPath, line: 0, reason: "map entry is not a message") }
                        let (key, value) = try mapEntry(entry, b, path: fieldPath)
                        if let k = map.firstIndex(where: { $0.0 == key }) { map[k].1 = value } else { map.append((key, value)) }
                    }
                    members.append(.init(f.jsonName, .object(map.map { .init($0.0, $0.1) })))
                } else {
                    var out: [JSONValue] = []
                    for (i, item) in items.enumerated() { out.append(try scalar(item, f, path: "\(fieldPath)[\(i)]")) }
                    members.append(.init(f.jsonName, .array(out)))
                }
            } else if f.type == .message {
                // Several occurrences of a message field merge: decoding their concatenation is exactly that.
                var all: [UInt8] = []
                for v in raw {
                    guard case .bytes(let b) = v else { throw Error(kind: .malformed, path: fieldPath, line: 0, reason: "wrong wire type for a message") }
                    all += b
                }
                guard let sub = schema.message(f.typeName) else { throw Error(kind: .unknownType, path: fieldPath, line: 0, reason: "no message type \(f.typeName)") }
                members.append(.init(f.jsonName, try json(sub, all[...], path: fieldPath)))
            } else {
                let items = try expand(raw, f, path: fieldPath)
                guard let last = items.last else { continue }
                if !f.hasPresence && isDefault(last) { continue }
                members.append(.init(f.jsonName, try scalar(last, f, path: fieldPath)))
            }
        }
        return .object(members)
    }

    func mapEntry(_ entry: ProtoSchema.Message, _ bytes: ArraySlice<UInt8>, path: String) throws(Error) -> (String, JSONValue) {
        var key: WireValue?
        var value: [WireValue] = []
        do {
            var r = WireReader(bytes)
            while !r.atEnd {
                let (n, v) = try r.field()
                if n == 1 { key = v } else if n == 2 { value.append(v) }
            }
        } catch {
            throw Error(kind: .malformed, path: path, line: 0, reason: "malformed map entry: \(error)")
        }
        let kf = entry.fields[0], vf = entry.fields[1]
        var keyText = ""
        switch try scalar(key ?? (kf.type == .string ? .bytes([]) : .varint(0)), kf, path: path) {
        case .string(let s): keyText = s
        case .number(let n): keyText = n
        case .bool(let b): keyText = b ? "true" : "false"
        default: break
        }
        let mapPath = "\(path)[\(keyText)]"
        if vf.type == .message {
            var all: [UInt8] = []
            for v in value { if case .bytes(let b) = v { all += b } }
            guard let sub = schema.message(vf.typeName) else { throw Error(kind: .unknownType, path: mapPath, line: 0, reason: "no message type \(vf.typeName)") }
            return (keyText, try json(sub, all[...], path: mapPath))
        }
        let items = try expand(value, vf, path: mapPath)
        let last = items.last ?? (vf.type == .string || vf.type == .bytes ? .bytes([]) : vf.type.isFixed32 ? .fixed32(0) : vf.type.isFixed64 ? .fixed64(0) : .varint(0))
        return (keyText, try scalar(last, vf, path: mapPath))
    }

    /// Packed runs of a repeated scalar become one value each.
    func expand(_ raw: [WireValue], _ f: ProtoSchema.Field, path: String) throws(Error) -> [WireValue] {
        guard f.type.packable else { return raw }
        var out: [WireValue] = []
        for v in raw {
            guard case .bytes(let packed) = v else { out.append(v); continue }
            var r = WireReader(packed)
            do {
                while !r.atEnd {
                    if f.type.isFixed32 { out.append(.fixed32(UInt32(try r.fixed(4)))) }
                    else if f.type.isFixed64 { out.append(.fixed64(try r.fixed(8))) }
                    else { out.append(.varint(try r.varint())) }
                }
            } catch {
                throw Error(kind: .malformed, path: path, line: 0, reason: "malformed packed field: \(error)")
            }
        }
        return out
    }

    func isDefault(_ v: WireValue) -> Bool {
        switch v {
        case .varint(let x), .fixed64(let x): return x == 0
        case .fixed32(let x): return x == 0
        case .bytes(let b): return b.isEmpty
        }
    }

    func scalar(_ v: WireValue, _ f: ProtoSchema.Field, path: String) throws(Error) -> JSONValue {
        func wrong() -> Error { Error(kind: .malformed, path: path, line: 0, reason: "wrong wire type for \(f.type.protoName)") }
        switch f.type {
        case .string:
            guard case .bytes(let b) = v else { throw wrong() }
            guard let s = String(validating: Array(b), as: UTF8.self) else {
                throw Error(kind: .malformed, path: path, line: 0, reason: "string is not valid UTF-8")
            }
            return .string(s)
        case .bytes:
            guard case .bytes(let b) = v else { throw wrong() }
            return .string(Base64.encode(Array(b)))
        case .message, .group:
            guard case .bytes(let b) = v, let sub = schema.message(f.typeName) else { throw wrong() }
            return try json(sub, b, path: path)
        default: break
        }
        guard let u = v.asUInt64 else { throw wrong() }
        switch f.type {
        case .int32: return .number(String(Int32(truncatingIfNeeded: u)))
        case .sint32: return .number(String(Int32(truncatingIfNeeded: Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1))))))
        case .sfixed32: return .number(String(Int32(bitPattern: UInt32(truncatingIfNeeded: u))))
        case .uint32, .fixed32: return .number(String(UInt32(truncatingIfNeeded: u)))
        case .int64, .sfixed64: return .string(String(Int64(bitPattern: u)))
        case .sint64: return .string(String(Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))))
        case .uint64, .fixed64: return .string(String(u))
        case .bool: return .bool(u != 0)
        case .float: return Self.floating(Double(Float(bitPattern: UInt32(truncatingIfNeeded: u))), text: Float(bitPattern: UInt32(truncatingIfNeeded: u)).description)
        case .double: return Self.floating(Double(bitPattern: u), text: Double(bitPattern: u).description)
        case .enum:
            let n = Int32(truncatingIfNeeded: u)
            if let name = schema.enums[f.typeName]?.name(of: n) { return .string(name) }
            return .number(String(n))
        default: throw wrong()
        }
    }

    static func floating(_ d: Double, text: String) -> JSONValue {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d < 0 ? "-Infinity" : "Infinity") }
        return .number(text)
    }

    // MARK: JSON → bytes

    /// Parses `text` and encodes it as the message `type`.
    public func bytes(type: String, jsonText: String) throws -> [UInt8] {
        try bytes(type: type, json: try JSONValue.parse(jsonText))
    }

    /// Encodes `json` as the message `type` (proto3 wire format, fields in number order).
    public func bytes(type: String, json: JSONValue) throws(Error) -> [UInt8] {
        guard let message = schema.message(type) else { throw Error(kind: .unknownType, path: "", line: 0, reason: "no message type \(type)") }
        return try encode(message, json, path: "", line: 0)
    }

    func encode(_ message: ProtoSchema.Message, _ json: JSONValue, path: String, line: Int) throws(Error) -> [UInt8] {
        guard case .object(let members) = json else {
            if json == .null { return [] }
            throw Error(kind: .invalidValue, path: path, line: line, reason: "expected an object for \(message.name), found \(json.kindName)")
        }
        var chosen: [(ProtoSchema.Field, JSONValue, Int)] = []
        var seen: Set<UInt32> = []
        var oneofSet: [Int: String] = [:]
        for m in members {
            guard let f = message.fields.first(where: { $0.jsonName == m.key }) ?? message.fields.first(where: { $0.name == m.key }) else {
                if ignoringUnknownFields { continue }
                let known = message.fields.map(\.jsonName).joined(separator: ", ")
                throw Error(kind: .unknownField, path: path.isEmpty ? m.key : "\(path).\(m.key)", line: m.line,
                            reason: "unknown field \"\(m.key)\" in \(message.name) (fields: \(known))")
            }
            let fieldPath = path.isEmpty ? f.name : "\(path).\(f.name)"
            // Given twice (by its JSON and its .proto name): the last one counts, as in json_format.
            if !seen.insert(f.number).inserted {
                chosen.removeAll { $0.0.number == f.number }
                if let o = f.oneof, oneofSet[o] == f.name { oneofSet[o] = nil }
            }
            if m.value == .null { continue }
            if let o = f.oneof {
                if let other = oneofSet[o] {
                    throw Error(kind: .invalidValue, path: fieldPath, line: m.line,
                                reason: "\(f.name) and \(other) are members of the same oneof; give at most one")
                }
                oneofSet[o] = f.name
            }
            chosen.append((f, m.value, m.line))
        }
        var w = WireWriter()
        for (f, value, line) in chosen.sorted(by: { $0.0.number < $1.0.number }) {
            let fieldPath = path.isEmpty ? f.name : "\(path).\(f.name)"
            if f.repeated, let entry = f.type == .message ? schema.message(f.typeName) : nil, entry.isMapEntry {
                guard case .object(let pairs) = value else {
                    throw Error(kind: .invalidValue, path: fieldPath, line: line, reason: "expected an object (a map), found \(value.kindName)")
                }
                for p in pairs {
                    var e = WireWriter()
                    let keyJSON: JSONValue = entry.fields[0].type == .string ? .string(p.key) : entry.fields[0].type == .bool ? .bool(p.key == "true") : .number(p.key)
                    if entry.fields[0].type == .bool && p.key != "true" && p.key != "false" {
                        throw Error(kind: .invalidValue, path: "\(fieldPath)[\(p.key)]", line: p.line, reason: "a bool map key is \"true\" or \"false\"")
                    }
                    if p.value == .null { throw Error(kind: .invalidValue, path: "\(fieldPath)[\(p.key)]", line: p.line, reason: "a map value cannot be null") }
                    try encodeSingle(&e, entry.fields[0], keyJSON, path: "\(fieldPath)[\(p.key)]", line: p.line, always: true)
                    try encodeSingle(&e, entry.fields[1], p.value, path: "\(fieldPath)[\(p.key)]", line: p.line, always: true)
                    w.lengthDelimited(f.number, e.bytes)
                }
            } else if f.repeated {
                guard case .array(let items) = value else {
                    throw Error(kind: .invalidValue, path: fieldPath, line: line, reason: "expected an array, found \(value.kindName)")
                }
                if f.type.packable {
                    var packed = WireWriter()
                    for (i, item) in items.enumerated() {
                        if item == .null { throw Error(kind: .invalidValue, path: "\(fieldPath)[\(i)]", line: line, reason: "a list item cannot be null") }
                        try scalarBits(&packed, f, item, path: "\(fieldPath)[\(i)]", line: line)
                    }
                    if !items.isEmpty { w.lengthDelimited(f.number, packed.bytes) }
                } else {
                    for (i, item) in items.enumerated() {
                        if item == .null { throw Error(kind: .invalidValue, path: "\(fieldPath)[\(i)]", line: line, reason: "a list item cannot be null") }
                        try encodeSingle(&w, f, item, path: "\(fieldPath)[\(i)]", line: line, always: true)
                    }
                }
            } else {
                try encodeSingle(&w, f, value, path: fieldPath, line: line, always: f.hasPresence)
            }
        }
        return w.bytes
    }

    /// One value with its tag; a proto3 field without presence is left out at its default.
    func encodeSingle(_ w: inout WireWriter, _ f: ProtoSchema.Field, _ value: JSONValue, path: String, line: Int, always: Bool) throws(Error) {
        switch f.type {
        case .message, .group:
            guard let sub = schema.message(f.typeName) else { throw Error(kind: .unknownType, path: path, line: line, reason: "no message type \(f.typeName)") }
            let inner = try encode(sub, value, path: path, line: line)
            w.lengthDelimited(f.number, inner)
        case .string:
            guard case .string(let s) = value else { throw Error(kind: .invalidValue, path: path, line: line, reason: "expected a string, found \(value.kindName)") }
            if always || !s.isEmpty { w.lengthDelimited(f.number, Array(s.utf8)) }
        case .bytes:
            guard case .string(let s) = value, let b = Base64.decode(s) else {
                throw Error(kind: .invalidValue, path: path, line: line, reason: "expected base64 text for bytes, found \(value.kindName == "a string" ? "text that is not base64" : value.kindName)")
            }
            if always || !b.isEmpty { w.lengthDelimited(f.number, b) }
        default:
            var bits = WireWriter()
            try scalarBits(&bits, f, value, path: path, line: line)
            if f.type == .enum, bits.bytes.isEmpty { return } // an unknown enum name, skipped when ignoring unknown values
            if !always && bits.bytes.allSatisfy({ $0 == 0 }) && (bits.bytes.count == 1 || f.type.isFixed32 || f.type.isFixed64) { return }
            w.tag(f.number, f.type.isFixed32 ? 5 : f.type.isFixed64 ? 1 : 0)
            w.bytes += bits.bytes
        }
    }

    /// A numeric, bool or enum value's bits, without a tag (also the element of a packed list).
    func scalarBits(_ w: inout WireWriter, _ f: ProtoSchema.Field, _ value: JSONValue, path: String, line: Int) throws(Error) {
        func bad(_ reason: String) -> Error { Error(kind: .invalidValue, path: path, line: line, reason: reason) }
        switch f.type {
        case .bool:
            guard case .bool(let b) = value else { throw bad("expected true or false, found \(value.kindName)") }
            w.varint(b ? 1 : 0)
        case .enum:
            switch value {
            case .string(let name):
                guard let n = schema.enums[f.typeName]?.number(of: name) else {
                    if ignoringUnknownFields { return }
                    let names = schema.enums[f.typeName]?.values.map(\.name).joined(separator: ", ") ?? ""
                    throw bad("\"\(name)\" is not a value of \(f.typeName) (\(names))")
                }
                w.varint(UInt64(bitPattern: Int64(n)))
            case .number:
                let n = try integer(value, min: Int64(Int32.min), max: Int64(Int32.max), path: path, line: line)
                w.varint(UInt64(bitPattern: n))
            default: throw bad("expected an enum name or number, found \(value.kindName)")
            }
        case .float, .double:
            let d: Double
            switch value {
            case .number(let t): guard let x = Double(t) else { throw bad("\(t) is not a number") }; d = x
            case .string("NaN"): d = .nan
            case .string("Infinity"): d = .infinity
            case .string("-Infinity"): d = -.infinity
            case .string(let t):
                guard let x = Double(t), x.isFinite, t.allSatisfy({ "0123456789+-.eE".contains($0) }) else { throw bad("\"\(t)\" is not a number") }
                d = x
            default: throw bad("expected a number, found \(value.kindName)")
            }
            if f.type == .float {
                if d.isFinite && abs(d) > Double(Float.greatestFiniteMagnitude) { throw bad("\(d) is out of range for float") }
                w.fixed(UInt64(Float(d).bitPattern), 4)
            } else {
                if case .number = value, !d.isFinite { throw bad("out of range for double") }
                w.fixed(d.bitPattern, 8)
            }
        case .int32, .sint32, .sfixed32:
            let n = try integer(value, min: Int64(Int32.min), max: Int64(Int32.max), path: path, line: line)
            switch f.type {
            case .sint32: w.varint(UInt64(UInt32(bitPattern: Int32(n) << 1 ^ Int32(n) >> 31)))
            case .sfixed32: w.fixed(UInt64(UInt32(bitPattern: Int32(n))), 4)
            default: w.varint(UInt64(bitPattern: n))
            }
        case .int64, .sint64, .sfixed64:
            let n = try integer(value, min: Int64.min, max: Int64.max, path: path, line: line)
            switch f.type {
            case .sint64: w.varint(UInt64(bitPattern: n << 1 ^ n >> 63))
            case .sfixed64: w.fixed(UInt64(bitPattern: n), 8)
            default: w.varint(UInt64(bitPattern: n))
            }
        case .uint32, .fixed32:
            let n = try unsigned(value, max: UInt64(UInt32.max), path: path, line: line)
            if f.type == .fixed32 { w.fixed(n, 4) } else { w.varint(n) }
        case .uint64, .fixed64:
            let n = try unsigned(value, max: UInt64.max, path: path, line: line)
            if f.type == .fixed64 { w.fixed(n, 8) } else { w.varint(n) }
        default:
            throw bad("\(f.type.protoName) is not a scalar")
        }
    }

    /// An integer from a JSON number (an integral value, exponent allowed) or a string of digits.
    func integer(_ value: JSONValue, min: Int64, max: Int64, path: String, line: Int) throws(Error) -> Int64 {
        let text = try integerText(value, path: path, line: line)
        if let n = Int64(text) {
            guard n >= min && n <= max else { throw Error(kind: .invalidValue, path: path, line: line, reason: "\(text) is out of range [\(min), \(max)]") }
            return n
        }
        if let d = Double(text), d.isFinite, d.rounded() == d, d >= Double(min), d < -Double(min) {
            let n = Int64(d)
            guard n >= min && n <= max else { throw Error(kind: .invalidValue, path: path, line: line, reason: "\(text) is out of range [\(min), \(max)]") }
            return n
        }
        throw Error(kind: .invalidValue, path: path, line: line, reason: "\(text) is not an integer in [\(min), \(max)]")
    }

    func unsigned(_ value: JSONValue, max: UInt64, path: String, line: Int) throws(Error) -> UInt64 {
        let text = try integerText(value, path: path, line: line)
        if let n = UInt64(text) {
            guard n <= max else { throw Error(kind: .invalidValue, path: path, line: line, reason: "\(text) is out of range [0, \(max)]") }
            return n
        }
        if let d = Double(text), d.isFinite, d.rounded() == d, d >= 0, d < 18_446_744_073_709_551_616.0 {
            let n = UInt64(d)
            guard n <= max else { throw Error(kind: .invalidValue, path: path, line: line, reason: "\(text) is out of range [0, \(max)]") }
            return n
        }
        throw Error(kind: .invalidValue, path: path, line: line, reason: "\(text) is not an integer in [0, \(max)]")
    }

    /// json_format takes integral values written with a fraction or exponent too ("1.0", 2e1), as numbers or strings.
    func integerText(_ value: JSONValue, path: String, line: Int) throws(Error) -> String {
        switch value {
        case .number(let t): return t
        case .string(let t) where !t.isEmpty && t.allSatisfy({ "0123456789+-.eE".contains($0) }): return t
        default: throw Error(kind: .invalidValue, path: path, line: line, reason: "expected an integer, found \(value.kindName)")
        }
    }
}

extension ProtoSchema.FieldType {
    var isFixed32: Bool { self == .fixed32 || self == .sfixed32 || self == .float }
    var isFixed64: Bool { self == .fixed64 || self == .sfixed64 || self == .double }
}

/// RFC 4648 base64: written with padding; read in the standard or URL-safe alphabet, padded or not.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - 65
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - 97 + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - 48 + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="): padding += 1; continue
            default: return nil
            }
            if padding > 0 { return nil }
            values.append(v)
        }
        if values.count % 4 == 1 || padding > 2 || (padding > 0 && (values.count + padding) % 4 != 0) { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            var n: UInt32 = 0
            for (k, v) in chunk.enumerated() { n |= UInt32(v) << (18 - 6 * UInt32(k)) }
            out.append(UInt8(n >> 16 & 0xFF))
            if chunk.count > 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if chunk.count > 3 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}
