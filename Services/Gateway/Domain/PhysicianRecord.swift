import LVAPI
import LVMessages

/// Shares (0–1 scores, rates) that differ by less than this are equal. Every share the view
/// compares is a count over at most a few thousand items or patients, so two different shares
/// differ by far more; floating-point noise (0.625 − 0.5 ≠ 0.75 − 0.625 in the last bit) by far
/// less. Thresholds (mastery, half the gain) and ranks (Spearman ties) use it, so they behave
/// as they would on the integer counts.
let shareTolerance = 1e-9

/// a ≥ b on shares, exactly as on the counts behind them.
func atLeast(_ a: Double, _ b: Double) -> Bool { a >= b - shareTolerance }

/// A share rounded to the tolerance, so equal counts give equal doubles (for ranks).
func exactShare(_ x: Double) -> Double { (x / shareTolerance).rounded() * shareTolerance }

/// The parts of a knowledge test, from the item pairs (the same item, the same physician, before and after).
public enum Subscale: String, Sendable, CaseIterable {
    /// Items mapped to an objective, not marked procedural (Moore 3A).
    case declarative
    /// Items mapped to an objective and marked procedural (Moore 3B).
    case procedural
    /// Control items: topics the activity did not teach; their change is test-retest drift.
    case control

    func contains(_ p: Lv_Assessment_V1_ItemPair) -> Bool {
        switch self {
        case .declarative: return !p.control && !p.procedural
        case .procedural: return !p.control && p.procedural
        case .control: return p.control
        }
    }
}

/// A physician's score before and after on one scale (0–1).
public struct PrePost: Sendable, Equatable {
    public var pre: Double
    public var post: Double
    public var change: Double { post - pre }
}

/// One physician's outcomes in one activity, read into the scores the rules use.
/// The first submission of each instrument kind and phase counts (a retake measures the test).
public struct PhysicianRecord: Sendable {
    public let npi: String
    public let outcomes: Outcomes
    public var pre: Submission?
    public var post: Submission?
    public var followUps: [UInt32: Submission] = [:]
    public var vignettePre: Submission?
    public var vignettePost: Submission?
    public var evaluation: Submission?

    public init(_ o: Outcomes) {
        npi = o.npi
        outcomes = o
        for s in o.submissions {
            switch (s.kind, s.phase) {
            case (.preTest, _): pre = pre ?? s
            case (.postTest, _): post = post ?? s
            case (.followUp, _): followUps[s.followUpDays] = followUps[s.followUpDays] ?? s
            case (.caseVignette, .pre): vignettePre = vignettePre ?? s
            case (.caseVignette, .post): vignettePost = vignettePost ?? s
            case (.evaluation, _): evaluation = evaluation ?? s
            default: break
            }
        }
    }

    /// Total on objective items, pre and post, when both tests were taken.
    public var total: PrePost? {
        guard let pre, let post else { return nil }
        return PrePost(pre: pre.total, post: post.total)
    }

    /// Control items (drift), pre and post, when both tests had them.
    public var controlTotal: PrePost? {
        guard let pre, let post, pre.hasControl, post.hasControl else { return nil }
        return PrePost(pre: pre.control, post: post.control)
    }

    /// The pre→post item pairs.
    var prePostPairs: [Lv_Assessment_V1_ItemPair] {
        outcomes.itemPairs.filter { $0.fromPhase == .pre && $0.toPhase == .post }
    }

    /// Share right on a subscale's items answered before and after; nil without such items.
    public func subscale(_ s: Subscale) -> PrePost? {
        let pairs = prePostPairs.filter(s.contains)
        guard !pairs.isEmpty else { return nil }
        let n = Double(pairs.count)
        return PrePost(pre: Double(pairs.filter(\.beforeCorrect).count) / n, post: Double(pairs.filter(\.afterCorrect).count) / n)
    }

    /// Score on one objective's items, pre and post.
    public func objective(_ id: String) -> PrePost? {
        guard let a = pre?.objectives.first(where: { $0.objectiveId == id }),
              let b = post?.objectives.first(where: { $0.objectiveId == id }) else { return nil }
        return PrePost(pre: a.score, post: b.score)
    }

    /// Vignette criteria met, pre and post.
    public var vignette: PrePost? {
        guard let a = vignettePre, let b = vignettePost else { return nil }
        return PrePost(pre: a.total, post: b.total)
    }

    /// The pre-test's number of scored objective items (for the binomial error model).
    var preTestItems: Int { Int(pre?.objectives.reduce(0) { $0 + $1.items } ?? 0) }

    /// A measure's rate at baseline and follow-up, when both periods had eligible patients.
    public func measure(_ code: String) -> PrePost? {
        guard let m = outcomes.measures.first(where: { $0.measureCode == code }),
              m.baselineDenominator > 0, m.followUpDenominator > 0 else { return nil }
        return PrePost(pre: Double(m.baselineNumerator) / Double(m.baselineDenominator),
                       post: Double(m.followUpNumerator) / Double(m.followUpDenominator))
    }

    /// Implemented a commitment (fully or partially).
    public var implementedCommitment: Bool { outcomes.commitments.contains(where: isImplemented) }

    /// A practice (or patient-outcome) measure's rate rose from baseline.
    func measureImproved(patientOutcome: Bool? = nil) -> Bool {
        outcomes.measures.contains { m in
            (patientOutcome == nil || m.patientOutcome == patientOutcome) && measure(m.measureCode).map { $0.change > shareTolerance } == true
        }
    }
}

/// Followed up as implemented fully or partially.
func isImplemented(_ c: Lv_Assessment_V1_Commitment) -> Bool {
    c.followUp?.implementation == .fully || c.followUp?.implementation == .partially
}
