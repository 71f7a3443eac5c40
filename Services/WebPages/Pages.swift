import GatewayDomain
import LVAPI
import LVMessages

/// The pages, as functions of the gateway's answers and the signed-in session. Every value from
/// the wire goes through `t`/`el`/`elA` (escaped); markup is written only here and in HTML.swift.
public enum Pages {
    /// Who is looking: shown in the header, and the CSRF token of the sign-out form.
    public struct Viewer: Sendable {
        public var label: String
        public var csrfToken: String
        /// A physician-scoped session sees only this NPI's transcript.
        public var physicianNPI: String?
        public init(label: String, csrfToken: String, physicianNPI: String? = nil) {
            (self.label, self.csrfToken, self.physicianNPI) = (label, csrfToken, physicianNPI)
        }
    }

    static func layout(title: String, viewer: Viewer?, printable: Bool = false, embedStyle: Bool = false, _ body: [HTML]) -> HTML {
        var nav: [HTML] = []
        if let viewer {
            var links: [HTML] = []
            if viewer.physicianNPI == nil { links.append(el("a", ["href": "/activities"], "Activities")) }
            else { links.append(el("a", ["href": "/physicians/\(viewer.physicianNPI!)"], "My transcript")) }
            nav = [el("nav", ["aria-label": "Main"], links + [
                el("span", ["class": "viewer"], "Signed in: \(viewer.label)"),
                el("form", ["method": "post", "action": "/logout", "class": "inline"], [
                    void("input", [("type", "hidden"), ("name", "csrf"), ("value", viewer.csrfToken)]),
                    el("button", ["type": "submit"], "Sign out"),
                ]),
            ])]
        }
        let head = HTML(markup: "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + (embedStyle ? "<style>\(Stylesheet.css)</style>" : "<link rel=\"stylesheet\" href=\"/static/lv.css\">")) + el("title", [:], title + " · Learning Validation") + HTML(markup: "</head>")
        let header = el("header", ["class": printable ? "print-header" : ""], [el("a", ["class": "brand", "href": "/"], "Learning Validation")] + nav)
        return head + el("body", printable ? ["class": "report"] : [:], [header, el("main", ["id": "main"], body)]) + HTML(markup: "</html>")
    }

    /// The partial-view banner: which sources could not be read and which sections are absent, with why.
    static func partialBanner(_ c: ViewCompleteness?) -> HTML {
        guard let c, Presentation.isPartial(c) else { return .empty }
        let sources = c.missingSources.map { el("li", [:], "\($0.section) could not be read — \($0.code.protoName): \($0.message)") }
        let sections = c.absent.map { el("li", [:], [el("code", [:], $0.section), t(": \($0.reason)")]) }
        return el("div", ["class": "banner partial", "role": "status", "id": "partial"], [
            el("h2", [:], "Partial view"),
            el("p", [:], "Not every source could be read. The sections that need them are absent below — unknown, not zero."),
            el("ul", [:], sources),
            el("details", [:], [el("summary", [:], "Absent sections (\(c.absent.count))"), el("ul", [:], sections)]),
        ])
    }

    /// A section that could not be shown, and why (never a blank or a zero).
    static func absentSection(_ id: String, _ heading: String, _ why: String) -> HTML {
        el("section", ["id": id, "class": "absent", "aria-labelledby": "\(id)-h"], [
            el("h2", ["id": "\(id)-h"], heading), el("p", ["class": "absent-reason"], "Absent: \(why)"),
        ])
    }

    static func section(_ id: String, _ heading: String, _ body: [HTML]) -> HTML {
        el("section", ["id": id, "aria-labelledby": "\(id)-h"], [el("h2", ["id": "\(id)-h"], heading)] + body)
    }

    static func table(caption: String, id: String = "", header: [String], rows: [[HTML]], numeric: Set<Int> = []) -> HTML {
        let head = el("thead", [:], [el("tr", [:], header.enumerated().map { i, h in elA("th", [("scope", "col")] + (numeric.contains(i) ? [("class", "num")] : []), [t(h)]) })])
        let body = el("tbody", [:], rows.map { r in el("tr", [:], r.enumerated().map { i, c in elA("td", numeric.contains(i) ? [("class", "num")] : [], [c]) }) })
        return elA("table", id.isEmpty ? [] : [("id", id)], [el("caption", [:], caption), head, body])
    }

    static func unknown(_ reason: String) -> HTML {
        el("span", ["class": "unknown", "title": "unknown: \(reason)"], [t("?"), el("span", ["class": "sr-only"], " unknown: \(reason)")])
    }

    // MARK: Sign in

    public static func login(csrfToken: String, error: String? = nil, next: String = "") -> HTML {
        layout(title: "Sign in", viewer: nil, [
            el("h1", [:], "Sign in"),
            error.map { el("p", ["class": "error", "role": "alert"], $0) } ?? .empty,
            el("form", ["method": "post", "action": "/login", "class": "login"], [
                void("input", [("type", "hidden"), ("name", "csrf"), ("value", csrfToken)]),
                void("input", [("type", "hidden"), ("name", "next"), ("value", next)]),
                el("label", ["for": "key"], "API key"),
                void("input", [("id", "key"), ("name", "key"), ("type", "password"), ("autocomplete", "current-password"), ("required", "")]),
                el("label", ["for": "npi"], "NPI (physicians: your own transcript only; leave empty for an analyst key)"),
                void("input", [("id", "npi"), ("name", "npi"), ("inputmode", "numeric"), ("pattern", "[0-9]{10}"), ("autocomplete", "off")]),
                el("button", ["type": "submit"], "Sign in"),
            ]),
            el("p", ["class": "note"], "Your key is checked by the gateway; this server keeps it only for your session, in memory."),
        ])
    }

    public static func error(status: Int, title: String, message: String, viewer: Viewer?) -> HTML {
        layout(title: title, viewer: viewer, [el("h1", [:], title), el("p", ["class": "error", "role": "alert"], "\(status): \(message)")])
    }

    // MARK: Activities

    public static func activities(_ summaries: [ActivitySummary], query: String, minimumLevel: String,
                                  sort: Presentation.SortKey, descending: Bool, viewer: Viewer) -> HTML {
        let rows = Presentation.activityRows(summaries, query: query, minimumLevel: minimumLevel, sort: sort, descending: descending)
        func q(_ s: Presentation.SortKey, _ desc: Bool) -> String {
            var parts = ["sort=\(s.rawValue)", "dir=\(desc ? "desc" : "asc")"]
            if !query.isEmpty { parts.append("q=\(percentEncode(query))") }
            if !minimumLevel.isEmpty { parts.append("level=\(percentEncode(minimumLevel))") }
            return "/activities?" + parts.joined(separator: "&")
        }
        let header = el("tr", [:], Presentation.SortKey.allCases.map { k in
            let active = k == sort
            let next = active ? !descending : (k != .activity)
            return elA("th", [("scope", "col"), ("aria-sort", active ? (descending ? "descending" : "ascending") : "none")] + (k == .activity ? [] : [("class", "num")]),
                       [el("a", ["href": q(k, next)], [t(k.title), active ? t(descending ? " ▼" : " ▲") : .empty])])
        } + [el("th", ["scope": "col"], "3A one-sided p"), el("th", ["scope": "col"], "Complete")])
        func cell<T>(_ v: T?, _ field: String, _ r: Presentation.ActivityRow, _ f: (T) -> String) -> HTML {
            if let v { return t(f(v)) }
            if let why = r.unknown[field] { return unknown(why) }
            return t("—")
        }
        let body = rows.map { r -> HTML in
            elA("tr", [("data-activity", r.id)], [
                el("td", [:], [el("a", ["href": "/activities/\(percentEncode(r.id))"], r.title.isEmpty ? r.id : r.title), el("div", ["class": "id"], r.id)]),
                el("td", ["class": "num", "data-field": "participants"], [cell(r.participants, "participants", r) { "\($0)" }]),
                el("td", ["class": "num", "data-field": "credited"], [cell(r.credited, "credited", r) { "\($0)" }]),
                el("td", ["class": "num", "data-field": "highest_level"], [cell(r.highestLevel, "highest_level", r) { $0.isEmpty ? "none" : $0 }]),
                el("td", ["class": "num", "data-field": "gap"], [cell(r.creditedWithoutEvidence, "gap", r) { "\($0) of \(r.credited.map(String.init) ?? "?")" }]),
                el("td", ["class": "num", "data-field": "effect"], [cell(r.dz, "effect", r) { d in
                    signed(d, 2) + (r.dzLower.flatMap { l in r.dzUpper.map { " (\(fixed(l, 2)) to \(fixed($0, 2)))" } } ?? "")
                }]),
                el("td", ["class": "num", "data-field": "p"], [cell(r.p3A, "effect", r) { Presentation.p($0) }]),
                el("td", [:], r.partial ? "partial" : "yes"),
            ])
        }
        let levels = [""] + Presentation.levelOrder
        let filter = el("form", ["method": "get", "action": "/activities", "class": "filter", "role": "search"], [
            el("label", ["for": "q"], "Filter"),
            void("input", [("id", "q"), ("name", "q"), ("value", query), ("type", "search")]),
            el("label", ["for": "level"], "Highest level at least"),
            el("select", ["id": "level", "name": "level"], levels.map { l in
                elA("option", [("value", l)] + (l == minimumLevel ? [("selected", "")] : []), [t(l.isEmpty ? "any" : l)])
            }),
            void("input", [("type", "hidden"), ("name", "sort"), ("value", sort.rawValue)]),
            void("input", [("type", "hidden"), ("name", "dir"), ("value", descending ? "desc" : "asc")]),
            el("button", ["type": "submit"], "Apply"),
        ])
        return layout(title: "Activities", viewer: viewer, [
            el("h1", [:], "Activities"),
            summaries.contains { Presentation.isPartial($0.completeness) }
                ? el("div", ["class": "banner partial", "role": "status", "id": "partial"], [el("p", [:], "Some activities are partial: a source could not be read. Their unknown values show as ? with the reason.")]) : .empty,
            filter,
            el("p", [:], [el("a", ["href": "/activities.csv"], "Download CSV")]),
            el("table", ["id": "activities"], [
                el("caption", [:], "\(rows.count) of \(summaries.count) activities; select a column heading to sort"),
                el("thead", [:], [header]), el("tbody", [:], body),
            ]),
        ])
    }

    public static func activitiesCSV(_ summaries: [ActivitySummary]) -> String {
        csv(["activity_id", "title", "participants", "credited", "highest_level", "reliable_improvement", "credited_without_reliable_improvement",
             "d_z", "d_z_ci_lower", "d_z_ci_upper", "p_3A_one_sided", "complete"],
            Presentation.activityRows(summaries).map { r in
                func o<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "" }
                return [r.id, r.title, o(r.participants), o(r.credited), r.highestLevel ?? "", o(r.reliableImprovement), o(r.creditedWithoutEvidence),
                        o(r.dz), o(r.dzLower), o(r.dzUpper), o(r.p3A), r.partial ? "partial" : "yes"]
            })
    }

    // MARK: Activity

    static func ladderTable(_ v: ActivityView) -> HTML {
        let rungs = Presentation.ladder(v)
        let rows = rungs.map { r -> HTML in
            let tests = r.evidence.map { e -> HTML in
                elA("li", [("class", "evidence"), ("data-measure", e.measure)] + (e.p.map { [("data-p", "\($0)")] } ?? []) + (e.pAdjusted.map { [("data-p-adjusted", "\($0)")] } ?? []), [
                    el("strong", [:], e.measure), t(" — \(e.design); n = \(e.participants)\(e.comparison > 0 ? " vs \(e.comparison) comparison" : ""); effect \(e.effect); standardized \(e.standardized); "),
                    t(e.p.map { "one-sided p \(Presentation.p($0))" } ?? "no test"),
                    t(e.pAdjusted.map { ", Holm p \(Presentation.p($0))" } ?? ""),
                    t(e.significant ? " — beyond chance" : " — not beyond chance"),
                ])
            }
            return elA("tr", [("class", "rung \(r.state.rawValue)"), ("data-level", r.level), ("data-state", r.state.rawValue)], [
                el("th", ["scope": "row"], [el("span", ["class": "symbol", "aria-hidden": "true"], r.symbol), t(" \(r.level) \(r.name)")]),
                el("td", [:], r.stateText),
                el("td", ["class": "rule"], r.rule),
                el("td", [:], tests.isEmpty ? [t("—")] : [el("ul", ["class": "tests"], tests)]),
                el("td", [:], r.reason),
            ])
        }
        return el("table", ["id": "ladder", "class": "ladder"], [
            el("caption", [:], "Moore's outcome levels, highest first: each a pre-specified one-sided test at alpha with the physician as the unit"),
            el("thead", [:], [el("tr", [:], ["Level", "State", "Rule", "Evidence (n, estimate, 95% CI, p)", "Why"].map { el("th", ["scope": "col"], $0) })]),
            el("tbody", [:], rows),
        ])
    }

    public static func activity(_ v: ActivityView, viewer: Viewer) -> HTML {
        let absent = Presentation.absent(v.completeness)
        let th = v.thresholds ?? Lv_Gateway_V1_Thresholds()
        let idPath = percentEncode(v.activityId)
        var body: [HTML] = [
            el("h1", [:], v.title.isEmpty ? v.activityId : v.title),
            el("p", ["class": "facts"], "\(v.activityId) · target Moore level \(absent["activity"] == nil ? "\(v.targetMooreLevel)" : "unknown") · alpha \(fixed(th.alpha, 2)) one-sided · minimum n \(th.minimumN)"),
            partialBanner(v.completeness),
            el("p", ["class": "links"], [
                el("a", ["href": "/activities/\(idPath)/report"], "Outcomes report (printable)"), t(" · CSV: "),
                el("a", ["href": "/activities/\(idPath)/ladder.csv"], "ladder"), t(", "),
                el("a", ["href": "/activities/\(idPath)/objectives.csv"], "objectives"), t(", "),
                el("a", ["href": "/activities/\(idPath)/practice.csv"], "practice"), t(", "),
                el("a", ["href": "/activities/\(idPath)/gap.csv"], "validation gap"),
            ]),
            section("design", "Design", [el("p", [:], Presentation.designUsed(v))]),
        ]
        if let why = absent["funnel"] { body.append(absentSection("funnel", "Funnel", why)) }
        else if v.funnel != nil {
            var parts = [Charts.funnel(id: "funnel-chart", title: "Participation funnel: each step a subset of the one above",
                                       steps: Presentation.funnelSteps(v), top: v.funnel!.registered)]
            if let why = absent["funnel.assessed"] { parts.append(el("p", ["class": "absent-reason"], "Assessed steps absent: \(why)")) }
            body.append(section("funnel", "Funnel", parts))
        }
        if let why = absent["change_funnel"] { body.append(absentSection("change", "Change in practice", why)) }
        else if v.changeFunnel != nil {
            body.append(section("change", "Change in practice", [Charts.funnel(id: "change-chart", title: "Participants: commitment to implementation to practice",
                                                                            steps: Presentation.changeSteps(v), top: v.funnel?.registered ?? v.changeFunnel!.committed)]))
        }
        body.append(section("ladder-section", "Moore ladder", [ladderTable(v),
            el("p", [:], "Highest level evidenced: " + (absent["highest_level"].map { "unknown (\($0))" } ?? (v.highestLevel.isEmpty ? "none" : v.highestLevel)))]))
        if let why = absent["knowledge"] { body.append(absentSection("knowledge", "Knowledge", why)) }
        else if let k = v.knowledge {
            body.append(section("knowledge", "Knowledge (participants with pre and post)", [el("p", [:],
                "pre \(Presentation.percent(k.meanPre)) → post \(Presentation.percent(k.meanPost)); change \(Presentation.estimate(k.meanDifference, digits: 1)) points (n=\(k.meanDifference?.n ?? 0)); d_z \(Presentation.estimate(k.dZ)); Hake ⟨g⟩ \(k.hakeClass.map { fixed($0.value, 2) } ?? "—")"
                + (k.pairedT.map { "; paired t(\(fixed($0.df, 0))) = \(fixed($0.statistic, 2)), two-sided p \(Presentation.p($0.p))" } ?? ""))]))
        }
        if let why = absent["objectives"] { body.append(absentSection("objectives", "Per-objective effects", why)) }
        else {
            let rows = Presentation.objectiveIntervals(v)
            body.append(section("objectives", "Per-objective effects", rows.isEmpty ? [el("p", [:], "No objective could be tested (too few physicians).")] :
                [Charts.forest(id: "forest-chart", title: "Per-objective effect (score points) with 95% CI; filled = beyond chance after Holm", unit: "points", rows: rows)]))
        }
        body.append(planningSection(v, absent: absent))
        if let why = absent["retention"] { body.append(absentSection("retention", "Retention", why)) }
        else if !v.retention.isEmpty {
            body.append(section("retention", "Retention (pre, post, follow-up per delay)", [
                Charts.lines(id: "retention-chart", title: "Mean score at pre-test, post-test and follow-up, one line per follow-up delay",
                             positions: ["pre", "post", "follow-up"], series: Presentation.retentionSeries(v), percentPerUnit: 1),
                el("ul", [:], v.retention.map { r in el("li", [:], "+\(r.followUpDays) days: " + (r.retention.map { "\(Presentation.share($0)) of the gain kept" + ($0.ci.map { " (95% CI \(fixed(100 * $0.lower, 0))% to \(fixed(100 * $0.upper, 0))%)" } ?? "") } ?? r.note)) }),
            ]))
        }
        if let why = absent["practice"] { body.append(absentSection("practice", "Practice measures", why)) }
        else if !v.practice.isEmpty {
            body.append(section("practice", "Practice measures (participants vs comparison, before and after)", v.practice.enumerated().map { i, m in
                el("figure", [:], [
                    Charts.lines(id: "practice-chart-\(i)", title: "\(m.measureCode)\(m.patientOutcome ? " (patient outcome)" : ""): rate at baseline and follow-up",
                                 positions: ["baseline", "follow-up"], series: Presentation.practiceSeries(m)),
                    el("figcaption", [:], "\(m.measureCode): difference in differences \(Presentation.estimate(m.differenceInDifferences, digits: 1, scale: 100)) rate points. " + (m.evidence.map { e in
                        let r = Presentation.evidenceRow(e, unit: "rate points"); return "Level test: \(r.effect), one-sided p \(r.p.map(Presentation.p) ?? "—")\(r.pAdjusted.map { ", Holm p \(Presentation.p($0))" } ?? "")." } ?? m.note)),
                ])
            }))
        }
        if let why = absent["engagement_vs_learning"] { body.append(absentSection("engagement", "Engagement and learning", why)) }
        else if let e = v.engagementVsLearning {
            let text = e.rho.map { r in "Spearman ρ = \(fixed(r.value, 2))\(r.ci.map { " (95% CI \(fixed($0.lower, 2)) to \(fixed($0.upper, 2)))" } ?? "")\(e.test.map { ", two-sided p \(Presentation.p($0.p))" } ?? ""), n = \(r.n); \(e.engaged) participants engaged" }
                ?? "ρ not computed (too few physicians with both, or no variation); \(e.engaged) participants engaged"
            var parts = [el("p", ["id": "rho"], text)]
            if !e.points.isEmpty {
                parts.insert(Charts.scatter(id: "engagement-chart", title: "Engagement index against knowledge gain, one point per participant",
                                            xLabel: "engagement index (0–100)", yLabel: "knowledge gain (points)",
                                            points: e.points.map { ($0.engagementIndex, 100 * $0.gain) }, summary: text), at: 0)
            }
            body.append(section("engagement", "Engagement and learning", parts))
        }
        if let why = absent["gap"] { body.append(absentSection("gap", "Validation gap", why)) }
        else if let g = v.gap {
            body.append(section("gap", "Validation gap: credited physicians by what their own data shows", [
                Charts.stacked(id: "gap-chart", title: "Credited physicians by learning verdict", parts: Presentation.gapParts(v)),
                gapTable(g),
            ]))
        }
        return layout(title: v.title.isEmpty ? v.activityId : v.title, viewer: viewer, body)
    }

    /// "Planning: desired vs evidenced": the plan, one row per objective (a level not evidenced is
    /// "—" with its reason, never a number) and the descriptive breakdown by group. Nothing for an
    /// activity without a planning record.
    static func planningSection(_ v: ActivityView, absent: [String: String], id: String = "planning") -> HTML {
        if let why = absent["planning"] { return absentSection(id, "Planning: desired vs evidenced", why) }
        guard let p = v.planning else { return .empty }
        let rows: [[HTML]] = p.objectives.map { o in
            [elA("span", [("class", "plan-objective"), ("data-objective", o.objectiveId), ("data-desired", o.desiredLevel),
                          ("data-evidenced", o.evidencedLevel), ("data-met", o.desiredMet ? "yes" : "no")], [t(o.objectiveId)]), t(o.objectiveText),
             t(o.desiredLevel.isEmpty ? "—" : o.desiredLevel), t(o.evidencedLevel.isEmpty ? "—" : o.evidencedLevel),
             t(o.desiredLevel.isEmpty ? "—" : o.desiredMet ? "✔ met" : "✘ not met"), t(o.reason)]
        }
        func groups(_ title: String, _ list: [Lv_Gateway_V1_GroupKnowledge]) -> [[HTML]] {
            list.map { g in
                var attributes = [("class", "plan-group"), ("data-by", title), ("data-group", g.group), ("data-n", "\(g.n)")]
                if let c = g.knowledgeChange {
                    attributes.append(("data-change", "\(c.value)"))
                    if let ci = c.ci { attributes += [("data-lower", "\(ci.lower)"), ("data-upper", "\(ci.upper)")] }
                }
                return [t(title), elA("span", attributes, [t(g.group)]), t("\(g.n)"), t(g.knowledgeChange.map { Presentation.estimate($0, digits: 1) } ?? "—"), t(g.note)]
            }
        }
        let breakdown = groups("profession", p.byProfession) + groups("specialty", p.bySpecialty)
        var parts: [HTML] = [
            el("dl", [:], [
                el("dt", [:], "Practice gap"), el("dd", [:], p.practiceGap),
                el("dt", [:], "Evidence of the gap"), el("dd", [:], p.evidenceSources.map(ValidationReport.label).joined(separator: ", ") + (p.evidenceDetail.isEmpty ? "" : " — \(p.evidenceDetail)")),
                el("dt", [:], "Target audience"), el("dd", [:], p.targetProfessions.map(ValidationReport.label).joined(separator: ", ") + (p.specialties.isEmpty ? "" : "; " + p.specialties.joined(separator: ", "))),
            ]),
            table(caption: "Per objective: the desired Moore level against the highest level its own items and measures evidence (Holm across all \(p.familySize) tests)",
                  id: "\(id)-table", header: ["Objective", "Text", "Desired", "Evidenced", "Met", "Why"], rows: rows),
        ]
        if let why = absent["planning.by_profession, planning.by_specialty"] {
            parts.append(el("p", ["class": "absent-reason"], "Breakdown absent: \(why)"))
        } else if !p.breakdownNote.isEmpty {
            parts.append(el("p", ["class": "absent-reason"], "Breakdown absent: \(p.breakdownNote)"))
        } else {
            parts.append(table(caption: "Knowledge change (points, 95% CI) by group: descriptive, no level claimed; shown where n ≥ \(p.subgroupMinimumN)",
                               id: "\(id)-groups", header: ["By", "Group", "n", "Change (95% CI)", "Note"], rows: breakdown, numeric: [2, 3]))
        }
        return section(id, "Planning: desired vs evidenced", parts)
    }

    static func gapTable(_ g: Lv_Gateway_V1_ValidationGap) -> HTML {
        table(caption: "\(g.creditedPhysicians) credited physicians, \(fixed(g.credits, 2)) credits. A verdict is evidence about the activity's effect, not a judgment of a physician.",
              id: "gap-table", header: ["Verdict", "Physicians", "Share of credited", "Credits", "With individual competence or practice evidence"],
              rows: g.byVerdict.map { r in [t(r.verdict.label), t("\(r.physicians)"), t(Presentation.share(r.shareOfCredited)), t(fixed(r.credits, 2)), t("\(r.withIndividualEvidence)")] },
              numeric: [1, 2, 3, 4])
        + (g.reliability.map { el("p", ["class": "note"], "Reliable change: \($0.method)") } ?? .empty)
    }

    public static func ladderCSV(_ v: ActivityView) -> String {
        csv(["level", "name", "state", "rule", "reason", "measure", "design", "participants", "comparison", "effect", "standardized", "p_one_sided", "p_holm", "significant"],
            Presentation.ladder(v).flatMap { r -> [[String]] in
                let base = [r.level, r.name, r.stateText, r.rule, r.reason]
                if r.evidence.isEmpty { return [base + ["", "", "", "", "", "", "", "", ""]] }
                return r.evidence.map { e in base + [e.measure, e.design, "\(e.participants)", "\(e.comparison)", e.effect, e.standardized,
                                                     e.p.map { "\($0)" } ?? "", e.pAdjusted.map { "\($0)" } ?? "", e.significant ? "yes" : "no"] }
            })
    }

    public static func objectivesCSV(_ v: ActivityView) -> String {
        csv(["objective", "design", "participants", "comparison", "effect", "ci_lower", "ci_upper", "p_one_sided", "p_holm", "significant"],
            v.objectives.map { o in [o.measure, Presentation.designText(o.design), "\(o.participants)", "\(o.comparison)",
                                     o.effect.map { "\($0.value)" } ?? "", o.effect?.ci.map { "\($0.lower)" } ?? "", o.effect?.ci.map { "\($0.upper)" } ?? "",
                                     o.test.map { "\($0.pOneSided)" } ?? "", o.adjusted.map { "\($0.p)" } ?? "", o.significant ? "yes" : "no"] })
    }

    public static func practiceCSV(_ v: ActivityView) -> String {
        func o(_ e: Lv_Gateway_V1_Estimate?) -> String { e.map { "\($0.value)" } ?? "" }
        return csv(["measure", "patient_outcome", "participant_baseline", "participant_follow_up", "comparison_baseline", "comparison_follow_up",
                    "difference_in_differences", "did_ci_lower", "did_ci_upper", "p_one_sided", "p_holm", "note"],
                   v.practice.map { m in [m.measureCode, m.patientOutcome ? "yes" : "no", o(m.participantBaseline), o(m.participantFollowUp),
                                          o(m.comparisonBaseline), o(m.comparisonFollowUp), o(m.differenceInDifferences),
                                          m.differenceInDifferences?.ci.map { "\($0.lower)" } ?? "", m.differenceInDifferences?.ci.map { "\($0.upper)" } ?? "",
                                          m.evidence?.test.map { "\($0.pOneSided)" } ?? "", m.evidence?.adjusted.map { "\($0.p)" } ?? "", m.note] })
    }

    public static func gapCSV(_ v: ActivityView) -> String {
        csv(["verdict", "physicians", "share_of_credited", "credits", "with_individual_evidence"],
            (v.gap?.byVerdict ?? []).map { r in [r.verdict.label, "\(r.physicians)", r.shareOfCredited.map { "\($0.value)" } ?? "", "\(r.credits)", "\(r.withIndividualEvidence)"] })
    }

    // MARK: Physician

    public static func physician(_ tr: Transcript, viewer: Viewer) -> HTML {
        let rows = tr.activities.map { e -> [HTML] in
            let absent = Dictionary(e.absent.map { ($0.section, $0.reason) }, uniquingKeysWith: { a, _ in a })
            func f(_ section: String, _ s: @autoclosure () -> String) -> HTML { absent[section].map(unknown) ?? t(s()) }
            return [el("a", ["href": "/activities/\(percentEncode(e.activityId))"], e.title.isEmpty ? e.activityId : e.title),
                    f("minutes_attended", "\(e.minutesAttended)"), t(fixed(e.credits, 2)),
                    f("engagement_index", e.engagementIndex.map { fixed($0.value, 0) } ?? "—"),
                    f("assessment", Presentation.percent(e.pre)), f("assessment", Presentation.percent(e.post)),
                    f("assessment", e.gain.map { signed($0.value, 1) } ?? "—"), f("assessment", e.reliableChangeIndex.map { fixed($0.value, 2) } ?? "—"),
                    f("assessment", Presentation.percent(e.followUp)), f("assessment", "\(e.implemented) of \(e.commitments)"),
                    f("assessment", "\(e.measuresImproved) of \(e.measures)"),
                    f("highest_level", e.highestLevel.isEmpty ? "—" : e.highestLevel), f("highest_level", e.verdict.label)]
        }
        let partial = Presentation.isPartial(tr.completeness)
        return layout(title: "Transcript", viewer: viewer, [
            el("h1", [:], "Learning transcript: \(tr.name)"),
            el("p", ["class": "facts"], "NPI \(tr.npi)"),
            partialBanner(tr.completeness),
            el("p", [:], [el("a", ["href": "/physicians/\(percentEncode(tr.npi)).csv"], "Download CSV")]),
            el("div", ["class": "scroll"], [transcriptTable(rows)]),
            el("p", ["id": "credits"], "Credits \(fixed(tr.credits, 2)), of which \(partial ? "at least " : "")\(fixed(tr.creditsWithEvidence, 2)) in activities where this physician improved reliably."),
            el("p", ["class": "note"], "A verdict is evidence about an activity's effect, not a judgment of a physician."),
        ])
    }

    /// The credit transcript's columns beside the learning transcript's, under one heading each.
    static func transcriptTable(_ rows: [[HTML]]) -> HTML {
        let credit = ["Activity", "Minutes", "Credits"]
        let learning = ["Engagement", "Pre", "Post", "Gain", "RCI", "Follow-up", "Commitments implemented",
                        "Practice measures improved", "Highest level (own data)", "Verdict"]
        let groups = el("tr", [:], [el("th", ["scope": "colgroup", "colspan": "3", "class": "group"], "Credit transcript"),
                                    el("th", ["scope": "colgroup", "colspan": "10", "class": "group learning"], "Learning transcript")])
        let names = el("tr", [:], (credit + learning).enumerated().map { i, h in elA("th", [("scope", "col")] + (i > 0 && i < 9 ? [("class", "num")] : []), [t(h)]) })
        let body = rows.map { r in elA("tr", [("class", "entry")], r.enumerated().map { i, c in
            elA("td", i == 3 ? [("class", "num learning-start")] : i > 0 && i < 9 ? [("class", "num")] : [], [c])
        }) }
        return el("table", ["id": "transcript"], [el("caption", [:], "The credit transcript beside the learning transcript, one row per activity"),
                                                 el("thead", [:], [groups, names]), el("tbody", [:], body)])
    }

    public static func transcriptCSV(_ tr: Transcript) -> String {
        csv(["activity_id", "title", "minutes_attended", "credits", "engagement_index", "pre", "post", "gain", "reliable_change_index", "follow_up",
             "commitments", "implemented", "measures", "measures_improved", "highest_level", "verdict", "absent"],
            tr.activities.map { e in
                func o(_ x: Lv_Gateway_V1_Estimate?) -> String { x.map { "\($0.value)" } ?? "" }
                return [e.activityId, e.title, "\(e.minutesAttended)", "\(e.credits)", o(e.engagementIndex), o(e.pre), o(e.post), o(e.gain),
                        o(e.reliableChangeIndex), o(e.followUp), "\(e.commitments)", "\(e.implemented)", "\(e.measures)", "\(e.measuresImproved)",
                        e.highestLevel, e.verdict.label, e.absent.map(\.section).joined(separator: ";")]
            })
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for path segments and query values.
public func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(UnicodeScalar(b))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%\(hex[Int(b >> 4)])\(hex[Int(b & 15)])"
        }
    }
    return out
}
