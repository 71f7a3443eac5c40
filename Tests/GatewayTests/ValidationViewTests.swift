import Gateway
import GatewayDomain
import LVAPI
import LVMessages
import LVStatistics
import Testing

/// A hand-made physician: counts of items right before and after on each subscale (the first k
/// items right), so every expected value below can be worked out by hand or with scipy.
struct Doc {
    var npi: String
    var cohort: Lv_Registration_V1_Cohort = .participant
    /// Declarative items right of 10, before and after.
    var declarative: (Int, Int)?
    /// Control items right of 4.
    var control: (Int, Int)?
    /// Procedural items right of 4.
    var procedural: (Int, Int)?
    var vignette: (Double, Double)?
    var evaluation: Double?
    var measures: [Lv_Assessment_V1_MeasureRate] = []
    var credits = 1.0
    var minutes = 60

    init(_ npi: String, _ cohort: Lv_Registration_V1_Cohort = .participant, declarative: (Int, Int)? = nil, control: (Int, Int)? = nil) {
        (self.npi, self.cohort, self.declarative, self.control) = (npi, cohort, declarative, control)
    }

    var outcomes: Outcomes {
        var o = Outcomes()
        o.npi = npi
        func pairs(_ prefix: String, _ counts: (Int, Int)?, of n: Int, control: Bool = false, procedural: Bool = false) -> [Lv_Assessment_V1_ItemPair] {
            guard let (a, b) = counts else { return [] }
            return (0..<n).map { i in
                var p = Lv_Assessment_V1_ItemPair()
                (p.itemId, p.objectiveId, p.control, p.procedural) = ("\(prefix)\(i)", control ? "" : "obj-a", control, procedural)
                (p.fromPhase, p.toPhase, p.beforeCorrect, p.afterCorrect) = (.pre, .post, i < a, i < b)
                return p
            }
        }
        if let d = declarative {
            func test(_ kind: Lv_Assessment_V1_InstrumentKind, _ phase: Lv_Assessment_V1_Phase, _ k: Int, _ c: Int?, _ proc: Int?) -> Submission {
                var s = Submission()
                (s.kind, s.phase) = (kind, phase)
                let items = 10 + (proc == nil ? 0 : 4)
                s.total = Double(k + (proc ?? 0)) / Double(items)
                var objective = Lv_Assessment_V1_ObjectiveScore()
                (objective.objectiveId, objective.score, objective.items) = ("obj-a", s.total, UInt32(items))
                s.objectives = [objective]
                if let c { (s.control, s.hasControl) = (Double(c) / 4, true) }
                return s
            }
            o.submissions = [test(.preTest, .pre, d.0, control?.0, procedural?.0), test(.postTest, .post, d.1, control?.1, procedural?.1)]
        }
        o.itemPairs = pairs("d", declarative, of: 10) + pairs("c", control, of: 4, control: true) + pairs("p", procedural, of: 4, procedural: true)
        if let (a, b) = vignette {
            for (phase, total) in [(Lv_Assessment_V1_Phase.pre, a), (.post, b)] {
                var s = Submission()
                (s.kind, s.phase, s.total) = (.caseVignette, phase, total)
                o.submissions.append(s)
            }
        }
        if let e = evaluation {
            var s = Submission()
            (s.kind, s.phase, s.satisfaction) = (.evaluation, .post, e)
            o.submissions.append(s)
        }
        o.measures = measures
        return o
    }
}

func measure(_ code: String, patient: Bool = false, _ base: (UInt32, UInt32), _ follow: (UInt32, UInt32)) -> Lv_Assessment_V1_MeasureRate {
    var m = Lv_Assessment_V1_MeasureRate()
    (m.measureCode, m.patientOutcome) = (code, patient)
    (m.baselineNumerator, m.baselineDenominator, m.followUpNumerator, m.followUpDenominator) = (base.0, base.1, follow.0, follow.1)
    return m
}

func inputs(_ docs: [Doc], engagement: [Lv_Engagement_V1_PhysicianEngagement] = []) -> ActivityInputs {
    var input = ActivityInputs(activityID: "a")
    input.enrollments = docs.map { d in
        var e = Lv_Registration_V1_Enrollment()
        (e.npi, e.cohort) = (d.npi, d.cohort)
        return e
    }
    input.attendance = Dictionary(uniqueKeysWithValues: docs.filter { $0.cohort == .participant }.map { ($0.npi, $0.minutes) })
    input.credits = docs.filter { $0.cohort == .participant && $0.credits > 0 }.map { d in
        var c = Lv_Registration_V1_CreditClaim()
        (c.npi, c.credits) = (d.npi, d.credits)
        return c
    }
    input.engagement = engagement
    input.outcomes = docs.map(\.outcomes)
    return input
}

func view(_ docs: [Doc], _ th: Thresholds = Thresholds()) -> ActivityValidation {
    ValidationView.build(inputs(docs), thresholds: th, now: 0)
}

func level(_ v: ActivityValidation, _ id: String) -> Lv_Gateway_V1_MooreLevel { v.levels.first { $0.level == id }! }

func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { a.map { abs($0 - b) <= tolerance * max(1, abs(b)) } ?? false }

// Cohort A: declarative items right of 10, before → after; control items of 4 unchanged (2 → 2).
let participantCounts = [(3, 7), (4, 8), (5, 6), (2, 6), (6, 9), (4, 7), (3, 5), (5, 8), (4, 6), (3, 7)]
let comparisonCounts = [(4, 5), (3, 3), (5, 6), (4, 4), (2, 3), (6, 6), (3, 4), (4, 5), (5, 5), (4, 5)]
// Control items right of 4 for the participants, for the drift-corrected design.
let participantControl = [(2, 3), (2, 2), (1, 2), (2, 2), (3, 3), (2, 3), (1, 2), (2, 2), (2, 3), (2, 2)]

func cohortA(comparison: Int = 10, control: Bool = true) -> [Doc] {
    participantCounts.enumerated().map { i, c in Doc("p\(i)", declarative: c, control: control ? participantControl[i] : nil) }
        + comparisonCounts.prefix(comparison).enumerated().map { i, c in Doc("c\(i)", .comparison, declarative: c, control: control ? (2, 2) : nil) }
}

@Suite("the validation view: levels from hand-made cohorts")
struct ValidationViewTests {
    @Test("3A with a comparison cohort: Welch t on change scores, as scipy computes it")
    func comparisonDesign() throws {
        let v = view(cohortA())
        let l = level(v, "3A")
        let e = try #require(l.evidence.first)
        // scipy.stats.ttest_ind(p, c, equal_var=False, alternative='greater') on the changes in points:
        // p = [40,40,10,40,30,30,20,30,20,40], c = [10,0,10,0,10,0,10,10,0,10].
        #expect(e.design == .comparisonCohort)
        #expect(close(e.effect?.value, 24))
        #expect(close(e.test?.statistic, 6.465790872963896, 1e-9))
        #expect(close(e.test?.df, 13.084720121028747, 1e-9))
        #expect(close(e.test?.pOneSided, 1.0245973690472494e-05, 1e-6))
        #expect(close(e.effect?.ci?.lower, 15.986325611866096, 1e-7) && close(e.effect?.ci?.upper, 32.01367438813391, 1e-7))
        #expect(e.participants == 10 && e.comparison == 10)
        #expect(l.evidenced)
        #expect(l.reason.contains("vs 10 comparison"))
    }

    @Test("3A without a comparison cohort of minimum n: each physician's change minus their control drift")
    func driftCorrectedDesign() throws {
        let v = view(cohortA(comparison: 9))
        let e = try #require(level(v, "3A").evidence.first)
        // scipy.stats.ttest_1samp([15,40,-15,40,30,5,-5,30,-5,40], 0, alternative='greater')
        #expect(e.design == .driftCorrected)
        #expect(close(e.effect?.value, 17.5))
        #expect(close(e.test?.statistic, 2.6047294263733773, 1e-9))
        #expect(close(e.test?.pOneSided, 0.014258089375095468, 1e-6))
        #expect(close(e.effect?.ci?.lower, 2.301588238634256, 1e-7))
        #expect(level(v, "3A").evidenced)
        #expect(level(v, "3A").reason.contains("weaker design"))
        // A stricter alpha than the one-sided p: not evidenced, and says why.
        var strict = Thresholds()
        strict.alpha = 0.01
        #expect(!level(view(cohortA(comparison: 9), strict), "3A").evidenced)
        #expect(level(view(cohortA(comparison: 9), strict), "3A").reason.contains("not beyond chance"))
    }

    @Test("no comparison cohort and no control items: an uncontrolled pre→post change claims nothing")
    func noControlNoClaim() {
        let l = level(view(cohortA(comparison: 0, control: false)), "3A")
        #expect(!l.evidenced && l.evidence.isEmpty)
        #expect(l.reason.contains("no control for retest drift"))
    }

    @Test("minimum n counts physicians, for every level", arguments: ["1", "3A", "4"])
    func minimumN(_ id: String) {
        var docs = Array(cohortA().prefix(9)) + cohortA().suffix(10)
        for i in docs.indices { docs[i].vignette = (0.2, 0.8) }
        let l = level(view(docs), id)
        #expect(!l.evidenced)
        #expect(l.reason.contains("n = 9") && l.reason.contains("below the minimum of 10"), "\(l.reason)")
    }

    @Test("no item pairs at all: 3A and 3B are not tested (missing items never count as agreeing)")
    func noPairs() {
        var docs = cohortA()
        let stripped = docs.map { d -> Doc in var d = d; d.control = nil; return d }
        docs = stripped
        var input = inputs(docs)
        input.outcomes = input.outcomes!.map { o in var o = o; o.itemPairs = []; return o }
        let v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        #expect(!level(v, "3A").evidenced && level(v, "3A").reason.contains("n = 0"))
        #expect(!level(v, "3B").evidenced && level(v, "3B").reason.contains("n = 0"))
    }

    @Test("3B uses the procedural items only")
    func procedural() {
        var docs = cohortA()
        // Procedural items (of 4): participants 1 → 3, comparison 2 → 2 except one each way.
        for i in docs.indices { docs[i].procedural = docs[i].cohort == .participant ? (1, i % 3 == 0 ? 2 : 3) : (2, i % 4 == 0 ? 3 : 2) }
        let l = level(view(docs), "3B")
        #expect(l.evidenced)
        #expect(l.evidence.first?.measure == "procedural items")
        // Participants' changes (×25 points): 25 for i % 3 == 0 (i = 0, 3, 6, 9), else 50 → mean 40; comparison: 25 at i = 12, 16 → 5.
        #expect(close(l.evidence.first?.effect?.value, 40 - 5))
    }

    @Test("level 2 uses the evaluation instrument when one was submitted, even when session ratings look better")
    func satisfactionSource() {
        var docs = cohortA()
        for i in 0..<5 { docs[i].evaluation = 0 }
        var input = inputs(docs)
        input.engagement = (0..<10).map { i in
            var e = Lv_Engagement_V1_PhysicianEngagement()
            (e.npi, e.ratingCount, e.meanRating) = ("p\(i)", 1, 5)
            return e
        }
        let l = level(ValidationView.build(input, thresholds: Thresholds(), now: 0), "2")
        #expect(!l.evidenced)
        #expect(l.reason.contains("evaluation instrument") && l.reason.contains("n = 5"), "\(l.reason)")
        // Without any evaluation, the session ratings are used and say so.
        input.outcomes = inputs(cohortA()).outcomes
        let ratings = level(ValidationView.build(input, thresholds: Thresholds(), now: 0), "2")
        #expect(ratings.reason.contains("session ratings"))
    }

    @Test("level 2: evaluations above the 60 % bar by a one-sided t (scipy ttest_1samp vs 0.6)")
    func satisfactionBar() throws {
        var docs = cohortA()
        let scores = [0.75, 0.5, 1.0, 0.75, 0.75, 1.0, 0.5, 0.75, 1.0, 0.75]
        for i in 0..<10 { docs[i].evaluation = scores[i] }
        let l = level(view(docs), "2")
        let e = try #require(l.evidence.first)
        // scipy.stats.ttest_1samp(scores, 0.6, alternative='greater') → t = 3.000000000000001, p = 0.007478181955207087
        #expect(close(e.test?.statistic, 3.000000000000001, 1e-9))
        #expect(close(e.test?.pOneSided, 0.007478181955207087, 1e-6))
        #expect(l.evidenced)
    }

    @Test("levels 5 and 6: practice against the comparison cohort only; 6 from patient-outcome measures only")
    func practiceLevels() throws {
        var docs = cohortA()
        for i in docs.indices {
            let participant = docs[i].cohort == .participant
            // Participants' process rate 10/30 → 20/30 (+33.3 points), comparison 10/30 → 12/30 (+6.7), with a little spread.
            let up = UInt32(participant ? 20 + i % 3 : 12 + i % 2)
            docs[i].measures = [measure("PROC", (10, 30), (up, 30)), measure("OUT", patient: true, (20, 30), (20 + UInt32(i % 2), 30))]
        }
        let v = view(docs)
        #expect(level(v, "5").evidenced)
        #expect(level(v, "5").reason.hasPrefix("PROC"))
        #expect(!level(v, "6").evidenced, "the process measure must not evidence level 6")
        // Without the comparison cohort no practice claim is made: a secular trend cannot be ruled out.
        let alone = view(docs.filter { $0.cohort == .participant })
        #expect(!level(alone, "5").evidenced)
        #expect(level(alone, "5").reason.contains("secular trend"))
        let proc = try #require(v.practice.first { $0.measureCode == "PROC" })
        #expect(proc.evidence?.adjusted?.familySize == 1)
        #expect(proc.evidence?.design == .comparisonCohort)
    }

    @Test("level 4 on vignettes against the comparison cohort's change")
    func competence() {
        var docs = cohortA()
        for i in docs.indices {
            docs[i].vignette = docs[i].cohort == .participant ? (0.4, [0.8, 0.6, 1.0][i % 3]) : (0.4, [0.4, 0.6][i % 2])
        }
        #expect(level(view(docs), "4").evidenced)
        for i in docs.indices { docs[i].vignette = (0.4, [0.4, 0.6][i % 2]) }
        #expect(!level(view(docs), "4").evidenced)
    }

    @Test("the gap: credited participants by verdict, with KR-20 and the reliable change index worked out with numpy")
    func gapByVerdict() throws {
        // Pre → post of 10 items: KR-20 0.7960199, SD of pre 0.1911687, SE_diff 0.1221028.
        let counts = [(3, 8), (4, 8), (5, 6), (2, 6), (6, 2), (4, 7), (3, 5), (9, 9), (4, 4), (3, 7), (5, 5)]
        var docs = counts.enumerated().map { i, c in Doc("a\(i)", declarative: c) }
        docs[0].credits = 2
        docs.append(Doc("n0"))
        docs[docs.count - 1].credits = 1.5
        let g = try #require(view(docs).gap)
        func row(_ v: LearningVerdict) -> Lv_Gateway_V1_VerdictCount { g.byVerdict.first { $0.verdict == v }! }
        #expect(g.creditedPhysicians == 12 && close(g.credits, 13.5))
        #expect(row(.reliableImprovement).physicians == 5 && close(row(.reliableImprovement).credits, 6))
        #expect(row(.noReliableChange).physicians == 4)
        #expect(row(.reliableDecline).physicians == 1)
        #expect(row(.atCeiling).physicians == 1)
        #expect(row(.notAssessed).physicians == 1 && close(row(.notAssessed).credits, 1.5))
        #expect(close(row(.reliableDecline).shareOfCredited?.value, 1.0 / 12))
        #expect(close(g.reliability?.coefficient?.value, 0.7960199004975127, 1e-9))
        #expect(g.reliability?.method.hasPrefix("KR-20") == true)

        // Fewer physicians than the minimum for KR-20: Lord's binomial model per physician. a1 (4 → 8 of 10):
        // SE = √((.4·.6 + .8·.2)/9) = 0.21082, RCI = 1.897 — no longer reliable, nor a3 (1.897), a5 (1.342),
        // a9 (1.852); a0 (3 → 8) still is (2.466), and a4 (6 → 2, −1.897) is no longer a reliable decline.
        var th = Thresholds()
        th.minimumN = 20
        let fallback = try #require(view(docs, th).gap)
        #expect(fallback.reliability?.method.hasPrefix("Lord") == true && fallback.reliability?.coefficient == nil)
        #expect(fallback.byVerdict.first { $0.verdict == .reliableImprovement }?.physicians == 1)
        #expect(fallback.byVerdict.first { $0.verdict == .reliableDecline }?.physicians == 0)
        #expect(fallback.byVerdict.first { $0.verdict == .noReliableChange }?.physicians == 9)
    }

    @Test("the funnel is a funnel: every step a subset of the one above")
    func funnelIsNested() throws {
        let counts = [(3, 8), (4, 8), (5, 6), (2, 6), (6, 2), (4, 7), (3, 5), (9, 9), (4, 4), (3, 7), (5, 5)]
        var docs = counts.enumerated().map { i, c in Doc("a\(i)", declarative: c) }
        docs[0].minutes = 0          // improved reliably but never attended: not below "attended"
        docs[1].credits = 0          // attended, improved, not credited
        let f = try #require(view(docs).funnel)
        let a = try #require(f.assessed)
        #expect(f.registered == 11 && f.attended == 10 && f.credited == 9 && a.prePostAssessed == 9)
        #expect(a.reliableGain == 3) // a3, a5, a9
        #expect(f.registered >= f.attended && f.attended >= f.credited && f.credited >= a.prePostAssessed
                && a.prePostAssessed >= a.reliableGain && a.reliableGain >= a.retained)
        // Without assessment the assessed steps are absent, not zero.
        var input = inputs(docs)
        input.outcomes = nil
        #expect(ValidationView.build(input, thresholds: Thresholds(), now: 0).funnel?.assessed == nil)
    }

    @Test("absent is never a number: no discordant pair, identical differences, constant ranks")
    func absentNotNumber() throws {
        // Every participant gains exactly 2 items: the paired t, d_z and the item p-values of unchanged items are absent.
        let docs = (0..<12).map { i in Doc("p\(i)", declarative: (3 + i % 3, 5 + i % 3), control: (2, 2)) }
        var input = inputs(docs)
        input.engagement = (0..<12).map { i in
            var e = Lv_Engagement_V1_PhysicianEngagement()
            (e.npi, e.engagementIndex, e.events) = ("p\(i)", Double(i), 1)
            return e
        }
        let v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        let k = try #require(v.knowledge)
        #expect(k.pairedT == nil && k.dZ == nil)
        #expect(close(k.meanDifference?.value, 20))
        // Control items never change: b + c = 0, so no χ² and no p.
        let control = try #require(v.items.first { $0.id == "c0" })
        #expect(control.b == 0 && control.c == 0 && control.result == nil)
        // Gains are all the same: Spearman ρ has constant ranks → absent.
        #expect(v.engagementVsLearning?.rho == nil && v.engagementVsLearning?.test == nil)
        // The drift-corrected 3A test has zero variance: not tested, and says so.
        #expect(level(v, "3A").reason.contains("the same"))
    }

    @Test("retention is a ratio only when the immediate gain is significantly positive")
    func retentionNeedsAGain() throws {
        let docs = (0..<12).map { i in Doc("p\(i)", declarative: (5, i % 2 == 0 ? 6 : 4)) }
        var input = inputs(docs)
        input.outcomes = input.outcomes!.map { o in
            var o = o
            var f = Submission()
            (f.kind, f.phase, f.followUpDays, f.total) = (.followUp, .followUp, 30, 0.45)
            o.submissions.append(f)
            return o
        }
        let r = try #require(ValidationView.build(input, thresholds: Thresholds(), now: 0).retention.first)
        #expect(r.retention == nil && r.note.contains("not significantly positive"))
    }

    @Test("without registration nothing cohort-based is computed from the outcomes that remain")
    func noRegistration() {
        var input = inputs(cohortA())
        (input.enrollments, input.attendance, input.credits) = (nil, nil, nil)
        let v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        #expect(v.knowledge == nil && v.attribution == nil && v.funnel == nil && v.gap == nil && v.objectives.isEmpty)
        #expect(v.levels.filter(\.evidenced).isEmpty)
        #expect(level(v, "3A").reason.contains("registration could not be read"))
    }

    @Test("thresholds outside their range are refused with the field, never replaced", arguments: [
        ("alpha", Double.nan), ("alpha", -1), ("alpha", 5), ("alpha", 0.6), ("mastery", .infinity), ("mastery", 1.5), ("mastery", -0.1),
    ])
    func thresholdRules(_ field: String, _ value: Double) {
        var t = Thresholds()
        if field == "alpha" { t.alpha = value } else { t.mastery = value }
        guard case .failure(let problem) = t.validated() else { Issue.record("\(field) = \(value) accepted"); return }
        #expect(problem.field == "thresholds.\(field)" && problem.rule == "range")
    }

    @Test("thresholds default when zero and are echoed")
    func thresholdDefaults() throws {
        let t = try Thresholds().validated().get()
        #expect(t.alpha == 0.05 && t.mastery == 0.7 && t.minimumN == 10)
        var one = Thresholds()
        one.minimumN = 1
        #expect((try? one.validated().get()) == nil)
        #expect(view(cohortA()).thresholds == t)
    }
}
