import LVAPI
import LVDomain
import LVMessages

public typealias PhysicianEngagement = Lv_Engagement_V1_PhysicianEngagement

/// Per-physician engagement from that physician's events (plain computation, no I/O).
///
/// - Presence: each `attended` event covers [t, t + duration]; each `heartbeat` covers the
///   `heartbeatInterval` before it. Active minutes are the union of those stretches.
/// - Attention: time between an `unfocused` and the next `focused` (or the end of presence)
///   counts as unfocused; attention ratio = 1 − unfocused ∩ presence / presence (1 with no
///   focus events, 0 with no presence).
/// - Media: a `played` runs until the next `paused`/`played` of the same object, or for its
///   `duration_ms`, at most 3 hours.
/// - Polls: distinct defined polls answered, of those defined for the activity.
/// - Engagement index: see `EngagementIndex`.
public enum EngagementSummary {
    public static let heartbeatInterval: Int64 = 60_000
    static let mediaCap: Int64 = 3 * 3_600_000

    /// The summary of one physician's events, in any order (sorted here by time, then id).
    public static func summarize(npi: String, events: [Event], definedPolls: Set<String>, scheduledMinutes: Int) -> PhysicianEngagement {
        var accumulator = EngagementAccumulator()
        for e in events.sorted(by: { ($0.timestampMs, $0.eventId) < ($1.timestampMs, $1.eventId) }) {
            let result = e.result ?? Lv_Engagement_V1_Result()
            accumulator.add(timestampMs: e.timestampMs, verb: e.verb, objectID: e.objectId,
                            durationMs: result.durationMs, rating: result.rating)
        }
        return accumulator.summary(npi: npi, definedPolls: definedPolls, scheduledMinutes: scheduledMinutes)
    }
}

/// One physician's summary built one event at a time, the events given in (timestamp, event id)
/// order: what a store streaming an activity's events in time order keeps per physician instead
/// of the events themselves. Presence stretches are merged as they arrive (a heartbeat or an
/// attendance overlapping the last stretch extends it), so the state stays a few stretches, a
/// few open media objects and the polls answered, whatever the number of events.
public struct EngagementAccumulator: Sendable {
    var events: UInt32 = 0
    var questionsAsked: UInt32 = 0
    var comments: UInt32 = 0
    var downloads: UInt32 = 0
    /// Presence stretches; overlapping or touching ones merged on arrival (the union is unchanged).
    var presence: [(Int64, Int64)] = []
    /// The latest end of any presence stretch, empty ones included (an unfocused stretch still open
    /// at the end runs to it).
    var presenceEnd: Int64?
    var unfocusedSince: Int64?
    var unfocused: [(Int64, Int64)] = []
    var sawFocusEvent = false
    var playing: [String: Int64] = [:]
    var mediaMs: Int64 = 0
    var answered: Set<String> = []
    var ratingCount: UInt32 = 0
    var ratingSum: UInt64 = 0

    public init() {}

    mutating func present(_ start: Int64, _ end: Int64) {
        presenceEnd = max(presenceEnd ?? end, end)
        guard start < end else { return }
        if let last = presence.last, start <= last.1, end >= last.0 {
            presence[presence.count - 1] = (min(last.0, start), max(last.1, end))
        } else {
            presence.append((start, end))
        }
    }

    public mutating func add(timestampMs t: Int64, verb: Verb, objectID: String, durationMs: UInt32, rating: UInt32) {
        events += 1
        switch verb {
        case .attended: present(t, t + Int64(durationMs))
        case .heartbeat: present(t - EngagementSummary.heartbeatInterval, t)
        case .unfocused:
            sawFocusEvent = true
            if unfocusedSince == nil { unfocusedSince = t }
        case .focused:
            sawFocusEvent = true
            if let since = unfocusedSince { unfocused.append((since, t)) }
            unfocusedSince = nil
        case .played:
            if let start = playing[objectID] { mediaMs += min(t - start, EngagementSummary.mediaCap) }
            if durationMs > 0 {
                mediaMs += min(Int64(durationMs), EngagementSummary.mediaCap)
                playing[objectID] = nil
            } else {
                playing[objectID] = t
            }
        case .paused:
            if let start = playing.removeValue(forKey: objectID) { mediaMs += min(t - start, EngagementSummary.mediaCap) }
        case .answered: answered.insert(objectID)
        case .asked: questionsAsked += 1
        case .commented: comments += 1
        case .rated:
            ratingCount += 1
            ratingSum += UInt64(rating)
        case .downloaded: downloads += 1
        case .unspecified, .unrecognized: break
        }
    }

    public func summary(npi: String, definedPolls: Set<String>, scheduledMinutes: Int) -> PhysicianEngagement {
        var s = PhysicianEngagement()
        s.npi = npi
        s.events = events
        s.questionsAsked = questionsAsked
        s.comments = comments
        s.downloads = downloads
        var unfocused = unfocused
        let presentMs = Intervals.unionLength(presence)
        if let since = unfocusedSince, let end = presenceEnd { unfocused.append((since, end)) }
        s.activeMinutes = Double(presentMs) / 60_000
        if presentMs == 0 {
            s.attentionRatio = 0
        } else if !sawFocusEvent {
            s.attentionRatio = 1
        } else {
            let lost = Intervals.intersectionLength(unfocused, presence)
            s.attentionRatio = max(0, 1 - Double(lost) / Double(presentMs))
        }
        s.mediaMinutes = Double(mediaMs) / 60_000
        if definedPolls.isEmpty {
            s.pollsAnswered = UInt32(answered.count)
            s.pollsOffered = 0
        } else {
            s.pollsAnswered = UInt32(answered.intersection(definedPolls).count)
            s.pollsOffered = UInt32(definedPolls.count)
        }
        s.ratingCount = ratingCount
        s.meanRating = ratingCount == 0 ? 0 : Double(ratingSum) / Double(ratingCount)
        s.engagementIndex = EngagementIndex.score(s, scheduledMinutes: scheduledMinutes)
        return s
    }
}

/// Lengths of unions and intersections of half-open millisecond intervals.
public enum Intervals {
    static func merged(_ xs: [(Int64, Int64)]) -> [(Int64, Int64)] {
        var out: [(Int64, Int64)] = []
        for (s, e) in xs.filter({ $0.0 < $0.1 }).sorted(by: { $0.0 < $1.0 }) {
            if let last = out.last, s <= last.1 {
                out[out.count - 1].1 = max(last.1, e)
            } else {
                out.append((s, e))
            }
        }
        return out
    }

    public static func unionLength(_ xs: [(Int64, Int64)]) -> Int64 {
        merged(xs).reduce(0) { $0 + $1.1 - $1.0 }
    }

    public static func intersectionLength(_ a: [(Int64, Int64)], _ b: [(Int64, Int64)]) -> Int64 {
        let ma = merged(a)
        let mb = merged(b)
        var i = 0, j = 0
        var total: Int64 = 0
        while i < ma.count && j < mb.count {
            let s = max(ma[i].0, mb[j].0)
            let e = min(ma[i].1, mb[j].1)
            if s < e { total += e - s }
            if ma[i].1 < mb[j].1 { i += 1 } else { j += 1 }
        }
        return total
    }
}
