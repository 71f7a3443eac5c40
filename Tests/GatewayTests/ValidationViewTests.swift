import Gateway
import LVAPI
import LVMessages
import LVStatistics
import Testing

/// A hand-made activity: `n` participants whose pre/post totals are given, control items given.
func inputs(pre: [Double], post: [Double], controlPre: Double = 0.5, controlPost: Double = 0.5, credits: Int? = nil,
            comparison: [(Double, Double)] = []) -> ActivityInputs {
    var input = ActivityInputs(activityID: "a")
    var enrollments: [Lv_Registration_V1_Enrollment] = []
    var outcomes: [Outcomes] = []
    func submission(_ kind: Lv_Assessment_V1_InstrumentKind, _ phase: Lv_Assessment_V1_Phase, _ total: Double, _ control: Double) -> Submission {
        var s = Submission()
        (s.kind, s.phase, s.total, s.control, s.hasControl) = (kind, phase, total, control, true)
        return s
    }
    func add(_ npi: String, _ cohort: Lv_Registration_V1_Cohort, _ a: Double, _ b: Double) {
        var e = Lv_Registration_V1_Enrollment()
        (e.npi, e.cohort) = (npi, cohort)
        enrollments.append(e)
        var o = Outcomes()
        o.npi = npi
        o.submissions = [submission(.preTest, .pre, a, controlPre), submission(.postTest, .post, b, controlPost)]
        outcomes.append(o)
    }
    for (i, (a, b)) in zip(pre, post).enumerated() { add("p\(i)", .participant, a, b) }
    for (i, (a, b)) in comparison.enumerated() { add("c\(i)", .comparison, a, b) }
    input.enrollments = enrollments
    input.attendance = Dictionary(uniqueKeysWithValues: pre.indices.map { ("p\($0)", 60) })
    input.credits = pre.indices.prefix(credits ?? pre.count).map { i in
        var c = Lv_Registration_V1_CreditClaim()
        (c.npi, c.credits) = ("p\(i)", 1)
        return c
    }
    input.engagement = []
    input.outcomes = outcomes
    return input
}

let pre: [Double] = [0.3, 0.4, 0.35, 0.5, 0.45, 0.2, 0.6, 0.4, 0.3, 0.55, 0.25, 0.5]
let post: [Double] = [0.8, 0.75, 0.7, 0.9, 0.6, 0.5, 0.85, 0.4, 0.75, 0.8, 0.3, 0.65]

@Suite("the validation view")
struct ValidationViewTests {
    @Test("knowledge statistics are those of the participants' percentage scores, with n")
    func knowledge() throws {
        let v = ValidationView.build(inputs(pre: pre, post: post), thresholds: Thresholds(), now: 0)
        let k = try #require(v.knowledge)
        let expected = try #require(PairedTTest(pre: pre.map { $0 * 100 }, post: post.map { $0 * 100 }))
        #expect(k.pairedT?.n == 12 && k.pairedT?.df == 11)
        #expect(abs((k.pairedT?.p ?? 1) - expected.p) < 1e-12)
        #expect(abs((k.meanPre?.value ?? 0) - 100 * pre.reduce(0, +) / 12) < 1e-9)
        #expect(abs((k.hakeClass?.value ?? 0) - HakeGain.classGain(meanPre: k.meanPre!.value, meanPost: k.meanPost!.value)!) < 1e-12)
        #expect(v.funnel?.prePostAssessed == 12)
        #expect(v.funnel?.knowledgeGain == 11) // all but p7 (0.4 → 0.4)
    }

    @Test("3A is evidenced by a significant gain, and not when control items rose as much (drift)")
    func driftBlocksAttribution() {
        let learned = ValidationView.build(inputs(pre: pre, post: post), thresholds: Thresholds(), now: 0)
        #expect(learned.levels.first { $0.level == "3A" }?.evidenced == true)
        #expect(learned.highestLevel == "3A")
        let drifted = ValidationView.build(inputs(pre: pre, post: post, controlPre: 0.2, controlPost: 0.9), thresholds: Thresholds(), now: 0)
        let level = drifted.levels.first { $0.level == "3A" }
        #expect(level?.evidenced == false)
        #expect(level?.reason.contains("drift") == true)
        #expect((drifted.attribution?.driftCorrectedGain?.value ?? 1) < 0)
    }

    @Test("too few physicians: no level, and the reason says how many")
    func minimumN() {
        let v = ValidationView.build(inputs(pre: Array(pre.prefix(5)), post: Array(post.prefix(5))), thresholds: Thresholds(), now: 0)
        let level = v.levels.first { $0.level == "3A" }
        #expect(level?.evidenced == false)
        #expect(level?.reason.contains("fewer than 10") == true)
    }

    @Test("missing assessment data leaves its sections absent (nil), never zero")
    func absentSections() {
        var input = inputs(pre: pre, post: post)
        input.outcomes = nil
        var s = Lv_Gateway_V1_SectionStatus()
        (s.section, s.code, s.message) = ("assessment", .unavailable, "down")
        input.degraded = [s]
        let v = ValidationView.build(input, thresholds: Thresholds(), now: 0)
        #expect(v.knowledge == nil && v.attribution == nil && v.competence == nil && v.commitments == nil)
        #expect(v.degraded.map(\.section) == ["assessment"])
        #expect(v.funnel?.registered == 12 && v.funnel?.attended == 12)
        #expect(v.highestLevel == "1")
    }

    @Test("the validation gap counts credited physicians without a gain that reaches mastery")
    func gap() throws {
        // Post ≥ 0.7 with a gain: p0 0.8, p1 0.75, p2 0.7, p3 0.9, p6 0.85, p8 0.75, p9 0.8 → 7 with evidence of 12.
        let v = ValidationView.build(inputs(pre: pre, post: post), thresholds: Thresholds(), now: 0)
        let g = try #require(v.gap)
        #expect(g.creditedPhysicians == 12)
        #expect(g.creditedWithoutEvidence == 5)
        #expect(abs((g.shareOfPhysicians?.value ?? 0) - 5.0 / 12.0) < 1e-12)
        var strict = Thresholds()
        strict.mastery = 0.85
        #expect(ValidationView.build(inputs(pre: pre, post: post), thresholds: strict, now: 0).gap?.creditedWithoutEvidence == 10)
    }

    @Test("the comparison cohort gives Morris d_ppc2 with both cohorts' n")
    func comparison() throws {
        let control: [(Double, Double)] = [(0.3, 0.35), (0.5, 0.45), (0.4, 0.45), (0.35, 0.3), (0.45, 0.5)]
        let v = ValidationView.build(inputs(pre: pre, post: post, comparison: control), thresholds: Thresholds(), now: 0)
        let d = try #require(v.attribution?.dPpc2)
        #expect(d.n == 17 && v.attribution?.comparisonN == 5)
        let expected = Morris.dppc2(nT: 12, nC: 5, preT: 100 * pre.reduce(0, +) / 12, postT: 100 * post.reduce(0, +) / 12,
                                    preC: 40, postC: 41, sdPreT: Stats.sd(pre.map { $0 * 100 })!, sdPreC: Stats.sd(control.map { $0.0 * 100 })!)!
        #expect(abs(d.value - expected) < 1e-9)
    }

    @Test("thresholds default and are echoed")
    func thresholds() {
        let v = ValidationView.build(inputs(pre: pre, post: post), thresholds: Thresholds(), now: 0)
        #expect(v.thresholds?.alpha == 0.05 && v.thresholds?.mastery == 0.7 && v.thresholds?.minimumN == 10)
    }
}
