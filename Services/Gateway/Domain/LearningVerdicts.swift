import LVAPI
import LVMessages
import LVStatistics

public typealias LearningVerdict = Lv_Gateway_V1_LearningVerdict

/// Classifies one physician's pre→post change in one activity — evidence about the activity's
/// effect, not a judgment of the physician (accreditation does not require post-tests):
///
/// - *not assessed*: no pre- and post-test;
/// - *at ceiling*: the pre-test was at or above `mastery`, leaving little room to show a gain;
/// - otherwise the Jacobson & Truax (1991) reliable change index RCI = (post − pre) / SE_diff,
///   SE_diff = SD_pre · √2 · √(1 − r), with r the pre-test's KR-20 (Cronbach's α on non-0/1
///   items) and SD_pre the spread of pre-test scores, both from the activity's assessed
///   physicians (participants and comparison alike: reliability belongs to the instrument):
///   *reliable improvement* above +1.96, *reliable decline* below −1.96, *no reliable change*
///   between.
/// - When r cannot be estimated (fewer than `minimum_n` physicians with every pre-test item,
///   fewer than 2 items, no variance, or r ≤ 0), the fallback is Lord's binomial error model:
///   each score p on k items has SE² = p(1 − p)/(k − 1), and SE_diff = √(SE_pre² + SE_post²).
public struct VerdictCalibration: Sendable {
    public enum Method: Sendable { case reliability(ReliableChange), binomial(String) }
    public let method: Method
    public let coefficient: Double?
    public let sdPre: Double?
    public let n: Int
    public let items: Int
    public let mastery: Double

    /// From every physician of the activity with both tests.
    public init(records: [PhysicianRecord], thresholds th: Thresholds) {
        let assessed = records.filter { $0.total != nil }.sorted { $0.npi < $1.npi }
        mastery = th.mastery
        // Pre-test item responses on objective items: only physicians who have every item, so the matrix is whole.
        let rows = assessed.map { r in
            Dictionary(r.prePostPairs.filter { !$0.control }.map { ($0.itemId, $0.beforeCorrect ? 1.0 : 0.0) }, uniquingKeysWith: { a, _ in a })
        }
        let columns = Set(rows.flatMap(\.keys)).sorted()
        let whole = rows.filter { $0.count == columns.count }.map { row in columns.map { row[$0]! } }
        let sd = Stats.sd(assessed.map { $0.total!.pre })
        sdPre = sd
        items = columns.count
        n = whole.count
        let minN = Int(th.minimumN)
        var why: String
        if whole.count < minN {
            why = "\(whole.count) physicians answered every pre-test item, below the minimum of \(minN)"
        } else if columns.count < 2 {
            why = "the pre-test has \(columns.count) scored item"
        } else if let r = Reliability.kr20(whole) {
            if let sd, let rc = ReliableChange(sdPre: sd, reliability: r) {
                coefficient = r
                method = .reliability(rc)
                return
            }
            why = "KR-20 = \(fixed(r, 2)) is not usable (it must be in [0, 1) with varying pre-test scores)"
        } else {
            why = "pre-test scores do not vary"
        }
        coefficient = nil
        method = .binomial(why)
    }

    public var description: String {
        switch method {
        case .reliability:
            return "KR-20 of the pre-test (\(items) items, \(n) physicians) = \(fixed(coefficient ?? 0, 2)); SD of pre-test scores \(fixed(100 * (sdPre ?? 0), 1)) points"
        case .binomial(let why):
            return "Lord's binomial error model per physician (reliability could not be estimated: \(why))"
        }
    }

    /// The reliable change index of a pre→post change of `items` items (for the fallback).
    public func index(_ s: PrePost, items: Int) -> Double? {
        switch method {
        case .reliability(let rc):
            return rc.index(pre: s.pre, post: s.post)
        case .binomial:
            guard items >= 2 else { return nil }
            let k = Double(items - 1)
            let se = (s.pre * (1 - s.pre) / k + s.post * (1 - s.post) / k).squareRoot()
            if se <= shareTolerance { return abs(s.change) <= shareTolerance ? 0 : (s.change > 0 ? .infinity : -.infinity) }
            return s.change / se
        }
    }

    public static let criticalZ = 1.96

    /// The verdict and the RCI (when computed) for one physician.
    public func classify(_ record: PhysicianRecord?) -> (LearningVerdict, Double?) {
        guard let record, let s = record.total else { return (.notAssessed, nil) }
        if atLeast(s.pre, mastery) { return (.atCeiling, index(s, items: record.preTestItems)) }
        guard let rci = index(s, items: record.preTestItems) else { return (.notAssessed, nil) }
        if rci > Self.criticalZ { return (.reliableImprovement, rci) }
        if rci < -Self.criticalZ { return (.reliableDecline, rci) }
        return (.noReliableChange, rci)
    }

    var reliabilityUsed: Lv_Gateway_V1_ReliabilityUsed {
        var r = Lv_Gateway_V1_ReliabilityUsed()
        r.method = description
        if let c = coefficient { r.coefficient = estimate(c, n: n) }
        if let sd = sdPre { r.sdPre = estimate(sd, n: n) }
        return r
    }
}

extension LearningVerdict {
    public static let ordered: [LearningVerdict] = [.reliableImprovement, .noReliableChange, .reliableDecline, .atCeiling, .notAssessed]

    public var label: String {
        switch self {
        case .reliableImprovement: return "reliable improvement"
        case .noReliableChange: return "assessed, no reliable change"
        case .reliableDecline: return "assessed, reliable decline"
        case .atCeiling: return "at ceiling before the activity"
        case .notAssessed: return "not assessed (no pre- and post-test)"
        default: return "unspecified"
        }
    }
}

/// Individual evidence above knowledge, for one physician: the highest of
/// - 4: the vignette score rose and reached `mastery`;
/// - 5 (6 for patient-outcome measures): a commitment implemented (fully or partially) and a
///   practice measure rate of theirs rose from baseline.
/// Individual signals are noisy; they are shown beside the verdict, never as an activity's level.
func individualLevelAboveKnowledge(_ r: PhysicianRecord?, mastery: Double) -> MooreLevels.Level? {
    guard let r else { return nil }
    var levels: [MooreLevels.Level] = []
    if let v = r.vignette, v.change > shareTolerance, atLeast(v.post, mastery) { levels.append(.competence) }
    if r.implementedCommitment {
        if r.measureImproved(patientOutcome: false) { levels.append(.performance) }
        if r.measureImproved(patientOutcome: true) { levels.append(.patientHealth) }
    }
    return levels.max()
}

/// The highest level one physician's own data shows: 1 attended; 2 rated the activity at least
/// 60 % of the scale; 3A a reliable improvement on the knowledge test; then 4–6 as above.
/// "Highest" is the ladder's order (`MooreLevels.Level` is Comparable), not the text's.
func individualLevel(_ r: PhysicianRecord?, verdict: LearningVerdict, minutes: Int, mastery: Double) -> MooreLevels.Level? {
    var levels: [MooreLevels.Level] = []
    if minutes > 0 { levels.append(.participation) }
    if let e = r?.evaluation, atLeast(e.satisfaction, 0.6) { levels.append(.satisfaction) }
    if verdict == .reliableImprovement { levels.append(.declarativeKnowledge) }
    if let above = individualLevelAboveKnowledge(r, mastery: mastery) { levels.append(above) }
    return levels.max()
}
