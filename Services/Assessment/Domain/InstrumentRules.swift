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
        v.require(!i.activityId.isEmpty, "instrument.activity_id", "required", "the activity the instrument assesses")
        switch i.kind {
        case .unspecified, .unrecognized: v.add("instrument.kind", "required", "pre-test, post-test, follow-up, case vignette, evaluation or commitment to change")
        case .followUp: v.require(i.followUpDays > 0, "instrument.follow_up_days", "required", "days after the activity, at least 1")
        case .caseVignette:
            v.require([.pre, .post, .followUp].contains(i.phase), "instrument.phase", "required", "a vignette is given PRE, POST or FOLLOW_UP")
        default: break
        }
        if i.kind != .followUp { v.require(i.followUpDays == 0, "instrument.follow_up_days", "kind", "only follow-up instruments have a delay") }
        if i.kind != .commitmentToChange { v.require(!i.items.isEmpty, "instrument.items", "required", "at least one item") }
        var seen: Set<String> = []
        for (n, item) in i.items.enumerated() {
            let f = "instrument.items[\(n)]"
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
