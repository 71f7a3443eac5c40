#if canImport(Glibc)
import Glibc
#endif
import LVRPC
import NIOConcurrencyHelpers

/// One line of a key file: a key's public id, its operator-given name, roles, the salted SHA-256
/// of its secret, and optional expiry and limits. The secret itself is never stored.
///
///     id=k3f9a1c2e7b0 name=registrar-desk roles=registrar salt=<32 hex> sha256=<64 hex> [expires=<unix s>] [rate=<calls/s>] [burst=<n>] [concurrent=<n>]
public struct KeyEntry: Sendable, Equatable {
    public var id: String
    public var name: String
    public var roles: [Role]
    public var salt: [UInt8]
    public var digest: [UInt8]
    /// Unix seconds after which the key is refused; nil = never.
    public var expires: Int64?
    /// Calls per second (token bucket refill); 0 = unlimited.
    public var rate: Double = KeyEntry.defaultRate
    public var burst: Double = KeyEntry.defaultBurst
    /// Calls in flight at once; 0 = unlimited.
    public var concurrent: Int = KeyEntry.defaultConcurrent

    public static let defaultRate = 1000.0
    public static let defaultBurst = 2000.0
    public static let defaultConcurrent = 256

    public var scopes: Set<Scope> { roles.reduce(into: []) { $0.formUnion($1.scopes) } }

    public var principal: Principal {
        Principal(keyID: id, name: name, roles: roles.map(\.rawValue), scopes: Set(scopes.map(\.rawValue)))
    }

    /// The line to put in a key file.
    public var line: String {
        var parts = ["id=\(id)", "name=\(name)", "roles=\(roles.map(\.rawValue).joined(separator: ","))",
                     "salt=\(Hex.encode(salt))", "sha256=\(Hex.encode(digest))"]
        if let expires { parts.append("expires=\(expires)") }
        if rate != Self.defaultRate { parts.append("rate=\(rate)") }
        if burst != Self.defaultBurst { parts.append("burst=\(burst)") }
        if concurrent != Self.defaultConcurrent { parts.append("concurrent=\(concurrent)") }
        return parts.joined(separator: " ")
    }

    static func digest(salt: [UInt8], secret: String) -> [UInt8] {
        SHA256.hash(salt + Array(secret.utf8))
    }

    /// Whether `secret` is this key's (constant time in the secret).
    func matches(secret: String) -> Bool {
        constantTimeEqual(Self.digest(salt: salt, secret: secret), digest)
    }
}

/// An API key as a caller presents it: `lvk_<id>_<secret>` (id 12 hex digits, secret 64).
public enum APIKey {
    public static let prefix = "lvk_"

    /// A new random key and its key-file entry (getrandom through the system generator).
    public static func generate(name: String, roles: [Role], expires: Int64? = nil) -> (key: String, entry: KeyEntry) {
        var rng = SystemRandomNumberGenerator()
        let idBytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let id = Hex.encode(idBytes)
        let secret = Hex.encode(secretBytes)
        let entry = KeyEntry(id: id, name: name, roles: roles, salt: salt, digest: KeyEntry.digest(salt: salt, secret: secret),
                             expires: expires)
        return ("\(prefix)\(id)_\(secret)", entry)
    }

    /// Splits a presented key into id and secret, or nil when it is not shaped like one.
    static func parse(_ key: String) -> (id: String, secret: String)? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        guard let underscore = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<underscore])
        let secret = String(rest[rest.index(after: underscore)...])
        guard !id.isEmpty, id.utf8.count <= 64, !secret.isEmpty, secret.utf8.count <= 256 else { return nil }
        return (id, secret)
    }

    /// Names are what logs and the audit log show: letters, digits and `.-_@`, 1-64 characters.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: "@")
        }
    }
}

/// A key file that cannot be used, naming the line and what is wrong with it.
public struct KeyFileError: Error, CustomStringConvertible {
    public let path: String
    public let line: Int
    public let reason: String
    public var description: String { line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)" }
}

public enum KeyFile {
    /// Parses a key file: one key per line, `#` comments and blank lines ignored. Any bad line
    /// fails the whole file (a reload keeps the keys it had).
    public static func parse(_ text: String, path: String = "<keys>") throws -> [KeyEntry] {
        var entries: [KeyEntry] = []
        var ids = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = index + 1
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            var fields: [String: String] = [:]
            for part in line.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                guard let eq = part.firstIndex(of: "=") else {
                    throw KeyFileError(path: path, line: n, reason: "'\(part.prefix(32))' is not key=value")
                }
                let key = String(part[..<eq])
                guard ["id", "name", "roles", "salt", "sha256", "expires", "rate", "burst", "concurrent"].contains(key) else {
                    throw KeyFileError(path: path, line: n, reason: "unknown field '\(key.prefix(32))'")
                }
                fields[key] = String(part[part.index(after: eq)...])
            }
            guard let id = fields["id"], !id.isEmpty, id.utf8.count <= 64, !id.contains("_") else {
                throw KeyFileError(path: path, line: n, reason: "id= is required (no '_')")
            }
            guard ids.insert(id).inserted else { throw KeyFileError(path: path, line: n, reason: "id \(id) appears twice") }
            guard let name = fields["name"], APIKey.isValidName(name) else {
                throw KeyFileError(path: path, line: n, reason: "name= is required: letters, digits and .-_@, at most 64")
            }
            let roleNames = (fields["roles"] ?? "").split(separator: ",").map(String.init)
            var roles: [Role] = []
            for r in roleNames {
                guard let role = Role(rawValue: r) else {
                    throw KeyFileError(path: path, line: n, reason: "unknown role '\(r.prefix(32))' (one of \(Role.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                roles.append(role)
            }
            guard !roles.isEmpty else { throw KeyFileError(path: path, line: n, reason: "roles= needs at least one role") }
            guard let salt = fields["salt"].flatMap(Hex.decode), salt.count >= 8 else {
                throw KeyFileError(path: path, line: n, reason: "salt= must be at least 16 hex digits")
            }
            guard let digest = fields["sha256"].flatMap(Hex.decode), digest.count == 32 else {
                throw KeyFileError(path: path, line: n, reason: "sha256= must be 64 hex digits")
            }
            var entry = KeyEntry(id: id, name: name, roles: roles, salt: salt, digest: digest)
            if let e = fields["expires"] {
                guard let v = Int64(e) else { throw KeyFileError(path: path, line: n, reason: "expires= must be unix seconds") }
                entry.expires = v
            }
            if let r = fields["rate"] {
                guard let v = Double(r), v >= 0, v.isFinite else { throw KeyFileError(path: path, line: n, reason: "rate= must be a number ≥ 0") }
                entry.rate = v
            }
            if let b = fields["burst"] {
                guard let v = Double(b), v >= 1, v.isFinite else { throw KeyFileError(path: path, line: n, reason: "burst= must be a number ≥ 1") }
                entry.burst = v
            }
            if let c = fields["concurrent"] {
                guard let v = Int(c), v >= 0 else { throw KeyFileError(path: path, line: n, reason: "concurrent= must be an integer ≥ 0") }
                entry.concurrent = v
            }
            entries.append(entry)
        }
        return entries
    }

    /// Reads and parses `path`. Refuses a file others can read or write (keys are credentials' hashes,
    /// but who may add a line must be controlled).
    public static func load(path: String) throws -> [KeyEntry] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw KeyFileError(path: path, line: 0, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        if st.st_mode & 0o022 != 0 {
            throw KeyFileError(path: path, line: 0, reason: "is writable by group or others (chmod 600 or 640)")
        }
        return try parse(try readFile(path), path: path)
    }
}

/// The keys a server accepts now; `reload()` (SIGHUP) swaps in the file's current contents, so
/// rotation is: add the new key's line, reload, move callers over, delete the old line, reload.
public final class KeyStore: Sendable {
    public let path: String?
    private let entries: NIOLockedValueBox<[String: KeyEntry]>

    public init(path: String) throws {
        self.path = path
        self.entries = NIOLockedValueBox(Dictionary(uniqueKeysWithValues: try KeyFile.load(path: path).map { ($0.id, $0) }))
    }

    public init(entries: [KeyEntry]) {
        self.path = nil
        self.entries = NIOLockedValueBox(Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0) }))
    }

    /// Reads the file again; on any error the current keys stay. Returns how many keys are valid now.
    @discardableResult
    public func reload() throws -> Int {
        guard let path else { return count }
        let fresh = Dictionary(uniqueKeysWithValues: try KeyFile.load(path: path).map { ($0.id, $0) })
        entries.withLockedValue { $0 = fresh }
        return fresh.count
    }

    public var count: Int { entries.withLockedValue { $0.count } }

    public enum Check: Equatable {
        case valid(KeyEntry)
        case malformed
        case unknown
        case wrongSecret
        case expired
    }

    /// Checks a presented key against the current entries.
    public func check(_ key: String, now: Int64 = KeyStore.unixNow()) -> Check {
        guard let (id, secret) = APIKey.parse(key) else { return .malformed }
        guard let entry = entries.withLockedValue({ $0[id] }) else {
            // Hash anyway, so an unknown id costs the same as a wrong secret.
            _ = KeyEntry.digest(salt: [0, 0, 0, 0, 0, 0, 0, 0], secret: secret)
            return .unknown
        }
        guard entry.matches(secret: secret) else { return .wrongSecret }
        if let expires = entry.expires, now >= expires { return .expired }
        return .valid(entry)
    }

    /// The key's entry while it is still in the file and not expired (checked on every call, so a
    /// key removed by a reload or past its expiry stops working on connections already open).
    public func current(id: String, now: Int64 = KeyStore.unixNow()) -> KeyEntry? {
        guard let entry = entries.withLockedValue({ $0[id] }) else { return nil }
        if let expires = entry.expires, now >= expires { return nil }
        return entry
    }

    public static func unixNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}

/// The whole file as UTF-8 (small files: key files, credentials).
func readFile(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else {
        throw KeyFileError(path: path, line: 0, reason: "cannot read: \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes += chunk[0..<n] }
        if n < chunk.count { break }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Reads a credential file (one key, surrounding whitespace ignored).
public func readCredentialFile(_ path: String) throws -> String {
    let text = try readFile(path).trimmingCharacters(in: " \t\r\n")
    guard !text.isEmpty else { throw KeyFileError(path: path, line: 0, reason: "is empty; it should hold one API key") }
    return text
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
