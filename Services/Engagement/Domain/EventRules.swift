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
    /// Events older than this (relative to the server's clock) are refused: engagement is
    /// captured during and soon after an activity, never years later.
    public static let pastWindow: Int64 = 3 * 366 * 86_400_000
    /// Longest stretch one event covers (attended, played).
    public static let maximumDurationMs: UInt32 = 24 * 3_600_000

    // The rules of every field (docs/ENGAGEMENT.md "Field rules" lists the same):
    // event_id 1-64 bytes printable ASCII; npi a valid NPI; verb one of the verbs; activity_id,
    // session_id, object_id at most 128 bytes of printable ASCII (activity_id required);
    // timestamp_ms within [max(2000-01-01, now - 3 years), now + 5 min]; result.response at most
    // 4,000 bytes, no control characters but tab and newline; result.rating 1-5 for rated;
    // result.correct -1, 0 or 1; result.duration_ms at most 24 h and required (> 0) for attended;
    // at most 5,000 events per call (also bounded on the wire, WireLimits).

    /// The earliest timestamp accepted at `now`.
    public static func earliest(now: Int64) -> Int64 {
        max(FieldLimits.earliestMs, Checked.sum(now, -pastWindow))
    }

    public static func key(_ s: String, required: Bool) -> String? {
        if required && s.isEmpty { return "required" }
        if s.utf8.count > FieldLimits.requestIDBytes || !LogSafe.isPrintableASCII(s) { return "identifier" }
        return nil
    }

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
        if !LogSafe.isPrintableASCII(e.eventId) { return ("event_id", "printable-ascii", "printable ASCII only") }
        if let p = NPI.problem(e.npi) { return ("npi", p.rule, p.message) }
        switch e.verb {
        case .unspecified: return ("verb", "required", "a verb is required")
        case .unrecognized(let v): return ("verb", "enum", "unknown verb \(v)")
        default: break
        }
        if let rule = key(e.activityId, required: true) {
            return ("activity_id", rule, rule == "required" ? "the activity the event belongs to" : "at most 128 bytes of printable ASCII")
        }
        if key(e.sessionId, required: false) != nil { return ("session_id", "identifier", "at most 128 bytes of printable ASCII") }
        if key(e.objectId, required: false) != nil { return ("object_id", "identifier", "at most 128 bytes of printable ASCII") }
        if e.timestampMs <= 0 { return ("timestamp_ms", "required", "milliseconds since the Unix epoch") }
        if e.timestampMs > Checked.sum(now, futureTolerance) { return ("timestamp_ms", "future", "more than 5 minutes ahead of the server's clock") }
        if e.timestampMs < earliest(now: now) {
            return ("timestamp_ms", "range", "before 2000-01-01 or more than 3 years before the server's clock")
        }
        let result = e.result ?? Lv_Engagement_V1_Result()
        var text = Violations()
        text.text(result.response, "result.response", max: FieldLimits.textBytes, chars: .multiLine)
        if let t = text.list.first { return (t.field, t.rule, t.description) }
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
        if result.durationMs > maximumDurationMs { return ("result.duration_ms", "range", "at most 24 hours") }
        if e.verb == .attended && result.durationMs == 0 {
            return ("result.duration_ms", "required", "attended needs the length of the stretch present")
        }
        return nil
    }
}
