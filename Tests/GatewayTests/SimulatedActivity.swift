import Assessment
import AssessmentDomain
import Foundation
import Gateway
import GatewayDomain
import LVAPI
import LVMessages
import LVTestSupport

/// Draws for the simulation on the shared seeded generator.
extension SplitMix {
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Double { (-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform()) }
    mutating func chance(_ p: Double) -> Bool { uniform() < p }
    mutating func binomial(_ n: Int, _ p: Double) -> Int { (0..<n).reduce(0) { k, _ in k + (chance(p) ? 1 : 0) } }
}

/// An activity generated in memory for the operating-characteristics harness: answers drawn
/// from a logistic item-response model, scored by the assessment service's own `Scoring` and
/// paired by its `OutcomeAssembly`, then handed to `ValidationView.build` exactly as the
/// gateway would hand it what the backends returned. No services, so thousands run in a test.
struct SimulatedActivity {
    struct Scenario: Sendable {
        var name: String
        var participants = 120
        var comparison = 40
        /// Mean logit gain on taught items for participants (0 = nothing learned); each physician's gain varies ±50 %.
        var learning = 0.0
        /// Logit retest drift on every item of the second test, for both cohorts.
        var drift = 0.4
        /// Mean prior ability (logit); 2.0 puts most physicians near the ceiling.
        var ability = 0.0
        /// Rate change of the practice (5) and patient-outcome (6) measures in both cohorts (secular trend).
        var practiceTrend = 0.0
        var patientTrend = 0.0
        /// Extra rate change for participants only (a true effect).
        var practiceEffect = 0.0
        var patientEffect = 0.0
        /// True mean evaluation score, share of the scale (the Level 2 bar is 0.6).
        var satisfaction = 0.6
    }

    /// Difficulties shared by every subscale, so a logit drift moves each subscale's expected
    /// score by the same amount (the assumption the drift-corrected design rests on).
    static let difficulties = [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0]

    static let knowledgeItems: [Lv_Assessment_V1_Item] = {
        var items: [Lv_Assessment_V1_Item] = []
        func add(_ id: String, objective: String, procedural: Bool, control: Bool) {
            var i = Lv_Assessment_V1_Item()
            (i.itemId, i.type, i.options, i.key, i.procedural) = (id, .multipleChoice, ["A", "B", "C", "D"], 1, procedural)
            if control { i.control = true } else { i.objectiveId = objective }
            items.append(i)
        }
        for (k, _) in (difficulties + difficulties).enumerated() { add("d\(k)", objective: k < 6 ? "obj-a" : "obj-b", procedural: false, control: false) }
        for (k, _) in difficulties.enumerated() { add("p\(k)", objective: "obj-a", procedural: true, control: false) }
        for (k, _) in difficulties.enumerated() { add("c\(k)", objective: "", procedural: false, control: true) }
        return items
    }()

    static func instrument(_ id: String, _ kind: Lv_Assessment_V1_InstrumentKind, _ phase: Lv_Assessment_V1_Phase, _ items: [Lv_Assessment_V1_Item]) -> Lv_Assessment_V1_Instrument {
        var i = Lv_Assessment_V1_Instrument()
        (i.instrumentId, i.activityId, i.kind, i.phase, i.items, i.version) = (id, "sim", kind, phase, items, 1)
        return i
    }

    static let preTest = instrument("pre", .preTest, .pre, knowledgeItems)
    static let postTest = instrument("post", .postTest, .post, knowledgeItems)
    static let vignetteItem: Lv_Assessment_V1_Item = {
        var v = Lv_Assessment_V1_Item()
        (v.itemId, v.type, v.objectiveId, v.criteria) = ("case", .vignetteCriteria, "obj-a", difficulties.map { "criterion \($0)" })
        return v
    }()
    static let vignettePre = instrument("vignette-pre", .caseVignette, .pre, [vignetteItem])
    static let vignettePost = instrument("vignette-post", .caseVignette, .post, [vignetteItem])
    static let evaluation: Lv_Assessment_V1_Instrument = {
        let items = (0..<3).map { k -> Lv_Assessment_V1_Item in
            var i = Lv_Assessment_V1_Item()
            (i.itemId, i.type, i.likertPoints) = ("e\(k)", .likert, 5)
            return i
        }
        return instrument("evaluation", .evaluation, .post, items)
    }()

    static func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// The gateway's inputs for one replicate.
    static func inputs(_ s: Scenario, seed: UInt64) throws -> ActivityInputs {
        var random = SplitMix(seed: seed)
        var input = ActivityInputs(activityID: "sim")
        var enrollments: [Lv_Registration_V1_Enrollment] = []
        var outcomes: [Outcomes] = []
        var attendance: [String: Int] = [:]
        var credits: [Lv_Registration_V1_CreditClaim] = []
        for k in 0..<(s.participants + s.comparison) {
            let participant = k < s.participants
            let npi = (participant ? "p" : "c") + String(k)
            var e = Lv_Registration_V1_Enrollment()
            (e.npi, e.cohort) = (npi, participant ? .participant : .comparison)
            enrollments.append(e)
            let ability = s.ability + 0.9 * random.normal()
            let learning = participant ? s.learning * max(0, 1 + 0.5 * random.normal()) : 0

            func knowledgeAnswers(after: Bool) -> [Lv_Assessment_V1_Answer] {
                knowledgeItems.enumerated().map { k, item in
                    let difficulty = difficulties[k % difficulties.count]
                    let shift = after ? s.drift + (item.control ? 0 : learning) : 0
                    var a = Lv_Assessment_V1_Answer()
                    a.itemId = item.itemId
                    a.value = .choice(random.chance(logistic(ability - difficulty + shift)) ? 1 : 0)
                    return a
                }
            }
            func vignetteAnswer(after: Bool) -> [Lv_Assessment_V1_Answer] {
                var met = Lv_Assessment_V1_CriteriaMet()
                met.met = difficulties.indices.filter { k in
                    random.chance(logistic(ability - difficulties[k] + (after ? s.drift + learning : 0)))
                }.map(UInt32.init)
                var a = Lv_Assessment_V1_Answer()
                (a.itemId, a.value) = ("case", .criteria(met))
                return [a]
            }
            var submissions = [
                try Scoring.score(preTest, answers: knowledgeAnswers(after: false)),
                try Scoring.score(postTest, answers: knowledgeAnswers(after: true)),
                try Scoring.score(vignettePre, answers: vignetteAnswer(after: false)),
                try Scoring.score(vignettePost, answers: vignetteAnswer(after: true)),
            ]
            if participant {
                // Each Likert item: 3 or 4 of 5 points (0.5 or 0.75 of the scale), or 4 or 5 above 0.75, with the true mean given.
                let answers = evaluation.items.map { item -> Lv_Assessment_V1_Answer in
                    let (low, high): (UInt32, UInt32) = s.satisfaction <= 0.75 ? (3, 4) : (4, 5)
                    let pHigh = (s.satisfaction - Double(low - 1) / 4) * 4
                    var a = Lv_Assessment_V1_Answer()
                    (a.itemId, a.value) = (item.itemId, .likert(random.chance(pHigh) ? high : low))
                    return a
                }
                submissions.append(try Scoring.score(evaluation, answers: answers))
                attendance[npi] = 60
                var c = Lv_Registration_V1_CreditClaim()
                (c.npi, c.activityId, c.credits) = (npi, "sim", 1)
                credits.append(c)
            }
            var o = Outcomes()
            o.npi = npi
            o.submissions = submissions.map { sub in
                var sub = sub
                sub.npi = npi
                return sub
            }
            o.itemPairs = OutcomeAssembly.pairs(o.submissions)
            o.measures = [("PROC-1", false, 0.35, s.practiceTrend, s.practiceEffect), ("OUT-1", true, 0.75, s.patientTrend, s.patientEffect)].map {
                code, outcome, base, trend, effect in
                let rate = min(0.95, max(0.05, base + 0.08 * random.normal()))
                let follow = min(0.98, max(0.02, rate + trend + (participant ? effect : 0) + 0.03 * random.normal()))
                var m = Lv_Assessment_V1_MeasureRate()
                (m.measureCode, m.patientOutcome) = (code, outcome)
                m.baselineDenominator = UInt32(20 + Int(random.uniform() * 20))
                m.followUpDenominator = UInt32(20 + Int(random.uniform() * 20))
                m.baselineNumerator = UInt32(random.binomial(Int(m.baselineDenominator), rate))
                m.followUpNumerator = UInt32(random.binomial(Int(m.followUpDenominator), follow))
                return m
            }
            outcomes.append(o)
        }
        input.enrollments = enrollments
        input.attendance = attendance
        input.credits = credits
        input.engagement = []
        input.outcomes = outcomes
        return input
    }
}
