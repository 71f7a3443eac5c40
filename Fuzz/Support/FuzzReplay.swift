#if canImport(Glibc)
import Glibc
#endif

/// The replay mode every fuzz target has when built without `-DLV_FUZZ` (`make fuzz-replay`):
/// `fuzzOne` on each file named in the arguments. No Foundation: lv-fuzz-codec builds with the codec alone.
public enum FuzzReplay {
    public static func run(_ target: String, arguments: [String] = Array(CommandLine.arguments.dropFirst()),
                           _ fuzzOne: (UnsafeRawBufferPointer) -> Void) throws {
        for path in arguments {
            let bytes = try readFile(path)
            bytes.withUnsafeBytes { fuzzOne($0) }
        }
        print("\(target): replayed \(arguments.count) inputs")
    }

    /// The bytes of the file at `path`.
    public static func readFile(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw ReadError(path: path) }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    public struct ReadError: Error { public let path: String }
}
