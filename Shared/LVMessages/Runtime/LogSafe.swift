/// Values from peers, made safe to log: printable ASCII only, bounded length.
public enum LogSafe {
    /// Longest `x-request-id` (and `traceparent`) a server accepts.
    public static let maximumRequestIDBytes = 128

    public static func isPrintableASCII(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    /// At most `max` bytes of `s`, each non-printable byte (and the backslash) written as \xNN.
    public static func clip(_ s: String, _ max: Int = 128) -> String {
        var out = ""
        for b in s.utf8.prefix(max) {
            if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        if s.utf8.count > max { out += "..." }
        return out
    }
}
