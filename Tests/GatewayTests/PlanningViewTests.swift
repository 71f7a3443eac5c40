import Gateway
import GatewayDomain
import LVAPI
import LVMessages
import Testing

/// A hand-made physician for the planning comparison: per objective, items right before and
/// after (the first k of n), and practice measures. Expected values are scipy's
/// (`stats.ttest_ind(equal_var=False, alternative='greater')`, `stats.t.ppf`) on the change
/// scores written out in each test, and Holm worked out by hand.
private struct PlanDoc {
    var npi: String
    var cohort: Lv_Registration_V1_Cohort
    /// Objective id → (items, right before, right after).
    var items: [String: (Int, Int, Int)]
    var measures: [Lv_Assessment_V1_MeasureRate] = []

    var outcomes: Outcomes {
        var o = Outcomes()
        o.npi = npi
        for (objective, (n, before, after)) in items.sorted(by: { $0.key < $1.key }) {
            for i in 0..<n {
                var p = Lv_Assessment_V1_ItemPair()
                (p.itemId, p.objectiveId, p.fromPhase, p.toPhase) = ("\(objective)-\(i)", objective, .pre, .post)
                (p.beforeCorrect, p.afterCorrect) = (i < before, i < after)
                o.itemPairs.append(p)
            }
        }
        let total = items.values.reduce(0) { $0 + $1.0 }
        for (kind, phase, right) in [(Lv_Assessment_V1_InstrumentKind.preTest, Lv_Assessment_V1_Phase.pre, items.values.reduce(0) { $0 + $1.1 }),
                                     (.postTest, .post, items.values.reduce(0) { $0 + $1.2 })] {
            var s = Submission()
            (s.kind, s.phase, s.total) = (kind, phase, Double(right) / Double(total))
            o.submissions.append(s)
        }
        o.measures = measures
        return o
    }
}

private func rate(_ code: String, _ base: UInt32, _ follow: UInt32) -> Lv_Assessment_V1_MeasureRate {
    var m = Lv_Assessment_V1_MeasureRate()
    (m.measureCode, m.baselineNumerator, m.baselineDenominator, m.followUpNumerator, m.followUpDenominator) = (code, base, 10, follow, 10)
    return m
}

private func objective(_ id: String, _ level: String, measures: [String] = []) -> Lv_Registration_V1_LearningObjective {
    var o = Lv_Registration_V1_LearningObjective()
    (o.id, o.text, o.desiredLevel, o.measureCodes) = (id, "Objective \(id)", level, measures)
    return o
}

private func planInputs(_ docs: [PlanDoc], objectives: [Lv_Registration_V1_LearningObjective],
                        learners: [String: Lv_Registration_V1_Physician]?) -> ActivityInputs {
    var input = ActivityInputs(activityID: "plan")
    var a = Lv_Registration_V1_Activity()
    (a.activityId, a.title, a.objectives) = ("plan", "Planned", objectives)
    var p = Lv_Registration_V1_Planning()
    p.practiceGap = "SGLT2 inhibitors are prescribed to 40 % of eligible patients"
    p.evidenceSources = [.qualityData]
    p.targetProfessions = [.physician, .nurse, .pharmacist]
    p.specialties = ["Cardiology", "Emergency Medicine"]
    a.planning = p
    input.activity = a
    input.enrollments = docs.map { d in
        var e = Lv_Registration_V1_Enrollment()
        (e.npi, e.cohort) = (d.npi, d.cohort)
        return e
    }
    input.attendance = Dictionary(uniqueKeysWithValues: docs.filter { $0.cohort == .participant }.map { ($0.npi, 60) })
    input.credits = []
    input.engagement = []
    input.outcomes = docs.map(\.outcomes)
    input.learners = learners
    return input
}

private func near(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { a.map { abs($0 - b) <= tolerance * max(1, abs(b)) } ?? false }

/// obj-a: 10 declarative items (the cohort of ValidationViewTests); obj-b: 4 items and the practice
/// measure M1; obj-c: nothing mapped.
private func cohort() -> [PlanDoc] {
    let a = [(3, 7), (4, 8), (5, 6), (2, 6), (6, 9), (4, 7), (3, 5), (5, 8), (4, 6), (3, 7)]
    let ca = [(4, 5), (3, 3), (5, 6), (4, 4), (2, 3), (6, 6), (3, 4), (4, 5), (5, 5), (4, 5)]
    let b = [(1, 2), (2, 2), (1, 2), (2, 2), (1, 2), (2, 2), (1, 2), (2, 2), (1, 2), (2, 2)]
    let cb = [(2, 2), (1, 2), (2, 2), (2, 2), (1, 2), (2, 2), (2, 2), (1, 2), (2, 2), (2, 2)]
    // M1 rate change per physician, in tenths: participants [3,3,2,4,3,3,2,4,3,3], comparison [0,1,-1,0,0,1,-1,0,0,0].
    let m = [3, 3, 2, 4, 3, 3, 2, 4, 3, 3], cm = [0, 1, -1, 0, 0, 1, -1, 0, 0, 0]
    return (0..<10).map { i in
        PlanDoc(npi: "p\(i)", cohort: .participant, items: ["obj-a": (10, a[i].0, a[i].1), "obj-b": (4, b[i].0, b[i].1)],
                measures: [rate("M1", 5, UInt32(5 + m[i]))])
    } + (0..<10).map { i in
        PlanDoc(npi: "c\(i)", cohort: .comparison, items: ["obj-a": (10, ca[i].0, ca[i].1), "obj-b": (4, cb[i].0, cb[i].1)],
                measures: [rate("M1", 5, UInt32(5 + cm[i]))])
    }
}

/// p0-p5 physicians, p6-p9 nurses; p0-p2 cardiology, the rest internal medicine.
private func learners() -> [String: Lv_Registration_V1_Physician] {
    Dictionary(uniqueKeysWithValues: (0..<10).map { i in
        var p = Lv_Registration_V1_Physician()
        p.npi = "p\(i)"
        p.profession = i < 6 ? .physician : .nurse
        p.specialty = i < 3 ? "Cardiology" : "Internal Medicine"
        return (p.npi, p)
    })
}

private var minimumFive: Thresholds {
    var t = Thresholds()
    t.minimumN = 5
    return t
}

@Suite("the planning comparison: desired against evidenced per objective, on hand-made cohorts")
struct PlanningViewTests {
    @Test("each objective judged on its own items and measures, Holm across the 3 tests run; desired met or not, with the reason")
    func desiredAgainstEvidenced() throws {
        let objectives = [objective("obj-a", "3A"), objective("obj-b", "5", measures: ["M1", "M9"]), objective("obj-c", "4")]
        let v = ValidationView.build(planInputs(cohort(), objectives: objectives, learners: learners()), thresholds: minimumFive, now: 0)
        let plan = try #require(v.planning)
        #expect(plan.familySize == 3)
        #expect(plan.objectives.map(\.objectiveId) == ["obj-a", "obj-b", "obj-c"])
        #expect(plan.objectives.map(\.levels.count) == [5, 5, 5])

        // obj-a: changes p = [40,40,10,40,30,30,20,30,20,40], c = [10,0,10,0,10,0,10,10,0,10] points.
        let a = plan.objectives[0]
        let a3 = try #require(a.levels[0].evidence.first)
        #expect(a.levels[0].level == "3A" && a.levels[0].evidenced)
        #expect(a3.design == .comparisonCohort && near(a3.effect?.value, 24))
        #expect(near(a3.test?.statistic, 6.465790872963896) && near(a3.test?.pOneSided, 1.0245973690472494e-05, 1e-6))
        // Holm over {4.058e-09 (M1), 1.0246e-05 (obj-a), 0.19405 (obj-b)}: obj-a is second, × 2.
        #expect(near(a3.adjusted?.p, 2.049194738094499e-05, 1e-6) && a3.adjusted?.familySize == 3)
        #expect(a.evidencedLevel == "3A" && a.desiredLevel == "3A" && a.desiredMet)
        #expect(a.reason.hasPrefix("met: desired 3A, evidenced 3A"))
        #expect(a.levels[1].reason == "no procedural item maps to obj-a" && !a.levels[1].evidenced && a.levels[1].evidence.isEmpty)
        #expect(a.levels[3].reason == "the plan maps no practice measure to obj-a")

        // obj-b: 3A changes p = [25,0,25,0,25,0,25,0,25,0], c = [0,25,0,0,25,0,0,25,0,0]: +5 points, not beyond chance.
        let b = plan.objectives[1]
        let b3 = try #require(b.levels[0].evidence.first)
        #expect(!b.levels[0].evidenced && near(b3.effect?.value, 5) && near(b3.test?.pOneSided, 0.19404806669293487, 1e-6))
        #expect(near(b3.adjusted?.p, 0.19404806669293487, 1e-6))
        #expect(b.levels[0].reason.hasSuffix("not beyond chance"))
        // Level 5 from M1 (M9 was never recorded): p = [30,30,20,40,30,30,20,40,30,30], c = [0,10,-10,0,0,10,-10,0,0,0] rate points.
        let b5 = try #require(b.levels[3].evidence.first)
        #expect(b.levels[3].evidence.count == 1 && b5.measure == "obj-b: M1")
        #expect(b.levels[3].evidenced && near(b5.effect?.value, 30) && near(b5.test?.statistic, 10.062305898749054))
        #expect(near(b5.adjusted?.p, 1.217414436063913e-08, 1e-5))
        #expect(b.evidencedLevel == "5" && b.desiredMet)
        #expect(b.levels[4].reason == "none of the measures mapped to obj-b (M1, M9) was recorded as a patient-outcome measure")

        // obj-c: nothing maps to it; not evidenced is a reason, never a number.
        let c = plan.objectives[2]
        #expect(c.evidencedLevel == "" && !c.desiredMet && c.levels.allSatisfy { !$0.evidenced && $0.evidence.isEmpty })
        #expect(c.reason == "not met: desired 4, no level evidenced — at 4: no case-vignette item maps to obj-c")
    }

    @Test("Holm across objectives: two one-sided p of 0.027 and 0.038, each below alpha alone, are both 0.054 adjusted — nothing claimed")
    func holmAcrossObjectives() throws {
        // Changes on 4 items, in items: x = six +1 and four 0; y = one +2, six +1, one −1, two 0; comparison (both) [0,1,0,0,1,0,0,−1,0,0].
        let x = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0], y = [2, 1, 1, 1, 1, 1, 1, -1, 0, 0], c = [0, 1, 0, 0, 1, 0, 0, -1, 0, 0]
        func counts(_ change: Int) -> (Int, Int, Int) { change >= 0 ? (4, 1, 1 + change) : (4, 2, 1) }
        let docs = (0..<10).map { PlanDoc(npi: "p\($0)", cohort: .participant, items: ["x": counts(x[$0]), "y": counts(y[$0])]) }
            + (0..<10).map { PlanDoc(npi: "c\($0)", cohort: .comparison, items: ["x": counts(c[$0]), "y": counts(c[$0])]) }
        let v = ValidationView.build(planInputs(docs, objectives: [objective("x", "3A"), objective("y", "3A")], learners: [:]),
                                     thresholds: minimumFive, now: 0)
        let plan = try #require(v.planning)
        let ex = try #require(plan.objectives[0].levels[0].evidence.first), ey = try #require(plan.objectives[1].levels[0].evidence.first)
        #expect(near(ex.test?.pOneSided, 0.027124792491689243, 1e-6) && near(ey.test?.pOneSided, 0.03800002746920186, 1e-6))
        #expect(near(ex.adjusted?.p, 2 * 0.027124792491689243, 1e-6) && near(ey.adjusted?.p, 2 * 0.027124792491689243, 1e-6))
        #expect(plan.familySize == 2)
        #expect(plan.objectives.allSatisfy { !$0.desiredMet && $0.evidencedLevel.isEmpty && $0.reason.hasSuffix("not beyond chance") })
    }

    @Test("breakdown by profession and specialty: n and the change with its 95% CI where n ≥ minimum, 'n too small' otherwise; targeted groups with nobody listed")
    func breakdown() throws {
        let objectives = [objective("obj-a", "3A"), objective("obj-b", "")]
        let plan = try #require(ValidationView.build(planInputs(cohort(), objectives: objectives, learners: learners()), thresholds: minimumFive, now: 0).planning)
        #expect(plan.subgroupMinimumN == 5)
        #expect(plan.objectives[1].reason == "no desired level stated; no level evidenced")
        // Total change per participant, points over 14 items: [35.71, 28.57, 14.29, 28.57, 28.57, 21.43, 21.43, 21.43, 21.43, 28.57].
        #expect(plan.byProfession.map(\.group) == ["physician", "nurse", "pharmacist"])
        #expect(plan.byProfession.map(\.n) == [6, 4, 0])
        let physicians = try #require(plan.byProfession[0].knowledgeChange)
        #expect(near(physicians.value, 26.19047619047619) && near(physicians.ci?.lower, 18.448672845269193, 1e-6) && near(physicians.ci?.upper, 33.932279535683186, 1e-6))
        #expect(plan.byProfession[1].knowledgeChange == nil && plan.byProfession[1].note == "n too small (n = 4, minimum 5)")
        #expect(plan.byProfession[2].knowledgeChange == nil && plan.byProfession[2].note == "n too small (n = 0, minimum 5)")
        #expect(plan.bySpecialty.map(\.group) == ["Cardiology", "Emergency Medicine", "Internal Medicine"])
        #expect(plan.bySpecialty.map(\.n) == [3, 0, 7])
        #expect(plan.bySpecialty[0].knowledgeChange == nil && plan.bySpecialty[0].note == "n too small (n = 3, minimum 5)")
        let im = try #require(plan.bySpecialty[2].knowledgeChange)
        #expect(near(im.value, 24.48979591836735) && near(im.ci?.lower, 20.95871844304012, 1e-6) && near(im.ci?.upper, 28.02087339369458, 1e-6))
    }

    @Test("without the learners' records the breakdown is absent with its reason and the view partial; without a planning record nothing is named")
    func partial() throws {
        var status = SectionStatus()
        (status.code, status.message) = (.unavailable, "connection refused")
        var v = ValidationView.build(planInputs(cohort(), objectives: [objective("obj-a", "3A")], learners: nil), thresholds: minimumFive, now: 0)
        Completeness.apply(&v, missing: [.learners: status])
        let plan = try #require(v.planning)
        #expect(plan.byProfession.isEmpty && plan.bySpecialty.isEmpty && plan.breakdownNote == "the learners' records could not be read")
        #expect(plan.objectives[0].desiredMet)
        #expect(v.completeness?.absent.map(\.section) == ["planning.by_profession, planning.by_specialty"])

        var input = planInputs(cohort(), objectives: [objective("obj-a", "3A")], learners: learners())
        input.activity!.planning = nil
        var plain = ValidationView.build(input, thresholds: minimumFive, now: 0)
        #expect(plain.planning == nil)
        Completeness.apply(&plain, missing: [.outcomes: status])
        #expect(!(plain.completeness?.absent.map(\.section) ?? []).contains { $0.hasPrefix("planning") })
    }
}
