import Foundation
import Logging
import LVDomain
import LVMessages
import LVRPC
import LVTestSupport
import Engagement
import EngagementDomain
import Testing

/// The summary as first written: every event of the physician held, then one pass. Kept here as
/// the reference the streaming `EngagementAccumulator` (which the store now uses) must equal.
func referenceSummary(npi: String, events: [Event], definedPolls: Set<String>, scheduledMinutes: Int) -> PhysicianEngagement {
    let events = events.sorted { ($0.timestampMs, $0.eventId) < ($1.timestampMs, $1.eventId) }
    var s = PhysicianEngagement()
    s.npi = npi
    s.events = UInt32(events.count)
    var presence: [(Int64, Int64)] = []
    var unfocusedSince: Int64?
    var unfocused: [(Int64, Int64)] = []
    var sawFocusEvent = false
    var playing: [String: Int64] = [:]
    var mediaMs: Int64 = 0
    var answered: Set<String> = []
    var ratings: [UInt32] = []
    let cap: Int64 = 3 * 3_600_000
    for e in events {
        let t = e.timestampMs
        let result = e.result ?? Lv_Engagement_V1_Result()
        switch e.verb {
        case .attended: presence.append((t, t + Int64(result.durationMs)))
        case .heartbeat: presence.append((t - 60_000, t))
        case .unfocused:
            sawFocusEvent = true
            if unfocusedSince == nil { unfocusedSince = t }
        case .focused:
            sawFocusEvent = true
            if let since = unfocusedSince { unfocused.append((since, t)) }
            unfocusedSince = nil
        case .played:
            if let start = playing[e.objectId] { mediaMs += min(t - start, cap) }
            if result.durationMs > 0 {
                mediaMs += min(Int64(result.durationMs), cap)
                playing[e.objectId] = nil
            } else {
                playing[e.objectId] = t
            }
        case .paused:
            if let start = playing.removeValue(forKey: e.objectId) { mediaMs += min(t - start, cap) }
        case .answered: answered.insert(e.objectId)
        case .asked: s.questionsAsked += 1
        case .commented: s.comments += 1
        case .rated: ratings.append(result.rating)
        case .downloaded: s.downloads += 1
        case .unspecified, .unrecognized: break
        }
    }
    let presentMs = Intervals.unionLength(presence)
    if let since = unfocusedSince, let end = presence.map(\.1).max() { unfocused.append((since, end)) }
    s.activeMinutes = Double(presentMs) / 60_000
    if presentMs == 0 {
        s.attentionRatio = 0
    } else if !sawFocusEvent {
        s.attentionRatio = 1
    } else {
        s.attentionRatio = max(0, 1 - Double(Intervals.intersectionLength(unfocused, presence)) / Double(presentMs))
    }
    s.mediaMinutes = Double(mediaMs) / 60_000
    if definedPolls.isEmpty {
        s.pollsAnswered = UInt32(answered.count)
    } else {
        s.pollsAnswered = UInt32(answered.intersection(definedPolls).count)
        s.pollsOffered = UInt32(definedPolls.count)
    }
    s.ratingCount = UInt32(ratings.count)
    s.meanRating = ratings.isEmpty ? 0 : Double(ratings.reduce(0, +)) / Double(ratings.count)
    s.engagementIndex = EngagementIndex.score(s, scheduledMinutes: scheduledMinutes)
    return s
}

/// Seeded event streams mixing every verb: overlapping and nested attendance, heartbeats in and
/// out of it, empty stretches, focus changes left open, media played and paused, polls defined
/// and not, equal timestamps ordered by id.
struct EventStreams: RandomNumberGenerator {
    var random: SplitMix
    init(state: UInt64) { random = SplitMix(seed: state) }
    mutating func next() -> UInt64 { random.next() }

    /// `valid`: only events `EventRules` accepts (the store's tests send them through the service).
    mutating func events(npi: String, count: Int, valid: Bool = false) -> [Event] {
        let verbs: [Verb] = [.attended, .heartbeat, .heartbeat, .heartbeat, .unfocused, .focused, .played, .paused,
                             .answered, .asked, .commented, .rated, .downloaded]
        return (0..<count).map { i in
            let verb = verbs.randomElement(using: &self)!
            let at = t0 + Int64.random(in: 0..<(2 * 59), using: &self) * 30_000
            return event("\(npi)-\(Int.random(in: 0..<1000, using: &self))-\(i)", verb, at: at, npi: npi,
                         object: verb == .answered ? "poll-\(Int.random(in: 1...5, using: &self))"
                             : (verb == .played || verb == .paused) ? "video-\(Int.random(in: 1...2, using: &self))"
                             : verb == .downloaded && valid ? "file-1" : "",
                         rating: verb == .rated ? UInt32.random(in: 1...5, using: &self) : 0,
                         duration: verb == .attended ? Int64.random(in: valid ? 1...90 : 0...90, using: &self) * minute / 3
                             : verb == .played && Bool.random(using: &self) ? Int64.random(in: 1...20, using: &self) * minute : 0,
                         response: valid && (verb == .asked || verb == .commented) ? "a question" : "")
        }
    }
}

@Suite("engagement summaries streamed")
struct StreamingSummaryTests {
    @Test("the streaming accumulator equals the whole-event computation on 400 seeded streams")
    func accumulatorEqualsReference() {
        var streams = EventStreams(state: 17)
        for n in 0..<400 {
            let events = streams.events(npi: validNPI(n), count: [0, 1, 3, 40, 200][n % 5])
            let polls: Set<String> = n % 3 == 0 ? [] : ["poll-1", "poll-2", "poll-9"]
            let expected = referenceSummary(npi: validNPI(n), events: events, definedPolls: polls, scheduledMinutes: 120)
            let got = EngagementSummary.summarize(npi: validNPI(n), events: events, definedPolls: polls, scheduledMinutes: 120)
            #expect(got == expected, "stream \(n)")
        }
    }

    @Test("presence stretches that arrive out of start order still merge into their union")
    func outOfOrderStretches() {
        // A heartbeat covers the minute before it, so it can start before an attendance that came first.
        var a = EngagementAccumulator()
        a.add(timestampMs: t0 + 10 * minute, verb: .attended, objectID: "", durationMs: UInt32(5 * minute), rating: 0)
        a.add(timestampMs: t0 + 10 * minute + 30_000, verb: .heartbeat, objectID: "", durationMs: 0, rating: 0) // 9:30-10:30
        a.add(timestampMs: t0 + 30 * minute, verb: .heartbeat, objectID: "", durationMs: 0, rating: 0)          // 29-30
        a.add(timestampMs: t0 + 30 * minute, verb: .attended, objectID: "", durationMs: 0, rating: 0)            // empty
        #expect(a.summary(npi: "x", definedPolls: [], scheduledMinutes: 0).activeMinutes == 5.5 + 1)
    }
}

@Suite("engagement summaries paged from the store")
struct SummaryPagingTests {
    let context = ServerContext(method: MethodDescriptor(service: "t", method: "t", requestType: "", responseType: ""),
                                requestID: "test", logger: Logger(label: "test"))

    func service() throws -> EngagementService {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eng-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return EngagementService(store: try EngagementStore(path: dir.appendingPathComponent("e.sqlite").path), clock: { t0 + 3_600_000 })
    }

    func all(_ s: EngagementService, pageSize: UInt32, npi: String = "") async throws -> [PhysicianEngagement] {
        var q = Lv_Engagement_V1_GetEngagementSummaryRequest()
        (q.activityId, q.npi, q.scheduledMinutes, q.pageSize) = ("act-1", npi, 120, pageSize)
        var out: [PhysicianEngagement] = []
        var pages = 0
        repeat {
            pages += 1
            // A cursor that does not advance would page forever: more pages than physicians is a failure.
            guard pages <= 1000 else { Issue.record("paging does not end"); break }
            let page = try await s.getEngagementSummary(q, context: context)
            #expect(page.physicians.count <= Int(pageSize))
            out += page.physicians
            q.pageToken = page.nextPageToken
        } while !q.pageToken.isEmpty
        return out
    }

    @Test("pages hold every physician once, in NPI order, each equal to the summary of its own events; new events show on the next read")
    func pagesAndInvalidation() async throws {
        let s = try service()
        var poll = Lv_Engagement_V1_DefinePollRequest()
        (poll.activityId, poll.sessionId, poll.pollId) = ("act-1", "s1", "poll-1")
        _ = try await s.definePoll(poll, context: context)
        var streams = EventStreams(state: 5)
        var byNPI: [String: [Event]] = [:]
        for n in 0..<230 { byNPI[validNPI(n)] = streams.events(npi: validNPI(n), count: 1 + n % 30, valid: true) }
        // Another activity's events must not count.
        var other = streams.events(npi: validNPI(3), count: 20, valid: true)
        for i in other.indices { other[i].activityId = "act-2" }
        let everything = byNPI.values.flatMap { $0 } + other
        for start in stride(from: 0, to: everything.count, by: 1000) {
            var r = Lv_Engagement_V1_RecordEventsRequest()
            r.events = Array(everything[start..<min(everything.count, start + 1000)])
            let response = try await s.recordEvents(r, context: context)
            #expect(response.rejected.isEmpty)
        }
        let expected = byNPI.keys.sorted().map {
            referenceSummary(npi: $0, events: byNPI[$0]!, definedPolls: ["poll-1"], scheduledMinutes: 120)
        }
        for size: UInt32 in [7, 100, 229, 230, 1000] {
            #expect(try await all(s, pageSize: size) == expected, "page size \(size)")
        }
        #expect(try await all(s, pageSize: 10, npi: validNPI(4)) == [expected[4]])

        // One more event for one physician, and a new poll: the next read sees both.
        var r = Lv_Engagement_V1_RecordEventsRequest()
        r.events = [event("late-1", .answered, at: t0 + 3 * minute, npi: validNPI(7), object: "poll-2")]
        _ = try await s.recordEvents(r, context: context)
        poll.pollId = "poll-2"
        _ = try await s.definePoll(poll, context: context)
        let after = try await all(s, pageSize: 50)
        byNPI[validNPI(7)]! += r.events
        #expect(after == byNPI.keys.sorted().map {
            referenceSummary(npi: $0, events: byNPI[$0]!, definedPolls: ["poll-1", "poll-2"], scheduledMinutes: 120)
        })

        // An event arriving between two pages of one read shows on the later page: the kept list is dropped.
        var q = Lv_Engagement_V1_GetEngagementSummaryRequest()
        (q.activityId, q.scheduledMinutes, q.pageSize) = ("act-1", 120, 100)
        let first = try await s.getEngagementSummary(q, context: context)
        let later = byNPI.keys.sorted()[200]
        #expect(!first.physicians.map(\.npi).contains(later))
        r.events = [event("late-2", .rated, at: t0 + 4 * minute, npi: later, rating: 5)]
        #expect(try await s.recordEvents(r, context: context).accepted == 1)
        byNPI[later]! += r.events
        q.pageToken = first.nextPageToken
        var rest: [PhysicianEngagement] = []
        repeat {
            let page = try await s.getEngagementSummary(q, context: context)
            rest += page.physicians
            q.pageToken = page.nextPageToken
        } while !q.pageToken.isEmpty
        #expect(rest.first { $0.npi == later } ==
                referenceSummary(npi: later, events: byNPI[later]!, definedPolls: ["poll-1", "poll-2"], scheduledMinutes: 120))
    }
}
