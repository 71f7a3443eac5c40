import LVStoreTestSupport
import LVTestSupport
import Engagement
import EngagementDomain
import Foundation
import Logging
import LVMessages
import LVRPC
import LVTestSupport
import Testing

/// docs/ENGAGEMENT.md rules that had no test: the 3-hour media cap and the (timestamp, event_id)
/// key of exactly-once storage.
@Suite("engagement: documented rules, one test each")
struct EngagementDocumentedRuleTests {
    let context = ServerContext.test

    func service() throws -> EngagementService {
        return EngagementService(store: try EngagementStore(backend: TestDatabase.backend(path: temporaryStorePath("eng", file: "e.sqlite"))), clock: { t0 + 10 * 3_600_000 })
    }

    @Test("a played media runs at most 3 h: to a pause 4 h later, for a 5 h duration, or to the next play 3 h 1 min later")
    func mediaCap() {
        let hour = 60 * minute
        func media(_ events: [Event]) -> Double {
            EngagementSummary.summarize(npi: "x", events: events, definedPolls: [], scheduledMinutes: 0).mediaMinutes
        }
        #expect(media([event("p", .played, at: t0, object: "v"), event("s", .paused, at: t0 + 4 * hour, object: "v")]) == 180)
        #expect(media([event("p", .played, at: t0, object: "v", duration: 5 * hour)]) == 180)
        #expect(media([event("p", .played, at: t0, object: "v"), event("p2", .played, at: t0 + 3 * hour + minute, object: "v", duration: 10 * minute)]) == 190)
        // Under the cap nothing is cut: 2 h 59 min.
        #expect(media([event("p", .played, at: t0, object: "v"), event("s", .paused, at: t0 + 3 * hour - minute, object: "v")]) == 179)
    }

    @Test("with no presence the attention component is left out, not counted as 0: a lone 5-star rating gives EI 50")
    func noPresenceNoAttention() {
        // Components present: participation 0 (weight .10) and satisfaction (5 − 1) / 4 = 1 (weight .10);
        // presence is out (no scheduled minutes), attention is out (no presence), polls are out.
        // EI = 100 · (0 · .10 + 1 · .10) / (.10 + .10) = 50. Counting attention as 0 would give 25.
        let s = EngagementSummary.summarize(npi: "x", events: [event("r", .rated, at: t0, rating: 5)], definedPolls: [], scheduledMinutes: 0)
        #expect(s.activeMinutes == 0)
        #expect(abs(s.engagementIndex - 50) < 1e-9, "EI \(s.engagementIndex)")
    }

    @Test("exactly once is keyed by (timestamp, event_id): the same id at another time is another event; the same pair again a duplicate")
    func sameIDOtherTimestamp() async throws {
        let s = try service()
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = [event("e1", .heartbeat, at: t0)]
        #expect(try await s.recordEvents(r, context: context).accepted == 1)
        r.events = [event("e1", .heartbeat, at: t0 + minute), event("e1", .heartbeat, at: t0)]
        let second = try await s.recordEvents(r, context: context)
        #expect(second.accepted == 1)
        #expect(second.duplicates == 1)
        var list = Lv_Engagement_V1_ListEventsRequest()
        list.activityId = "act-1"
        #expect(try await s.listEvents(list, context: context).events.map(\.timestampMs) == [t0, t0 + minute])
    }
}
