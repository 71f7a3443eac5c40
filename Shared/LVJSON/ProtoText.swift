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

    /// A message as in its .proto source: its nested messages and enums inside it under their
    /// short names (map entry types left out: the map<K, V> field says them).
    public func protoText(message name: String) -> String? { protoText(message: name, indent: "") }

    func protoText(message name: String, indent: String) -> String? {
        guard let m = message(name) else { return nil }
        let inner = indent + "  "
        var out = comment(m.comment, indent: indent)
        out += "\(indent)message \(indent.isEmpty ? m.name : shortName(m.name)) {\n"
        for nested in nestedTypes(of: m.name) {
            if let text = protoText(message: nested, indent: inner) ?? protoText(enum: nested, indent: inner) { out += text }
        }
        var printedOneofs: Set<Int> = []
        for f in m.fields {
            if let o = f.oneof {
                if !printedOneofs.insert(o).inserted { continue }
                let oneofName = o < m.oneofs.count && !m.oneofs[o].isEmpty ? m.oneofs[o] : "oneof_\(o)"
                out += "\(inner)oneof \(oneofName) {\n"
                for member in m.fields where member.oneof == o { out += comment(member.comment, indent: inner + "  ") + inner + "  " + fieldLine(member) + "\n" }
                out += "\(inner)}\n"
            } else {
                out += comment(f.comment, indent: inner) + inner + fieldLine(f) + "\n"
            }
        }
        return out + "\(indent)}\n"
    }

    public func protoText(enum name: String) -> String? { protoText(enum: name, indent: "") }

    func protoText(enum name: String, indent: String) -> String? {
        guard let e = enums[name] else { return nil }
        var out = comment(e.comment, indent: indent) + "\(indent)enum \(indent.isEmpty ? e.name : shortName(e.name)) {\n"
        for v in e.values { out += "\(indent)  \(v.name) = \(v.number);\n" }
        return out + "\(indent)}\n"
    }

    /// The messages and enums declared directly inside message `name` (map entries excluded), by name.
    public func nestedTypes(of name: String) -> [String] {
        let prefix = name + "."
        func direct(_ n: String) -> Bool { n.hasPrefix(prefix) && !n.dropFirst(prefix.count).contains(".") }
        // In source order where the file list says it (a FileDescriptorSet), else by name.
        let order = Dictionary(files.flatMap { $0.messages + $0.enums }.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        func sorted(_ names: [String]) -> [String] {
            names.sorted { (order[$0] ?? Int.max, $0) < (order[$1] ?? Int.max, $1) }
        }
        return sorted(messages.keys.filter { direct($0) && messages[$0]?.isMapEntry == false }) + sorted(enums.keys.filter(direct))
    }

    /// The outermost message that declares `name` (itself when it is not nested).
    public func topLevel(_ name: String) -> String {
        var result = name
        var candidate = name
        while let dot = candidate.lastIndex(of: ".") {
            candidate = String(candidate[..<dot])
            if messages[candidate] != nil { result = candidate }
        }
        return result
    }

    func shortName(_ name: String) -> String {
        name.lastIndex(of: ".").map { String(name[name.index(after: $0)...]) } ?? name
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
