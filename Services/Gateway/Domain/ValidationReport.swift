import LVAPI
import LVMessages

/// The readable terminal report of an activity's validation view and of a physician's transcript
/// (`lvctl report`, `make demo`). Every number is shown with its n; a missing one says so.
public enum ValidationReport {
    static func pct(_ e: Estimate?) -> String { e.map { "\(fixed($0.value, 1))%" } ?? "—" }
    static func num(_ e: Estimate?, _ digits: Int = 2) -> String { e.map { fixed($0.value, digits) } ?? "—" }
    static func n(_ e: Estimate?) -> String { e.map { "n=\($0.n)" } ?? "n=0" }
    static func p(_ x: Double) -> String { x < 0.001 ? "p<0.001" : "p=\(fixed(x, 3))" }
    static func points(_ e: Estimate?) -> String { e.map { signed(100 * $0.value, 1) } ?? "—" }
    static func share(_ e: Estimate?) -> String { e.map { "\(fixed(100 * $0.value, 0))%" } ?? "—" }

    public static func activity(_ v: ActivityValidation) -> String {
        var out: [String] = []
        func line(_ s: String = "") { out.append(s) }
        let th = v.thresholds ?? Thresholds()
        // Partial view (issue #11): a banner, and nothing absent shown as a number (Completeness.swift).
        Completeness.banner(v.completeness).forEach { line($0) }
        let activityAbsent = v.completeness?.absent.contains { $0.section == "activity" } ?? false
        line("══ \(v.title.isEmpty ? v.activityId : v.title) (\(v.activityId)) ══")
        line("   target Moore level \(activityAbsent ? "— (unknown)" : "\(v.targetMooreLevel)")   alpha \(fixed(th.alpha, 2))   minimum n \(th.minimumN)")
        for d in v.degraded { line("   ⚠ missing: \(d.section) — \(d.code.protoName): \(d.message)") }
        if let f = v.funnel {
            line()
            line("Funnel")
            let steps: [(String, UInt32)] = [("registered", f.registered), ("attended", f.attended), ("credited", f.credited),
                                             ("engaged", f.engaged), ("pre+post assessed", f.prePostAssessed),
                                             ("knowledge gain", f.knowledgeGain), ("retained at follow-up", f.retained),
                                             ("committed to change", f.committed), ("implemented", f.implemented),
                                             ("practice improved", f.practiceImproved)]
            let top = max(1, Double(f.registered))
            for (name, count) in steps {
                let bar = String(repeating: "█", count: Int((Double(count) / top * 30).rounded()))
                line("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(String(count).leftPad(5))  \(bar)")
            }
        }
        if let k = v.knowledge {
            line()
            line("Knowledge (Moore 3A/3B), participants with pre and post")
            line("  pre \(pct(k.meanPre))  post \(pct(k.meanPost))  change \(num(k.meanDifference, 1)) points  (\(n(k.meanDifference)))")
            if let t = k.pairedT {
                line("  paired t(\(Int(t.df))) = \(fixed(t.statistic, 2)), \(p(t.p));  d_z \(num(k.dZ))  d_av \(num(k.dAv))")
            } else {
                line("  paired t: not computable (too few pairs)")
            }
            line("  Hake gain ⟨g⟩ \(num(k.hakeClass)) on class means, \(num(k.hakeIndividual)) mean of individual gains (\(n(k.hakeIndividual)))")
        }
        if !v.objectives.isEmpty {
            line()
            line("Per objective (McNemar, pre→post; Holm across objectives)")
            for o in v.objectives {
                line("  \(o.id.padding(toLength: 12, withPad: " ", startingAt: 0)) wrong→right \(String(o.c).leftPad(4))  right→wrong \(String(o.b).leftPad(4))  \(o.exact ? "exact" : "χ²=\(fixed(o.chiSquare, 2))") \(p(o.p))  Holm \(p(o.pHolm))")
            }
            let significantItems = v.items.filter { $0.pHolm < th.alpha && $0.c > $0.b }.count
            line("  items: \(v.items.count) tested, \(significantItems) improved beyond chance after Holm")
        }
        if let a = v.attribution {
            line()
            line("Attribution")
            line("  objective items \(points(a.objectiveGain)) points, control items (drift) \(points(a.controlDrift)), drift-corrected \(points(a.driftCorrectedGain)) points (\(n(a.driftCorrectedGain)))")
            if let d = a.dPpc2 {
                line("  vs comparison cohort: Morris d_ppc2 \(fixed(d.value, 2)) (n=\(d.n), \(a.comparisonN) comparison physicians)")
            } else {
                line("  vs comparison cohort: — (\(a.comparisonN) comparison physicians with pre and post)")
            }
        }
        if !v.retention.isEmpty {
            line()
            line("Retention")
            for r in v.retention {
                line("  +\(r.followUpDays) days: pre \(pct(r.meanPre)) → post \(pct(r.meanPost)) → follow-up \(pct(r.meanFollowUp)); \(share(r.retention)) of the gain kept (\(n(r.retention)))")
            }
        }
        if let c = v.competence, c.pairedT != nil || c.vignettePre != nil {
            line()
            line("Competence (Moore 4): vignette criteria met \(pct(c.vignettePre)) → \(pct(c.vignettePost))\(c.pairedT.map { ", \(p($0.p)), n=\($0.n)" } ?? "");  comparison post \(pct(c.comparisonPost))")
        }
        if let c = v.commitments {
            line()
            line("Commitment to change: \(c.commitments) commitments; \(share(c.commitmentRate)) of participants committed, \(share(c.followUpRate)) answered the follow-up, \(share(c.implementationRate)) implemented (fully \(c.fully), partially \(c.partially), not \(c.notImplemented))")
            if !c.barriers.isEmpty { line("  barriers: " + c.barriers.map { "\($0.barrier) (\($0.count))" }.joined(separator: ", ")) }
        }
        if !v.practice.isEmpty {
            line()
            line("Practice (Moore 5) and patient (Moore 6) measures")
            for m in v.practice {
                line("  \(m.measureCode)\(m.patientOutcome ? " [patient]" : ""): participants \(share(m.participantBaseline)) → \(share(m.participantFollowUp))\(m.pairedT.map { " (\(p($0.p)), n=\($0.n))" } ?? ""); comparison \(share(m.comparisonBaseline)) → \(share(m.comparisonFollowUp)); difference in differences \(m.differenceInDifferences.map { signed(100 * $0.value, 1) } ?? "—") points")
            }
        }
        if let e = v.engagementVsLearning {
            line()
            if let rho = e.rho {
                line("Engagement vs learning: Spearman ρ = \(fixed(rho.value, 2)) (\(p(e.p)), n=\(rho.n)) between engagement index and knowledge gain; mean engagement index \(num(v.meanEngagementIndex, 0))")
            } else {
                line("Engagement vs learning: — (too few physicians with both)")
            }
        }
        line()
        line("Moore levels")
        for l in v.levels {
            line("  \(l.notEvaluated ? "?" : l.evidenced ? "✔" : "✘") \(l.level.padding(toLength: 3, withPad: " ", startingAt: 0)) \(l.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(l.reason)")
        }
        let highestAbsent = v.completeness?.absent.first { $0.section == "highest_level" }
        line("  highest level evidenced: \(highestAbsent.map { "unknown (\($0.reason))" } ?? (v.highestLevel.isEmpty ? "none" : v.highestLevel))")
        if let g = v.gap {
            line()
            line("Validation gap: \(g.creditedWithoutEvidence) of \(g.creditedPhysicians) credited physicians (\(share(g.shareOfPhysicians))) and \(CreditText.format(g.creditsWithoutEvidence)) of \(CreditText.format(g.credits)) credits (\(share(g.shareOfCredits))) have no evidence of learning at Moore 3 or above")
        }
        return out.joined(separator: "\n") + "\n"
    }

    public static func physician(_ t: Lv_Gateway_V1_PhysicianTranscript) -> String {
        var out = Completeness.banner(t.completeness) + ["══ Learning transcript: \(t.name) (NPI \(t.npi)) ══"]
        for d in t.degraded { out.append("   ⚠ missing: \(d.section) — \(d.code.protoName): \(d.message)") }
        out.append("activity".padding(toLength: 26, withPad: " ", startingAt: 0) + " minutes  credits  engagement  pre    post   gain   follow-up  commitments  practice  level  evidence")
        for e in t.activities {
            let absent = Set(e.absent.map(\.section)) // unknown, shown as "?"
            let cells = [
                e.activityId.padding(toLength: 26, withPad: " ", startingAt: 0), (absent.contains("minutes_attended") ? "?" : String(e.minutesAttended)).leftPad(7), CreditText.format(e.credits).leftPad(8),
                (absent.contains("engagement_index") ? "?" : num(e.engagementIndex, 0)).leftPad(11),
            ] + (absent.contains("assessment") ? ["?", "?", "?", "?", "?", "?"].map { $0.leftPad(6) } : [
                pct(e.pre).leftPad(6), pct(e.post).leftPad(6), (e.gain.map { signed($0.value, 1) } ?? "—").leftPad(6),
                pct(e.followUp).leftPad(10), "\(e.implemented)/\(e.commitments)".leftPad(12), "\(e.measuresImproved)/\(e.measures)".leftPad(9),
            ]) + [
                absent.contains("highest_level") ? "?".leftPad(6) + " unknown" : (e.highestLevel.isEmpty ? "—" : e.highestLevel).leftPad(6)
                    + " " + (e.creditWithoutEvidence ? "credit without evidence" : (e.credits > 0 ? "credit validated" : "")),
            ]
            out.append(cells.joined(separator: " "))
        }
        out.append("credits \(CreditText.format(t.credits)), of which \(Completeness.isPartial(t.completeness) ? "at least " : "")\(CreditText.format(t.creditsWithEvidence)) with evidence of learning")
        return out.joined(separator: "\n") + "\n"
    }
}

enum CreditText {
    static func format(_ x: Double) -> String { fixed(x, 2) }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
