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
    public var degraded: [Lv_Gateway_V1_SectionStatus] = []

    public init(activityID: String) { self.activityID = activityID }
}

func estimate(_ value: Double?, n: Int) -> Estimate? {
    guard let value, value.isFinite, n > 0 else { return nil }
    var e = Estimate()
    e.value = value
    e.n = UInt32(n)
    return e
}

func test(_ statistic: Double, df: Double, p: Double, n: Int) -> Lv_Gateway_V1_Test {
    var t = Lv_Gateway_V1_Test()
    (t.statistic, t.df, t.p, t.n) = (statistic, df, p, UInt32(n))
    return t
}

extension Thresholds {
    /// The thresholds with defaults for zero fields: alpha 0.05, mastery 0.7, minimum n 10.
    public var resolved: Thresholds {
        var t = self
        if t.alpha <= 0 || t.alpha >= 1 { t.alpha = 0.05 }
        if t.mastery <= 0 || t.mastery > 1 { t.mastery = 0.7 }
        if t.minimumN == 0 { t.minimumN = 10 }
        return t
    }
}

/// One physician's results, read from their submissions.
struct PhysicianScores {
    var pre: Submission?
    var post: Submission?
    var followUps: [UInt32: Submission] = [:]
    var vignettePre: Submission?
    var vignettePost: Submission?
    var satisfaction: Double?

    init(_ o: Outcomes) {
        for s in o.submissions {
            switch (s.kind, s.phase) {
            case (.preTest, _): pre = pre ?? s
            case (.postTest, _): post = post ?? s
            case (.followUp, _): followUps[s.followUpDays] = followUps[s.followUpDays] ?? s
            case (.caseVignette, .pre): vignettePre = vignettePre ?? s
            case (.caseVignette, .post): vignettePost = vignettePost ?? s
            case (.evaluation, _): satisfaction = s.satisfaction
            default: break
            }
        }
    }

    /// Knowledge gain in percentage points, when both tests were taken.
    var gain: Double? { pre.flatMap { p in post.map { 100 * ($0.total - p.total) } } }
}

/// Builds the learning-validation view of one activity from what the backends returned.
/// Plain computation: every number comes from `LVStatistics`, every threshold from `thresholds`.
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

        let active = (input.enrollments ?? []).filter { $0.withdrawnMs == 0 }
        let participants = Set(active.filter { $0.cohort == .participant }.map(\.npi))
        let comparison = Set(active.filter { $0.cohort == .comparison }.map(\.npi))
        let outcomes = Dictionary((input.outcomes ?? []).map { ($0.npi, $0) }, uniquingKeysWith: { a, _ in a })
        let scores = outcomes.mapValues(PhysicianScores.init)
        // Without registration, every physician with outcomes counts as a participant.
        let cohort = input.enrollments == nil ? Set(outcomes.keys) : participants
        let engagement = Dictionary((input.engagement ?? []).map { ($0.npi, $0) }, uniquingKeysWith: { a, _ in a })

        // Knowledge (3A/3B): participants with both a pre- and a post-test.
        let paired = cohort.sorted().compactMap { npi -> (String, Submission, Submission)? in
            guard let s = scores[npi], let pre = s.pre, let post = s.post else { return nil }
            return (npi, pre, post)
        }
        let prePct = paired.map { 100 * $0.1.total }
        let postPct = paired.map { 100 * $0.2.total }
        var k = Lv_Gateway_V1_Knowledge()
        if let e = estimate(Stats.mean(prePct), n: prePct.count) { k.meanPre = e }
        if let e = estimate(Stats.mean(postPct), n: postPct.count) { k.meanPost = e }
        let t = paired.count >= 2 ? PairedTTest(pre: prePct, post: postPct) : nil
        if let t {
            k.meanDifference = estimate(t.meanDifference, n: t.n)!
            k.pairedT = test(t.t, df: Double(t.df), p: t.p, n: t.n)
            k.dZ = estimate(t.dz, n: t.n)!
            if let dav = estimate(t.dav, n: t.n) { k.dAv = dav }
        } else if let d = estimate(Stats.mean(zip(postPct, prePct).map { $0 - $1 }), n: paired.count) {
            k.meanDifference = d
        }
        if let mp = Stats.mean(prePct), let mq = Stats.mean(postPct), let g = estimate(HakeGain.classGain(meanPre: mp, meanPost: mq), n: paired.count) {
            k.hakeClass = g
        }
        if let g = HakeGain.meanIndividualGain(pre: prePct, post: postPct), let e = estimate(g.gain, n: g.n) { k.hakeIndividual = e }
        if input.outcomes != nil { v.knowledge = k }

        // Item and objective change (McNemar), participants' pre→post pairs.
        let pairs = cohort.sorted().flatMap { outcomes[$0]?.itemPairs ?? [] }.filter { $0.fromPhase == .pre && $0.toPhase == .post }
        v.items = mcnemar(groups: Dictionary(grouping: pairs, by: \.itemId), id: { $0 })
        v.objectives = mcnemar(groups: Dictionary(grouping: pairs, by: { $0.control ? "control" : $0.objectiveId }), id: { $0 })

        // Attribution: drift on control items, and the comparison cohort.
        var attribution = Lv_Gateway_V1_Attribution()
        let gains = paired.map { $0.2.total - $0.1.total }
        let drifts = paired.filter { $0.1.hasControl && $0.2.hasControl }.map { $0.2.control - $0.1.control }
        if let e = estimate(Stats.mean(gains), n: gains.count) { attribution.objectiveGain = e }
        if let e = estimate(Stats.mean(drifts), n: drifts.count) { attribution.controlDrift = e }
        if let g = Stats.mean(gains), let d = Stats.mean(drifts), let e = estimate(g - d, n: min(gains.count, drifts.count)) {
            attribution.driftCorrectedGain = e
        }
        let comparisonPaired = comparison.sorted().compactMap { npi -> (Double, Double)? in
            guard let s = scores[npi], let pre = s.pre, let post = s.post else { return nil }
            return (100 * pre.total, 100 * post.total)
        }
        attribution.comparisonN = UInt32(comparisonPaired.count)
        if let sdT = Stats.sd(prePct), let sdC = Stats.sd(comparisonPaired.map(\.0)),
           let d = Morris.dppc2(nT: prePct.count, nC: comparisonPaired.count, preT: Stats.mean(prePct)!, postT: Stats.mean(postPct)!,
                                preC: Stats.mean(comparisonPaired.map(\.0))!, postC: Stats.mean(comparisonPaired.map(\.1))!,
                                sdPreT: sdT, sdPreC: sdC),
           let e = estimate(d, n: prePct.count + comparisonPaired.count) {
            attribution.dPpc2 = e
        }
        if input.outcomes != nil { v.attribution = attribution }

        // Retention per follow-up delay.
        let delays = Set(cohort.flatMap { scores[$0]?.followUps.keys.map { $0 } ?? [] }).sorted()
        v.retention = delays.map { days in
            var r = Lv_Gateway_V1_RetentionAtDelay()
            r.followUpDays = days
            let triples = cohort.sorted().compactMap { npi -> (Double, Double, Double)? in
                guard let s = scores[npi], let pre = s.pre, let post = s.post, let f = s.followUps[days] else { return nil }
                return (100 * pre.total, 100 * post.total, 100 * f.total)
            }
            let (a, b, c) = (triples.map(\.0), triples.map(\.1), triples.map(\.2))
            if let e = estimate(Stats.mean(a), n: a.count) { r.meanPre = e }
            if let e = estimate(Stats.mean(b), n: b.count) { r.meanPost = e }
            if let e = estimate(Stats.mean(c), n: c.count) { r.meanFollowUp = e }
            if let ma = Stats.mean(a), let mb = Stats.mean(b), let mc = Stats.mean(c),
               let e = estimate(Retention.ratio(pre: ma, post: mb, followUp: mc), n: triples.count) { r.retention = e }
            if let t = PairedTTest(pre: b, post: c) { r.postToFollowUp = test(t.t, df: Double(t.df), p: t.p, n: t.n) }
            return r
        }

        // Competence (4): vignettes.
        var competence = Lv_Gateway_V1_Competence()
        let vignettes = cohort.sorted().compactMap { npi -> (Double, Double)? in
            guard let s = scores[npi], let a = s.vignettePre, let b = s.vignettePost else { return nil }
            return (100 * a.total, 100 * b.total)
        }
        if let e = estimate(Stats.mean(vignettes.map(\.0)), n: vignettes.count) { competence.vignettePre = e }
        if let e = estimate(Stats.mean(vignettes.map(\.1)), n: vignettes.count) { competence.vignettePost = e }
        let vignetteT = PairedTTest(pre: vignettes.map(\.0), post: vignettes.map(\.1))
        if let t = vignetteT { competence.pairedT = test(t.t, df: Double(t.df), p: t.p, n: t.n) }
        let comparisonVignette = comparison.compactMap { scores[$0]?.vignettePost.map { 100 * $0.total } }
        if let e = estimate(Stats.mean(comparisonVignette), n: comparisonVignette.count) { competence.comparisonPost = e }
        if input.outcomes != nil { v.competence = competence }

        // Commitments to change.
        var cm = Lv_Gateway_V1_Commitments()
        let commitments = cohort.flatMap { outcomes[$0]?.commitments ?? [] }
        cm.commitments = UInt32(commitments.count)
        let committedPhysicians = Set(commitments.map(\.npi))
        if let e = estimate(Double(committedPhysicians.count) / Double(max(cohort.count, 1)), n: cohort.count) { cm.commitmentRate = e }
        let followed = commitments.compactMap(\.followUp)
        if let e = estimate(Double(followed.count) / Double(max(commitments.count, 1)), n: commitments.count) { cm.followUpRate = e }
        cm.fully = UInt32(followed.filter { $0.implementation == .fully }.count)
        cm.partially = UInt32(followed.filter { $0.implementation == .partially }.count)
        cm.notImplemented = UInt32(followed.filter { $0.implementation == .not }.count)
        if let e = estimate(Double(cm.fully + cm.partially) / Double(max(followed.count, 1)), n: followed.count) { cm.implementationRate = e }
        let barriers = Dictionary(grouping: followed.flatMap(\.barriers), by: { $0 })
        cm.barriers = barriers.map { name, list in
            var b = Lv_Gateway_V1_BarrierCount()
            (b.barrier, b.count) = (name, UInt32(list.count))
            return b
        }.sorted { ($0.count, $1.barrier) > ($1.count, $0.barrier) }
        if input.outcomes != nil { v.commitments = cm }

        // Practice (5) and patient (6) measures.
        v.practice = practiceChanges(cohort: cohort, comparison: comparison, outcomes: outcomes)

        // Engagement vs learning.
        let ranked = paired.compactMap { npi, pre, post -> (Double, Double)? in
            guard let e = engagement[npi] else { return nil }
            return (e.engagementIndex, 100 * (post.total - pre.total))
        }
        var evl = Lv_Gateway_V1_EngagementVsLearning()
        if let s = Spearman(ranked.map(\.0), ranked.map(\.1)) {
            evl.rho = estimate(s.rho, n: s.n)!
            evl.p = s.p
        }
        if input.engagement != nil && input.outcomes != nil { v.engagementVsLearning = evl }
        let indices = cohort.compactMap { engagement[$0]?.engagementIndex }
        if let e = estimate(Stats.mean(indices), n: indices.count) { v.meanEngagementIndex = e }

        // Funnel.
        var f = Lv_Gateway_V1_Funnel()
        let credits = (input.credits ?? []).filter { cohort.contains($0.npi) || input.enrollments == nil }
        f.registered = UInt32(participants.count)
        f.attended = UInt32((input.attendance ?? [:]).filter { cohort.contains($0.key) && $0.value > 0 }.count)
        f.credited = UInt32(Set(credits.map(\.npi)).count)
        f.engaged = UInt32(cohort.filter { (engagement[$0]?.events ?? 0) > 0 }.count)
        f.prePostAssessed = UInt32(paired.count)
        f.knowledgeGain = UInt32(paired.filter { $0.2.total > $0.1.total }.count)
        f.retained = UInt32(cohort.filter { npi in
            guard let s = scores[npi], let pre = s.pre, let post = s.post, post.total > pre.total else { return false }
            return s.followUps.values.contains { Retention.ratio(pre: pre.total, post: post.total, followUp: $0.total) ?? 0 >= 0.5 }
        }.count)
        f.committed = UInt32(committedPhysicians.count)
        f.implemented = UInt32(Set(commitments.filter(isImplemented).map(\.npi)).count)
        f.practiceImproved = UInt32(cohort.filter { npi in (outcomes[npi]?.measures ?? []).contains(where: improved) }.count)
        v.funnel = f

        v.levels = MooreLevels.judge(v, thresholds: th, scores: scores, cohort: cohort, inputs: input, pairs: pairs)
        v.highestLevel = v.levels.last(where: \.evidenced)?.level ?? ""
        v.gap = gap(credits: credits, scores: scores, outcomes: outcomes, mastery: th.mastery)
        return v
    }

    /// True when a physician's follow-up rate for a measure is above their baseline rate.
    static func improved(_ m: Lv_Assessment_V1_MeasureRate) -> Bool {
        guard m.baselineDenominator > 0, m.followUpDenominator > 0 else { return false }
        return Double(m.followUpNumerator) / Double(m.followUpDenominator) > Double(m.baselineNumerator) / Double(m.baselineDenominator)
    }

    static func mcnemar(groups: [String: [Lv_Assessment_V1_ItemPair]], id: (String) -> String) -> [Lv_Gateway_V1_McNemarTest] {
        var tests = groups.keys.sorted().compactMap { key -> Lv_Gateway_V1_McNemarTest? in
            let list = groups[key]!
            var t = Lv_Gateway_V1_McNemarTest()
            t.id = id(key)
            t.objectiveId = list.first!.objectiveId
            t.control = list.first!.control
            t.procedural = list.allSatisfy(\.procedural)
            t.b = UInt32(list.filter { $0.beforeCorrect && !$0.afterCorrect }.count)
            t.c = UInt32(list.filter { !$0.beforeCorrect && $0.afterCorrect }.count)
            t.n = UInt32(list.count)
            if let m = McNemar(b: Int(t.b), c: Int(t.c)) {
                (t.chiSquare, t.p, t.exact) = (m.chiSquare, m.p, m.usesExact)
            } else {
                t.p = 1 // no discordant pairs: no evidence of change
            }
            return t
        }
        let adjusted = MultipleComparisons.holm(tests.map(\.p))
        for i in tests.indices { tests[i].pHolm = adjusted[i] }
        return tests
    }

    static func practiceChanges(cohort: Set<String>, comparison: Set<String>, outcomes: [String: Outcomes]) -> [Lv_Gateway_V1_PracticeChange] {
        func rates(_ group: Set<String>, _ code: String) -> [(Double?, Double?)] {
            group.sorted().compactMap { npi in
                guard let m = outcomes[npi]?.measures.first(where: { $0.measureCode == code }) else { return nil }
                let base = m.baselineDenominator > 0 ? Double(m.baselineNumerator) / Double(m.baselineDenominator) : nil
                let follow = m.followUpDenominator > 0 ? Double(m.followUpNumerator) / Double(m.followUpDenominator) : nil
                return (base, follow)
            }
        }
        let codes = Set(outcomes.values.flatMap { $0.measures.map { "\($0.patientOutcome ? 1 : 0)\($0.measureCode)" } }).sorted()
        return codes.map { tagged in
            let code = String(tagged.dropFirst())
            var p = Lv_Gateway_V1_PracticeChange()
            p.measureCode = code
            p.patientOutcome = tagged.hasPrefix("1")
            let t = rates(cohort, code)
            let c = rates(comparison, code)
            let tb = t.compactMap(\.0), tf = t.compactMap(\.1), cb = c.compactMap(\.0), cf = c.compactMap(\.1)
            if let e = estimate(Stats.mean(tb), n: tb.count) { p.participantBaseline = e }
            if let e = estimate(Stats.mean(tf), n: tf.count) { p.participantFollowUp = e }
            if let e = estimate(Stats.mean(cb), n: cb.count) { p.comparisonBaseline = e }
            if let e = estimate(Stats.mean(cf), n: cf.count) { p.comparisonFollowUp = e }
            if let a = Stats.mean(tb), let b = Stats.mean(tf), let x = Stats.mean(cb), let y = Stats.mean(cf),
               let e = estimate((b - a) - (y - x), n: tb.count + cb.count) {
                p.differenceInDifferences = e
            }
            let both = t.compactMap { b, f in b.flatMap { b in f.map { (b, $0) } } }
            if let change = PairedTTest(pre: both.map(\.0), post: both.map(\.1)) {
                p.pairedT = test(change)
            }
            return p
        }
    }

    /// Credited physicians with no evidence of learning at Moore 3 or above (see `hasEvidence`).
    static func gap(credits: [Lv_Registration_V1_CreditClaim], scores: [String: PhysicianScores], outcomes: [String: Outcomes],
                    mastery: Double) -> Lv_Gateway_V1_ValidationGap {
        var g = Lv_Gateway_V1_ValidationGap()
        for claim in credits {
            g.creditedPhysicians += 1
            g.credits += claim.credits
            if !hasEvidence(claim.npi, scores: scores, outcomes: outcomes, mastery: mastery) {
                g.creditedWithoutEvidence += 1
                g.creditsWithoutEvidence += claim.credits
            }
        }
        if let e = estimate(Double(g.creditedWithoutEvidence) / Double(max(g.creditedPhysicians, 1)), n: Int(g.creditedPhysicians)) {
            g.shareOfPhysicians = e
        }
        if g.credits > 0, let e = estimate(g.creditsWithoutEvidence / g.credits, n: Int(g.creditedPhysicians)) { g.shareOfCredits = e }
        return g
    }

    /// One physician's evidence of learning at Moore 3 or above.
    static func hasEvidence(_ npi: String, scores: [String: PhysicianScores], outcomes: [String: Outcomes], mastery: Double) -> Bool {
        guard let level = individualLevel(scores[npi], outcomes[npi], minutes: 0, mastery: mastery) else { return false }
        return level >= "3"
    }

    /// The highest Moore level one physician's own data shows. A single noisy signal is not enough,
    /// so each level above 2 needs a change and an outcome that stands on its own:
    /// - 1: attended; 2: rated the activity at least 60 % of the scale;
    /// - 3A: the post-test is above the pre-test **and** at or above `mastery`;
    /// - 4: the vignette score rose **and** reached `mastery`;
    /// - 5 (6 for patient-outcome measures): a commitment was implemented (fully or partially)
    ///   **and** a practice measure rate rose from baseline.
    /// Levels are compared as strings: "1" < "2" < "3A" < "3B" < "4" < "5" < "6".
    static func individualLevel(_ s: PhysicianScores?, _ o: Outcomes?, minutes: Int, mastery: Double) -> String? {
        var level: String?
        if minutes > 0 { level = "1" }
        if (s?.satisfaction ?? 0) >= 0.6 { level = "2" }
        if let pre = s?.pre, let post = s?.post, post.total > pre.total, post.total >= mastery { level = "3A" }
        if let a = s?.vignettePre, let b = s?.vignettePost, b.total > a.total, b.total >= mastery { level = "4" }
        if (o?.commitments ?? []).contains(where: isImplemented) {
            let measures = o?.measures ?? []
            if measures.contains(where: { !$0.patientOutcome && improved($0) }) { level = "5" }
            if measures.contains(where: { $0.patientOutcome && improved($0) }) { level = "6" }
        }
        return level
    }
}

/// Followed up as implemented fully or partially.
func isImplemented(_ c: Lv_Assessment_V1_Commitment) -> Bool {
    c.followUp?.implementation == .fully || c.followUp?.implementation == .partially
}

func test(_ t: PairedTTest) -> Lv_Gateway_V1_Test {
    test(t.t, df: Double(t.df), p: t.p, n: t.n)
}
