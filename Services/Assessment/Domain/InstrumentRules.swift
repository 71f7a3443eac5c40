import LVAPI
import LVDomain
import LVMessages
import LVRPC

public typealias Instrument = Lv_Assessment_V1_Instrument
public typealias Item = Lv_Assessment_V1_Item
public typealias Answer = Lv_Assessment_V1_Answer
public typealias ScoredSubmission = Lv_Assessment_V1_ScoredSubmission
public typealias ItemScore = Lv_Assessment_V1_ItemScore
public typealias InstrumentKind = Lv_Assessment_V1_InstrumentKind
public typealias Phase = Lv_Assessment_V1_Phase

/// What a valid instrument looks like (plain rules, no I/O).
public enum InstrumentRules {
    // The rules of every field of the assessment API (docs/ASSESSMENT.md "Field rules" lists the same).
    /// Items of one instrument; options and criteria of one item; barriers of one follow-up.
    public static let maximumItems = 500
    public static let maximumOptions = 20
    public static let maximumCriteria = 50
    public static let maximumAnswers = 500
    public static let maximumBarriers = 20
    /// Most follow-up delay (days after the activity).
    public static let maximumFollowUpDays: UInt32 = 730
    /// Submissions stamped more than this ahead of the server's clock are refused.
    public static let futureTolerance: Int64 = 5 * 60_000

    /// Request ids, submission ids and other opaque client ids: 1-128 bytes of printable ASCII.
    public static func requestID(_ id: String, _ field: String = "request_id", _ v: inout Violations) {
        v.requestID(id, field)
    }

    /// A reference to something another service owns (activity id, instrument id in a lookup): at most 128 printable ASCII bytes.
    public static func key(_ id: String, _ field: String, required: Bool = false, _ v: inout Violations) {
        if required && id.isEmpty { return v.add(field, "required", "a value is required") }
        v.require(id.utf8.count <= FieldLimits.requestIDBytes && LogSafe.isPrintableASCII(id), field, "identifier",
                  "at most \(FieldLimits.requestIDBytes) bytes of printable ASCII")
    }

    /// `submitted_ms`, `recorded_ms`, `responded_ms`: 0 (now) or 2000-01-01 … `now` + 5 minutes (`latest` overrides the upper end).
    public static func time(_ t: Int64, _ field: String, now: Int64, latest: Int64? = nil, _ v: inout Violations) {
        guard t != 0 else { return }
        let upper = latest ?? Checked.sum(now, futureTolerance)
        v.require(t >= FieldLimits.earliestMs && t <= upper, field, "range",
                  "0 for now, or a time from 2000-01-01 to \(latest == nil ? "5 minutes after the server's clock" : "2100-12-31")")
    }

    /// The phase an instrument is taken in: implied by pre/post/follow-up kinds, given for vignettes,
    /// POST for evaluation and commitment forms when not given.
    public static func phase(of i: Instrument) -> Phase {
        switch i.kind {
        case .preTest: return .pre
        case .postTest: return .post
        case .followUp: return .followUp
        case .evaluation, .commitmentToChange: return i.phase == .unspecified ? .post : i.phase
        default: return i.phase
        }
    }

    /// Checks `i` against the activity's objective ids (nil when they are not known).
    public static func validate(_ i: Instrument, objectives: Set<String>?, _ v: inout Violations) {
        v.require(Identifier.isValid(i.instrumentId), "instrument.instrument_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
        key(i.activityId, "instrument.activity_id", required: true, &v)
        v.text(i.title, "instrument.title", max: FieldLimits.titleBytes)
        v.require(i.followUpDays <= maximumFollowUpDays, "instrument.follow_up_days", "range", "at most \(maximumFollowUpDays) days")
        switch i.kind {
        case .unspecified, .unrecognized: v.add("instrument.kind", "required", "pre-test, post-test, follow-up, case vignette, evaluation or commitment to change")
        case .followUp: v.require(i.followUpDays > 0, "instrument.follow_up_days", "required", "days after the activity, at least 1")
        case .caseVignette:
            v.require([.pre, .post, .followUp].contains(i.phase), "instrument.phase", "required", "a vignette is given PRE, POST or FOLLOW_UP")
        default: break
        }
        if i.kind != .followUp { v.require(i.followUpDays == 0, "instrument.follow_up_days", "kind", "only follow-up instruments have a delay") }
        if i.kind != .commitmentToChange { v.require(!i.items.isEmpty, "instrument.items", "required", "at least one item") }
        v.count(i.items.count, "instrument.items", max: maximumItems)
        var seen: Set<String> = []
        for (n, item) in i.items.prefix(maximumItems).enumerated() {
            let f = "instrument.items[\(n)]"
            v.text(item.stem, "\(f).stem", max: FieldLimits.textBytes, chars: .multiLine)
            v.count(item.options.count, "\(f).options", max: maximumOptions)
            for (k, o) in item.options.prefix(maximumOptions).enumerated() { v.text(o, "\(f).options[\(k)]", max: FieldLimits.textBytes, chars: .multiLine) }
            v.count(item.criteria.count, "\(f).criteria", max: maximumCriteria)
            for (k, c) in item.criteria.prefix(maximumCriteria).enumerated() { v.text(c, "\(f).criteria[\(k)]", max: FieldLimits.textBytes, chars: .multiLine) }
            if !item.objectiveId.isEmpty {
                v.require(Identifier.isValid(item.objectiveId), "\(f).objective_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
            }
            v.require(Identifier.isValid(item.itemId), "\(f).item_id", "identifier", "1-64 of letters, digits, '-', '_' or '.'")
            v.require(seen.insert(item.itemId).inserted, "\(f).item_id", "unique", "'\(item.itemId)' is used twice")
            switch item.type {
            case .multipleChoice:
                v.require(item.options.count >= 2, "\(f).options", "range", "at least two options")
                v.require(Int(item.key) < item.options.count, "\(f).key", "range", "the index of the right option")
            case .trueFalse: break
            case .vignetteCriteria:
                v.require(!item.criteria.isEmpty, "\(f).criteria", "required", "the explicit actions a competent answer takes")
            case .likert:
                v.require(item.likertPoints == 5 || item.likertPoints == 7, "\(f).likert_points", "range", "5 or 7")
                v.require(i.kind == .evaluation, "\(f).type", "kind", "Likert items belong on evaluations")
            case .unspecified, .unrecognized:
                v.add("\(f).type", "required", "multiple choice, true/false, vignette criteria or Likert")
            }
            if item.type == .likert {
                v.require(item.objectiveId.isEmpty && !item.control, "\(f).objective_id", "kind", "Likert items rate delivery, not an objective")
            } else if i.kind != .evaluation {
                v.require(item.control != !item.objectiveId.isEmpty, "\(f).objective_id", "objective-or-control",
                          "an item maps to one learning objective or is marked control, not both or neither")
                if let objectives, !item.objectiveId.isEmpty {
                    v.require(objectives.contains(item.objectiveId), "\(f).objective_id", "unknown-objective",
                              "'\(item.objectiveId)' is not an objective of activity \(i.activityId)")
                }
            }
        }
    }
}
