import LVAPI
import LVMessages
import LVStatistics

public typealias Evidence = Lv_Gateway_V1_Evidence

/// The one way the view decides that something improved: a pre-specified, one-sided test at the
/// activity's alpha, with the physician as the unit of analysis (one change score per physician,
/// never one physician's items as independent observations).
///
/// The design, strongest first:
/// 1. **Comparison cohort** — when at least `minimum_n` comparison physicians were measured at
///    both times: Welch's t on change scores, participants' changes against the comparison's.
///    A difference-in-differences: retest drift and secular trends that both cohorts share
///    cancel. Change scores rather than ANCOVA because CME comparison cohorts are not
///    randomized: with groups that differ at baseline, ANCOVA's adjustment for pre-scores
///    answers a different question and can manufacture an effect (Lord's paradox), while the
///    change-score contrast is unbiased under the parallel-trends assumption; Welch because the
///    cohorts differ in size and spread (120 against 40 in the demo).
/// 2. **Drift-corrected** — without such a cohort, where the measure has a drift control (the
///    physician's own change on control items, topics the activity did not teach): a one-sample
///    t on (change − control change). Weaker: it assumes control items are as sensitive to
///    retesting as taught ones, and the view says so.
/// 3. Otherwise **no test**: an uncontrolled pre→post change cannot tell learning from drift,
///    so nothing is claimed, and the reason says what is missing.
public enum EvidenceEngine {
    /// One physician's change on a measure, and the drift control when there is one.
    public struct Change: Sendable {
        public var change: Double
        public var drift: Double?
        public init(_ change: Double, drift: Double? = nil) { (self.change, self.drift) = (change, drift) }
    }

    public enum Outcome: Sendable {
        case tested(Evidence)
        /// Why no test was run (minimum n, no control, no variation).
        case notTested(String)

        public var evidence: Evidence? { if case .tested(let e) = self { return e } else { return nil } }
        public var reason: String? { if case .notTested(let r) = self { return r } else { return nil } }
    }

    /// Tests `measure` on the participants' and comparison physicians' changes.
    /// `driftControl`: whether a drift-corrected design is acceptable for this measure (not for
    /// practice and patient measures, which have no control items: a secular trend there can
    /// only be removed by a comparison cohort).
    public static func test(_ measure: String, participants: [Change], comparison: [Change], thresholds th: Thresholds,
                            driftControl: Bool = true, scale: Double = 1) -> Outcome {
        let minN = Int(th.minimumN)
        guard participants.count >= minN else {
            return .notTested("\(measure): n = \(participants.count) participants measured before and after, below the minimum of \(minN)")
        }
        var e = Evidence()
        e.measure = measure
        e.participants = UInt32(participants.count)
        if comparison.count >= minN {
            guard let w = WelchTTest(participants.map { $0.change * scale }, comparison.map { $0.change * scale }) else {
                return .notTested("\(measure): every change score is the same; the test is undefined")
            }
            e.design = .comparisonCohort
            e.comparison = UInt32(comparison.count)
            e.effect = estimate(w.difference, n: w.nA + w.nB, ci: w.ci)
            e.test = testResult(w.t, df: w.df, p: w.pTwoSided, oneSided: w.pOneSided, n: w.nA + w.nB, method: "Welch t on change scores")
            e.standardized = estimate(w.g, n: w.nA + w.nB, ci: w.gCI)
            e.significant = w.pOneSided < th.alpha && w.difference > 0
            return .tested(e)
        }
        let corrected = participants.compactMap { c in c.drift.map { (c.change - $0) * scale } }
        guard driftControl else {
            return .notTested("\(measure): no comparison cohort measured at both times (n = \(comparison.count), minimum \(minN)); a secular trend cannot be ruled out")
        }
        guard corrected.count >= minN else {
            return .notTested("\(measure): no control for retest drift — \(comparison.count) comparison physicians measured at both times and \(corrected.count) participants with control items (minimum \(minN))")
        }
        guard let t = OneSampleTTest(corrected) else {
            return .notTested("\(measure): every drift-corrected change is the same; the test is undefined")
        }
        e.design = .driftCorrected
        e.comparison = UInt32(comparison.count)
        e.participants = UInt32(t.n)
        e.effect = estimate(t.mean, n: t.n, ci: t.ci)
        e.test = testResult(t.t, df: Double(t.df), p: t.pTwoSided, oneSided: t.pOneSided, n: t.n, method: "one-sample t on drift-corrected change")
        e.standardized = estimate(t.dz, n: t.n, ci: t.dzCI)
        e.significant = t.pOneSided < th.alpha && t.mean > 0
        return .tested(e)
    }

    /// Scores against a fixed bar (Level 2: the share of the rating scale), one-sided above it.
    public static func testAboveBar(_ measure: String, scores: [Double], bar: Double, thresholds th: Thresholds) -> Outcome {
        let minN = Int(th.minimumN)
        guard scores.count >= minN else {
            return .notTested("\(measure): n = \(scores.count), below the minimum of \(minN)")
        }
        guard let t = OneSampleTTest(scores, mu: bar) else {
            return .notTested("\(measure): every rating is the same (\(fixed(100 * scores[0], 0))% of the scale); the test is undefined")
        }
        var e = Evidence()
        (e.design, e.measure, e.participants) = (.bar, measure, UInt32(t.n))
        e.effect = estimate(t.mean, n: t.n, ci: t.ci)
        e.test = testResult(t.t, df: Double(t.df), p: t.pTwoSided, oneSided: t.pOneSided, n: t.n, method: "one-sample t against the bar")
        e.standardized = estimate(t.dz, n: t.n, ci: t.dzCI)
        e.significant = t.pOneSided < th.alpha && t.mean > bar
        return .tested(e)
    }

    /// Holm across a family of tested evidence: sets `adjusted` and re-decides `significant` on the adjusted p.
    public static func holm(_ family: inout [Evidence], alpha: Double) {
        let indices = family.indices.filter { family[$0].test != nil }
        let adjusted = MultipleComparisons.holm(indices.map { family[$0].test!.pOneSided })
        for (k, i) in indices.enumerated() {
            var a = Lv_Gateway_V1_Adjusted()
            (a.p, a.familySize, a.method) = (adjusted[k], UInt32(indices.count), "Holm")
            family[i].adjusted = a
            family[i].significant = adjusted[k] < alpha && (family[i].effect?.value ?? 0) > 0
        }
    }
}

public func estimate(_ value: Double?, n: Int, ci: ConfidenceInterval? = nil) -> Estimate? {
    guard let value, value.isFinite, n > 0 else { return nil }
    var e = Estimate()
    e.value = value
    e.n = UInt32(n)
    if let ci, ci.lower.isFinite, ci.upper.isFinite {
        var c = Lv_Gateway_V1_ConfidenceInterval()
        (c.lower, c.upper, c.level) = (ci.lower, ci.upper, ci.level)
        e.ci = c
    }
    return e
}

func testResult(_ statistic: Double, df: Double, p: Double, oneSided: Double, n: Int, method: String) -> Lv_Gateway_V1_Test {
    var t = Lv_Gateway_V1_Test()
    (t.statistic, t.df, t.p, t.pOneSided, t.n, t.method) = (statistic, df, p, oneSided, UInt32(n), method)
    return t
}

func testResult(_ t: PairedTTest) -> Lv_Gateway_V1_Test {
    testResult(t.t, df: Double(t.df), p: t.p, oneSided: Distributions.studentTUpper(t: t.t, df: Double(t.df)), n: t.n, method: "paired t")
}
