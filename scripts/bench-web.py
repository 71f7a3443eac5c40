#!/usr/bin/env python3
"""lv-web's activity page for a large activity (docs/BENCHMARKS.md "Web view"): the services,
the gateway and lv-web on loopback port 0 (release binaries from LV_BIN_DIR), one simulated
activity of PARTICIPANTS participants and COMPARISON comparison physicians, then the page
fetched RUNS times signed in; prints the gateway's own time for the view (lvctl report), the
page's total time, lv-web's render time (lv_web_render_seconds) and the page's size.

  LV_BIN_DIR=$(swift build -c release --show-bin-path) scripts/bench-web.py [PARTICIPANTS COMPARISON RUNS]
"""
import http.client
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Tests" / "web"))
from conftest import BIN_DIR, Proc  # noqa: E402

participants, comparison, runs = (int(x) for x in (sys.argv[1:] + ["2000", "500", "5"][len(sys.argv) - 1:])[:3])


def get(address, path, cookie="", method="GET", form=None):
    host, port = address.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-web-"))
procs = {}
try:
    for name in ("lv-registration", "lv-engagement", "lv-assessment"):
        procs[name] = Proc(name, ["--data-dir", str(tmp / name)], tmp)
    backends = ["--registration-addr", procs["lv-registration"].address, "--engagement-addr", procs["lv-engagement"].address,
                "--assessment-addr", procs["lv-assessment"].address]
    procs["lv-gateway"] = Proc("lv-gateway", backends + ["--data-dir", str(tmp / "gw")], tmp)
    procs["lv-web"] = Proc("lv-web", ["--gateway-addr", procs["lv-gateway"].address, "--data-dir", str(tmp / "web")], tmp)
    start = time.monotonic()
    subprocess.run([str(BIN_DIR / "lvctl"), "simulate", *backends, "--activity", "bench-web", "--participants", str(participants),
                    "--comparison", str(comparison), "--seed", "99"], check=True, capture_output=True)
    print(f"simulated {participants} + {comparison} physicians in {time.monotonic() - start:.1f} s")
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run([str(BIN_DIR / "lvctl"), "report", "activity", "bench-web", "--addr", procs["lv-gateway"].address, "--timeout", "120"],
                       check=True, capture_output=True)
        print(f"lvctl report activity (gateway view + process start): {time.monotonic() - start:.3f} s")
    web = procs["lv-web"].address
    r, page = get(web, "/login")
    csrf_cookie = re.search(r"lv_login_csrf=([0-9a-f]+)", r.getheader("Set-Cookie")).group(1)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.decode()).group(1)
    r, _ = get(web, "/login", cookie=f"lv_login_csrf={csrf_cookie}", method="POST", form={"csrf": csrf, "key": "bench", "npi": ""})
    session = re.search(r"lv_session=([0-9a-f]+)", r.getheader("Set-Cookie")).group(1)
    for _ in range(runs):
        start = time.monotonic()
        r, page = get(web, "/activities/bench-web", cookie=f"lv_session={session}")
        took = time.monotonic() - start
        assert r.status == 200, r.status
        print(f"GET /activities/bench-web: {took:.3f} s, {len(page)} bytes, ETag {r.getheader('ETag')}")
    start = time.monotonic()
    r, _ = get(web, "/activities/bench-web", cookie=f"lv_session={session}")
    tag = r.getheader("ETag")
    start = time.monotonic()
    r, _ = get(web, "/activities/bench-web", cookie=f"lv_session={session}")
    _, metrics = get(procs["lv-web"].fields["metrics"], "/metrics")
    m = metrics.decode()
    total = float(re.search(r"^lv_web_render_seconds_sum(?:\{[^}]*\})? (\S+)", m, re.M).group(1))
    count = float(re.search(r"^lv_web_render_seconds_count(?:\{[^}]*\})? (\S+)", m, re.M).group(1))
    print(f"lv-web render (HTML + SVG from the view): mean {1000 * total / count:.1f} ms over {int(count)} pages")
finally:
    for p in reversed(list(procs.values())):
        p.stop()
