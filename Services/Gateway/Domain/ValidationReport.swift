import Foundation
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

    static func ci(_ e: Estimate?, _ digits: Int = 1, scale: Double = 1) -> String {
        guard let c = e?.ci else { return "" }
        return " (95% CI \(fixed(scale * c.lower, digits)) to \(fixed(scale * c.upper, digits)))"
    }

    public static func activity(_ v: ActivityValidation) -> String {
        var out: [String] = []
        func line(_ s: String = "") { out.append(s) }
        let th = v.thresholds ?? Thresholds()
        // Partial view (issue #11): a banner, and nothing absent shown as a number (Completeness.swift).
        Completeness.banner(v.completeness).forEach { line($0) }
        let activityAbsent = v.completeness?.absent.contains { $0.section == "activity" } ?? false
        line("══ \(v.title.isEmpty ? v.activityId : v.title) (\(v.activityId)) ══")
        line("   target Moore level \(activityAbsent ? "— (unknown)" : "\(v.targetMooreLevel)")   alpha \(fixed(th.alpha, 2)) (one-sided)   minimum n \(th.minimumN)")
        for d in v.degraded { line("   ⚠ missing: \(d.section) — \(d.code.protoName): \(d.message)") }
        if let f = v.funnel {
            line()
            line("Funnel (each step a subset of the one above)")
            var steps: [(String, UInt32)] = [("registered", f.registered), ("attended", f.attended), ("credited", f.credited)]
            if let a = f.assessed {
                steps += [("pre+post assessed", a.prePostAssessed), ("reliable gain", a.reliableGain), ("retained at follow-up", a.retained)]
            }
            bars(steps, top: f.registered, line)
        }
        if let c = v.changeFunnel {
            line("Change in practice (participants; each step a subset of the one above)")
            bars([("committed to change", c.committed), ("implemented", c.implemented), ("practice improved", c.practiceImproved)],
                 top: v.funnel?.registered ?? c.committed, line)
        }
        if let k = v.knowledge {
            line()
            line("Knowledge, participants with pre and post (descriptive)")
            line("  pre \(pct(k.meanPre))  post \(pct(k.meanPost))  change \(num(k.meanDifference, 1)) points\(ci(k.meanDifference))  (\(n(k.meanDifference)))")
            if let t = k.pairedT {
                line("  paired t(\(Int(t.df))) = \(fixed(t.statistic, 2)), two-sided \(p(t.p));  d_z \(num(k.dZ))\(ci(k.dZ, 2))  d_av \(num(k.dAv))")
            } else {
                line("  paired t: — (fewer than 2 pairs, or every change the same)")
            }
            line("  Hake gain ⟨g⟩ \(num(k.hakeClass)) on class means, \(num(k.hakeIndividual)) mean of individual gains (\(n(k.hakeIndividual)))")
        }
        if let c = v.confidence, c.misinformationPre != nil || c.misinformationPost != nil {
            line("  confidently wrong (misinformation) \(share(c.misinformationPre)) → \(share(c.misinformationPost)) of rated answers; confident when right \(share(c.confidentWhenRightPre)) → \(share(c.confidentWhenRightPost)) (\(n(c.misinformationPost)))")
        }
        if !v.objectives.isEmpty {
            line()
            line("Per objective (per-physician objective scores; Holm across objectives)")
            for o in v.objectives {
                line("  \(o.measure.padding(toLength: 12, withPad: " ", startingAt: 0)) " + (o.test == nil ? "— not tested (n = \(o.participants) participants, \(o.comparison) comparison)" : MooreLevels.describe(o)))
            }
        }
        if !v.items.isEmpty {
            let tested = v.items.filter { $0.result != nil }
            let improved = tested.filter { $0.result!.pHolm < th.alpha && $0.c > $0.b }.count
            line("  items (McNemar, detail): \(v.items.count) items, \(tested.count) with discordant pairs, \(improved) improved beyond chance after Holm")
        }
        if let a = v.attribution {
            line()
            line("Attribution")
            line("  objective items \(points(a.objectiveGain)) points, control items (drift) \(points(a.controlDrift)), drift-corrected \(points(a.driftCorrectedGain))\(ci(a.driftCorrectedGain, 1, scale: 100)) points (\(n(a.driftCorrectedGain)))")
            if let d = a.comparisonDifference {
                line("  vs comparison cohort (\(a.comparisonN) physicians): change \(points(d))\(ci(d, 1, scale: 100)) points more; Morris d_ppc2 \(num(a.dPpc2))\(ci(a.dPpc2, 2))")
            } else {
                line("  vs comparison cohort: — (\(a.comparisonN) comparison physicians with pre and post)")
            }
        }
        if !v.retention.isEmpty {
            line()
            line("Retention")
            for r in v.retention {
                let kept = r.retention.map { "\(share($0)) of the gain kept" } ?? r.note
                line("  +\(r.followUpDays) days: pre \(pct(r.meanPre)) → post \(pct(r.meanPost)) → follow-up \(pct(r.meanFollowUp)); \(kept) (\(n(r.meanFollowUp)))")
            }
        }
        if let c = v.competence, c.vignettePre != nil {
            line()
            line("Competence (case vignettes): criteria met \(pct(c.vignettePre)) → \(pct(c.vignettePost))\(c.pairedT.map { ", two-sided \(p($0.p)), n=\($0.n)" } ?? ""); comparison \(pct(c.comparisonPre)) → \(pct(c.comparisonPost))")
        }
        if let c = v.commitments, c.commitments > 0 {
            line()
            line("Commitment to change: \(c.commitments) commitments; \(share(c.commitmentRate)) of participants committed, \(share(c.followUpRate)) answered the follow-up, \(share(c.implementationRate)) implemented (fully \(c.fully), partially \(c.partially), not \(c.notImplemented))")
            if !c.barriers.isEmpty { line("  barriers: " + c.barriers.map { "\($0.barrier) (\($0.count))" }.joined(separator: ", ")) }
        }
        if !v.practice.isEmpty {
            line()
            line("Practice (Moore 5) and patient (Moore 6) measures")
            for m in v.practice {
                line("  \(m.measureCode)\(m.patientOutcome ? " [patient]" : ""): participants \(share(m.participantBaseline)) → \(share(m.participantFollowUp)); comparison \(share(m.comparisonBaseline)) → \(share(m.comparisonFollowUp))")
                line("    " + (m.evidence.map { MooreLevels.describe($0, unit: "rate points") } ?? m.note))
            }
        }
        if let e = v.engagementVsLearning {
            line()
            if let rho = e.rho {
                line("Engagement vs learning: Spearman ρ = \(fixed(rho.value, 2))\(e.test.map { " (two-sided \(p($0.p)))" } ?? "") between engagement index and knowledge gain, n=\(rho.n); mean engagement index \(num(v.meanEngagementIndex, 0)); \(e.engaged) participants engaged")
            } else {
                line("Engagement vs learning: — (too few physicians with both, or no variation); \(e.engaged) participants engaged")
            }
        }
        line()
        line("Moore levels (each a one-sided test at alpha with the physician as the unit)")
        for l in v.levels {
            line("  \(l.notEvaluated ? "?" : l.evidenced ? "✔" : "✘") \(l.level.padding(toLength: 3, withPad: " ", startingAt: 0)) \(l.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(l.reason)")
        }
        let highestAbsent = v.completeness?.absent.first { $0.section == "highest_level" }
        line("  highest level evidenced: \(highestAbsent.map { "unknown (\($0.reason))" } ?? (v.highestLevel.isEmpty ? "none" : v.highestLevel))")
        if let plan = v.planning {
            line()
            planning(plan, line)
        }
        if let g = v.gap {
            line()
            line("Credit and evidence: \(g.creditedPhysicians) credited participants, \(CreditText.format(g.credits)) credits")
            for row in g.byVerdict {
                let extra = row.withIndividualEvidence > 0 ? "; \(row.withIndividualEvidence) with individual competence or practice evidence" : ""
                line("  \(row.verdict.label.padding(toLength: 38, withPad: " ", startingAt: 0)) \(String(row.physicians).leftPad(5)) physicians (\(share(row.shareOfCredited)))  \(CreditText.format(row.credits).leftPad(8)) credits\(extra)")
            }
            if let r = g.reliability { line("  reliable change: \(r.method)") }
            line("  (a classification is evidence about the activity's effect, not a judgment of a physician; accreditation does not require post-tests)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// "Planning: desired vs evidenced": one line per objective (a level not evidenced is shown as
    /// "—" with its reason, never as a number), then the descriptive breakdown.
    static func planning(_ plan: Lv_Gateway_V1_PlanningComparison, _ line: (String) -> Void) {
        line("Planning: desired vs evidenced (per objective: only its own items and measures; Holm across all \(plan.familySize) tests)")
        line("  practice gap: \(plan.practiceGap.split(separator: "\n").joined(separator: " / "))")
        line("  evidence: \(plan.evidenceSources.map(label).joined(separator: ", "))\(plan.evidenceDetail.isEmpty ? "" : " — \(plan.evidenceDetail)")")
        line("  audience: \(plan.targetProfessions.map(label).joined(separator: ", "))\(plan.specialties.isEmpty ? "" : "; " + plan.specialties.joined(separator: ", "))")
        let width = max(18, plan.objectives.map(\.objectiveId.count).max() ?? 0)
        line("  \("objective".padding(toLength: width, withPad: " ", startingAt: 0)) desired  evidenced  met")
        for o in plan.objectives {
            let met = o.desiredLevel.isEmpty ? "—" : o.desiredMet ? "yes" : "no"
            line("  \(o.objectiveId.padding(toLength: width, withPad: " ", startingAt: 0)) \((o.desiredLevel.isEmpty ? "—" : o.desiredLevel).padding(toLength: 8, withPad: " ", startingAt: 0)) \((o.evidencedLevel.isEmpty ? "—" : o.evidencedLevel).padding(toLength: 10, withPad: " ", startingAt: 0)) \(met)")
            line("    \(o.reason)")
        }
        line("  Knowledge change by group (descriptive, no level claimed; shown where n ≥ \(plan.subgroupMinimumN))")
        if !plan.breakdownNote.isEmpty { line("    — \(plan.breakdownNote)") }
        for (title, groups) in [("profession", plan.byProfession), ("specialty", plan.bySpecialty)] where !groups.isEmpty {
            line("    by \(title):")
            for g in groups {
                let value = g.knowledgeChange.map { "\(signed($0.value, 1)) points\(ci($0))" } ?? "—"
                line("      \(g.group.padding(toLength: 24, withPad: " ", startingAt: 0)) n=\(String(g.n).leftPad(4))  \(value)\(g.note.isEmpty ? "" : "  \(g.note)")")
            }
        }
    }

    /// "GAP_EVIDENCE_SOURCE_NEEDS_SURVEY" → "needs survey", "PROFESSION_NURSE" → "nurse".
    public static func label(_ protoName: String) -> String {
        var s = Substring(protoName)
        for prefix in ["GAP_EVIDENCE_SOURCE_", "PROFESSION_"] where s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
        return s.lowercased().split(separator: "_").joined(separator: " ")
    }

    static func bars(_ steps: [(String, UInt32)], top: UInt32, _ line: (String) -> Void) {
        let top = max(1, Double(top))
        for (name, count) in steps {
            let bar = String(repeating: "█", count: Int((min(1, Double(count) / top) * 30).rounded()))
            line("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(String(count).leftPad(5))  \(bar)")
        }
    }

    public static func physician(_ t: Lv_Gateway_V1_PhysicianTranscript) -> String {
        var out = Completeness.banner(t.completeness) + ["══ Learning transcript: \(t.name) (NPI \(t.npi)) ══"]
        for d in t.degraded { out.append("   ⚠ missing: \(d.section) — \(d.code.protoName): \(d.message)") }
        out.append("activity".padding(toLength: 26, withPad: " ", startingAt: 0) + " minutes  credits  engagement  pre    post   gain    RCI   follow-up  commitments  practice  level  verdict")
        for e in t.activities {
            let absent = Set(e.absent.map(\.section)) // unknown, shown as "?"
            let cells = [
                e.activityId.padding(toLength: 26, withPad: " ", startingAt: 0), (absent.contains("minutes_attended") ? "?" : String(e.minutesAttended)).leftPad(7), CreditText.format(e.credits).leftPad(8),
                (absent.contains("engagement_index") ? "?" : num(e.engagementIndex, 0)).leftPad(11),
            ] + (absent.contains("assessment") ? ["?", "?", "?", "?", "?", "?", "?"].map { $0.leftPad(6) } : [
                pct(e.pre).leftPad(6), pct(e.post).leftPad(6), (e.gain.map { signed($0.value, 1) } ?? "—").leftPad(6),
                num(e.reliableChangeIndex, 1).leftPad(6),
                pct(e.followUp).leftPad(10), "\(e.implemented)/\(e.commitments)".leftPad(12), "\(e.measuresImproved)/\(e.measures)".leftPad(9),
            ]) + [
                absent.contains("highest_level") ? "?".leftPad(6) + " unknown" : (e.highestLevel.isEmpty ? "—" : e.highestLevel).leftPad(6) + " " + e.verdict.label,
            ]
            out.append(cells.joined(separator: " "))
        }
        out.append("credits \(CreditText.format(t.credits)), of which \(Completeness.isPartial(t.completeness) ? "at least " : "")\(CreditText.format(t.creditsWithEvidence)) where this physician improved reliably")
        return out.joined(separator: "\n") + "\n"
    }
}

enum CreditText {
    static func format(_ x: Double) -> String { fixed(x, 2) }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
