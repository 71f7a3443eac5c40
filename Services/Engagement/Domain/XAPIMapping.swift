import Foundation
import LVAPI
import LVMessages

/// Maps xAPI statements (ADL verbs, the xAPI video profile, Tin Can verbs) to engagement events.
///
/// - `id` → event_id; `timestamp` → timestamp_ms.
/// - `actor.account.name` → npi (the account's homePage should be https://npiregistry.cms.hhs.gov).
/// - `verb.id` → the verb whose IRI it is (`EventRules.iris`); other verbs are not mapped.
/// - activity: the `activity` override, else the last path segment of the first
///   `context.contextActivities.parent` id; session: the context extension
///   `https://w3id.org/xapi/lv/extensions/session-id`.
/// - object_id: the last path segment of `object.id` (so `…/polls/gdmt-1` is poll `gdmt-1`).
/// - result: `response`; `success` → correct (1/0); `score.raw` → rating (rated, 1-5);
///   `duration` (ISO 8601, e.g. PT55M30S) → duration_ms.
public enum XAPIMapping {
    public static let sessionExtension = "https://w3id.org/xapi/lv/extensions/session-id"

    public struct Unmapped: Sendable, Equatable {
        public let index: Int
        public let reason: String
    }

    public static func map(_ statements: [[String: Any]], activityOverride: String?) -> (events: [Event], unmapped: [Unmapped]) {
        var events: [Event] = []
        var unmapped: [Unmapped] = []
        for (i, s) in statements.enumerated() {
            switch map(s, activityOverride: activityOverride) {
            case .success(let e): events.append(e)
            case .failure(let reason): unmapped.append(Unmapped(index: i, reason: reason.text))
            }
        }
        return (events, unmapped)
    }

    struct Reason: Error { let text: String }

    static func map(_ s: [String: Any], activityOverride: String?) -> Result<Event, Reason> {
        var e = Event()
        guard let id = s["id"] as? String, !id.isEmpty else { return .failure(Reason(text: "statement has no id")) }
        e.eventId = id
        guard let actor = s["actor"] as? [String: Any], let account = actor["account"] as? [String: Any],
              let npi = account["name"] as? String else {
            return .failure(Reason(text: "actor has no account naming an NPI"))
        }
        e.npi = npi
        guard let verbID = (s["verb"] as? [String: Any])?["id"] as? String else { return .failure(Reason(text: "statement has no verb id")) }
        guard let verb = EventRules.iris.first(where: { $0.1 == verbID })?.0 else {
            return .failure(Reason(text: "verb \(verbID) has no engagement equivalent"))
        }
        e.verb = verb
        let context = s["context"] as? [String: Any]
        let parents = (context?["contextActivities"] as? [String: Any])?["parent"] as? [[String: Any]]
        if let activityOverride {
            e.activityId = activityOverride
        } else if let parent = parents?.first?["id"] as? String {
            e.activityId = lastSegment(parent)
        } else {
            return .failure(Reason(text: "no activity: give --activity or a context.contextActivities.parent"))
        }
        e.sessionId = (context?["extensions"] as? [String: Any])?[sessionExtension] as? String ?? ""
        if let objectID = (s["object"] as? [String: Any])?["id"] as? String { e.objectId = lastSegment(objectID) }
        guard let stamp = s["timestamp"] as? String, let ms = parseTimestamp(stamp) else {
            return .failure(Reason(text: "timestamp missing or not ISO 8601"))
        }
        e.timestampMs = ms
        if let result = s["result"] as? [String: Any] {
            var r = Lv_Engagement_V1_Result()
            r.correct = -1
            if let response = result["response"] as? String { r.response = response }
            if let success = result["success"] as? Bool { r.correct = success ? 1 : 0 }
            if let raw = (result["score"] as? [String: Any])?["raw"] as? Double, verb == .rated { r.rating = UInt32(max(0, raw.rounded())) }
            if let duration = result["duration"] as? String {
                guard let ms = parseDuration(duration) else { return .failure(Reason(text: "result.duration '\(duration)' is not ISO 8601")) }
                r.durationMs = UInt32(clamping: ms)
            }
            e.result = r
        }
        return .success(e)
    }

    static func lastSegment(_ iri: String) -> String {
        iri.split(separator: "/").last.map(String.init) ?? iri
    }

    public static func parseTimestamp(_ text: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }

    /// ISO 8601 durations of the PnDTnHnMn.nS form, in milliseconds.
    public static func parseDuration(_ text: String) -> Int64? {
        var rest = Substring(text)
        guard rest.hasPrefix("P") else { return nil }
        rest = rest.dropFirst()
        var total = 0.0
        var inTime = false
        var number = ""
        for ch in rest {
            switch ch {
            case "T": inTime = true
            case "0"..."9", ".": number.append(ch)
            case "D", "H", "M", "S", "W":
                guard let n = Double(number) else { return nil }
                number = ""
                switch (ch, inTime) {
                case ("W", false): total += n * 604_800
                case ("D", false): total += n * 86_400
                case ("H", true): total += n * 3_600
                case ("M", true): total += n * 60
                case ("S", true): total += n
                default: return nil
                }
            default: return nil
            }
        }
        guard number.isEmpty else { return nil }
        return Int64((total * 1000).rounded())
    }
}
