import GatewayDomain
import LVAPI
import LVMessages

// The gateway's messages, named once here (the generated names change with the API's namespace).
public typealias ActivityView = Lv_Gateway_V1_ActivityValidation
public typealias ActivitySummary = Lv_Gateway_V1_ActivityValidationSummary
public typealias Transcript = Lv_Gateway_V1_PhysicianTranscript
public typealias TranscriptEntry = Lv_Gateway_V1_TranscriptEntry
public typealias ViewCompleteness = Lv_Gateway_V1_Completeness
public typealias MooreLevel = Lv_Gateway_V1_MooreLevel
public typealias Verdict = Lv_Gateway_V1_LearningVerdict

/// Domain → presentation: what each page shows, as plain values computed from the gateway's
/// messages. No I/O and no markup: the page templates (Pages.swift) turn these into HTML.
public enum Presentation {
    /// "p<0.001" or "p=0.012".
    public static func p(_ x: Double) -> String { x < 0.001 ? "<0.001" : fixed(x, 3) }

    /// "+12.3 (95% CI 4.5 to 20.1)".
    public static func estimate(_ e: Lv_Gateway_V1_Estimate?, digits: Int = 2, scale: Double = 1) -> String {
        guard let e else { return "—" }
        var s = signed(scale * e.value, digits)
        if let c = e.ci { s += " (95% CI \(fixed(scale * c.lower, digits)) to \(fixed(scale * c.upper, digits)))" }
        return s
    }

    /// A share (0–1) as a percentage.
    public static func share(_ e: Lv_Gateway_V1_Estimate?) -> String { e.map { "\(fixed(100 * $0.value, 0))%" } ?? "—" }
    /// A score already in percent (test means, as the gateway gives them).
    public static func percent(_ e: Lv_Gateway_V1_Estimate?) -> String { e.map { "\(fixed($0.value, 1))%" } ?? "—" }

    /// Sections absent from a partial answer, by name, with the reason.
    public static func absent(_ c: ViewCompleteness?) -> [String: String] {
        var out: [String: String] = [:]
        for a in c?.absent ?? [] { out[a.section] = a.reason }
        return out
    }

    public static func isPartial(_ c: ViewCompleteness?) -> Bool { Completeness.isPartial(c) }

    // MARK: Activities table

    /// One row of the activities table. A value whose section is absent is nil with `unknown` set
    /// (shown as "?" with the reason), never 0.
    public struct ActivityRow: Sendable, Equatable {
        public var id: String
        public var title: String
        public var participants: UInt32?
        public var credited: UInt32?
        public var highestLevel: String?
        /// Credited physicians with a reliable improvement, and credited physicians whose data does not show one.
        public var reliableImprovement: UInt32?
        public var creditedWithoutEvidence: UInt32?
        public var dz: Double?
        public var dzLower: Double?
        public var dzUpper: Double?
        public var p3A: Double?
        public var partial: Bool
        /// Absent field → reason.
        public var unknown: [String: String]
    }

    public static func activityRow(_ a: ActivitySummary) -> ActivityRow {
        let absent = absent(a.completeness)
        func reason(_ s: String) -> String? { absent[s] }
        let funnelKnown = reason("funnel") == nil
        let gapKnown = reason("gap") == nil
        var unknown: [String: String] = [:]
        if let r = reason("funnel") { unknown["participants"] = r; unknown["credited"] = r }
        if let r = reason("highest_level") { unknown["highest_level"] = r }
        if let r = reason("gap") { unknown["gap"] = r }
        if let r = reason("levels.3A") ?? reason("knowledge") { unknown["effect"] = r }
        let improved = a.gap.first { $0.verdict == .reliableImprovement }?.physicians ?? 0
        let credited = gapKnown ? a.gap.reduce(UInt32(0)) { $0 + $1.physicians } : nil
        return ActivityRow(
            id: a.activityId, title: a.title,
            participants: funnelKnown ? a.participants : nil, credited: funnelKnown ? a.credited : nil,
            highestLevel: reason("highest_level") == nil ? a.highestLevel : nil,
            reliableImprovement: gapKnown ? improved : nil,
            creditedWithoutEvidence: credited.map { $0 - min($0, improved) },
            dz: unknown["effect"] == nil ? a.knowledgeDZ?.value : nil,
            dzLower: unknown["effect"] == nil ? a.knowledgeDZ?.ci?.lower : nil, dzUpper: unknown["effect"] == nil ? a.knowledgeDZ?.ci?.upper : nil,
            p3A: unknown["effect"] == nil ? a.knowledge?.test?.pOneSided : nil,
            partial: isPartial(a.completeness), unknown: unknown)
    }

    /// Columns the activities table sorts by.
    public enum SortKey: String, CaseIterable, Sendable {
        case activity, participants, credited, level, gap, effect
        public var title: String {
            switch self {
            case .activity: "Activity"
            case .participants: "Participants"
            case .credited: "Credited"
            case .level: "Highest level evidenced"
            case .gap: "Credited without a reliable improvement"
            case .effect: "Knowledge effect d_z (95% CI)"
            }
        }
    }

    /// Moore levels in ladder order, for sorting ("" and unknown lowest).
    public static let levelOrder = MooreLevels.Level.allCases.map(\.rawValue)
    static func levelRank(_ l: String?) -> Int { l.flatMap { MooreLevels.Level(rawValue: $0)?.rank } ?? -1 }

    /// Filters (`query` in id or title, case-insensitive; minimum highest level) and sorts; unknown values sort last.
    public static func activityRows(_ summaries: [ActivitySummary], query: String = "", minimumLevel: String = "",
                                    sort: SortKey = .activity, descending: Bool = false) -> [ActivityRow] {
        var rows = summaries.map(activityRow)
        let q = query.lowercased()
        if !q.isEmpty { rows = rows.filter { $0.id.lowercased().contains(q) || $0.title.lowercased().contains(q) } }
        if !minimumLevel.isEmpty { rows = rows.filter { levelRank($0.highestLevel) >= levelRank(minimumLevel) } }
        func key(_ r: ActivityRow) -> Double? {
            switch sort {
            case .activity: nil
            case .participants: r.participants.map(Double.init)
            case .credited: r.credited.map(Double.init)
            case .level: r.highestLevel.map { Double(levelRank($0)) }
            case .gap: r.creditedWithoutEvidence.map(Double.init)
            case .effect: r.dz
            }
        }
        return rows.sorted { a, b in
            if sort == .activity { return descending ? a.id > b.id : a.id < b.id }
            switch (key(a), key(b)) {
            case let (x?, y?): return x == y ? a.id < b.id : (descending ? x > y : x < y)
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return a.id < b.id
            }
        }
    }

    // MARK: Activity

    public static func funnelSteps(_ v: ActivityView) -> [Charts.Step] {
        guard let f = v.funnel else { return [] }
        var steps = [Charts.Step("registered", f.registered), Charts.Step("attended", f.attended), Charts.Step("credited", f.credited)]
        if let a = f.assessed {
            steps += [Charts.Step("pre+post assessed", a.prePostAssessed), Charts.Step("reliable gain", a.reliableGain),
                      Charts.Step("retained at follow-up", a.retained)]
        }
        return steps
    }

    public static func changeSteps(_ v: ActivityView) -> [Charts.Step] {
        guard let c = v.changeFunnel else { return [] }
        return [Charts.Step("committed to change", c.committed), Charts.Step("implemented", c.implemented),
                Charts.Step("practice improved", c.practiceImproved)]
    }

    /// One test behind a rung of the ladder.
    public struct EvidenceRow: Sendable, Equatable {
        public var measure: String
        public var design: String
        public var participants: UInt32
        public var comparison: UInt32
        public var effect: String
        public var standardized: String
        /// One-sided p, and the Holm-adjusted p when the test is one of a family.
        public var p: Double?
        public var pAdjusted: Double?
        public var significant: Bool
    }

    public struct LadderRung: Sendable, Equatable {
        public enum State: String, Sendable { case evidenced, notEvidenced = "not-evidenced", notEvaluated = "not-evaluated" }
        public var level: String
        public var name: String
        public var state: State
        public var rule: String
        public var reason: String
        public var evidence: [EvidenceRow]
        public var symbol: String { switch state { case .evidenced: "✔"; case .notEvidenced: "✘"; case .notEvaluated: "?" } }
        public var stateText: String { switch state { case .evidenced: "evidenced"; case .notEvidenced: "not evidenced"; case .notEvaluated: "not evaluated" } }
    }

    public static func designText(_ d: Lv_Gateway_V1_Design) -> String {
        switch d {
        case .comparisonCohort: "participants vs comparison cohort (Welch t on change scores)"
        case .driftCorrected: "drift-corrected pre→post (no comparison cohort; weaker)"
        case .bar: "against a fixed bar"
        case .count: "count of physicians"
        default: "—"
        }
    }

    public static func evidenceRow(_ e: Evidence, unit: String = "points") -> EvidenceRow {
        EvidenceRow(measure: e.measure, design: designText(e.design), participants: e.participants, comparison: e.comparison,
                    effect: e.effect.map { estimate($0, digits: 1) + " \(unit)" } ?? "—",
                    standardized: e.standardized.map { estimate($0, digits: 2) } ?? "—",
                    p: e.test?.pOneSided, pAdjusted: e.adjusted?.p, significant: e.significant)
    }

    /// The ladder from the highest rung down (as a ladder is read).
    public static func ladder(_ v: ActivityView) -> [LadderRung] {
        v.levels.reversed().map { l in
            LadderRung(level: l.level, name: l.name, state: l.notEvaluated ? .notEvaluated : l.evidenced ? .evidenced : .notEvidenced,
                       rule: l.rule, reason: l.reason,
                       evidence: l.evidence.map { evidenceRow($0, unit: l.level == "5" || l.level == "6" ? "rate points" : "points") })
        }
    }

    /// Per-objective effects with their CIs (forest plot rows).
    public static func objectiveIntervals(_ v: ActivityView) -> [Charts.Interval] {
        v.objectives.compactMap { o in
            guard let e = o.effect else { return nil }
            let p = o.adjusted.map { "Holm p \(Presentation.p($0.p))" } ?? o.test.map { "p \(Presentation.p($0.pOneSided))" } ?? ""
            return Charts.Interval(label: o.measure, value: e.value, lower: e.ci?.lower, upper: e.ci?.upper,
                                   note: "n=\(o.participants) \(p)", significant: o.significant)
        }
    }

    public static func retentionSeries(_ v: ActivityView) -> [Charts.Series] {
        v.retention.map { r in
            Charts.Series(label: "+\(r.followUpDays) days (n=\(r.meanFollowUp?.n ?? 0))",
                          values: [r.meanPre?.value, r.meanPost?.value, r.meanFollowUp?.value])
        }
    }

    public static func practiceSeries(_ m: Lv_Gateway_V1_PracticeChange) -> [Charts.Series] {
        [Charts.Series(label: "participants", values: [m.participantBaseline?.value, m.participantFollowUp?.value]),
         Charts.Series(label: "comparison", values: [m.comparisonBaseline?.value, m.comparisonFollowUp?.value], dashed: true)]
    }

    public static func verdictClass(_ v: Verdict) -> String {
        switch v {
        case .reliableImprovement: "v-improved"
        case .noReliableChange: "v-no-change"
        case .reliableDecline: "v-decline"
        case .atCeiling: "v-ceiling"
        case .notAssessed: "v-not-assessed"
        default: "v-other"
        }
    }

    public static func gapParts(_ v: ActivityView) -> [Charts.Part] {
        (v.gap?.byVerdict ?? []).map { Charts.Part(label: $0.verdict.label, count: $0.physicians, cls: verdictClass($0.verdict)) }
    }

    /// The design the activity's claims rest on, in a sentence.
    public static func designUsed(_ v: ActivityView) -> String {
        let designs = Set(v.levels.flatMap { $0.evidence.map(\.design) } + v.objectives.map(\.design))
        if designs.contains(.comparisonCohort) {
            return "Comparison cohort: participants' change is tested against the change of \(v.attribution?.comparisonN ?? 0) comparison physicians measured at the same times."
        }
        if designs.contains(.driftCorrected) {
            return "No comparison cohort of the minimum size: participants' pre→post change minus each physician's own control-item drift (a weaker design)."
        }
        return "No change test could be run (see the ladder for why)."
    }
}
