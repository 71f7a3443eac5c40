import LVAPI
import LVMessages
import LVStatistics

public typealias ActivityValidation = Lv_Gateway_V1_ActivityValidation
public typealias Estimate = Lv_Gateway_V1_Estimate
public typealias Thresholds = Lv_Gateway_V1_Thresholds
public typealias Outcomes = Lv_Assessment_V1_PhysicianOutcomes
public typealias Submission = Lv_Assessment_V1_ScoredSubmission

/// What the gateway gathered for one activity. A nil part means its backend could not be read;
/// `degraded` says why.
public struct ActivityInputs: Sendable {
    public var activityID: String
    public var activity: Lv_Registration_V1_Activity?
    public var enrollments: [Lv_Registration_V1_Enrollment]?
    /// Minutes present per participant NPI.
    public var attendance: [String: Int]?
    public var credits: [Lv_Registration_V1_CreditClaim]?
    public var engagement: [Lv_Engagement_V1_PhysicianEngagement]?
    public var outcomes: [Outcomes]?
    /// The participants' learner records (profession, specialty) by NPI, for the planning
    /// breakdown; read only for an activity with a planning record.
    public var learners: [String: Lv_Registration_V1_Physician]?
    public var degraded: [Lv_Gateway_V1_SectionStatus] = []

    public init(activityID: String) { self.activityID = activityID }
}

/// A threshold outside its documented range: the field, the rule and what is allowed.
public struct ThresholdProblem: Error, Sendable, Equatable {
    public let field: String
    public let rule: String
    public let message: String
}

extension Thresholds {
    /// The thresholds with defaults for zero fields (alpha 0.05, mastery 0.7, minimum n 10), or
    /// the first field outside its range. Nothing is silently replaced.
    public func validated() -> Result<Thresholds, ThresholdProblem> {
        var t = self
        if t.alpha == 0 { t.alpha = 0.05 }
        if t.mastery == 0 { t.mastery = 0.7 }
        if t.minimumN == 0 { t.minimumN = 10 }
        guard t.alpha.isFinite, t.alpha > 0, t.alpha <= 0.5 else {
            return .failure(ThresholdProblem(field: "thresholds.alpha", rule: "range", message: "alpha must be in (0, 0.5], or 0 for the default 0.05"))
        }
        guard t.mastery.isFinite, t.mastery > 0, t.mastery <= 1 else {
            return .failure(ThresholdProblem(field: "thresholds.mastery", rule: "range", message: "mastery must be in (0, 1], or 0 for the default 0.7"))
        }
        guard t.minimumN >= 2, t.minimumN <= 1_000_000 else {
            return .failure(ThresholdProblem(field: "thresholds.minimum_n", rule: "range", message: "minimum_n must be 2 to 1,000,000, or 0 for the default 10"))
        }
        return .success(t)
    }

    /// `validated()` for thresholds already checked (or the defaults when they are not valid).
    public var resolved: Thresholds {
        (try? validated().get()) ?? (try! Thresholds().validated().get())
    }
}

/// The physicians of an activity, split by cohort, with their records.
struct Cohorts {
    /// Enrolled, not withdrawn, participant cohort.
    let participants: [String]
    /// Enrolled, not withdrawn, comparison cohort.
    let comparison: [String]
    let records: [String: PhysicianRecord]
    /// The records of `participants` and of `comparison`, in their order, built once: every
    /// section reads them, and building them per call copied every record (a retain per field
    /// per record — most of the gateway's own CPU time in a profile of a 2,000-participant view).
    private let participantList: [PhysicianRecord]
    private let comparisonList: [PhysicianRecord]

    init(_ input: ActivityInputs) {
        let active = (input.enrollments ?? []).filter { $0.withdrawnMs == 0 }
        participants = Set(active.filter { $0.cohort == .participant }.map(\.npi)).sorted()
        comparison = Set(active.filter { $0.cohort == .comparison }.map(\.npi)).sorted()
        let byNPI = Dictionary((input.outcomes ?? []).map { ($0.npi, PhysicianRecord($0)) }, uniquingKeysWith: { a, _ in a })
        records = byNPI
        participantList = participants.compactMap { byNPI[$0] }
        comparisonList = comparison.compactMap { byNPI[$0] }
    }

    func participantRecords() -> [PhysicianRecord] { participantList }
    func comparisonRecords() -> [PhysicianRecord] { comparisonList }

    /// Each cohort's change scores on a measure: `value` reads one physician's pre and post,
    /// `drift` the physician's drift control (nil: none).
    func changes(_ value: (PhysicianRecord) -> PrePost?, drift: (PhysicianRecord) -> Double? = { $0.controlTotal?.change })
        -> (participants: [EvidenceEngine.Change], comparison: [EvidenceEngine.Change]) {
        func list(_ rs: [PhysicianRecord]) -> [EvidenceEngine.Change] {
            rs.compactMap { r in value(r).map { EvidenceEngine.Change($0.change, drift: drift(r)) } }
        }
        return (list(participantRecords()), list(comparisonRecords()))
    }
}

/// Builds the learning-validation view of one activity from what the backends returned.
/// Plain computation: every number comes from `LVStatistics`, every decision from
/// `EvidenceEngine` at the thresholds given.
///
/// Without registration there are no cohorts, so nothing that needs them is computed from the
/// outcomes that remain: no physician is assumed to be a participant.
public enum ValidationView {
    public static func build(_ input: ActivityInputs, thresholds: Thresholds, now: Int64) -> ActivityValidation {
        let th = thresholds.resolved
        var v = ActivityValidation()
        v.activityId = input.activityID
        v.title = input.activity?.title ?? ""
        v.targetMooreLevel = input.activity?.targetMooreLevel ?? 0
        v.thresholds = th
        v.degraded = input.degraded
        v.computedMs = now

        let cohorts = Cohorts(input)
        let registrationRead = input.enrollments != nil
        let outcomesRead = input.outcomes != nil && registrationRead
        let calibration = VerdictCalibration(records: Array(cohorts.records.values), thresholds: th)
        let participants = cohorts.participantRecords()
        let engagement = Dictionary((input.engagement ?? []).map { ($0.npi, $0) }, uniquingKeysWith: { a, _ in a })

        if outcomesRead {
            v.knowledge = knowledge(participants)
            v.items = itemDetail(participants)
            v.objectives = objectives(cohorts, thresholds: th)
            v.attribution = attribution(cohorts)
            v.retention = retention(participants, alpha: th.alpha)
            v.competence = competence(cohorts)
            v.commitments = commitments(participants, cohortSize: cohorts.participants.count)
            v.practice = practice(cohorts, thresholds: th)
            v.confidence = confidence(participants)
            v.changeFunnel = changeFunnel(participants)
        }
        // Built whenever the activity has a plan; `Completeness.apply` takes it out (named absent)
        // when the cohorts or outcomes it needs could not be read.
        if let activity = input.activity {
            v.planning = PlanningView.build(activity, cohorts: cohorts, learners: input.learners, thresholds: th)
        }
        if registrationRead, input.engagement != nil {
            var evl = Lv_Gateway_V1_EngagementVsLearning()
            evl.engaged = UInt32(cohorts.participants.filter { (engagement[$0]?.events ?? 0) > 0 }.count)
            if outcomesRead {
                let ranked = participants.compactMap { r -> (Double, Double)? in
                    guard let e = engagement[r.npi], let s = r.total else { return nil }
                    return (e.engagementIndex, exactShare(s.change))
                }
                evl.points = ranked.sorted { $0 < $1 }.map { e, g in
                    var p = Lv_Gateway_V1_EngagementPoint()
                    (p.engagementIndex, p.gain) = (e, g)
                    return p
                }
                if let s = Spearman(ranked.map(\.0), ranked.map(\.1)) {
                    evl.rho = estimate(s.rho, n: s.n)
                    if abs(s.rho) < 1 {
                        let t = s.rho * (Double(s.n - 2) / (1 - s.rho * s.rho)).squareRoot()
                        evl.test = testResult(t, df: Double(s.n - 2), p: s.p, oneSided: Distributions.studentTUpper(t: t, df: Double(s.n - 2)), n: s.n,
                                        method: "Spearman ρ, t approximation")
                    }
                }
            }
            v.engagementVsLearning = evl
            let indices = cohorts.participants.compactMap { engagement[$0]?.engagementIndex }
            v.meanEngagementIndex = estimate(Stats.mean(indices), n: indices.count)
        }
        if registrationRead, input.attendance != nil, input.credits != nil {
            v.funnel = funnel(input, cohorts: cohorts, calibration: calibration, outcomesRead: outcomesRead)
            if outcomesRead { v.gap = gap(input, cohorts: cohorts, calibration: calibration) }
        }
        v.levels = MooreLevels.judge(input, cohorts: cohorts, view: v, thresholds: th)
        v.highestLevel = v.levels.filter(\.evidenced).compactMap { MooreLevels.Level(rawValue: $0.level) }.max()?.rawValue ?? ""
        return v
    }

    // MARK: sections

    static func knowledge(_ participants: [PhysicianRecord]) -> Lv_Gateway_V1_Knowledge {
        let paired = participants.compactMap(\.total)
        let prePct = paired.map { 100 * $0.pre }
        let postPct = paired.map { 100 * $0.post }
        var k = Lv_Gateway_V1_Knowledge()
        k.meanPre = estimate(Stats.mean(prePct), n: prePct.count)
        k.meanPost = estimate(Stats.mean(postPct), n: postPct.count)
        if let t = PairedTTest(pre: prePct, post: postPct), let one = OneSampleTTest(zip(postPct, prePct).map { $0 - $1 }) {
            k.meanDifference = estimate(t.meanDifference, n: t.n, ci: one.ci)
            k.pairedT = testResult(t)
            k.dZ = estimate(t.dz, n: t.n, ci: one.dzCI)
            k.dAv = estimate(t.dav, n: t.n)
        } else {
            k.meanDifference = estimate(Stats.mean(zip(postPct, prePct).map { $0 - $1 }), n: paired.count)
        }
        if let mp = Stats.mean(prePct), let mq = Stats.mean(postPct) {
            k.hakeClass = estimate(HakeGain.classGain(meanPre: mp, meanPost: mq), n: paired.count)
        }
        if let g = HakeGain.meanIndividualGain(pre: prePct, post: postPct) { k.hakeIndividual = estimate(g.gain, n: g.n) }
        return k
    }

    /// Item-level McNemar (descriptive), participants' pre→post pairs, Holm across items.
    static func itemDetail(_ participants: [PhysicianRecord]) -> [Lv_Gateway_V1_McNemarTest] {
        let pairs = participants.flatMap(\.prePostPairs)
        let groups = Dictionary(grouping: pairs, by: \.itemId)
        var tests = groups.keys.sorted().map { id -> Lv_Gateway_V1_McNemarTest in
            let list = groups[id]!
            var t = Lv_Gateway_V1_McNemarTest()
            (t.id, t.objectiveId, t.control, t.procedural) = (id, list[0].objectiveId, list[0].control, list[0].procedural)
            t.b = UInt32(list.filter { $0.beforeCorrect && !$0.afterCorrect }.count)
            t.c = UInt32(list.filter { !$0.beforeCorrect && $0.afterCorrect }.count)
            t.n = UInt32(list.count)
            if let m = McNemar(b: Int(t.b), c: Int(t.c)) {
                var r = Lv_Gateway_V1_McNemarResult()
                (r.chiSquare, r.p, r.exact) = (m.chiSquare, m.p, m.usesExact)
                t.result = r
            }
            return t
        }
        let tested = tests.indices.filter { tests[$0].result != nil }
        let adjusted = MultipleComparisons.holm(tested.map { tests[$0].result!.p })
        for (k, i) in tested.enumerated() { tests[i].result!.pHolm = adjusted[k] }
        return tests
    }

    /// Per objective: per-physician objective scores through the evidence engine, Holm across objectives.
    static func objectives(_ cohorts: Cohorts, thresholds th: Thresholds) -> [Evidence] {
        let ids = Set(cohorts.participantRecords().flatMap { ($0.pre?.objectives ?? []).map(\.objectiveId) }).sorted()
        var family = ids.map { id -> Evidence in
            let c = cohorts.changes { $0.objective(id) }
            switch EvidenceEngine.test(id, participants: c.participants, comparison: c.comparison, thresholds: th, scale: 100) {
            case .tested(let e): return e
            case .notTested:
                var e = Evidence()
                (e.measure, e.participants, e.comparison) = (id, UInt32(c.participants.count), UInt32(c.comparison.count))
                return e
            }
        }
        EvidenceEngine.holm(&family, alpha: th.alpha)
        return family
    }

    static func attribution(_ cohorts: Cohorts) -> Lv_Gateway_V1_Attribution {
        var a = Lv_Gateway_V1_Attribution()
        let participants = cohorts.participantRecords()
        let gains = participants.compactMap { $0.total?.change }
        let drifts = participants.compactMap { $0.controlTotal?.change }
        a.objectiveGain = estimate(Stats.mean(gains), n: gains.count)
        a.controlDrift = estimate(Stats.mean(drifts), n: drifts.count)
        let corrected = participants.compactMap { r in r.total.flatMap { t in r.controlTotal.map { t.change - $0.change } } }
        if let t = OneSampleTTest(corrected) {
            a.driftCorrectedGain = estimate(t.mean, n: t.n, ci: t.ci)
        } else {
            a.driftCorrectedGain = estimate(Stats.mean(corrected), n: corrected.count)
        }
        let treated = participants.compactMap(\.total)
        let control = cohorts.comparisonRecords().compactMap(\.total)
        a.comparisonN = UInt32(control.count)
        if let w = WelchTTest(treated.map(\.change), control.map(\.change)) {
            a.comparisonDifference = estimate(w.difference, n: w.nA + w.nB, ci: w.ci)
        }
        if let sdT = Stats.sd(treated.map(\.pre)), let sdC = Stats.sd(control.map(\.pre)),
           let d = Morris.dppc2(nT: treated.count, nC: control.count, preT: Stats.mean(treated.map(\.pre))!, postT: Stats.mean(treated.map(\.post))!,
                                preC: Stats.mean(control.map(\.pre))!, postC: Stats.mean(control.map(\.post))!, sdPreT: sdT, sdPreC: sdC) {
            let n = treated.count + control.count
            let rho = pooledCorrelation([treated, control])
            if let rho, let variance = Morris.dppc2Variance(d: d, nT: treated.count, nC: control.count, rho: rho), variance >= 0 {
                let half = 1.959963984540054 * variance.squareRoot()
                a.dPpc2 = estimate(d, n: n, ci: ConfidenceInterval(lower: d - half, upper: d + half, level: 0.95))
                a.dPpc2Variance = estimate(variance, n: n)
            } else {
                a.dPpc2 = estimate(d, n: n)
            }
        }
        return a
    }

    /// The pre–post correlation pooled over groups (each weighted by n − 1), for Morris's variance.
    static func pooledCorrelation(_ groups: [[PrePost]]) -> Double? {
        var weighted = 0.0, weights = 0.0
        for g in groups where g.count >= 3 {
            guard let sa = Stats.sd(g.map(\.pre)), let sb = Stats.sd(g.map(\.post)), sa > 0, sb > 0 else { continue }
            let ma = Stats.mean(g.map(\.pre))!, mb = Stats.mean(g.map(\.post))!
            let r = g.reduce(0) { $0 + ($1.pre - ma) * ($1.post - mb) } / (Double(g.count - 1) * sa * sb)
            weighted += Double(g.count - 1) * r
            weights += Double(g.count - 1)
        }
        return weights > 0 ? weighted / weights : nil
    }

    static func retention(_ participants: [PhysicianRecord], alpha: Double) -> [Lv_Gateway_V1_RetentionAtDelay] {
        let delays = Set(participants.flatMap { $0.followUps.keys }).sorted()
        return delays.map { days in
            var r = Lv_Gateway_V1_RetentionAtDelay()
            r.followUpDays = days
            let triples = participants.compactMap { p -> (Double, Double, Double)? in
                guard let t = p.total, let f = p.followUps[days] else { return nil }
                return (100 * t.pre, 100 * t.post, 100 * f.total)
            }
            let (a, b, c) = (triples.map(\.0), triples.map(\.1), triples.map(\.2))
            r.meanPre = estimate(Stats.mean(a), n: a.count)
            r.meanPost = estimate(Stats.mean(b), n: b.count)
            r.meanFollowUp = estimate(Stats.mean(c), n: c.count)
            if let t = PairedTTest(pre: b, post: c) { r.postToFollowUp = testResult(t) }
            // A ratio over the immediate gain means something only when that gain is real.
            if let gain = OneSampleTTest(zip(b, a).map { $0 - $1 }), gain.pOneSided < alpha, gain.mean > 0 {
                r.retention = estimate(Retention.ratio(pre: Stats.mean(a)!, post: Stats.mean(b)!, followUp: Stats.mean(c)!), n: triples.count)
            } else {
                r.note = "no retention ratio: the immediate gain of these \(triples.count) physicians is not significantly positive"
            }
            return r
        }
    }

    static func competence(_ cohorts: Cohorts) -> Lv_Gateway_V1_Competence {
        var c = Lv_Gateway_V1_Competence()
        let v = cohorts.participantRecords().compactMap(\.vignette)
        c.vignettePre = estimate(Stats.mean(v.map { 100 * $0.pre }), n: v.count)
        c.vignettePost = estimate(Stats.mean(v.map { 100 * $0.post }), n: v.count)
        if let t = PairedTTest(pre: v.map { 100 * $0.pre }, post: v.map { 100 * $0.post }) { c.pairedT = testResult(t) }
        let cv = cohorts.comparisonRecords().compactMap(\.vignette)
        c.comparisonPre = estimate(Stats.mean(cv.map { 100 * $0.pre }), n: cv.count)
        c.comparisonPost = estimate(Stats.mean(cv.map { 100 * $0.post }), n: cv.count)
        return c
    }

    static func commitments(_ participants: [PhysicianRecord], cohortSize: Int) -> Lv_Gateway_V1_Commitments {
        var cm = Lv_Gateway_V1_Commitments()
        let commitments = participants.flatMap(\.outcomes.commitments)
        cm.commitments = UInt32(commitments.count)
        let committed = participants.filter { !$0.outcomes.commitments.isEmpty }.count
        if cohortSize > 0 { cm.commitmentRate = estimate(Double(committed) / Double(cohortSize), n: cohortSize) }
        let followed = commitments.compactMap(\.followUp)
        if !commitments.isEmpty { cm.followUpRate = estimate(Double(followed.count) / Double(commitments.count), n: commitments.count) }
        cm.fully = UInt32(followed.filter { $0.implementation == .fully }.count)
        cm.partially = UInt32(followed.filter { $0.implementation == .partially }.count)
        cm.notImplemented = UInt32(followed.filter { $0.implementation == .not }.count)
        if !followed.isEmpty { cm.implementationRate = estimate(Double(cm.fully + cm.partially) / Double(followed.count), n: followed.count) }
        let barriers = Dictionary(grouping: followed.flatMap(\.barriers), by: { $0 })
        cm.barriers = barriers.map { name, list in
            var b = Lv_Gateway_V1_BarrierCount()
            (b.barrier, b.count) = (name, UInt32(list.count))
            return b
        }.sorted { ($0.count, $1.barrier) > ($1.count, $0.barrier) }
        return cm
    }

    /// Practice (5) and patient (6) measures; each measure's level test, Holm within its level.
    static func practice(_ cohorts: Cohorts, thresholds th: Thresholds) -> [Lv_Gateway_V1_PracticeChange] {
        let all = cohorts.participantRecords() + cohorts.comparisonRecords()
        let codes = Set(all.flatMap { $0.outcomes.measures.map { "\($0.patientOutcome ? 1 : 0)\($0.measureCode)" } }).sorted()
        var out = codes.map { tagged -> Lv_Gateway_V1_PracticeChange in
            let code = String(tagged.dropFirst())
            var p = Lv_Gateway_V1_PracticeChange()
            p.measureCode = code
            p.patientOutcome = tagged.hasPrefix("1")
            func rates(_ rs: [PhysicianRecord]) -> [PrePost] { rs.compactMap { $0.measure(code) } }
            let t = rates(cohorts.participantRecords()), c = rates(cohorts.comparisonRecords())
            p.participantBaseline = estimate(Stats.mean(t.map(\.pre)), n: t.count)
            p.participantFollowUp = estimate(Stats.mean(t.map(\.post)), n: t.count)
            p.comparisonBaseline = estimate(Stats.mean(c.map(\.pre)), n: c.count)
            p.comparisonFollowUp = estimate(Stats.mean(c.map(\.post)), n: c.count)
            if let w = WelchTTest(t.map(\.change), c.map(\.change)) { p.differenceInDifferences = estimate(w.difference, n: w.nA + w.nB, ci: w.ci) }
            if let pt = PairedTTest(pre: t.map(\.pre), post: t.map(\.post)) { p.pairedT = testResult(pt) }
            let changes = cohorts.changes({ $0.measure(code) }, drift: { _ in nil })
            switch EvidenceEngine.test(code, participants: changes.participants, comparison: changes.comparison, thresholds: th,
                                       driftControl: false, scale: 100) {
            case .tested(let e): p.evidence = e
            case .notTested(let why): p.note = why
            }
            return p
        }
        for outcome in [false, true] {
            let indices = out.indices.filter { out[$0].patientOutcome == outcome && out[$0].evidence != nil }
            var family = indices.map { out[$0].evidence! }
            EvidenceEngine.holm(&family, alpha: th.alpha)
            for (k, i) in indices.enumerated() { out[i].evidence = family[k] }
        }
        return out
    }

    static func confidence(_ participants: [PhysicianRecord]) -> Lv_Gateway_V1_Confidence {
        func shares(_ phase: Lv_Assessment_V1_Phase) -> (misinformation: [Double], confidentRight: [Double]) {
            var mis: [Double] = [], conf: [Double] = []
            for r in participants where r.total != nil {
                guard let q = r.outcomes.quadrants.first(where: { $0.phase == phase && $0.followUpDays == 0 }) else { continue }
                let rated = q.mastery + q.doubt + q.uninformed + q.misinformation
                if rated > 0 { mis.append(Double(q.misinformation) / Double(rated)) }
                if q.mastery + q.doubt > 0 { conf.append(Double(q.mastery) / Double(q.mastery + q.doubt)) }
            }
            return (mis, conf)
        }
        var c = Lv_Gateway_V1_Confidence()
        let a = shares(.pre), b = shares(.post)
        c.misinformationPre = estimate(Stats.mean(a.misinformation), n: a.misinformation.count)
        c.misinformationPost = estimate(Stats.mean(b.misinformation), n: b.misinformation.count)
        c.confidentWhenRightPre = estimate(Stats.mean(a.confidentRight), n: a.confidentRight.count)
        c.confidentWhenRightPost = estimate(Stats.mean(b.confidentRight), n: b.confidentRight.count)
        return c
    }

    static func changeFunnel(_ participants: [PhysicianRecord]) -> Lv_Gateway_V1_ChangeFunnel {
        var f = Lv_Gateway_V1_ChangeFunnel()
        let committed = participants.filter { !$0.outcomes.commitments.isEmpty }
        let implemented = committed.filter(\.implementedCommitment)
        f.committed = UInt32(committed.count)
        f.implemented = UInt32(implemented.count)
        f.practiceImproved = UInt32(implemented.filter { $0.measureImproved() }.count)
        return f
    }

    /// Each step a subset of the one above.
    static func funnel(_ input: ActivityInputs, cohorts: Cohorts, calibration: VerdictCalibration, outcomesRead: Bool) -> Lv_Gateway_V1_Funnel {
        var f = Lv_Gateway_V1_Funnel()
        let credited = Set((input.credits ?? []).filter { $0.credits > 0 }.map(\.npi))
        let attended = cohorts.participants.filter { (input.attendance?[$0] ?? 0) > 0 }
        let withCredit = attended.filter(credited.contains)
        f.registered = UInt32(cohorts.participants.count)
        f.attended = UInt32(attended.count)
        f.credited = UInt32(withCredit.count)
        guard outcomesRead else { return f }
        let assessed = withCredit.compactMap { cohorts.records[$0] }.filter { $0.total != nil }
        let reliable = assessed.filter { calibration.classify($0).0 == .reliableImprovement }
        let retained = reliable.filter { r in
            let t = r.total!
            return r.followUps.values.contains { atLeast(2 * ($0.total - t.pre), t.change) }
        }
        var steps = Lv_Gateway_V1_AssessedSteps()
        steps.prePostAssessed = UInt32(assessed.count)
        steps.reliableGain = UInt32(reliable.count)
        steps.retained = UInt32(retained.count)
        f.assessed = steps
        return f
    }

    /// Credited participants and their credits by verdict — never lumped into one number.
    static func gap(_ input: ActivityInputs, cohorts: Cohorts, calibration: VerdictCalibration) -> Lv_Gateway_V1_ValidationGap {
        var g = Lv_Gateway_V1_ValidationGap()
        let participants = Set(cohorts.participants)
        var rows = Dictionary(uniqueKeysWithValues: LearningVerdict.ordered.map { v -> (LearningVerdict, Lv_Gateway_V1_VerdictCount) in
            var c = Lv_Gateway_V1_VerdictCount()
            c.verdict = v
            return (v, c)
        })
        var byPhysician: [String: Double] = [:]
        for claim in input.credits ?? [] where participants.contains(claim.npi) && claim.credits > 0 {
            byPhysician[claim.npi, default: 0] += claim.credits
        }
        for (npi, credits) in byPhysician.sorted(by: { $0.key < $1.key }) {
            let record = cohorts.records[npi]
            let (verdict, _) = calibration.classify(record)
            g.creditedPhysicians += 1
            g.credits += credits
            rows[verdict]!.physicians += 1
            rows[verdict]!.credits += credits
            if individualLevelAboveKnowledge(record, mastery: calibration.mastery) != nil { rows[verdict]!.withIndividualEvidence += 1 }
        }
        g.byVerdict = LearningVerdict.ordered.map { v in
            var row = rows[v]!
            if g.creditedPhysicians > 0 { row.shareOfCredited = estimate(Double(row.physicians) / Double(g.creditedPhysicians), n: Int(g.creditedPhysicians)) }
            return row
        }
        g.reliability = calibration.reliabilityUsed
        return g
    }

    // MARK: transcripts

    /// A transcript entry's outcome fields for one physician, from the whole activity's outcomes
    /// (the verdict's calibration uses every assessed physician, as the activity view does).
    public static func fillTranscript(_ e: inout Lv_Gateway_V1_TranscriptEntry, npi: String, outcomes: [Outcomes], thresholds th: Thresholds) {
        let records = outcomes.map(PhysicianRecord.init)
        let calibration = VerdictCalibration(records: records, thresholds: th)
        let record = records.first { $0.npi == npi }
        let (verdict, rci) = calibration.classify(record)
        e.verdict = verdict
        if let rci, rci.isFinite { e.reliableChangeIndex = estimate(rci, n: 1) }
        if let r = record {
            e.pre = r.pre.flatMap { estimate(100 * $0.total, n: 1) }
            e.post = r.post.flatMap { estimate(100 * $0.total, n: 1) }
            e.gain = r.total.flatMap { estimate(100 * $0.change, n: 1) }
            e.followUp = r.followUps.max { $0.key < $1.key }.flatMap { estimate(100 * $0.value.total, n: 1) }
            e.commitments = UInt32(r.outcomes.commitments.count)
            e.implemented = UInt32(r.outcomes.commitments.filter(isImplemented).count)
            e.measures = UInt32(r.outcomes.measures.count)
            e.measuresImproved = UInt32(r.outcomes.measures.filter { r.measure($0.measureCode).map { $0.change > shareTolerance } == true }.count)
        }
        e.highestLevel = individualLevel(record, verdict: verdict, minutes: Int(e.minutesAttended), mastery: th.mastery)?.rawValue ?? ""
    }
}
