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

    public static func summarize(npi: String, events: [Event], definedPolls: Set<String>, scheduledMinutes: Int) -> PhysicianEngagement {
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

        for e in events {
            let t = e.timestampMs
            let result = e.result ?? Lv_Engagement_V1_Result()
            switch e.verb {
            case .attended: presence.append((t, t + Int64(result.durationMs)))
            case .heartbeat: presence.append((t - heartbeatInterval, t))
            case .unfocused:
                sawFocusEvent = true
                if unfocusedSince == nil { unfocusedSince = t }
            case .focused:
                sawFocusEvent = true
                if let since = unfocusedSince { unfocused.append((since, t)) }
                unfocusedSince = nil
            case .played:
                if let start = playing[e.objectId] { mediaMs += min(t - start, mediaCap) }
                if result.durationMs > 0 {
                    mediaMs += min(Int64(result.durationMs), mediaCap)
                    playing[e.objectId] = nil
                } else {
                    playing[e.objectId] = t
                }
            case .paused:
                if let start = playing.removeValue(forKey: e.objectId) { mediaMs += min(t - start, mediaCap) }
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
        s.ratingCount = UInt32(ratings.count)
        s.meanRating = ratings.isEmpty ? 0 : Double(ratings.reduce(0, +)) / Double(ratings.count)
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
