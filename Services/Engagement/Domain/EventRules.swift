import LVAPI
import LVMessages
import LVRPC
import LVDomain

public typealias Event = Lv_Engagement_V1_Event
public typealias Verb = Lv_Engagement_V1_Verb

/// What a valid engagement event looks like (plain rules, no I/O).
public enum EventRules {
    /// Most events in one RecordEvents call.
    public static let maximumBatch = 5_000
    /// Events stamped further in the future than this (clock skew allowance) are refused.
    public static let futureTolerance: Int64 = 5 * 60_000

    /// The xAPI verb IRI for each verb (docs/ENGAGEMENT.md), used by the xAPI import.
    public static let iris: [(Verb, String)] = [
        (.attended, "http://adlnet.gov/expapi/verbs/attended"),
        (.answered, "http://adlnet.gov/expapi/verbs/answered"),
        (.asked, "http://adlnet.gov/expapi/verbs/asked"),
        (.commented, "http://adlnet.gov/expapi/verbs/commented"),
        (.played, "https://w3id.org/xapi/video/verbs/played"),
        (.paused, "https://w3id.org/xapi/video/verbs/paused"),
        (.focused, "http://id.tincanapi.com/verb/focused"),
        (.unfocused, "http://id.tincanapi.com/verb/unfocused"),
        (.heartbeat, "https://w3id.org/xapi/lv/verbs/heartbeat"),
        (.rated, "http://id.tincanapi.com/verb/rated"),
        (.downloaded, "http://id.tincanapi.com/verb/downloaded"),
    ]

    /// Nil when `e` may be stored, else the field (relative to the event), the rule and a sentence.
    public static func problem(_ e: Event, now: Int64) -> (field: String, rule: String, message: String)? {
        if e.eventId.isEmpty || e.eventId.utf8.count > 64 { return ("event_id", "length", "1-64 bytes, unique per event") }
        if let p = NPI.problem(e.npi) { return ("npi", p.rule, p.message) }
        switch e.verb {
        case .unspecified: return ("verb", "required", "a verb is required")
        case .unrecognized(let v): return ("verb", "enum", "unknown verb \(v)")
        default: break
        }
        if e.activityId.isEmpty { return ("activity_id", "required", "the activity the event belongs to") }
        if e.timestampMs <= 0 { return ("timestamp_ms", "required", "milliseconds since the Unix epoch") }
        if e.timestampMs > now + futureTolerance { return ("timestamp_ms", "future", "more than 5 minutes ahead of the server's clock") }
        let result = e.result ?? Lv_Engagement_V1_Result()
        switch e.verb {
        case .answered, .played, .paused, .downloaded:
            if e.objectId.isEmpty { return ("object_id", "required", "\(e.verb.protoName) needs the poll, media or file id") }
        case .rated:
            if !(1...5).contains(result.rating) { return ("result.rating", "range", "a rating is 1-5") }
        case .asked, .commented:
            if result.response.isEmpty { return ("result.response", "required", "the question or comment text") }
        default: break
        }
        if !(-1...1).contains(result.correct) { return ("result.correct", "range", "1 correct, 0 wrong, -1 not scored") }
        if result.durationMs > 24 * 3_600_000 { return ("result.duration_ms", "range", "at most 24 hours") }
        return nil
    }
}
