#if canImport(Glibc)
import Glibc
#endif

/// The bytes of the file at `path` (no Foundation: this target builds with the codec alone).
func readFile(_ path: String) throws -> [UInt8] {
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

struct ReadError: Error { let path: String }
