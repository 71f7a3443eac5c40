import LVStoreTestSupport
import Foundation
import Logging
import LVAPI
import LVMessages
import LVRPC
import LVTestSupport
import NIOCore
import Engagement
import EngagementDomain
import Testing

/// Every handler's validation path against a temporary store, fed the fuzz corpus's seeds for its
/// request type (every field set to an extreme) and seeded mutations of them: each call ends in a
/// status, never a trap, and never INTERNAL or UNKNOWN (a rule must catch what the store would choke on).
@Suite("engagement handlers under fuzzed requests")
struct EngagementHandlerFuzzTests {
    @Test("corpus seeds and 20 mutations of each, through every method")
    func corpus() async throws {
        let dir = try RouterFuzzing.temporaryDirectory()
        var router = Router()
        EngagementService(store: try EngagementStore(backend: TestDatabase.backend(path: dir.appendingPathComponent("s.sqlite").path)), clock: { 1_795_701_600_000 }).register(into: &router)
        let outcome = try await RouterFuzzing.run(router)
        #expect(outcome.calls > 0)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(10))")
    }
}
