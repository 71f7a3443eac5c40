import LVStoreTestSupport
import LVTestSupport
import Foundation
import Logging
import LVDomain
import LVMessages
import LVRPC
import LVStore
import LVTestSupport
import Engagement
import EngagementDomain
import Testing

let t0: Int64 = 1_795_701_600_000 // 2026-11-26T14:00:00Z
let minute: Int64 = 60_000

func validNPI(_ n: Int) -> String {
    let nine = String(format: "%09d", 400_000_000 + n).utf8.map { Int($0) - 48 }
    return nine.map(String.init).joined() + String(NPI.checkDigit(firstNine: nine))
}

func event(_ id: String, _ verb: Verb, at: Int64, npi: String = validNPI(1), object: String = "", rating: UInt32 = 0,
           duration: Int64 = 0, response: String = "") -> Event {
    var e = Event()
    e.eventId = id
    e.npi = npi
    e.verb = verb
    e.activityId = "act-1"
    e.sessionId = "s1"
    e.objectId = object
    e.timestampMs = at
    var r = Lv_Engagement_V1_Result()
    r.rating = rating
    r.durationMs = UInt32(duration)
    r.response = response
    if r != Lv_Engagement_V1_Result() { e.result = r }
    return e
}

@Suite("engagement summaries")
struct SummaryTests {
    @Test("presence is the union of attended stretches and heartbeat coverage")
    func presence() {
        let events = [
            event("a", .attended, at: t0, duration: 30 * minute),
            event("h1", .heartbeat, at: t0 + 20 * minute),          // inside the attended stretch
            event("h2", .heartbeat, at: t0 + 40 * minute),          // covers 39-40
            event("h3", .heartbeat, at: t0 + 41 * minute),          // covers 40-41
        ]
        let s = EngagementSummary.summarize(npi: "x", events: events, definedPolls: [], scheduledMinutes: 60)
        #expect(s.activeMinutes == 32)
        #expect(s.attentionRatio == 1)
    }

    @Test("attention subtracts unfocused time inside presence")
    func attention() {
        let events = [
            event("a", .attended, at: t0, duration: 60 * minute),
            event("u1", .unfocused, at: t0 + 10 * minute),
            event("f1", .focused, at: t0 + 25 * minute),
            event("u2", .unfocused, at: t0 + 50 * minute),        // never refocused: counts to the end of presence
        ]
        let s = EngagementSummary.summarize(npi: "x", events: events, definedPolls: [], scheduledMinutes: 60)
        #expect(abs(s.attentionRatio - (1 - 25.0 / 60.0)) < 1e-12)
    }

    @Test("polls answered of offered, media time, questions, ratings")
    func interactions() {
        let events = [
            event("a", .attended, at: t0, duration: 60 * minute),
            event("p1", .answered, at: t0 + minute, object: "poll-1"),
            event("p1b", .answered, at: t0 + 2 * minute, object: "poll-1"),  // the same poll twice counts once
            event("p9", .answered, at: t0 + 3 * minute, object: "not-a-poll"),
            event("m1", .played, at: t0 + 10 * minute, object: "video"),
            event("m2", .paused, at: t0 + 14 * minute, object: "video"),
            event("m3", .played, at: t0 + 20 * minute, object: "video", duration: 2 * minute),
            event("q", .asked, at: t0 + 30 * minute, response: "Dose in CKD?"),
            event("r1", .rated, at: t0 + 59 * minute, rating: 4),
            event("r2", .rated, at: t0 + 59 * minute, rating: 5),
        ]
        let s = EngagementSummary.summarize(npi: "x", events: events, definedPolls: ["poll-1", "poll-2"], scheduledMinutes: 60)
        #expect(s.pollsAnswered == 1 && s.pollsOffered == 2)
        #expect(s.mediaMinutes == 6)
        #expect(s.questionsAsked == 1)
        #expect(s.meanRating == 4.5 && s.ratingCount == 2)
        // Index by hand: presence 1·.35 + attention 1·.20 + polls .5·.25 + participation (1/3)·.10 + satisfaction .875·.10
        let expected = 100 * (0.35 + 0.20 + 0.125 + 0.1 / 3 + 0.0875) / 1.0
        #expect(abs(s.engagementIndex - expected) < 1e-9)
    }

    @Test("components without data are left out of the index, not counted as zero")
    func indexRenormalizes() {
        var s = PhysicianEngagement()
        s.activeMinutes = 30
        s.attentionRatio = 0.5
        // No schedule, no polls, no ratings: attention (.20) and participation (.10, value 0).
        #expect(abs(EngagementIndex.score(s, scheduledMinutes: 0) - 100 * (0.5 * 0.20) / 0.30) < 1e-9)
    }

    @Test("event rules name the field and the rule")
    func rules() {
        #expect(EventRules.problem(event("a", .attended, at: t0, duration: minute), now: t0) == nil)
        #expect(EventRules.problem(event("a", .attended, at: t0), now: t0)?.field == "result.duration_ms")
        #expect(EventRules.problem(event("", .attended, at: t0), now: t0)?.field == "event_id")
        #expect(EventRules.problem(event("a", .attended, at: t0, npi: "1234567890"), now: t0)?.rule == "luhn")
        #expect(EventRules.problem(event("a", .unspecified, at: t0), now: t0)?.field == "verb")
        #expect(EventRules.problem(event("a", .answered, at: t0), now: t0)?.field == "object_id")
        #expect(EventRules.problem(event("a", .rated, at: t0, rating: 6), now: t0)?.field == "result.rating")
        #expect(EventRules.problem(event("a", .attended, at: t0 + 10 * minute), now: t0)?.rule == "future")
    }
}

@Suite("engagement store and service on a real SQLite file")
struct EngagementServiceTests {
    let context = ServerContext.test

    func service() throws -> EngagementService {
        return EngagementService(store: try EngagementStore(backend: TestDatabase.backend(path: temporaryStorePath("eng", file: "e.sqlite"))), clock: { t0 + 3_600_000 })
    }

    @Test("a batch stores its valid events, reports each invalid one, and a retry stores nothing twice")
    func recordEvents() async throws {
        let s = try service()
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = [event("e1", .attended, at: t0, duration: minute), event("e2", .rated, at: t0, rating: 9),
                    event("e3", .heartbeat, at: t0 + minute), event("e1", .attended, at: t0, duration: minute)]
        let first = try await s.recordEvents(r, context: context)
        #expect(first.accepted == 2 && first.duplicates == 1)
        #expect(first.rejected.map(\.field) == ["events[1].result.rating"])
        let retry = try await s.recordEvents(r, context: context)
        #expect(retry.accepted == 0 && retry.duplicates == 3)
        var list = Lv_Engagement_V1_ListEventsRequest()
        list.activityId = "act-1"
        #expect(try await s.listEvents(list, context: context).events.map(\.eventId) == ["e1", "e3"])
    }

    @Test("listing pages through every event once, in time order")
    func paging() async throws {
        let s = try service()
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = (0..<250).map { event("id-\($0)", .heartbeat, at: t0 + Int64($0 % 50) * 1000) }
        #expect(try await s.recordEvents(r, context: context).accepted == 250)
        var list = Lv_Engagement_V1_ListEventsRequest()
        list.pageSize = 33
        var seen: [Event] = []
        repeat {
            let page = try await s.listEvents(list, context: context)
            seen += page.events
            list.pageToken = page.nextPageToken
        } while !list.pageToken.isEmpty
        #expect(seen.count == 250)
        #expect(Set(seen.map(\.eventId)).count == 250)
        #expect(seen.map(\.timestampMs) == seen.map(\.timestampMs).sorted())
    }

    @Test("summaries per physician use the polls defined for the activity")
    func summaries() async throws {
        let s = try service()
        var poll = Lv_Engagement_V1_DefinePollRequest()
        (poll.activityId, poll.sessionId, poll.pollId) = ("act-1", "s1", "poll-1")
        #expect(try await s.definePoll(poll, context: context).created)
        #expect(!(try await s.definePoll(poll, context: context)).created)
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = [event("a", .attended, at: t0, npi: validNPI(1), duration: 30 * minute),
                    event("b", .answered, at: t0 + minute, npi: validNPI(1), object: "poll-1"),
                    event("c", .attended, at: t0, npi: validNPI(2), duration: 60 * minute)]
        _ = try await s.recordEvents(r, context: context)
        var q = Lv_Engagement_V1_GetEngagementSummaryRequest()
        q.activityId = "act-1"
        q.scheduledMinutes = 60
        let summary = try await s.getEngagementSummary(q, context: context)
        #expect(summary.pollsDefined == 1)
        #expect(summary.physicians.map(\.npi) == [validNPI(1), validNPI(2)])
        #expect(summary.physicians.map(\.activeMinutes) == [30, 60])
        #expect(summary.physicians.map(\.pollsAnswered) == [1, 0])
    }

    @Test("a large batch (several statements on PostgreSQL) counts each event once: new, stored before, or repeated in the batch")
    func largeBatchCounts() async throws {
        let s = try service()
        var r = Lv_Engagement_V1_RecordEventsRequest()
        // 300 stored beforehand, then a batch of 1,800 events: the 300 again, 1,200 new ones, and
        // 300 of the new ones a second time, 600 places later (across PostgreSQL's statement
        // boundaries: 545 events a statement).
        r.events = (0..<300).map { event("old-\($0)", .heartbeat, at: t0 + Int64($0)) }
        #expect(try await s.recordEvents(r, context: context).accepted == 300)
        let new = (0..<1_200).map { event("new-\($0)", .heartbeat, at: t0 + Int64($0 % 97)) }
        r.events = r.events + Array(new.prefix(600)) + Array(new.prefix(300)) + Array(new.suffix(600))
        let response = try await s.recordEvents(r, context: context)
        #expect(response.accepted == 1_200)
        #expect(response.duplicates == 600)
        #expect(response.rejected.isEmpty)
        var list = Lv_Engagement_V1_ListEventsRequest()
        list.pageSize = 1_000
        var ids: [String] = []
        repeat {
            let page = try await s.listEvents(list, context: context)
            ids += page.events.map(\.eventId)
            list.pageToken = page.nextPageToken
        } while !list.pageToken.isEmpty
        #expect(ids.count == 1_500)
        #expect(Set(ids).count == 1_500)
    }

    @Test("event ids at one time page in byte order, as SQLite compares text, even on a database created with en-US collation")
    func byteOrderPaging() async throws {
        let store = try EngagementStore(backend: TestDatabase.backend(path: temporaryStorePath("eng", file: "e.sqlite"), icuLocale: "en-US"))
        defer { store.close() }
        let s = EngagementService(store: store, clock: { t0 + 3_600_000 })
        // The database really compares text the en-US way (else the test proves nothing on PostgreSQL).
        let byteOrderDefault = try await store.database.read { c in try c.scalarInt("SELECT CASE WHEN 'B_2' < 'a-1' THEN 1 ELSE 0 END") }
        #expect(byteOrderDefault == (TestDatabase.isPostgres ? 0 : 1))
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = ["a_1", "a-1", "B_2", "b-0", "A_9"].map { event($0, .heartbeat, at: t0) }
        #expect(try await s.recordEvents(r, context: context).accepted == 5)
        var list = Lv_Engagement_V1_ListEventsRequest()
        list.pageSize = 1
        var ids: [String] = []
        repeat {
            let page = try await s.listEvents(list, context: context)
            ids += page.events.map(\.eventId)
            list.pageToken = page.nextPageToken
        } while !list.pageToken.isEmpty && ids.count < 10
        #expect(ids == ["A_9", "B_2", "a-1", "a_1", "b-0"])
    }

    @Test("a batch over the limit is refused whole")
    func batchLimit() async throws {
        let s = try service()
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = (0...EventRules.maximumBatch).map { event("x\($0)", .heartbeat, at: t0) }
        await #expect(throws: RPCError.self) { _ = try await s.recordEvents(r, context: context) }
    }
}

@Suite("xAPI mapping")
struct XAPIMappingTests {
    @Test("ISO 8601 durations", arguments: [("PT55M30S", 3_330_000), ("PT1H", 3_600_000), ("P1DT2H", 93_600_000), ("PT0.5S", 500)] as [(String, Int64)])
    func durations(text: String, ms: Int64) {
        #expect(XAPIMapping.parseDuration(text) == ms)
    }

    @Test("malformed durations are refused", arguments: ["55M", "PT", "PT5X", "P1H"])
    func badDurations(text: String) {
        // "PT" alone has no component but is accepted by some parsers; we accept it as 0 only if well formed.
        if text == "PT" { #expect(XAPIMapping.parseDuration(text) == 0) } else { #expect(XAPIMapping.parseDuration(text) == nil) }
    }

    @Test("the sample statements map to seven events and three reasons")
    func sampleFile() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/xapi-statements.json")
        let statements = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        let (events, unmapped) = XAPIMapping.map(statements, activityOverride: nil)
        #expect(events.map(\.verb) == [.attended, .answered, .played, .paused, .rated, .asked, .downloaded])
        #expect(unmapped.map(\.index) == [6, 7, 8])
        let attended = events[0]
        #expect(attended.npi == "1234567893" && attended.activityId == "hf-2026" && attended.sessionId == "hf-s1")
        #expect(attended.result?.durationMs == 3_330_000)
        #expect(attended.timestampMs == 1_795_701_720_000)
        #expect(events[1].objectId == "gdmt-1" && events[1].result?.correct == 1)
        #expect(events[1].timestampMs == 1_795_702_800_250)
        #expect(events[4].result?.rating == 4)
        #expect(XAPIMapping.map(statements, activityOverride: "other").events.allSatisfy { $0.activityId == "other" })
        for e in events { #expect(EventRules.problem(e, now: t0 + 86_400_000) == nil, "mapped event \(e.eventId) is invalid") }
    }
}
