/// Opaque page tokens: the last key of the previous page, hex-encoded behind a version tag.
/// Pages continue after that key, so rows inserted meanwhile never shift or repeat a page.
public enum PageToken {
    public static let defaultSize = 100
    public static let maximumSize = 1000

    public static func size(_ requested: UInt32) -> Int {
        requested == 0 ? defaultSize : min(Int(requested), maximumSize)
    }

    public static func encode(_ key: String) -> String {
        key.isEmpty ? "" : "p1" + key.utf8.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    public static func decode(_ token: String) throws -> String {
        guard !token.isEmpty else { return "" }
        let fail = DomainError.invalidArgument(field: "page_token", rule: "page-token", "not a page token from this service")
        guard token.hasPrefix("p1"), token.utf8.count % 2 == 0 else { throw fail }
        var bytes: [UInt8] = []
        var i = token.index(token.startIndex, offsetBy: 2)
        while i < token.endIndex {
            let j = token.index(i, offsetBy: 2)
            guard let b = UInt8(token[i..<j], radix: 16) else { throw fail }
            bytes.append(b)
            i = j
        }
        guard let key = String(validating: bytes, as: UTF8.self) else { throw fail }
        return key
    }
}
