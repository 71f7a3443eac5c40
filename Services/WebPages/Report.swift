import GatewayDomain
import LVAPI
import LVMessages

extension Pages {
    /// The printable outcomes report of one activity: what an independent-medical-education grantor
    /// and an accreditor look for, in the order they read it. `lvctl report activity --pdf` prints
    /// this same page with headless Chromium.
    /// `standalone` embeds the stylesheet (a file printed to PDF has no server to fetch it from).
    public static func outcomesReport(_ v: ActivityView, viewer: Viewer?, standalone: Bool = false) -> HTML {
        let absent = Presentation.absent(v.completeness)
        let th = v.thresholds ?? Lv_Gateway_V1_Thresholds()
        var body: [HTML] = [
            el("h1", [:], "Outcomes report: \(v.title.isEmpty ? v.activityId : v.title)"),
            partialBanner(v.completeness),
        ]
        // 1. Activity facts
        body.append(section("facts", "Activity", [el("dl", [:], [
            el("dt", [:], "Activity id"), el("dd", [:], v.activityId),
            el("dt", [:], "Target Moore level"), el("dd", [:], absent["activity"].map { "unknown (\($0))" } ?? "\(v.targetMooreLevel)"),
            el("dt", [:], "Design"), el("dd", [:], Presentation.designUsed(v)),
            el("dt", [:], "Decision rules"), el("dd", [:], "one-sided tests at alpha \(fixed(th.alpha, 2)); at least \(th.minimumN) physicians for any statistic; mastery \(fixed(100 * th.mastery, 0))% of the pre-test"),
        ])]))
        // 2. Learners reached
        if let why = absent["funnel"] { body.append(absentSection("reach", "Learners reached", why)) }
        else if let f = v.funnel {
            var rows: [[HTML]] = [[t("Registered participants"), t("\(f.registered)")], [t("Attended (at least one minute)"), t("\(f.attended)")],
                                  [t("Credited"), t("\(f.credited)")]]
            if let g = v.gap { rows.append([t("Credits issued"), t(fixed(g.credits, 2))]) }
            if let a = f.assessed { rows += [[t("Took pre- and post-test"), t("\(a.prePostAssessed)")], [t("Improved reliably"), t("\(a.reliableGain)")], [t("Retained at follow-up"), t("\(a.retained)")]] }
            else if let why = absent["funnel.assessed"] { rows.append([t("Assessed"), unknown(why)]) }
            body.append(section("reach", "Learners reached", [table(caption: "Each step a subset of the one above", id: "reach-table", header: ["Step", "Physicians"], rows: rows, numeric: [1])]))
        }
        // 3. Outcome levels assessed and evidenced
        let rungs = Presentation.ladder(v).reversed()
        body.append(section("levels", "Outcome levels assessed and evidenced (Moore)", [
            table(caption: "Highest level evidenced: " + (absent["highest_level"].map { "unknown (\($0))" } ?? (v.highestLevel.isEmpty ? "none" : v.highestLevel)),
                  id: "levels-table", header: ["Level", "Assessed", "Evidenced", "Result"],
                  rows: rungs.map { r in [t("\(r.level) \(r.name)"),
                                          t(r.state == .notEvaluated ? "not evaluated (source missing)" : r.evidence.isEmpty && r.state == .notEvidenced ? "no test run" : "yes"),
                                          t("\(r.symbol) \(r.stateText)"), t(r.reason)] }),
        ]))
        // 4. Effect sizes with CIs
        var effects: [[HTML]] = []
        if let k = v.knowledge {
            effects.append([t("Knowledge: mean change (score points)"), t(Presentation.estimate(k.meanDifference, digits: 1)), t("\(k.meanDifference?.n ?? 0)")])
            effects.append([t("Knowledge: d_z"), t(Presentation.estimate(k.dZ)), t("\(k.dZ?.n ?? 0)")])
        }
        if let a = v.attribution {
            if let d = a.comparisonDifference { effects.append([t("Change vs comparison cohort (points)"), t(Presentation.estimate(d, digits: 1, scale: 100)), t("\(d.n)")]) }
            if let d = a.dPpc2 { effects.append([t("Morris d_ppc2 vs comparison"), t(Presentation.estimate(d)), t("\(d.n)")]) }
            if let d = a.driftCorrectedGain { effects.append([t("Drift-corrected gain (points)"), t(Presentation.estimate(d, digits: 1, scale: 100)), t("\(d.n)")]) }
        }
        for o in v.objectives { if let e = o.effect { effects.append([t("Objective \(o.measure) (points)"), t(Presentation.estimate(e, digits: 1)), t("\(o.participants)")]) } }
        for m in v.practice { if let d = m.differenceInDifferences { effects.append([t("Practice \(m.measureCode): difference in differences (rate points)"), t(Presentation.estimate(d, digits: 1, scale: 100)), t("\(d.n)")]) } }
        let effectAbsent = ["knowledge", "attribution", "objectives", "practice"].compactMap { s in absent[s].map { "\(s): \($0)" } }
        body.append(section("effects", "Effect sizes with 95% confidence intervals", [
            effects.isEmpty ? el("p", [:], "No effect could be estimated.") : table(caption: "Estimates with their n", id: "effects-table", header: ["Outcome", "Estimate (95% CI)", "n"], rows: effects, numeric: [2]),
        ] + effectAbsent.map { el("p", ["class": "absent-reason"], "Absent: \($0)") }))
        // 4b. Planning: desired against evidenced per objective
        body.append(planningSection(v, absent: absent, id: "report-planning"))
        // 5. Methods and limits
        body.append(section("methods", "Methods, in plain language, and their limits", [el("ul", [:], methods(v).map { el("li", [:], $0) })]))
        // 6. Validation gap
        if let why = absent["gap"] { body.append(absentSection("report-gap", "Validation gap", why)) }
        else if let g = v.gap { body.append(section("report-gap", "Validation gap: credit issued and what each physician's own data shows", [gapTable(g)])) }
        return layout(title: "Outcomes report", viewer: viewer, printable: true, embedStyle: standalone, body)
    }

    /// The methods paragraph, following the design the view used.
    static func methods(_ v: ActivityView) -> [String] {
        let th = v.thresholds ?? Lv_Gateway_V1_Thresholds()
        var out = [
            "Each Moore level is decided by one pre-specified, one-sided test of improvement at alpha \(fixed(th.alpha, 2)), with the physician (not the test item) as the unit of analysis, and only when at least \(th.minimumN) physicians contribute.",
            "Per-objective and per-measure tests are adjusted for multiplicity with Holm's method.",
        ]
        if v.planning != nil {
            out.append("Planning: each objective is judged at levels 3A to 6 on the items and measures mapped to it only, by the same tests as the ladder; every such test is one Holm family, so the chance of any false claim in the planning table stays at alpha. The breakdown by profession and specialty is descriptive (no level is claimed for a group) and shown only for groups of at least \(v.planning!.subgroupMinimumN) physicians.")
        }
        if v.attribution?.comparisonDifference != nil {
            out.append("Improvement is attributed to the activity by comparing participants' change with a comparison cohort of \(v.attribution?.comparisonN ?? 0) physicians measured at the same times (Welch t on change scores; Morris d_ppc2). Limit: the cohort was not randomised; differences between the groups other than the activity can remain.")
        } else {
            out.append("No comparison cohort of the minimum size was measured at both times: participants' pre→post change is corrected by each physician's change on control items not taught (test-retest drift). Limit: this is weaker than a comparison cohort; secular trends that affect taught items only are not removed.")
        }
        out.append("A physician's own knowledge change is called reliable when its reliable change index exceeds 1.96 (Jacobson & Truax 1991), using \(v.gap?.reliability?.method ?? "the instrument's reliability"). Limit: one physician's change is measured with error; the classification is evidence about the activity, not a judgment of the physician.")
        if !v.retention.isEmpty { out.append("Retention is the share of the immediate gain still present at follow-up, reported only where the immediate gain is significantly positive. Limit: physicians who answer a follow-up may differ from those who do not.") }
        if !v.practice.isEmpty { out.append("Practice and patient measures are per-physician rates before and after, compared with the comparison cohort (difference in differences). Limit: rates depend on case mix and documentation.") }
        out.append("Missing data are never counted as zero: a section whose source could not be read is reported as absent, with the reason.")
        return out
    }
}
