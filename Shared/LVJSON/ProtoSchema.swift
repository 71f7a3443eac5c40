import CProtobufC
import LVProtoC

/// The message, enum and service types the JSON mapping needs, read either from the protoc-c
/// descriptors compiled into this binary (`ProtoSchema.compiled`) or from a serialized
/// google.protobuf.FileDescriptorSet (what `lv.reflection.v1.Reflection/GetFileDescriptorSet`
/// serves, so a client can talk to a server of another version).
public final class ProtoSchema: Sendable {
    /// Field types, numbered as in google/protobuf/descriptor.proto (FieldDescriptorProto.Type).
    public enum FieldType: Int, Sendable {
        case double = 1, float, int64, uint64, int32, fixed64, fixed32, bool, string, group, message, bytes,
             uint32, `enum`, sfixed32, sfixed64, sint32, sint64

        /// The name used in a .proto file.
        public var protoName: String {
            switch self {
            case .double: return "double"
            case .float: return "float"
            case .int64: return "int64"
            case .uint64: return "uint64"
            case .int32: return "int32"
            case .fixed64: return "fixed64"
            case .fixed32: return "fixed32"
            case .bool: return "bool"
            case .string: return "string"
            case .group: return "group"
            case .message: return "message"
            case .bytes: return "bytes"
            case .uint32: return "uint32"
            case .enum: return "enum"
            case .sfixed32: return "sfixed32"
            case .sfixed64: return "sfixed64"
            case .sint32: return "sint32"
            case .sint64: return "sint64"
            }
        }

        /// Scalars that proto3 packs when repeated.
        var packable: Bool { self != .string && self != .bytes && self != .message && self != .group }
    }

    public struct Field: Sendable, Hashable {
        public var name: String
        /// lowerCamelCase, the key the JSON mapping writes (it accepts `name` too).
        public var jsonName: String
        public var number: UInt32
        public var type: FieldType
        public var repeated: Bool
        /// Set or not is visible (message fields, oneof members, proto3 `optional`): written even when zero.
        public var hasPresence: Bool
        /// `optional` in the .proto (proto3 explicit presence).
        public var proto3Optional: Bool
        /// Full name of the message or enum type (no leading dot), or "".
        public var typeName: String
        /// Index into the message's `oneofs`, or nil.
        public var oneof: Int?
        public var comment: String = ""
    }

    public struct Message: Sendable {
        public var name: String
        public var fields: [Field]
        /// A map<K, V> field's entry type (key = 1, value = 2).
        public var isMapEntry: Bool
        /// Names of the message's oneofs ("" where the source does not say: protoc-c keeps no names).
        public var oneofs: [String]
        public var comment: String = ""

        public func field(number: UInt32) -> Field? { fields.first { $0.number == number } }
    }

    public struct EnumType: Sendable {
        public var name: String
        public var values: [(name: String, number: Int32)]
        public var comment: String = ""
        public func name(of number: Int32) -> String? { values.first { $0.number == number }?.name }
        public func number(of name: String) -> Int32? { values.first { $0.name == name }?.number }
    }

    public struct Method: Sendable {
        public var name: String
        public var inputType: String
        public var outputType: String
        public var comment: String = ""
    }

    public struct Service: Sendable {
        public var name: String
        public var methods: [Method]
        public var comment: String = ""
    }

    public struct File: Sendable {
        public var name: String
        public var package: String
        public var dependencies: [String]
        /// Full names of the file's messages (nested ones included), enums and services, in order.
        public var messages: [String]
        public var enums: [String]
        public var services: [String]
    }

    public let messages: [String: Message]
    public let enums: [String: EnumType]
    public let services: [String: Service]
    public let files: [File]

    public init(messages: [String: Message], enums: [String: EnumType], services: [String: Service] = [:], files: [File] = []) {
        self.messages = messages
        self.enums = enums
        self.services = services
        self.files = files
    }

    /// Every message this binary was built with, from protoc-c's descriptors (LVProtoC's registry).
    public static let compiled: ProtoSchema = {
        var messages: [String: Message] = [:]
        var enums: [String: EnumType] = [:]
        var pending = (0..<lv_message_descriptors_count).map { lv_message_descriptors[$0]! }
        while let d = pending.popLast() {
            let name = String(cString: d.pointee.name)
            if messages[name] != nil { continue }
            var fields: [Field] = []
            var oneofOffsets: [UInt32] = []
            for i in 0..<Int(d.pointee.n_fields) {
                let f = d.pointee.fields[i]
                let type = FieldType(protobufC: f.type)
                var typeName = ""
                if f.type == PROTOBUF_C_TYPE_MESSAGE, let sub = f.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self) {
                    typeName = String(cString: sub.pointee.name)
                    pending.append(sub)
                } else if f.type == PROTOBUF_C_TYPE_ENUM, let e = f.descriptor?.assumingMemoryBound(to: ProtobufCEnumDescriptor.self) {
                    typeName = String(cString: e.pointee.name)
                    if enums[typeName] == nil {
                        let values = (0..<Int(e.pointee.n_values)).map { j in
                            (name: String(cString: e.pointee.values[j].name), number: e.pointee.values[j].value)
                        }
                        enums[typeName] = EnumType(name: typeName, values: values)
                    }
                }
                var oneof: Int?
                if f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                    // protoc-c gives every member of a oneof the same case field (quantifier_offset).
                    if let k = oneofOffsets.firstIndex(of: f.quantifier_offset) { oneof = k } else {
                        oneofOffsets.append(f.quantifier_offset)
                        oneof = oneofOffsets.count - 1
                    }
                }
                let fieldName = String(cString: f.name)
                let optional = f.label == PROTOBUF_C_LABEL_OPTIONAL && oneof == nil
                fields.append(Field(name: fieldName, jsonName: ProtoSchema.jsonName(fieldName), number: f.id, type: type,
                                    repeated: f.label == PROTOBUF_C_LABEL_REPEATED,
                                    hasPresence: type == .message || oneof != nil || optional, proto3Optional: optional,
                                    typeName: typeName, oneof: oneof))
            }
            messages[name] = Message(name: name, fields: fields.sorted { $0.number < $1.number }, isMapEntry: false,
                                     oneofs: oneofOffsets.map { _ in "" })
        }
        // protoc-c keeps no map_entry option; protoc names a map field's entry type after the field
        // ("m_string" → "MString" + "Entry", nested in the message) with exactly key = 1 and value = 2.
        for (name, message) in messages {
            for f in message.fields where f.repeated && f.type == .message {
                let entryName = name + "." + ProtoSchema.camel(f.name, upperFirst: true) + "Entry"
                guard f.typeName == entryName, var entry = messages[entryName], entry.fields.count == 2,
                      entry.fields[0].name == "key", entry.fields[0].number == 1,
                      entry.fields[1].name == "value", entry.fields[1].number == 2 else { continue }
                entry.isMapEntry = true
                messages[entryName] = entry
            }
        }
        return ProtoSchema(messages: messages, enums: enums)
    }()

    /// protoc's json_name: underscores dropped, the letter after each one upper-cased.
    public static func jsonName(_ name: String) -> String { camel(name, upperFirst: false) }

    static func camel(_ name: String, upperFirst: Bool) -> String {
        var out = ""
        var upper = upperFirst
        for c in name {
            if c == "_" { upper = true; continue }
            out += upper ? c.uppercased() : String(c)
            upper = false
        }
        return out
    }

    /// The message named `name` (a leading dot is ignored).
    public func message(_ name: String) -> Message? {
        messages[name.hasPrefix(".") ? String(name.dropFirst()) : name]
    }
}

extension ProtoSchema.FieldType {
    init(protobufC t: ProtobufCType) {
        switch t {
        case PROTOBUF_C_TYPE_INT32: self = .int32
        case PROTOBUF_C_TYPE_SINT32: self = .sint32
        case PROTOBUF_C_TYPE_SFIXED32: self = .sfixed32
        case PROTOBUF_C_TYPE_INT64: self = .int64
        case PROTOBUF_C_TYPE_SINT64: self = .sint64
        case PROTOBUF_C_TYPE_SFIXED64: self = .sfixed64
        case PROTOBUF_C_TYPE_UINT32: self = .uint32
        case PROTOBUF_C_TYPE_FIXED32: self = .fixed32
        case PROTOBUF_C_TYPE_UINT64: self = .uint64
        case PROTOBUF_C_TYPE_FIXED64: self = .fixed64
        case PROTOBUF_C_TYPE_FLOAT: self = .float
        case PROTOBUF_C_TYPE_DOUBLE: self = .double
        case PROTOBUF_C_TYPE_BOOL: self = .bool
        case PROTOBUF_C_TYPE_ENUM: self = .enum
        case PROTOBUF_C_TYPE_STRING: self = .string
        case PROTOBUF_C_TYPE_BYTES: self = .bytes
        default: self = .message
        }
    }
}
