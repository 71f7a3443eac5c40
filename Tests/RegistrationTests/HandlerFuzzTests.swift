import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
import NIOCore
import Registration
import Testing

/// Every handler's validation path against a temporary store, fed the fuzz corpus's seeds for its
/// request type (every field set to an extreme) and seeded mutations of them: each call ends in a
/// status, never a trap, and never INTERNAL or UNKNOWN (a rule must catch what the store would choke on).
@Suite("registration handlers under fuzzed requests")
struct RegistrationHandlerFuzzTests {
    @Test("corpus seeds and 20 mutations of each, through every method")
    func corpus() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var router = Router()
        let service = RegistrationService(store: try RegistrationStore(path: dir.appendingPathComponent("s.sqlite").path), clock: { 1_795_701_600_000 })
        service.register(into: &router)
        // The corpus's requests name activity "a": it exists, so sessions reach their time rules.
        var a = Activity()
        (a.activityId, a.title, a.type, a.startDate, a.endDate, a.maxCredits, a.targetMooreLevel) = ("a", "T", .course, "2026-11-26", "2026-11-26", 1, 1)
        var o = Lv_Registration_V1_LearningObjective()
        (o.id, o.text) = ("o1", "x")
        a.objectives = [o]
        var create = Lv_Registration_V1_CreateActivityRequest()
        (create.requestId, create.activity) = ("fuzz-activity", a)
        _ = try await service.createActivity(create, context: ServerContext(
            method: MethodDescriptor(service: "t", method: "t", requestType: "", responseType: ""), requestID: "fuzz", logger: Logger(label: "fuzz")))
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/codec")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path)
        var generator = SplitMix(seed: 12)
        var calls = 0
        for (name, route) in router.routes {
            let short = route.descriptor.requestType.split(separator: ".").last.map(String.init) ?? ""
            for file in files where file.split(separator: "-").dropFirst().first.map(String.init) == short {
                let seed = [UInt8](try Data(contentsOf: corpus.appendingPathComponent(file)).dropFirst())
                var inputs = [seed]
                for _ in 0..<20 where !seed.isEmpty {
                    var m = seed
                    for _ in 0..<Int(generator.next() % 4 + 1) {
                        let i = Int(generator.next() % UInt64(m.count))
                        m[i] = [0x00, 0xFF, 0x7F, 0x80, UInt8(truncatingIfNeeded: generator.next())][Int(generator.next() % 5)]
                    }
                    inputs.append(m)
                }
                for input in inputs {
                    let context = ServerContext(method: route.descriptor, requestID: "fuzz", logger: Logger(label: "fuzz"))
                    calls += 1
                    do {
                        _ = try await route.handler(ServerRequest(payload: ByteBuffer(bytes: input)), context)
                    } catch {
                        let status = RPCError.from(error)
                        #expect(status.code != .internal && status.code != .unknown, "\(name) \(file): \(status)")
                    }
                }
            }
        }
        #expect(calls > 0)
    }
}

/// A small deterministic generator, so a failure replays.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
