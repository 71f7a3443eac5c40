/// HTML text built in one place: every string that reaches a page goes through `escape` (text
/// and attribute values alike), so nothing read from the gateway is ever markup. `HTML` values
/// are markup already; only this file's builders and the page templates make them.
public struct HTML: Sendable, CustomStringConvertible {
    public let text: String
    /// Markup written by this module (never data): templates, tags, entities.
    init(markup: String) { self.text = markup }
    public var description: String { text }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(markup: a.text + b.text) }
    static let empty = HTML(markup: "")
}

/// Escapes `&`, `<`, `>`, `"` and `'`: safe in element text and in quoted attribute values.
public func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out
}

/// Text content: escaped.
func t(_ s: String) -> HTML { HTML(markup: escape(s)) }

/// An element with escaped attribute values and the given children.
func el(_ name: String, _ attributes: KeyValuePairs<String, String> = [:], _ children: [HTML] = []) -> HTML {
    var s = "<" + name
    for (k, v) in attributes { s += " \(k)=\"\(escape(v))\"" }
    s += ">"
    for c in children { s += c.text }
    s += "</\(name)>"
    return HTML(markup: s)
}

func el(_ name: String, _ attributes: KeyValuePairs<String, String> = [:], _ text: String) -> HTML {
    el(name, attributes, [t(text)])
}

/// An element with attributes given as a list (for attributes computed at run time).
func elA(_ name: String, _ attributes: [(String, String)], _ children: [HTML] = []) -> HTML {
    var s = "<" + name
    for (k, v) in attributes { s += " \(k)=\"\(escape(v))\"" }
    s += ">"
    for c in children { s += c.text }
    s += "</\(name)>"
    return HTML(markup: s)
}

/// A void element (`<input>`, `<meta>`, `<link>`).
func void(_ name: String, _ attributes: [(String, String)]) -> HTML {
    HTML(markup: "<" + name + attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined() + ">")
}

func join(_ parts: [HTML]) -> HTML { HTML(markup: parts.map(\.text).joined()) }

/// Escapes a value for one CSV cell (RFC 4180): quoted when it holds a comma, quote or line
/// break; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs it as a formula.
public func csvCell(_ s: String) -> String {
    var v = s
    if let f = v.unicodeScalars.first, "=+-@".unicodeScalars.contains(f), Double(v) == nil { v = "'" + v }
    if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + v.replacingAll("\"", with: "\"\"") + "\""
    }
    return v
}

public func csv(_ header: [String], _ rows: [[String]]) -> String {
    ([header] + rows).map { $0.map(csvCell).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
