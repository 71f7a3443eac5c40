import ArgumentParser
import Foundation
import LVJSON

/// Input files decoded strictly: a JSON syntax error says its line and column, a missing or
/// mistyped field its path, and a key the file format does not have (a typo like "sesions")
/// is refused with the key and its line instead of being ignored. Usage errors: exit 2.
enum StrictInput {
    /// The file's bytes, or a usage error saying why it cannot be read.
    static func read(_ file: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("\(file): cannot be read (\(FileManager.default.fileExists(atPath: file) ? "permission denied or a directory" : "no such file"))")
        }
        return data
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: Array(data)) } catch {
            throw ValidationError("\(file): \(error)")
        }
        let value: T
        do { value = try JSONDecoder().decode(T.self, from: data) } catch let e as DecodingError {
            throw ValidationError("\(file): \(describe(e, in: json))")
        }
        if let unknown = unknownKey(json, value, path: "") {
            throw ValidationError("\(file): line \(unknown.line): unknown key \"\(unknown.key)\"\(unknown.path.isEmpty ? "" : " in \(unknown.path)") "
                                  + "(expected one of: \(unknown.expected.joined(separator: ", ")))")
        }
        return value
    }

    /// The first key of `json` that the decoded value has no property for (the file formats'
    /// property names are their JSON keys).
    static func unknownKey(_ json: JSONValue, _ value: Any, path: String) -> (key: String, line: Int, path: String, expected: [String])? {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first else { return nil }
            return unknownKey(json, wrapped.value, path: path)
        }
        switch json {
        case .object(let members):
            guard mirror.displayStyle == .struct else { return nil }
            let labels = mirror.children.compactMap(\.label)
            for m in members {
                guard let child = mirror.children.first(where: { $0.label == m.key }) else {
                    return (m.key, m.line, path, labels)
                }
                if let found = unknownKey(m.value, child.value, path: path.isEmpty ? m.key : "\(path).\(m.key)") { return found }
            }
        case .array(let items):
            guard let values = value as? [Any] else { return nil }
            for (i, (item, v)) in zip(items, values).enumerated() {
                if let found = unknownKey(item, v, path: "\(path)[\(i)]") { return found }
            }
        default:
            break
        }
        return nil
    }

    static func describe(_ e: DecodingError, in json: JSONValue) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch e {
        case .keyNotFound(let key, let c):
            let at = path(c)
            // Say what is there instead, with lines: a missing key is often a misspelled one.
            var node: JSONValue? = json
            for k in c.codingPath {
                if let i = k.intValue, case .array(let items)? = node { node = i < items.count ? items[i] : nil } else { node = node?[k.stringValue] }
            }
            var there = ""
            if case .object(let members)? = node, !members.isEmpty {
                there = " (keys there: " + members.map { "\"\($0.key)\" line \($0.line)" }.joined(separator: ", ") + ")"
            }
            return "missing key \"\(key.stringValue)\"\(at.isEmpty ? "" : " in \(at)")\(there)"
        case .typeMismatch(let type, let c), .valueNotFound(let type, let c):
            return "\(path(c)): expected \(type == String.self ? "a string" : type == Bool.self ? "true or false" : "\(type)") (\(c.debugDescription))"
        case .dataCorrupted(let c):
            return "\(path(c)): \(c.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }
}
