"""lv-web end to end (issue #19): the real services and lv-web on loopback port 0, two simulated
activities, every page loaded in headless Chromium, each chart's SVG numbers checked against
the gateway's own view (`lvctl report … --json`), screenshots in the test output, the outcomes
report as a PDF read back with pdftotext, access rules (sign-in, CSRF, cookie flags, physician
scope, unauthenticated requests), caching, and a partial view with a backend stopped.
The Chromium parts skip with the reason where Chromium is not installed."""
import csv
import html.parser
import io
import http.client
import json
import math
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from browser import Browser, find_chromium
from conftest import BIN_DIR, OUTPUT, Proc

ACTIVITIES = [  # (id, participants, comparison, seed, learning)
    ("web-hf", 60, 20, 2027, 1.1),
    ("web-sepsis", 40, 0, 7, 0.0),
]
NPI = "8000000009"  # physician 0 of the simulations: in both activities


def lvctl(*args, check=True):
    r = subprocess.run([str(BIN_DIR / "lvctl"), *args], capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"lvctl {' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    procs = {}
    try:
        for name in ("lv-registration", "lv-engagement", "lv-assessment"):
            procs[name] = Proc(name, ["--data-dir", str(tmp / name)], tmp)
        procs["lv-gateway"] = Proc("lv-gateway", [
            "--registration-addr", procs["lv-registration"].address, "--engagement-addr", procs["lv-engagement"].address,
            "--assessment-addr", procs["lv-assessment"].address, "--data-dir", str(tmp / "gw")], tmp)
        procs["lv-web"] = Proc("lv-web", ["--gateway-addr", procs["lv-gateway"].address, "--data-dir", str(tmp / "web")], tmp)
        for aid, n, comparison, seed, learning in ACTIVITIES:
            lvctl("simulate", "--registration-addr", procs["lv-registration"].address, "--engagement-addr", procs["lv-engagement"].address,
                  "--assessment-addr", procs["lv-assessment"].address, "--activity", aid, "--participants", str(n),
                  "--comparison", str(comparison), "--seed", str(seed), "--learning", str(learning), "--title", f"Simulated <{aid}> & co")
        yield procs, tmp
    finally:
        for p in reversed(list(procs.values())):
            p.stop()


def snake(value):
    """lvctl --json prints the proto3 JSON mapping (lowerCamelCase keys): back to the field names."""
    if isinstance(value, dict):
        return {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


def gateway_json(procs, *args):
    r = lvctl("report", *args, "--addr", procs["lv-gateway"].address, "--json", check=False)
    assert r.returncode in (0, 3), r.stderr
    return snake(json.loads(r.stdout))


class Client:
    """A cookie-keeping HTTP client that shows raw statuses and headers (no redirects followed)."""

    def __init__(self, address):
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        self.cookies = {}

    def request(self, method, path, form=None, headers=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        set_cookies = r.headers.get_all("Set-Cookie") or []
        for sc in set_cookies:
            name, value = sc.split(";", 1)[0].split("=", 1)
            if "Max-Age=0" in sc:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        c.close()
        return r.status, r.headers, data, set_cookies

    def login(self, key="analyst-key", npi=""):
        status, _, page, _ = self.request("GET", "/login")
        assert status == 200
        csrf = Elements(page).find("input", name="csrf")[0]["value"]
        return self.request("POST", "/login", form={"csrf": csrf, "key": key, "npi": npi, "next": ""})


class Elements(html.parser.HTMLParser):
    """Every start tag with its attributes and its id-bearing ancestors (enough to find chart marks)."""

    def __init__(self, text):
        super().__init__()
        self.elements, self.stack = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        a["_tag"], a["_within"] = tag, [x.get("id") for x in self.stack if x.get("id")]
        self.elements.append(a)
        if tag not in ("input", "meta", "link", "br", "img", "rect", "circle", "line", "polyline"):
            self.stack.append(a)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["_tag"] == tag:
                del self.stack[i:]
                break

    def find(self, tag, within=None, cls=None, **attrs):
        out = []
        for e in self.elements:
            if e["_tag"] != tag or (within and within not in e["_within"] and e.get("id") != within):
                continue
            if cls and cls not in (e.get("class") or "").split():
                continue
            if all(e.get(k) == v for k, v in attrs.items()):
                out.append(e)
        return out


def close(a, b):
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def check_activity_page(dom, view):
    """The SVG and table numbers of an activity page against the gateway's view."""
    e = Elements(dom)
    f = view["funnel"]
    expected = [f["registered"], f["attended"], f["credited"]]
    if "assessed" in f:
        a = f["assessed"]
        expected += [a.get("pre_post_assessed", 0), a.get("reliable_gain", 0), a.get("retained", 0)]
    bars = e.find("rect", within="funnel-chart", cls="funnel-bar")
    assert [int(b["data-count"]) for b in bars] == expected
    for b, count in zip(bars, expected):  # bar length proportional to the step, 400 for registered
        assert abs(float(b["width"]) - round(count / f["registered"] * 400, 2)) < 0.006
    rungs = e.find("tr", within="ladder", cls="rung")
    by_level = {lv["level"]: lv for lv in view["levels"]}
    assert sorted(r["data-level"] for r in rungs) == sorted(by_level)
    for r in rungs:
        lv = by_level[r["data-level"]]
        state = "not-evaluated" if lv.get("not_evaluated") else "evidenced" if lv.get("evidenced") else "not-evidenced"
        assert r["data-state"] == state, r["data-level"]
    ps = [(x["data-measure"], x.get("data-p"), x.get("data-p-adjusted")) for x in e.find("li", within="ladder", cls="evidence")]
    want = [(ev["measure"], ev.get("test", {}).get("p_one_sided"), ev.get("adjusted", {}).get("p"))
            for lv in reversed(view["levels"]) for ev in lv.get("evidence", [])]
    assert len(ps) == len(want) and len(ps) > 0
    for (m, p, pa), (wm, wp, wpa) in zip(ps, want):
        assert m == wm
        assert (p is None) == (wp is None) and (p is None or close(p, wp)), (m, p, wp)
        assert (pa is None) == (wpa is None) and (pa is None or close(pa, wpa)), (m, pa, wpa)
    dots = e.find("circle", within="forest-chart", cls="estimate")
    objectives = [o for o in view.get("objectives", []) if "effect" in o]
    assert len(dots) == len(objectives)
    for d, o in zip(dots, objectives):
        assert d["data-label"] == o["measure"] and close(d["data-value"], o["effect"]["value"])
        if "ci" in o["effect"]:
            assert close(d["data-lower"], o["effect"]["ci"]["lower"]) and close(d["data-upper"], o["effect"]["ci"]["upper"])
    check_planning(e, view, "planning")
    parts = e.find("rect", within="gap-chart", cls="part")
    parts = [p for p in parts if p.get("data-count") is not None]
    assert [int(p["data-count"]) for p in parts] == [v.get("physicians", 0) for v in view["gap"]["by_verdict"]]
    points = view.get("engagement_vs_learning", {}).get("points", [])
    dots = e.find("circle", within="engagement-chart", cls="dot")
    assert len(dots) == len(points) > 0
    for d, pt in zip(dots, points):  # x the engagement index, y the gain in points (the gateway's 0-1 gain × 100)
        assert close(d["data-x"], pt.get("engagement_index", 0)) and close(d["data-y"], 100 * pt.get("gain", 0))
    for r in view.get("retention", []):
        marks = e.find("circle", within="retention-chart", cls="point")
        label = [m for m in marks if m["data-series"].startswith(f"+{r['follow_up_days']} days")]
        want = [r.get(k, {}).get("value") for k in ("mean_pre", "mean_post", "mean_follow_up")]
        assert [float(m["data-value"]) for m in label] == pytest.approx([w for w in want if w is not None])


def check_planning(e, view, section):
    """The "Planning: desired vs evidenced" tables hold the gateway view's values."""
    plan = view.get("planning")
    if plan is None:
        assert e.find("section", id=section) == []
        return
    marks = e.find("span", within=f"{section}-table", cls="plan-objective")
    assert [(m["data-objective"], m["data-desired"], m["data-evidenced"], m["data-met"]) for m in marks] == [
        (o["objective_id"], o.get("desired_level", ""), o.get("evidenced_level", ""), "yes" if o.get("desired_met") else "no")
        for o in plan["objectives"]] and len(marks) > 0
    groups = e.find("span", within=f"{section}-groups", cls="plan-group")
    want = [("profession", g) for g in plan.get("by_profession", [])] + [("specialty", g) for g in plan.get("by_specialty", [])]
    assert len(groups) == len(want) > 0
    for m, (by, g) in zip(groups, want):
        assert (m["data-by"], m["data-group"], int(m["data-n"])) == (by, g["group"], g.get("n", 0))
        change = g.get("knowledge_change")
        assert (m.get("data-change") is None) == (change is None), g  # "n too small" is never a number
        if change is not None:
            assert close(m["data-change"], change["value"])
            assert close(m["data-lower"], change["ci"]["lower"]) and close(m["data-upper"], change["ci"]["upper"])


def test_access_rules(stack):
    procs, _ = stack
    web = procs["lv-web"].address
    signed_in = Client(web)  # a live session exists: an anonymous request must still not see pages
    assert signed_in.login()[0] == 303
    anon = Client(web)
    status, headers, _, _ = anon.request("GET", "/activities?sort=credited")
    assert status == 303 and headers["Location"] == "/login?next=%2Factivities%3Fsort%3Dcredited"
    status, headers, body, _ = anon.request("GET", "/activities.csv")
    assert status == 401 and "sign in" in body
    status, _, _, _ = anon.request("GET", "/physicians/" + NPI)
    assert status == 303
    # The sign-in form's CSRF token must match its cookie.
    status, _, _, cookies = anon.request("GET", "/login")
    assert any(c.startswith("lv_login_csrf=") and "HttpOnly" in c and "SameSite=Strict" in c for c in cookies)
    status, _, _, _ = anon.request("POST", "/login", form={"csrf": "forged", "key": "k", "npi": ""})
    assert status == 403
    assert "lv_session" not in anon.cookies
    # Signed in: the session cookie is HttpOnly and SameSite=Strict, not Secure on plain HTTP.
    analyst = Client(web)
    status, headers, _, cookies = analyst.login()
    assert status == 303 and headers["Location"] == "/activities"
    session = [c for c in cookies if c.startswith("lv_session=")][0]
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Secure" not in session
    assert analyst.request("GET", "/activities")[0] == 200
    # Sign-out changes state: refused without the session's CSRF token, done with it.
    assert analyst.request("POST", "/logout", form={"csrf": "wrong"})[0] == 403
    assert analyst.request("GET", "/activities")[0] == 200
    page = analyst.request("GET", "/activities")[2]
    token = Elements(page).find("input", name="csrf")[0]["value"]
    assert analyst.request("POST", "/logout", form={"csrf": token})[0] == 303
    assert analyst.request("GET", "/activities")[0] == 303
    # A physician session sees its own transcript only.
    doc = Client(web)
    status, headers, _, _ = doc.login(key="physician-key", npi=NPI)
    assert status == 303 and headers["Location"] == f"/physicians/{NPI}"
    status, _, page, _ = doc.request("GET", f"/physicians/{NPI}")
    assert status == 200 and NPI in page
    assert doc.request("GET", "/physicians/8000000017")[0] == 403
    assert doc.request("GET", "/activities")[0] == 403
    assert doc.request("GET", "/activities/web-hf")[0] == 403
    assert doc.request("GET", "/activities/web-hf/ladder.csv")[0] == 403
    # A malformed NPI is refused at sign-in with the field and the rule.
    status, _, page, _ = Client(web).login(npi="12")
    assert status == 400 and "npi: ten digits" in page


def readiness(web, want, seconds=20):
    """lv-web's /readyz, polled until it answers `want` (its gateway check runs every 2 s)."""
    host, port = web.fields["metrics"].rsplit(":", 1)
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        c.request("GET", "/readyz")
        status = c.getresponse().status
        c.close()
        if status == want:
            break
        time.sleep(0.2)
    return status


def test_probe_and_readiness_follow_the_gateway(stack):
    procs, _ = stack
    web = procs["lv-web"]
    assert subprocess.run([str(BIN_DIR / "lv-web"), "--probe", "--listen", web.address]).returncode == 0
    assert readiness(web, 200) == 200
    # Nothing listens on port 1: the probe fails.
    assert subprocess.run([str(BIN_DIR / "lv-web"), "--probe", "--listen", "127.0.0.1:1"]).returncode == 1


def test_secure_cookies_flag(stack, tmp_path):
    procs, _ = stack
    secure = Proc("lv-web", ["--gateway-addr", procs["lv-gateway"].address, "--secure-cookies", "true", "--data-dir", str(tmp_path)], tmp_path)
    try:
        _, _, _, cookies = Client(secure.address).login()
        session = [c for c in cookies if c.startswith("lv_session=")][0]
        assert "; Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session
    finally:
        assert secure.stop() == 0


def test_pages_escape_and_cache(stack):
    procs, _ = stack
    c = Client(procs["lv-web"].address)
    c.login()
    status, headers, page, _ = c.request("GET", "/activities/web-hf")
    assert status == 200
    # The title holds <, > and &: escaped, never markup.
    assert "Simulated &lt;web-hf&gt; &amp; co" in page and "<web-hf>" not in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    tag = headers["ETag"]
    status, headers, body, _ = c.request("GET", "/activities/web-hf", headers={"If-None-Match": tag})
    assert status == 304 and body == ""
    status, headers, body, _ = c.request("GET", "/activities/web-hf/gap.csv")
    view = gateway_json(procs, "activity", "web-hf")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:2] == ["verdict", "physicians"] and len(rows) == 1 + len(view["gap"]["by_verdict"])
    assert [int(r[1]) for r in rows[1:]] == [v.get("physicians", 0) for v in view["gap"]["by_verdict"]]
    assert c.request("GET", "/activities/no-such-activity")[0] == 404


def test_every_page_in_chromium(stack):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium, part of scripts/install-deps.sh, could not install it here)")
    procs, tmp = stack
    OUTPUT.mkdir(parents=True, exist_ok=True)
    base = "http://" + procs["lv-web"].address
    b = Browser(chromium, tmp / "chromium-profile")
    try:
        b.goto(base + "/activities")
        assert "/login" in b.url()
        b.submit("document.getElementById('key').value='analyst-key'; document.querySelector('form.login').submit()")
        assert b.url().endswith("/activities"), b.url()
        listing = gateway_json(procs, "activities")["activities"]
        e = Elements(b.dom())
        rows = e.find("tr", within="activities")
        assert sorted(r["data-activity"] for r in rows if "data-activity" in r) == sorted(a["activity_id"] for a in listing)
        b.screenshot(OUTPUT / "activities.png")
        planned = 0
        for aid, *_ in ACTIVITIES:
            b.goto(f"{base}/activities/{aid}")
            view = gateway_json(procs, "activity", aid)
            check_activity_page(b.dom(), view)
            b.screenshot(OUTPUT / f"activity-{aid}.png")
            b.screenshot(OUTPUT / f"activity-{aid}-phone.png", mobile=True)
            b.goto(f"{base}/activities/{aid}/report")
            report = Elements(b.dom())
            assert len(report.find("tr", within="levels-table")) == 1 + len(view["levels"])
            check_planning(report, view, "report-planning")
            planned += 1 if "planning" in view else 0
            b.screenshot(OUTPUT / f"report-{aid}.png")
        assert planned > 0, "no simulated activity has a planning record"
        b.goto(f"{base}/physicians/{NPI}")
        transcript = gateway_json(procs, "physician", NPI)
        e = Elements(b.dom())
        entries = e.find("tr", within="transcript", cls="entry")
        assert len(entries) == len(transcript["activities"]) > 0
        b.screenshot(OUTPUT / "physician.png")
        # Sorting by a column is a link: credited, descending.
        b.goto(f"{base}/activities?sort=credited&dir=desc")
        ids = [r["data-activity"] for r in Elements(b.dom()).find("tr", within="activities") if "data-activity" in r]
        assert ids == [a["activity_id"] for a in sorted(listing, key=lambda a: -a.get("credited", 0))]
    finally:
        b.close()


def test_outcomes_report_pdf(stack, tmp_path):
    if find_chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium, part of scripts/install-deps.sh, could not install it here)")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    procs, _ = stack
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for aid, *_ in ACTIVITIES:
        pdf = OUTPUT / f"outcomes-{aid}.pdf"
        lvctl("report", "activity", aid, "--addr", procs["lv-gateway"].address, "--pdf", str(pdf))
        raw = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        text = " ".join(raw.split())  # table cells wrap: compare with whitespace normalised
        view = gateway_json(procs, "activity", aid)
        assert f"Outcomes report: Simulated <{aid}> & co" in text and "Validation gap" in text
        # The ladder: every level with its name and its state, and the highest level evidenced.
        for lv in view["levels"]:
            state = "not evaluated" if lv.get("not_evaluated") else "evidenced" if lv.get("evidenced") else "not evidenced"
            assert f"{lv['level']} {lv['name']}" in text, lv["level"]
            assert f"{lv['level']} {lv['name']} " in text and state in text
        highest = view.get("highest_level") or "none"
        assert f"Highest level evidenced: {highest}" in text
        # The gap: each verdict row with its count of physicians.
        gap = view["gap"]
        assert f"{gap['credited_physicians']} credited physicians" in text
        labels = {"LEARNING_VERDICT_RELIABLE_IMPROVEMENT": "reliable improvement", "LEARNING_VERDICT_NO_RELIABLE_CHANGE": "assessed, no reliable change",
                  "LEARNING_VERDICT_RELIABLE_DECLINE": "assessed, reliable decline", "LEARNING_VERDICT_AT_CEILING": "at ceiling before the activity",
                  "LEARNING_VERDICT_NOT_ASSESSED": "not assessed (no pre- and post-test)"}
        for row in gap["by_verdict"]:
            assert f"{labels[row['verdict']]} {row.get('physicians', 0)} " in text, row


def test_partial_view_with_engagement_stopped(stack):
    procs, _ = stack
    assert procs["lv-engagement"].stop() == 0
    # The gateway is NOT_SERVING without a backend, and lv-web's readiness follows it (it stays alive and shows partial views).
    assert readiness(procs["lv-web"], 503) == 503
    view = gateway_json(procs, "activity", "web-hf")
    assert view["completeness"]["status"] == "COMPLETENESS_STATUS_PARTIAL"
    c = Client(procs["lv-web"].address)
    c.login()
    status, _, page, _ = c.request("GET", "/activities/web-hf")
    assert status == 200
    e = Elements(page)
    assert e.find("div", id="partial"), "a partial view carries the banner"
    assert "engagement could not be read" in page
    absent = {a["section"] for a in view["completeness"]["absent"]}
    assert "engagement_vs_learning" in absent
    section = e.find("section", id="engagement")[0]
    assert "absent" in section["class"].split()
    assert not e.find("svg", id="engagement-chart"), "no scatter drawn from a missing source"
    # What does not need engagement is still drawn, with the gateway's numbers.
    assert [int(b["data-count"]) for b in e.find("rect", within="funnel-chart", cls="funnel-bar")][:3] == \
        [view["funnel"]["registered"], view["funnel"]["attended"], view["funnel"]["credited"]]
    if find_chromium():
        from browser import Browser as B
        OUTPUT.mkdir(parents=True, exist_ok=True)
        b = B(find_chromium(), stack[1] / "chromium-partial")
        try:
            base = "http://" + procs["lv-web"].address
            b.goto(base + "/login")
            b.submit("document.getElementById('key').value='analyst-key'; document.querySelector('form.login').submit()")
            b.goto(base + "/activities/web-hf")
            b.screenshot(OUTPUT / "activity-partial.png")
        finally:
            b.close()
