import GatewayDomain
import LVAPI
import LVMessages
import Testing
import WebPages

func estimate(_ v: Double, n: UInt32 = 20, ci: (Double, Double)? = nil) -> Lv_Gateway_V1_Estimate {
    var e = Lv_Gateway_V1_Estimate()
    (e.value, e.n) = (v, n)
    if let ci { var c = Lv_Gateway_V1_ConfidenceInterval(); (c.lower, c.upper, c.level) = (ci.0, ci.1, 0.95); e.ci = c }
    return e
}

func evidence(_ measure: String, p: Double, adjusted: Double? = nil, significant: Bool, design: Lv_Gateway_V1_Design = .comparisonCohort) -> Lv_Gateway_V1_Evidence {
    var e = Lv_Gateway_V1_Evidence()
    (e.measure, e.design, e.participants, e.comparison, e.significant) = (measure, design, 40, 20, significant)
    e.effect = estimate(12.5, n: 60, ci: (3.25, 21.75))
    var t = Lv_Gateway_V1_Test()
    (t.pOneSided, t.statistic, t.df, t.n) = (p, 2.5, 30, 60)
    e.test = t
    if let adjusted { var a = Lv_Gateway_V1_Adjusted(); (a.p, a.familySize, a.method) = (adjusted, 2, "Holm"); e.adjusted = a }
    return e
}

func level(_ id: String, _ name: String, evidenced: Bool, notEvaluated: Bool = false, _ ev: [Lv_Gateway_V1_Evidence] = []) -> Lv_Gateway_V1_MooreLevel {
    var l = Lv_Gateway_V1_MooreLevel()
    (l.level, l.name, l.evidenced, l.notEvaluated, l.evidence) = (id, name, evidenced, notEvaluated, ev)
    (l.rule, l.reason) = ("rule of \(id)", evidenced ? "shown" : "n = 9, below the minimum of 10")
    return l
}

/// A view built by hand: funnel 120 → 110 → 100, three levels, two objectives, a gap.
func sampleView(title: String = "Heart failure") -> ActivityView {
    var v = ActivityView()
    (v.activityId, v.title, v.targetMooreLevel) = ("hf-1", title, 4)
    var f = Lv_Gateway_V1_Funnel()
    (f.registered, f.attended, f.credited) = (120, 110, 100)
    var a = Lv_Gateway_V1_AssessedSteps()
    (a.prePostAssessed, a.reliableGain, a.retained) = (90, 30, 15)
    f.assessed = a
    v.funnel = f
    v.levels = [level("1", "Participation", evidenced: true),
                level("3A", "Declarative knowledge", evidenced: true, [evidence("declarative items", p: 0.0123, significant: true)]),
                level("5", "Performance", evidenced: false, [evidence("HF-RX", p: 0.2, adjusted: 0.4, significant: false)])]
    v.highestLevel = "3A"
    v.objectives = [evidence("obj-1", p: 0.01, adjusted: 0.02, significant: true), evidence("obj-2", p: 0.3, adjusted: 0.3, significant: false)]
    v.objectives[1].effect = estimate(-2, ci: (-8, 4))
    var g = Lv_Gateway_V1_ValidationGap()
    (g.creditedPhysicians, g.credits) = (100, 150)
    g.byVerdict = [(Verdict.reliableImprovement, 30), (.noReliableChange, 50), (.reliableDecline, 2), (.atCeiling, 8), (.notAssessed, 10)].map { verdict, n in
        var r = Lv_Gateway_V1_VerdictCount()
        (r.verdict, r.physicians, r.credits) = (verdict, UInt32(n), Double(n) * 1.5)
        return r
    }
    v.gap = g
    var evl = Lv_Gateway_V1_EngagementVsLearning()
    evl.engaged = 3
    evl.rho = estimate(0.3, n: 3)
    evl.points = [(10.0, 0.1), (50, 0.2), (90, 0.3)].map { var p = Lv_Gateway_V1_EngagementPoint(); (p.engagementIndex, p.gain) = $0; return p }
    v.engagementVsLearning = evl
    return v
}

let viewer = Pages.Viewer(label: "analyst", csrfToken: "tok123")

/// The value of `attribute` on every element whose opening tag contains `marker`, in order.
func attributeValues(_ html: String, marker: String, attribute: String) -> [String] {
    html.components(separatedBy: "<").filter { $0.contains(marker) }.compactMap { tag in
        guard let r = tag.range(of: " \(attribute)=\"") else { return nil }
        return String(tag[r.upperBound...].prefix { $0 != "\"" })
    }
}

@Suite("web pages: escaping")
struct EscapingTests {
    @Test("every markup character in wire text is escaped")
    func escapesMarkup() {
        #expect(escape("<script>alert('x') & \"y\"</script>") == "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;")
    }

    @Test("a title, activity id and evidence measure from the gateway never become markup")
    func pageEscapesWireText() {
        var v = sampleView(title: "<script>alert(1)</script>")
        v.activityId = "x\"><img src=x onerror=alert(1)>"
        v.levels[1].evidence[0].measure = "<b>bold</b>"
        let page = Pages.activity(v, viewer: viewer).text
        #expect(!page.contains("<script"))
        #expect(!page.contains("<img"))
        #expect(!page.contains("<b>bold"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.contains("x%22%3E%3Cimg")) // in links, percent-encoded
    }

    @Test("CSV cells: quoted when needed, formulas defused")
    func csvCells() {
        #expect(csvCell("plain") == "plain")
        #expect(csvCell("a,b") == "\"a,b\"")
        #expect(csvCell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(csvCell("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(csvCell("-0.25") == "-0.25") // a number stays a number
    }
}

@Suite("web pages: charts hold the view's numbers")
struct ChartTests {
    @Test("funnel bars are proportional to their step, 400 units for the registered")
    func funnelBars() {
        let page = Pages.activity(sampleView(), viewer: viewer).text
        #expect(attributeValues(page, marker: "funnel-bar", attribute: "data-count") == ["120", "110", "100", "90", "30", "15"])
        #expect(attributeValues(page, marker: "funnel-bar", attribute: "width") == ["400.00", "366.67", "333.33", "300.00", "100.00", "50.00"])
        #expect(Charts.barLength(7, of: 0) == 0)
    }

    @Test("the ladder reads top down, each rung with its state and its tests' p-values")
    func ladder() {
        let rungs = Presentation.ladder(sampleView())
        #expect(rungs.map(\.level) == ["5", "3A", "1"])
        #expect(rungs.map(\.state) == [.notEvidenced, .evidenced, .evidenced])
        let page = Pages.activity(sampleView(), viewer: viewer).text
        #expect(attributeValues(page, marker: "class=\"evidence\"", attribute: "data-p") == ["0.2", "0.0123"])
        #expect(attributeValues(page, marker: "class=\"evidence\"", attribute: "data-p-adjusted") == ["0.4"])
        #expect(attributeValues(page, marker: "class=\"rung", attribute: "data-state") == ["not-evidenced", "evidenced", "evidenced"])
    }

    @Test("a level that could not be judged is 'not evaluated', never 'not evidenced'")
    func notEvaluated() {
        var v = sampleView()
        v.levels[2] = level("5", "Performance", evidenced: false, notEvaluated: true)
        #expect(Presentation.ladder(v)[0].state == .notEvaluated)
        #expect(Presentation.ladder(v)[0].symbol == "?")
    }

    @Test("forest plot: one mark per objective at its effect, CI ends as data, filled only when significant")
    func forest() {
        let page = Pages.activity(sampleView(), viewer: viewer).text
        #expect(attributeValues(page, marker: "class=\"estimate", attribute: "data-value") == ["12.5", "-2.0"])
        #expect(attributeValues(page, marker: "class=\"estimate", attribute: "data-lower") == ["3.25", "-8.0"])
        #expect(attributeValues(page, marker: "class=\"estimate", attribute: "class") == ["estimate significant", "estimate not-significant"])
    }

    @Test("the gap chart splits the credited physicians by verdict, every part labelled with its count")
    func gap() {
        let page = Pages.activity(sampleView(), viewer: viewer).text
        #expect(attributeValues(page, marker: "data-part=", attribute: "data-count") == ["30", "50", "2", "8", "10"])
        #expect(page.contains("reliable improvement: 30 (30%)"))
    }

    @Test("scatter: a point per participant pair; gain shown in points")
    func scatter() {
        let page = Pages.activity(sampleView(), viewer: viewer).text
        #expect(attributeValues(page, marker: "class=\"dot\"", attribute: "data-x") == ["10.0", "50.0", "90.0"])
        #expect(attributeValues(page, marker: "class=\"dot\"", attribute: "data-y") == ["10.0", "20.0", "30.0"])
    }

    @Test("every chart is a labelled image")
    func labelled() {
        let page = Pages.activity(sampleView(), viewer: viewer).text
        let charts = page.components(separatedBy: "<svg ").dropFirst()
        #expect(charts.count == 4)
        for c in charts { #expect(c.contains("role=\"img\"") && c.contains("<title id=") && c.contains("<desc id=")) }
    }
}

@Suite("web pages: partial views")
struct PartialViewTests {
    func partial(_ absent: [(String, String)]) -> ActivityView {
        var v = sampleView()
        var c = Lv_Gateway_V1_Completeness()
        c.status = .partial
        var s = Lv_Gateway_V1_SectionStatus()
        (s.section, s.code, s.message) = ("engagement", .unavailable, "connection refused")
        c.missingSources = [s]
        c.absent = absent.map { var a = Lv_Gateway_V1_AbsentSection(); (a.section, a.reason) = $0; return a }
        v.completeness = c
        return v
    }

    @Test("an absent section says absent and why, and draws nothing")
    func absentSection() {
        var v = partial([("engagement_vs_learning", "engagement unavailable: connection refused")])
        v.engagementVsLearning = nil
        let page = Pages.activity(v, viewer: viewer).text
        #expect(page.contains("id=\"partial\""))
        #expect(page.contains("engagement could not be read — UNAVAILABLE: connection refused"))
        #expect(page.contains("<section id=\"engagement\" class=\"absent\""))
        #expect(page.contains("Absent: engagement unavailable: connection refused"))
        #expect(!page.contains("engagement-chart"))
        #expect(page.contains("funnel-chart")) // what does not need engagement is still drawn
    }

    @Test("a complete view has no banner")
    func complete() {
        #expect(!Pages.activity(sampleView(), viewer: viewer).text.contains("id=\"partial\""))
    }

    @Test("an activity row whose funnel is absent shows unknown with the reason, never 0")
    func unknownRow() {
        var s = ActivitySummary()
        (s.activityId, s.participants, s.credited) = ("a", 0, 0)
        var c = Lv_Gateway_V1_Completeness()
        c.status = .partial
        var a = Lv_Gateway_V1_AbsentSection()
        (a.section, a.reason) = ("funnel", "registration unavailable")
        c.absent = [a]
        s.completeness = c
        let row = Presentation.activityRow(s)
        #expect(row.participants == nil && row.credited == nil)
        #expect(row.unknown["participants"] == "registration unavailable")
        let page = Pages.activities([s], query: "", minimumLevel: "", sort: .activity, descending: false, viewer: viewer).text
        #expect(page.contains("title=\"unknown: registration unavailable\""))
        #expect(!page.contains("data-field=\"participants\">0<"))
    }

    @Test("a transcript entry whose assessment is absent shows ? for its learning columns")
    func transcript() {
        var tr = Transcript()
        (tr.npi, tr.name) = ("1234567893", "Dr A")
        var e = TranscriptEntry()
        (e.activityId, e.credits) = ("hf-1", 1.5)
        var a = Lv_Gateway_V1_AbsentSection()
        (a.section, a.reason) = ("assessment", "assessment unavailable")
        e.absent = [a]
        tr.activities = [e]
        let page = Pages.physician(tr, viewer: viewer).text
        #expect(page.components(separatedBy: "unknown: assessment unavailable\"").count - 1 == 7)
    }
}

@Suite("web pages: the activities table")
struct ActivitiesTableTests {
    func summary(_ id: String, credited: UInt32, level: String, dz: Double?) -> ActivitySummary {
        var s = ActivitySummary()
        (s.activityId, s.participants, s.credited, s.highestLevel) = (id, credited + 5, credited, level)
        if let dz { s.knowledgeDZ = estimate(dz) }
        return s
    }

    @Test("sorts by a column, unknown values last; filters by text and by the least level")
    func sortAndFilter() {
        let all = [summary("b", credited: 10, level: "3A", dz: 0.5), summary("a", credited: 30, level: "1", dz: nil),
                   summary("c", credited: 20, level: "5", dz: 0.9)]
        #expect(Presentation.activityRows(all).map(\.id) == ["a", "b", "c"])
        #expect(Presentation.activityRows(all, sort: .credited, descending: true).map(\.id) == ["a", "c", "b"])
        #expect(Presentation.activityRows(all, sort: .effect, descending: true).map(\.id) == ["c", "b", "a"])
        #expect(Presentation.activityRows(all, sort: .effect).map(\.id) == ["b", "c", "a"])
        #expect(Presentation.activityRows(all, minimumLevel: "3A").map(\.id) == ["b", "c"])
        #expect(Presentation.activityRows(all, query: "C").map(\.id) == ["c"])
    }
}

@Suite("web access: cookies, CSRF, forms, caching")
struct AccessTests {
    @Test("session cookies are HttpOnly and SameSite=Strict; Secure only when served over TLS")
    func cookieFlags() {
        #expect(Access.setCookie(name: "s", value: "v", maxAge: 60, secure: false) == "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict")
        #expect(Access.setCookie(name: "s", value: "v", maxAge: 60, secure: true).hasSuffix("; HttpOnly; SameSite=Strict; Secure"))
    }

    @Test("tokens are 64 hex digits and differ")
    func tokens() {
        let a = Access.token(), b = Access.token()
        #expect(a.count == 64 && a != b && a.allSatisfy(\.isHexDigit))
    }

    @Test("CSRF tokens compare equal only when identical and non-empty")
    func compare() {
        #expect(Access.constantTimeEqual("abc", "abc"))
        #expect(!Access.constantTimeEqual("abc", "abd"))
        #expect(!Access.constantTimeEqual("abc", "abcd"))
        #expect(!Access.constantTimeEqual("", ""))
    }

    @Test("form and cookie parsing")
    func parsing() {
        #expect(Access.form("key=a%2Bb+c&npi=&csrf=x") == ["key": "a+b c", "npi": "", "csrf": "x"])
        #expect(Access.cookies("a=1; lv_session=xyz ;b=2") == ["a": "1", "lv_session": "xyz", "b": "2"])
    }

    @Test("after sign-in only a local path is followed")
    func next() {
        #expect(Access.safeNext("/activities?sort=credited") == "/activities?sort=credited")
        #expect(Access.safeNext("//evil.example") == nil)
        #expect(Access.safeNext("https://evil.example") == nil)
        #expect(Access.safeNext("/\\evil.example") == nil)
    }

    @Test("the ETag follows the bytes: same view, same tag; a changed view, another")
    func etag() {
        let a = Pages.activity(sampleView(), viewer: viewer).text
        var changed = sampleView()
        changed.funnel?.credited = 99
        #expect(Access.etag(a) == Access.etag(Pages.activity(sampleView(), viewer: viewer).text))
        #expect(Access.etag(a) != Access.etag(Pages.activity(changed, viewer: viewer).text))
        #expect(Access.notModified(ifNoneMatch: "\"x\", \(Access.etag(a))", etag: Access.etag(a)))
        #expect(!Access.notModified(ifNoneMatch: nil, etag: Access.etag(a)))
    }

    @Test("the sign-out form carries the session's CSRF token")
    func logoutForm() {
        let page = Pages.activity(sampleView(), viewer: viewer).text
        #expect(page.contains("<form method=\"post\" action=\"/logout\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"tok123\">"))
    }
}

@Suite("outcomes report")
struct OutcomesReportTests {
    @Test("methods follow the design: comparison cohort, or drift-corrected with its limit")
    func methods() {
        var v = sampleView()
        var a = Lv_Gateway_V1_Attribution()
        a.comparisonN = 20
        a.comparisonDifference = estimate(0.1)
        v.attribution = a
        #expect(Pages.outcomesReport(v, viewer: nil).text.contains("comparison cohort of 20 physicians"))
        v.attribution = nil
        let drift = Pages.outcomesReport(v, viewer: nil).text
        #expect(drift.contains("No comparison cohort of the minimum size"))
        #expect(drift.contains("weaker than a comparison cohort"))
    }

    @Test("levels, highest level and gap rows are in the report; the standalone copy embeds its stylesheet")
    func content() {
        let page = Pages.outcomesReport(sampleView(), viewer: nil, standalone: true).text
        #expect(page.contains("3A Declarative knowledge") && page.contains("Highest level evidenced: 3A"))
        #expect(page.contains("<td>assessed, no reliable change</td><td class=\"num\">50</td>"))
        #expect(page.contains("<style>") && !page.contains("/static/lv.css"))
    }
}
