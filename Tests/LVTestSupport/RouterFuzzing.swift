import Foundation
import Logging
import LVRPC
import NIOCore

/// A small deterministic generator (SplitMix64), so a failing input replays from its seed.
public struct SplitMix: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Drives every handler of a router with the fuzz corpus's seeds for its request type (every
/// field set to an extreme, `Fuzz/corpus/codec`) and seeded mutations of each, as the handler
/// fuzz tests of each service do.
public enum RouterFuzzing {
    public struct Outcome: Sendable {
        public var calls = 0
        /// "route file: status" for every call that ended INTERNAL or UNKNOWN: a rule must catch
        /// what the store would choke on.
        public var failures: [String] = []
    }

    public static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/codec")

    public static func run(_ router: Router, mutations: Int = 20, seed: UInt64 = 12) async throws -> Outcome {
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path)
        var generator = SplitMix(seed: seed)
        var outcome = Outcome()
        for (name, route) in router.routes {
            let short = route.descriptor.requestType.split(separator: ".").last.map(String.init) ?? ""
            for file in files where file.split(separator: "-").dropFirst().first.map(String.init) == short {
                let original = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)).dropFirst())
                var inputs = [original]
                for _ in 0..<mutations where !original.isEmpty {
                    var m = original
                    for _ in 0..<Int(generator.next() % 4 + 1) {
                        let i = Int(generator.next() % UInt64(m.count))
                        m[i] = [0x00, 0xFF, 0x7F, 0x80, UInt8(truncatingIfNeeded: generator.next())][Int(generator.next() % 5)]
                    }
                    inputs.append(m)
                }
                for input in inputs {
                    let context = ServerContext(method: route.descriptor, requestID: "fuzz", logger: Logger(label: "fuzz"))
                    outcome.calls += 1
                    do {
                        _ = try await route.handler(ByteBuffer(bytes: input), context)
                    } catch {
                        let status = RPCError.from(error)
                        if status.code == .internal || status.code == .unknown { outcome.failures.append("\(name) \(file): \(status)") }
                    }
                }
            }
        }
        return outcome
    }

    /// A temporary directory for a store.
    public static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
