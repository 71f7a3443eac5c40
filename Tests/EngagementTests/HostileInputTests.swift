import LVDomain
import LVMessages
import LVRPC
import Engagement
import EngagementDomain
import Testing

/// Issue #12: extremes and field rules of events, each a named field and rule, never a trap.
@Suite("engagement under hostile input")
struct EngagementHostileInputTests {
    @Test("timestamps and durations at the ends of their types are refused or accepted, never trap")
    func extremes() {
        for at in [Int64.min, -1, 0, 1, Int64.max - 1, Int64.max] {
            for duration in [UInt32.min, 1, UInt32.max] {
                var e = event("x", .attended, at: at, duration: 0)
                var r = Lv_Engagement_V1_Result()
                r.durationMs = duration
                e.result = r
                #expect(EventRules.problem(e, now: t0) != nil)
                #expect(EventRules.problem(e, now: .max) != nil || at > 0)
                #expect(EventRules.problem(e, now: .min) != nil)
            }
        }
        // A summary of accepted extremes does not trap either.
        let events = [event("a", .attended, at: t0, duration: Int64(EventRules.maximumDurationMs)),
                      event("b", .played, at: t0, object: "v", duration: Int64(EventRules.maximumDurationMs)),
                      event("c", .heartbeat, at: 1)]
        _ = EngagementSummary.summarize(npi: validNPI(1), events: events, definedPolls: [], scheduledMinutes: Int(UInt32.max))
    }

    @Test("1970, 3000, ATTENDED without duration, 1 MiB texts, control characters: each names its field")
    func fieldRules() {
        let huge = String(repeating: "x", count: 1 << 20)
        func problem(_ e: Event) -> String? { EventRules.problem(e, now: t0).map { "\($0.field) \($0.rule)" } }
        #expect(problem(event("a", .heartbeat, at: 1_000)) == "timestamp_ms range")
        #expect(problem(event("a", .heartbeat, at: t0 - 4 * 366 * 86_400_000)) == "timestamp_ms range")
        #expect(problem(event("a", .heartbeat, at: 32_503_680_000_000)) == "timestamp_ms future")
        #expect(problem(event("a", .attended, at: t0)) == "result.duration_ms required")
        #expect(problem(event("a", .asked, at: t0, response: huge)) == "result.response length")
        #expect(problem(event("a", .asked, at: t0, response: "hi\u{1B}[2J")) == "result.response printable")
        #expect(problem(event("a", .asked, at: t0, response: "line one\nline two")) == nil)
        #expect(problem(event("a", .answered, at: t0, object: huge)) == "object_id identifier")
        #expect(problem(event("id\n", .heartbeat, at: t0)) == "event_id printable-ascii")
        var e = event("a", .heartbeat, at: t0)
        e.activityId = huge
        #expect(problem(e) == "activity_id identifier")
    }
}
