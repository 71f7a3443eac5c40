import LVAPI
import LVMessages
import LVStatistics

/// Which Moore levels the data evidences. Every level from 2 up is a pre-specified, one-sided
/// test at the activity's alpha with the physician as the unit (see `EvidenceEngine`), run on at
/// least `minimum_n` physicians; below that, or without a control for drift or trend, the level
/// is not evidenced and the reason says why. Each level carries its rule as one sentence.
public enum MooreLevels {
    /// Each level's rule by its wire id ("3A").
    public static let rules: [String: String] = Dictionary(uniqueKeysWithValues: Level.allCases.map { ($0.rawValue, $0.rule) })

    static func level(_ id: Level, evidenced: Bool, _ reason: String, _ evidence: [Evidence] = []) -> Lv_Gateway_V1_MooreLevel {
        var l = Lv_Gateway_V1_MooreLevel()
        l.level = id.rawValue
        l.name = id.name
        (l.evidenced, l.reason, l.rule, l.evidence) = (evidenced, reason, id.rule, evidence)
        return l
    }

    static func p(_ x: Double) -> String { x < 0.001 ? "p < 0.001" : "p = \(fixed(x, 3))" }

    /// "+12.3 points (95 % CI 8.1 to 16.5), Welch t(61.2) = 4.10, one-sided p < 0.001, n = 120 + 40"
    public static func describe(_ e: Evidence, unit: String = "points") -> String {
        var s = ""
        if let eff = e.effect {
            s += "\(signed(eff.value, 1)) \(unit)"
            if let ci = eff.ci { s += " (95% CI \(fixed(ci.lower, 1)) to \(fixed(ci.upper, 1)))" }
        }
        if let t = e.test {
            let df = t.df == t.df.rounded() ? fixed(t.df, 0) : fixed(t.df, 1)
            s += ", t(\(df)) = \(fixed(t.statistic, 2)), one-sided \(p(t.pOneSided))"
        }
        if let a = e.adjusted { s += ", Holm \(p(a.p)) of \(a.familySize)" }
        switch e.design {
        case .comparisonCohort: s += ", n = \(e.participants) participants vs \(e.comparison) comparison"
        case .driftCorrected: s += ", n = \(e.participants), drift-corrected (no comparison cohort: a weaker design)"
        default: s += ", n = \(e.participants)"
        }
        return s
    }

    static func judge(_ input: ActivityInputs, cohorts: Cohorts, view v: ActivityValidation, thresholds th: Thresholds) -> [Lv_Gateway_V1_MooreLevel] {
        let minN = Int(th.minimumN)
        var levels: [Lv_Gateway_V1_MooreLevel] = []
        let registration = input.enrollments != nil && input.attendance != nil
        let outcomes = registration && input.outcomes != nil

        // 1 Participation: a count.
        if !registration {
            levels.append(level(.participation, evidenced: false, "not evaluated: registration could not be read"))
        } else {
            let attended = cohorts.participants.filter { (input.attendance?[$0] ?? 0) > 0 }.count
            levels.append(level(.participation, evidenced: attended >= minN, attended >= minN
                ? "\(attended) of \(cohorts.participants.count) participants attended"
                : "n = \(attended) participants attended, below the minimum of \(minN)"))
        }

        // 2 Satisfaction: the evaluation instrument when anyone submitted it, else session ratings.
        if !registration {
            levels.append(level(.satisfaction, evidenced: false, "not evaluated: registration could not be read"))
        } else {
            let evaluations = cohorts.participantRecords().compactMap { $0.evaluation?.satisfaction }
            let anyEvaluation = cohorts.records.values.contains { $0.evaluation != nil }
            if input.outcomes == nil {
                levels.append(level(.satisfaction, evidenced: false, "not evaluated: assessment (the evaluation instrument) could not be read"))
            } else if anyEvaluation {
                levels.append(bar("evaluation instrument", evaluations, th))
            } else if let engagement = input.engagement {
                let participants = Set(cohorts.participants)
                let ratings = engagement.filter { participants.contains($0.npi) && $0.ratingCount > 0 }.map { ($0.meanRating - 1) / 4 }
                levels.append(bar("session ratings (no evaluation instrument was submitted)", ratings, th))
            } else {
                levels.append(level(.satisfaction, evidenced: false, "not evaluated: no evaluation was submitted and engagement (session ratings) could not be read"))
            }
        }

        // 3A, 3B, 4: knowledge and competence, through the evidence engine.
        let knowledge: [(Level, String, (PhysicianRecord) -> PrePost?)] = [
            (.declarativeKnowledge, "declarative items", { $0.subscale(.declarative) }),
            (.proceduralKnowledge, "procedural items", { $0.subscale(.procedural) }),
            (.competence, "case vignettes", { $0.vignette }),
        ]
        for (id, measure, value) in knowledge {
            guard outcomes else {
                levels.append(level(id, evidenced: false, "not evaluated: \(registration ? "assessment" : "registration") could not be read"))
                continue
            }
            // Drift on declarative and procedural items comes from the control items' pairs; on
            // vignettes from the physician's control items on the knowledge tests.
            let drift: (PhysicianRecord) -> Double? = id == .competence ? { $0.controlTotal?.change } : { $0.subscale(.control)?.change }
            let c = cohorts.changes(value, drift: drift)
            levels.append(decide(id, EvidenceEngine.test(measure, participants: c.participants, comparison: c.comparison, thresholds: th, scale: 100)))
        }

        // 5 and 6: practice and patient-outcome measures, Holm within the level.
        for (id, outcome) in [(Level.performance, false), (.patientHealth, true)] {
            guard outcomes else {
                levels.append(level(id, evidenced: false, "not evaluated: \(registration ? "assessment" : "registration") could not be read"))
                continue
            }
            let measures = v.practice.filter { $0.patientOutcome == outcome }
            let tested = measures.compactMap(\.evidence)
            if let best = tested.filter(\.significant).max(by: { ($0.effect?.value ?? 0) < ($1.effect?.value ?? 0) }) {
                levels.append(level(id, evidenced: true, "\(best.measure): \(describe(best, unit: "rate points"))", tested))
            } else if let first = tested.min(by: { ($0.adjusted?.p ?? 1) < ($1.adjusted?.p ?? 1) }) {
                levels.append(level(id, evidenced: false, "\(first.measure): \(describe(first, unit: "rate points")) — not beyond chance", tested))
            } else if let note = measures.first?.note {
                levels.append(level(id, evidenced: false, note))
            } else {
                levels.append(level(id, evidenced: false, "no \(outcome ? "patient-outcome" : "practice") measure was recorded"))
            }
        }

        levels.append(level(.communityHealth, evidenced: false, "population data is out of scope"))
        return levels
    }

    static func bar(_ measure: String, _ scores: [Double], _ th: Thresholds) -> Lv_Gateway_V1_MooreLevel {
        switch EvidenceEngine.testAboveBar(measure, scores: scores, bar: 0.6, thresholds: th) {
        case .notTested(let why):
            return level(.satisfaction, evidenced: false, why)
        case .tested(let e):
            let mean = e.effect.map { "mean \(fixed(100 * $0.value, 0))% of the scale" + ($0.ci.map { " (95% CI \(fixed(100 * $0.lower, 0)) to \(fixed(100 * $0.upper, 0)))" } ?? "") } ?? ""
            let verdict = e.significant ? "above" : "not beyond chance above"
            return level(.satisfaction, evidenced: e.significant, "\(measure): \(mean), \(verdict) the 60% bar, one-sided \(p(e.test?.pOneSided ?? 1)), n = \(e.participants)", [e])
        }
    }

    static func decide(_ id: Level, _ outcome: EvidenceEngine.Outcome) -> Lv_Gateway_V1_MooreLevel {
        switch outcome {
        case .notTested(let why):
            return level(id, evidenced: false, why)
        case .tested(let e):
            let text = "\(e.measure): \(describe(e))"
            return level(id, evidenced: e.significant, e.significant ? text : text + " — not beyond chance", [e])
        }
    }
}

/// `x` with `digits` decimals, without Foundation.
public func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "\(x)" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(x) * scale).rounded()
    let whole = Int(scaled / scale)
    let frac = Int(scaled - Double(whole) * scale)
    let fracText = String(frac)
    let sign = x < 0 && scaled > 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(String(repeating: "0", count: max(0, digits - fracText.count)))\(fracText)"
}

/// `fixed` with an explicit sign.
public func signed(_ x: Double, _ digits: Int) -> String { x >= 0 ? "+" + fixed(x, digits) : fixed(x, digits) }

extension MooreLevels {
    /// A Moore level, in ladder order: compared by its place on the ladder (1 < 2 < 3A < 3B < 4 < … < 7),
    /// never as text. On the wire and in JSON it is its `rawValue` ("3A"), unchanged.
    public enum Level: String, CaseIterable, Comparable, Sendable {
        case participation = "1"
        case satisfaction = "2"
        case declarativeKnowledge = "3A"
        case proceduralKnowledge = "3B"
        case competence = "4"
        case performance = "5"
        case patientHealth = "6"
        case communityHealth = "7"

        /// The ladder position (0 for level 1).
        public var rank: Int { Self.allCases.firstIndex(of: self)! }

        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }

        public var name: String {
            switch self {
            case .participation: "Participation"
            case .satisfaction: "Satisfaction"
            case .declarativeKnowledge: "Declarative knowledge"
            case .proceduralKnowledge: "Procedural knowledge"
            case .competence: "Competence"
            case .performance: "Performance"
            case .patientHealth: "Patient health"
            case .communityHealth: "Community health"
            }
        }

        /// The level's rule, one sentence, as the view reports it.
        public var rule: String {
            switch self {
            case .participation: "At least minimum n participants attended (≥ 1 minute present)."
            case .satisfaction: "Participants' mean evaluation score (all items of the evaluation instrument; session ratings only when no evaluation was submitted) is above 60 % of the scale: one-sided one-sample t at alpha, n ≥ minimum n."
            case .declarativeKnowledge: "Declarative items: participants' per-physician change exceeds the comparison cohort's (Welch t on change scores) or, without a comparison cohort of minimum n, their own control-item drift (one-sample t); one-sided at alpha, n ≥ minimum n in each cohort used."
            case .proceduralKnowledge: "Procedural items: the same test as 3A on the items marked procedural."
            case .competence: "Case-vignette criteria met: participants' change against the comparison cohort's or, without one, minus their control-item drift; one-sided at alpha, n ≥ minimum n."
            case .performance: "A practice (process) measure: participants' per-physician rate change against the comparison cohort's (Welch t), one-sided at alpha after Holm across the activity's practice measures; only with a comparison cohort of minimum n measured at both times."
            case .patientHealth: "A patient-outcome measure, tested as for level 5, Holm across the activity's patient-outcome measures."
            case .communityHealth: "Never: population data is out of scope."
            }
        }
    }
}
