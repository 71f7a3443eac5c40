/// Sessions, cookies, CSRF tokens and forms as plain functions (the server in `Web` only calls them).
public enum Access {
    public static let sessionCookie = "lv_session"
    /// The double-submit token of the sign-in form (there is no session yet to hold it).
    public static let loginCSRFCookie = "lv_login_csrf"

    /// 32 bytes from the system's CSPRNG (getrandom on Linux), hex: a session id or a CSRF token.
    public static func token() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in hex64(g.next()) }.joined()
    }

    static func hex64(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure when served over TLS
    /// (or behind a TLS proxy); `maxAge` 0 deletes it.
    public static func setCookie(name: String, value: String, maxAge: Int, secure: Bool) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The cookies of a `Cookie` header (`a=1; b=2`).
    public static func cookies(_ header: String?) -> [String: String] {
        var out: [String: String] = [:]
        for part in (header ?? "").split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            out[kv[0].trimmingSpaces] = kv[1].trimmingSpaces
        }
        return out
    }

    /// `application/x-www-form-urlencoded` fields (`+` is a space, `%XX` a byte); later duplicates win.
    public static func form(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[percentDecode(String(kv[0]))] = kv.count > 1 ? percentDecode(String(kv[1])) : ""
        }
        return out
    }

    public static func percentDecode(_ s: String) -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") { bytes.append(UInt8(ascii: " ")); continue }
            if b == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v); it = it.dropFirst(2); continue
            }
            bytes.append(b)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Equal strings, in time that does not depend on where they differ.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    /// Where to go after signing in: a local path only (never another site, never `//host`).
    public static func safeNext(_ next: String?) -> String? {
        guard let n = next, n.hasPrefix("/"), !n.hasPrefix("//"), !n.contains("\\"), !n.contains(where: { $0.isNewline }) else { return nil }
        return n
    }

    /// An NPI as the sign-in form takes it: ten digits.
    public static func isNPIShaped(_ s: String) -> Bool { s.utf8.count == 10 && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }

    /// The strong ETag of a page: FNV-1a 64 of its bytes. The same view renders the same bytes,
    /// so a page is cacheable per view version (a browser revalidates and gets 304).
    public static func etag(_ body: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in body.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "\"" + hex64(h) + "\""
    }

    /// Whether an `If-None-Match` header matches `etag`.
    public static func notModified(ifNoneMatch: String?, etag: String) -> Bool {
        guard let h = ifNoneMatch else { return false }
        return h.split(separator: ",").contains { $0.trimmingSpaces == etag || $0.trimmingSpaces == "*" }
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
