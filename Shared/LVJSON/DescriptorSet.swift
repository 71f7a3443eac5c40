/// Reads a serialized google.protobuf.FileDescriptorSet (protoc --descriptor_set_out, or what
/// lv.reflection.v1.Reflection/GetFileDescriptorSet serves) into a `ProtoSchema`. Only the parts of
/// descriptor.proto the JSON mapping and `lvctl describe` use are read; the rest is skipped.
extension ProtoSchema {
    public convenience init(fileDescriptorSet bytes: [UInt8]) throws {
        var messages: [String: Message] = [:]
        var enums: [String: EnumType] = [:]
        var services: [String: Service] = [:]
        var files: [File] = []
        for (number, value) in try WireReader.fields(bytes[...]) where number == 1 {
            guard case .bytes(let fileBytes) = value else { throw WireError(description: "FileDescriptorSet.file is not a message") }
            var reader = FileReader()
            let file = try reader.read(fileBytes)
            files.append(file)
            messages.merge(reader.messages) { a, _ in a }
            enums.merge(reader.enums) { a, _ in a }
            services.merge(reader.services) { a, _ in a }
        }
        self.init(messages: messages, enums: enums, services: services, files: files)
    }
}

private func string(_ v: WireValue) throws -> String {
    guard case .bytes(let b) = v, let s = String(validating: Array(b), as: UTF8.self) else {
        throw WireError(description: "a descriptor string is not UTF-8")
    }
    return s
}

private func sub(_ v: WireValue) throws -> ArraySlice<UInt8> {
    guard case .bytes(let b) = v else { throw WireError(description: "a descriptor message has the wrong wire type") }
    return b
}

private func int(_ v: WireValue) throws -> Int64 {
    guard let u = v.asUInt64 else { throw WireError(description: "a descriptor number has the wrong wire type") }
    return Int64(bitPattern: u)
}

private struct FileReader {
    var messages: [String: ProtoSchema.Message] = [:]
    var enums: [String: ProtoSchema.EnumType] = [:]
    var services: [String: ProtoSchema.Service] = [:]
    var comments: [[Int32]: String] = [:]
    var messageOrder: [String] = []
    var enumOrder: [String] = []

    mutating func read(_ bytes: ArraySlice<UInt8>) throws -> ProtoSchema.File {
        let fields = try WireReader.fields(bytes)
        var name = "", package = ""
        var dependencies: [String] = []
        // Comments first, so every element can take its own.
        for (n, v) in fields where n == 9 {
            for (ln, lv) in try WireReader.fields(try sub(v)) where ln == 1 {
                var path: [Int32] = []
                var leading = ""
                for (pn, pv) in try WireReader.fields(try sub(lv)) {
                    if pn == 1 {
                        switch pv {
                        case .bytes(let packed):
                            var r = WireReader(packed)
                            while !r.atEnd { path.append(Int32(truncatingIfNeeded: try r.varint())) }
                        default: path.append(Int32(truncatingIfNeeded: try int(pv)))
                        }
                    } else if pn == 3 {
                        leading = try string(pv)
                    }
                }
                if !leading.isEmpty { comments[path] = leading }
            }
        }
        for (n, v) in fields {
            switch n {
            case 1: name = try string(v)
            case 2: package = try string(v)
            case 3: dependencies.append(try string(v))
            default: break
            }
        }
        let prefix = package.isEmpty ? "" : package + "."
        var messageIndex: Int32 = 0, enumIndex: Int32 = 0, serviceIndex: Int32 = 0
        var serviceNames: [String] = []
        for (n, v) in fields {
            switch n {
            case 4:
                try readMessage(try sub(v), prefix: prefix, path: [4, messageIndex])
                messageIndex += 1
            case 5:
                try readEnum(try sub(v), prefix: prefix, path: [5, enumIndex])
                enumIndex += 1
            case 6:
                let s = try readService(try sub(v), prefix: prefix, path: [6, serviceIndex])
                services[s.name] = s
                serviceNames.append(s.name)
                serviceIndex += 1
            default: break
            }
        }
        return ProtoSchema.File(name: name, package: package, dependencies: dependencies, messages: messageOrder,
                                enums: enumOrder, services: serviceNames)
    }

    func comment(_ path: [Int32]) -> String {
        (comments[path] ?? "").trimmingSuffixNewlines
    }

    mutating func readMessage(_ bytes: ArraySlice<UInt8>, prefix: String, path: [Int32]) throws {
        let fields = try WireReader.fields(bytes)
        var name = ""
        for (n, v) in fields where n == 1 { name = try string(v) }
        let full = prefix + name
        messageOrder.append(full)
        var result: [ProtoSchema.Field] = []
        var oneofs: [String] = []
        var isMapEntry = false
        var fieldIndex: Int32 = 0, nestedIndex: Int32 = 0, enumIndex: Int32 = 0
        for (n, v) in fields {
            switch n {
            case 2:
                result.append(try readField(try sub(v), path: path + [2, fieldIndex]))
                fieldIndex += 1
            case 3:
                try readMessage(try sub(v), prefix: full + ".", path: path + [3, nestedIndex])
                nestedIndex += 1
            case 4:
                try readEnum(try sub(v), prefix: full + ".", path: path + [4, enumIndex])
                enumIndex += 1
            case 7:
                for (on, ov) in try WireReader.fields(try sub(v)) where on == 7 { isMapEntry = try int(ov) != 0 }
            case 8:
                var oneofName = ""
                for (on, ov) in try WireReader.fields(try sub(v)) where on == 1 { oneofName = try string(ov) }
                oneofs.append(oneofName)
            default: break
            }
        }
        // A proto3 `optional` field is a oneof of its own ("_name"); the mapping treats it as a field with presence.
        for i in result.indices {
            if result[i].proto3Optional { result[i].oneof = nil }
        }
        messages[full] = ProtoSchema.Message(name: full, fields: result.sorted { $0.number < $1.number }, isMapEntry: isMapEntry,
                                             oneofs: oneofs, comment: comment(path))
    }

    func readField(_ bytes: ArraySlice<UInt8>, path: [Int32]) throws -> ProtoSchema.Field {
        var name = "", jsonName = "", typeName = ""
        var number: UInt32 = 0
        var label: Int64 = 1, typeNumber: Int64 = 0
        var oneof: Int?
        var proto3Optional = false
        for (n, v) in try WireReader.fields(bytes) {
            switch n {
            case 1: name = try string(v)
            case 3: number = UInt32(truncatingIfNeeded: try int(v))
            case 4: label = try int(v)
            case 5: typeNumber = try int(v)
            case 6: typeName = try string(v)
            case 9: oneof = Int(try int(v))
            case 10: jsonName = try string(v)
            case 17: proto3Optional = try int(v) != 0
            default: break
            }
        }
        guard let type = ProtoSchema.FieldType(rawValue: Int(typeNumber)) else {
            throw WireError(description: "field \(name) has unknown type \(typeNumber)")
        }
        if typeName.hasPrefix(".") { typeName.removeFirst() }
        return ProtoSchema.Field(name: name, jsonName: jsonName.isEmpty ? ProtoSchema.jsonName(name) : jsonName, number: number,
                                 type: type, repeated: label == 3,
                                 hasPresence: type == .message || oneof != nil || proto3Optional || label == 2,
                                 proto3Optional: proto3Optional, typeName: typeName, oneof: oneof, comment: comment(path))
    }

    mutating func readEnum(_ bytes: ArraySlice<UInt8>, prefix: String, path: [Int32]) throws {
        var name = ""
        var values: [(name: String, number: Int32)] = []
        for (n, v) in try WireReader.fields(bytes) {
            if n == 1 { name = try string(v) }
            if n == 2 {
                var valueName = ""
                var number: Int32 = 0
                for (vn, vv) in try WireReader.fields(try sub(v)) {
                    if vn == 1 { valueName = try string(vv) }
                    if vn == 2 { number = Int32(truncatingIfNeeded: try int(vv)) }
                }
                values.append((valueName, number))
            }
        }
        enums[prefix + name] = ProtoSchema.EnumType(name: prefix + name, values: values, comment: comment(path))
        enumOrder.append(prefix + name)
    }

    func readService(_ bytes: ArraySlice<UInt8>, prefix: String, path: [Int32]) throws -> ProtoSchema.Service {
        var name = ""
        var methods: [ProtoSchema.Method] = []
        var methodIndex: Int32 = 0
        for (n, v) in try WireReader.fields(bytes) {
            if n == 1 { name = try string(v) }
            if n == 2 {
                var m = ProtoSchema.Method(name: "", inputType: "", outputType: "", comment: comment(path + [2, methodIndex]))
                for (mn, mv) in try WireReader.fields(try sub(v)) {
                    switch mn {
                    case 1: m.name = try string(mv)
                    case 2: m.inputType = String(try string(mv).drop(while: { $0 == "." }))
                    case 3: m.outputType = String(try string(mv).drop(while: { $0 == "." }))
                    default: break
                    }
                }
                methods.append(m)
                methodIndex += 1
            }
        }
        return ProtoSchema.Service(name: prefix + name, methods: methods, comment: comment(path))
    }
}

extension String {
    var trimmingSuffixNewlines: String {
        var s = self
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }
}
