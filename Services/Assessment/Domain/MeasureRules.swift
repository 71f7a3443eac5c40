import LVAPI
import LVDomain
import LVMessages

public typealias PracticeMeasure = Lv_Assessment_V1_PracticeMeasure

/// Practice-measure and commitment rules (plain, no I/O).
public enum MeasureRules {
    public static let maximumBatch = 10_000

    /// Nil when `m` may be stored, else (field, rule, message) relative to the measure.
    public static func problem(_ m: PracticeMeasure) -> (field: String, rule: String, message: String)? {
        if let p = NPI.problem(m.npi) { return ("npi", p.rule, p.message) }
        if m.activityId.isEmpty { return ("activity_id", "required", "the activity whose effect is measured") }
        if m.measureCode.isEmpty || m.measureCode.utf8.count > 64 { return ("measure_code", "required", "1-64 bytes, e.g. a CMS or registry measure id") }
        guard let start = CalendarDay(m.periodStart) else { return ("period_start", "date", "'\(m.periodStart)' is not YYYY-MM-DD") }
        guard let end = CalendarDay(m.periodEnd) else { return ("period_end", "date", "'\(m.periodEnd)' is not YYYY-MM-DD") }
        if end < start { return ("period_end", "order", "the period ends before it starts") }
        if m.denominator == 0 { return ("denominator", "range", "at least one eligible patient") }
        if m.numerator > m.denominator { return ("numerator", "at-most-denominator", "numerator \(m.numerator) exceeds denominator \(m.denominator)") }
        switch m.source {
        case .unspecified, .unrecognized: return ("source", "required", "chart audit, registry, claims, EHR or self-report")
        default: break
        }
        switch m.phase {
        case .baseline, .followUp: break
        default: return ("phase", "required", "baseline or follow-up")
        }
        return nil
    }
}
