import LVStoreTestSupport
import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
import LVTestSupport
import NIOCore
import Registration
import RegistrationDomain
import Testing

/// Every handler's validation path against a temporary store, fed the fuzz corpus's seeds for its
/// request type (every field set to an extreme) and seeded mutations of them: each call ends in a
/// status, never a trap, and never INTERNAL or UNKNOWN (a rule must catch what the store would choke on).
@Suite("registration handlers under fuzzed requests")
struct RegistrationHandlerFuzzTests {
    @Test("corpus seeds and 20 mutations of each, through every method")
    func corpus() async throws {
        let dir = try RouterFuzzing.temporaryDirectory()
        var router = Router()
        let service = RegistrationService(store: try RegistrationStore(backend: TestDatabase.backend(path: dir.appendingPathComponent("s.sqlite").path)), clock: { 1_795_701_600_000 })
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
        let outcome = try await RouterFuzzing.run(router)
        #expect(outcome.calls > 0)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(10))")
    }
}
