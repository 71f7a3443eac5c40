import LVDomain
import LVMessages

public typealias Planning = Lv_Registration_V1_Planning
public typealias GapEvidenceSource = Lv_Registration_V1_GapEvidenceSource

/// The activity's planning record and the desired level per objective (docs/REGISTRATION.md
/// "Planning"). Plain rules, no I/O.
public enum PlanningRules {
    /// The levels an objective may aim at: 1-2 are the activity's (attendance, satisfaction), not an
    /// objective's, and 7 (community health) is out of scope.
    public static let objectiveLevels = ["3A", "3B", "4", "5", "6"]
    /// Most measure codes one objective may name.
    public static let maximumMeasuresPerObjective = 20
    /// Measure codes: as assessment's `PracticeMeasure.measure_code`.
    public static let measureCodeBytes = 64
    /// Most evidence sources and target professions (each at most once).
    public static let maximumSources = 6
    public static let maximumProfessions = 6
    /// Most target specialties.
    public static let maximumSpecialties = 50

    /// The planning fields of an activity (called from `RegistrationRules.validate`).
    public static func validate(_ a: Lv_Registration_V1_Activity, _ v: inout Violations) {
        for (i, o) in a.objectives.prefix(RegistrationRules.maximumObjectives).enumerated() {
            let f = "activity.objectives[\(i)]"
            if !o.desiredLevel.isEmpty {
                v.require(objectiveLevels.contains(o.desiredLevel), "\(f).desired_level", "objective-level",
                          "'\(LogSafe.clip(o.desiredLevel, 8))' is not an objective's Moore level: one of \(objectiveLevels.joined(separator: ", ")), or empty")
            }
            v.count(o.measureCodes.count, "\(f).measure_codes", max: maximumMeasuresPerObjective)
            var seen: Set<String> = []
            for (k, code) in o.measureCodes.prefix(maximumMeasuresPerObjective).enumerated() {
                let g = "\(f).measure_codes[\(k)]"
                if code.isEmpty || code.utf8.count > measureCodeBytes || !LogSafe.isPrintableASCII(code) {
                    v.add(g, "measure-code", "1-\(measureCodeBytes) bytes of printable ASCII, as assessment's measure_code")
                } else {
                    v.require(seen.insert(code).inserted, g, "unique", "'\(code)' is named twice for this objective")
                }
            }
        }
        guard let p = a.planning else { return }
        let f = "activity.planning"
        v.text(p.practiceGap, "\(f).practice_gap", max: FieldLimits.textBytes, required: true, chars: .multiLine)
        v.text(p.evidenceDetail, "\(f).evidence_detail", max: FieldLimits.textBytes, chars: .multiLine)
        v.require(!p.evidenceSources.isEmpty, "\(f).evidence_sources", "required", "where the gap was identified: at least one source")
        v.count(p.evidenceSources.count, "\(f).evidence_sources", max: maximumSources)
        var sources: Set<Int32> = []
        for (i, s) in p.evidenceSources.prefix(maximumSources).enumerated() {
            let g = "\(f).evidence_sources[\(i)]"
            if case .unrecognized(let n) = s { v.add(g, "enum", "unknown evidence source \(n)"); continue }
            v.require(s != .unspecified, g, "required", "an evidence source is required")
            v.require(sources.insert(s.rawValue).inserted, g, "unique", "each source is named once")
        }
        v.require(!p.targetProfessions.isEmpty, "\(f).target_professions", "required", "the audience: at least one profession")
        v.count(p.targetProfessions.count, "\(f).target_professions", max: maximumProfessions)
        var professions: Set<Int32> = []
        for (i, pr) in p.targetProfessions.prefix(maximumProfessions).enumerated() {
            let g = "\(f).target_professions[\(i)]"
            if case .unrecognized(let n) = pr { v.add(g, "enum", "unknown profession \(n)"); continue }
            v.require(pr != .unspecified, g, "required", "a profession is required")
            v.require(professions.insert(pr.rawValue).inserted, g, "unique", "each profession is named once")
        }
        v.count(p.specialties.count, "\(f).specialties", max: maximumSpecialties)
        var specialties: Set<String> = []
        for (i, s) in p.specialties.prefix(maximumSpecialties).enumerated() {
            let g = "\(f).specialties[\(i)]"
            v.text(s, g, max: FieldLimits.nameBytes, required: true)
            v.require(specialties.insert(s).inserted, g, "unique", "each specialty is named once")
        }
    }
}
