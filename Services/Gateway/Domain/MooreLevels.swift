import LVAPI
import LVMessages
import LVStatistics

/// Which Moore levels the data evidences. A level counts only when its data exists for at least
/// `minimum_n` physicians and shows a positive change beyond chance (p < alpha), not merely when
/// data was collected; each level says what shows it or why it is not shown.
public enum MooreLevels {
    static func level(_ id: String, _ name: String, _ evidenced: Bool, _ reason: String) -> Lv_Gateway_V1_MooreLevel {
        var l = Lv_Gateway_V1_MooreLevel()
        (l.level, l.name, l.evidenced, l.reason) = (id, name, evidenced, reason)
        return l
    }

    static func p(_ x: Double) -> String {
        x < 0.001 ? "p < 0.001" : "p = \(fixed(x, 3))"
    }

    static func judge(_ v: ActivityValidation, thresholds th: Thresholds, scores: [String: PhysicianScores], cohort: Set<String>,
                      inputs: ActivityInputs, pairs: [Lv_Assessment_V1_ItemPair]) -> [Lv_Gateway_V1_MooreLevel] {
        let minN = Int(th.minimumN)
        var levels: [Lv_Gateway_V1_MooreLevel] = []

        // 1 Participation.
        let funnel = v.funnel ?? Lv_Gateway_V1_Funnel()
        if inputs.attendance == nil {
            levels.append(level("1", "Participation", false, "registration could not be read"))
        } else {
            levels.append(level("1", "Participation", funnel.attended > 0,
                                funnel.attended > 0 ? "\(funnel.attended) of \(funnel.registered) participants attended" : "no attendance recorded"))
        }

        // 2 Satisfaction: evaluation ratings (or engagement ratings) at or above 60 % of the scale.
        let evaluations = cohort.compactMap { scores[$0]?.satisfaction }
        let ratings = (inputs.engagement ?? []).filter { cohort.contains($0.npi) && $0.ratingCount > 0 }.map { ($0.meanRating - 1) / 4 }
        let (source, values) = evaluations.count >= minN ? ("evaluation", evaluations) : ("session ratings", ratings)
        if values.count >= minN, let m = Stats.mean(values) {
            levels.append(level("2", "Satisfaction", m >= 0.6, "mean \(source) \(Int((m * 100).rounded()))% of the scale (n = \(values.count)); the bar is 60%"))
        } else {
            levels.append(level("2", "Satisfaction", false, "fewer than \(minN) physicians rated the activity (n = \(values.count))"))
        }

        // 3A / 3B Knowledge: the paired t on totals, and McNemar pooled over declarative / procedural items.
        let t = v.knowledge?.pairedT
        let meanDifference = v.knowledge?.meanDifference
        let driftOK = (v.attribution?.driftCorrectedGain?.value ?? 1) > 0
        func pooled(_ procedural: Bool) -> McNemar? {
            let list = pairs.filter { !$0.control && $0.procedural == procedural }
            return McNemar(b: list.filter { $0.beforeCorrect && !$0.afterCorrect }.count, c: list.filter { !$0.beforeCorrect && $0.afterCorrect }.count)
        }
        if inputs.outcomes == nil {
            levels.append(level("3A", "Declarative knowledge", false, "assessment could not be read"))
            levels.append(level("3B", "Procedural knowledge", false, "assessment could not be read"))
        } else {
            let declarative = pooled(false)
            if let t, Int(t.n) >= minN {
                let significant = t.p < th.alpha && (meanDifference?.value ?? 0) > 0
                let itemsAgree = declarative.map { $0.c > $0.b } ?? true
                let ok = significant && itemsAgree && driftOK
                var why = "pre→post \(signed(meanDifference?.value ?? 0, 1)) points, t(\(Int(t.df))) = \(fixed(t.statistic, 2)), \(p(t.p)), n = \(t.n)"
                if !driftOK { why += "; but control items rose as much (drift)" }
                if !itemsAgree { why += "; but more items went right→wrong than wrong→right" }
                levels.append(level("3A", "Declarative knowledge", ok, why))
            } else {
                levels.append(level("3A", "Declarative knowledge", false, "fewer than \(minN) physicians took both pre- and post-test (n = \(t?.n ?? meanDifference?.n ?? 0))"))
            }
            if let m = pooled(true), m.b + m.c >= 1, pairs.filter({ $0.procedural }).count >= minN {
                levels.append(level("3B", "Procedural knowledge", m.c > m.b && m.p < th.alpha,
                                    "procedural items: \(m.c) wrong→right vs \(m.b) right→wrong, McNemar \(p(m.p))"))
            } else {
                levels.append(level("3B", "Procedural knowledge", false, "too few answered procedural items before and after"))
            }
        }

        // 4 Competence: case vignettes.
        if let competence = v.competence, let ct = competence.pairedT, Int(ct.n) >= minN,
           let before = competence.vignettePre?.value, let after = competence.vignettePost?.value {
            levels.append(level("4", "Competence", ct.p < th.alpha && after > before,
                                "vignette criteria met \(Int(before.rounded()))% → \(Int(after.rounded()))%, \(p(ct.p)), n = \(ct.n)"))
        } else {
            let commitments = v.commitments?.commitments ?? 0
            levels.append(level("4", "Competence", false, commitments > 0
                ? "no case vignettes before and after; \(commitments) commitments to change are intentions, not shown competence"
                : "no case vignettes before and after"))
        }

        // 5 Performance and 6 Patient health: practice measures, participants' rates before and after.
        for (id, name, outcome) in [("5", "Performance", false), ("6", "Patient health", true)] {
            let measures = v.practice.filter { $0.patientOutcome == outcome && Int($0.pairedT?.n ?? 0) >= minN }
            if let best = measures.min(by: { $0.pairedT!.p < $1.pairedT!.p }), let bt = best.pairedT {
                let baseline = best.participantBaseline?.value ?? 0
                let followUp = best.participantFollowUp?.value ?? 0
                let did = best.differenceInDifferences?.value
                let ok = bt.p < th.alpha && followUp > baseline && (did ?? 1) > 0
                var why = "\(best.measureCode): \(Int((baseline * 100).rounded()))% → \(Int((followUp * 100).rounded()))%, \(p(bt.p)), n = \(bt.n)"
                if let did { why += "; vs comparison \(did >= 0 ? "+" : "")\(Int((did * 100).rounded())) points" }
                levels.append(level(id, name, ok, why))
            } else {
                levels.append(level(id, name, false, "no \(outcome ? "patient-outcome" : "practice") measure at baseline and follow-up for \(minN) or more physicians"))
            }
        }

        levels.append(level("7", "Community health", false, "population data is out of scope"))
        return levels
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
