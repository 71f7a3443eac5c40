/// Prints schema elements as .proto source (what `lvctl describe` shows), with their comments.
extension ProtoSchema {
    public func protoText(service name: String) -> String? {
        guard let s = services[name] else { return nil }
        var out = comment(s.comment, indent: "")
        out += "service \(s.name) {\n"
        for m in s.methods { out += comment(m.comment, indent: "  ") + "  " + rpcLine(m) + "\n" }
        return out + "}\n"
    }

    public func rpcLine(_ m: Method) -> String { "rpc \(m.name)(\(m.inputType)) returns (\(m.outputType));" }

    public func protoText(message name: String) -> String? {
        guard let m = message(name) else { return nil }
        var out = comment(m.comment, indent: "")
        out += "message \(m.name) {\n"
        var printedOneofs: Set<Int> = []
        for f in m.fields {
            if let o = f.oneof {
                if !printedOneofs.insert(o).inserted { continue }
                let oneofName = o < m.oneofs.count && !m.oneofs[o].isEmpty ? m.oneofs[o] : "oneof_\(o)"
                out += "  oneof \(oneofName) {\n"
                for member in m.fields where member.oneof == o { out += comment(member.comment, indent: "    ") + "    " + fieldLine(member) + "\n" }
                out += "  }\n"
            } else {
                out += comment(f.comment, indent: "  ") + "  " + fieldLine(f) + "\n"
            }
        }
        return out + "}\n"
    }

    public func protoText(enum name: String) -> String? {
        guard let e = enums[name] else { return nil }
        var out = comment(e.comment, indent: "") + "enum \(e.name) {\n"
        for v in e.values { out += "  \(v.name) = \(v.number);\n" }
        return out + "}\n"
    }

    public func fieldLine(_ f: Field) -> String {
        if f.repeated, f.type == .message, let entry = message(f.typeName), entry.isMapEntry {
            return "map<\(typeText(entry.fields[0])), \(typeText(entry.fields[1]))> \(f.name) = \(f.number);"
        }
        let label = f.repeated ? "repeated " : f.proto3Optional ? "optional " : ""
        return "\(label)\(typeText(f)) \(f.name) = \(f.number);"
    }

    func typeText(_ f: Field) -> String {
        f.type == .message || f.type == .enum ? f.typeName : f.type.protoName
    }

    /// The message and enum types `name` uses, itself first, each once (map entries folded into their fields).
    public func closure(ofMessage name: String) -> [String] {
        var order: [String] = []
        var seen: Set<String> = []
        func visit(_ n: String) {
            guard seen.insert(n).inserted else { return }
            if let m = message(n) {
                if !m.isMapEntry { order.append(n) }
                for f in m.fields where f.type == .message || f.type == .enum { visit(f.typeName) }
            } else if enums[n] != nil {
                order.append(n)
            }
        }
        visit(name)
        return order
    }

    public func comment(_ text: String, indent: String) -> String {
        guard !text.isEmpty else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { indent + "//" + ($0.isEmpty ? "" : ($0.hasPrefix(" ") ? "" : " ") + $0) }.joined(separator: "\n") + "\n"
    }
}
