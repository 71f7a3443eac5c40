import LVAPI
import LVDomain
import LVMessages
import LVRPC

public typealias PracticeMeasure = Lv_Assessment_V1_PracticeMeasure

/// Practice-measure and commitment rules (plain, no I/O).
public enum MeasureRules {
    public static let maximumBatch = 10_000

    /// Nil when `m` may be stored, else (field, rule, message) relative to the measure.
    public static func problem(_ m: PracticeMeasure) -> (field: String, rule: String, message: String)? {
        if let p = NPI.problem(m.npi) { return ("npi", p.rule, p.message) }
        if m.activityId.isEmpty { return ("activity_id", "required", "the activity whose effect is measured") }
        if m.activityId.utf8.count > FieldLimits.requestIDBytes || !LogSafe.isPrintableASCII(m.activityId) {
            return ("activity_id", "identifier", "at most 128 bytes of printable ASCII")
        }
        if m.measureCode.isEmpty || m.measureCode.utf8.count > 64 { return ("measure_code", "required", "1-64 bytes, e.g. a CMS or registry measure id") }
        if !LogSafe.isPrintableASCII(m.measureCode) { return ("measure_code", "printable-ascii", "printable ASCII only") }
        var dates = Violations()
        let start = dates.day(m.periodStart, "period_start")
        let end = dates.day(m.periodEnd, "period_end")
        if let first = dates.list.first { return (first.field, first.rule, first.description) }
        guard let start, let end else { return ("period_start", "date", "not YYYY-MM-DD") }
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
