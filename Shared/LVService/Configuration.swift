#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// A service's configuration file (`--config FILE` or `LV_CONFIG`): one `key = value` per line,
/// keys the flag names without `--` (`listen = 127.0.0.1:7401`, `data-dir = /var/lib/lv`),
/// values optionally in double quotes, `#` starts a comment. A key the service does not take
/// is an error naming the file and line, as is a key given twice.
///
/// Precedence, highest first: flag, environment variable (`LV_` + the key in upper case with
/// `_` for `-`), this file, the built-in default (docs/OPERATIONS.md, "Configuration").
public struct ConfigFile: Sendable {
    public let path: String
    public let values: [String: String]

    /// The file `ServiceOptions.resolve` is reading from, for its helpers.
    @TaskLocal static var current: ConfigFile?

    public init(path: String, values: [String: String]) {
        self.path = path
        self.values = values
    }

    /// Reads and checks `path` against `allowedKeys`.
    public static func load(path: String, allowedKeys: Set<String>) throws -> ConfigFile {
        guard let file = fopen(path, "r") else {
            throw ValidationError("--config \(path): cannot read it: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            text += chunk[0..<n]
            guard text.count <= 1 << 20 else { throw ValidationError("--config \(path): larger than 1 MiB") }
        }
        return try parse(String(decoding: text, as: UTF8.self), path: path, allowedKeys: allowedKeys)
    }

    public static func parse(_ text: String, path: String, allowedKeys: Set<String>) throws -> ConfigFile {
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let where_ = "\(path):\(index + 1)"
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = line[..<hash] }
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ValidationError("\(where_): expected 'key = value', got '\(trimmed)'")
            }
            let key = String(trimmed[..<equals].trimmingSpaces())
            var value = trimmed[trimmed.index(after: equals)...].trimmingSpaces()
            if value.hasPrefix("\"") {
                guard value.count >= 2, value.hasSuffix("\"") else { throw ValidationError("\(where_): unterminated quoted value") }
                value = value.dropFirst().dropLast()
            }
            guard allowedKeys.contains(key) else {
                throw ValidationError("\(where_): unknown key '\(key)'; known keys: \(allowedKeys.sorted().joined(separator: ", "))")
            }
            guard values[key] == nil else { throw ValidationError("\(where_): '\(key)' is set twice") }
            values[key] = String(value)
        }
        return ConfigFile(path: path, values: values)
    }

    /// The environment variable for a key: `data-dir` → `LV_DATA_DIR`.
    public static func environmentName(_ key: String) -> String {
        "LV_" + key.uppercased().replacingDashes()
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return s
    }
}

extension String {
    fileprivate func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
