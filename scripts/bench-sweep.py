#!/usr/bin/env python3
"""The gateway view at growing size (docs/BENCHMARKS.md "Cost grows as"): for each size, fresh
lv-registration, lv-engagement, lv-assessment and lv-gateway on loopback port 0 (release binaries
from LV_BIN_DIR), one activity simulated with N participants and N/5 comparison physicians, then
the four services restarted on the same data (so each one's peak RSS, /proc/PID/status VmHWM, is
the view's and not the simulation's), and the view read RUNS times. Prints, per size:

  - the view's time as the gateway measured it (lv_rpc_request_duration_seconds of
    GetActivityValidation): the first read after the restart (cold: engagement has no kept
    summaries) and the mean of the following reads, and as `lvctl report activity` took it
    (process start included);
  - where the gateway's time went: the summed time of each backend method's calls (pages
    included), from lv_gateway_backend_call_duration_seconds;
  - each service's peak RSS after the runs; the machine's load average (`uptime`) before each size.

A JSON line per size on stdout, a table at the end.

  LV_BIN_DIR=$(swift build -c release --show-bin-path) scripts/bench-sweep.py [--runs 3] [SIZES...]
  make sweep            # 500 2000 10000 50000
"""
import argparse
import http.client
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Tests" / "web"))
from conftest import BIN_DIR, Proc  # noqa: E402

SERVICES = ("lv-registration", "lv-engagement", "lv-assessment")


def metrics(address):
    host, port = address.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return text


def summed(text, name, **labels):
    """Sum of NAME_sum and NAME_count over the series whose labels include LABELS."""
    total = count = 0.0
    for m in re.finditer(rf"^{name}_(sum|count)\{{([^}}]*)\}} (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            if m.group(1) == "sum":
                total += float(m.group(3))
            else:
                count += float(m.group(3))
    return total, count


def backend_methods(text):
    out = {}
    for m in re.finditer(r'^lv_gateway_backend_call_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$', text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        key = f'{have.get("backend")}.{have.get("method")}'
        s = out.setdefault(key, [0.0, 0.0])
        s[0 if m.group(1) == "sum" else 1] += float(m.group(3))
    return out


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)) / 1024


def load_average():
    return open("/proc/loadavg").read().split()[:3]


def start(tmp):
    procs = {name: Proc(name, ["--data-dir", str(tmp / name)], tmp) for name in SERVICES}
    backends = ["--registration-addr", procs["lv-registration"].address, "--engagement-addr", procs["lv-engagement"].address,
                "--assessment-addr", procs["lv-assessment"].address]
    procs["lv-gateway"] = Proc("lv-gateway", backends + ["--data-dir", str(tmp / "gw")], tmp)
    return procs, backends


def stop(procs):
    for p in reversed(list(procs.values())):
        p.stop()


def one_size(n, runs, keep):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"bench-sweep-{n}-"))
    row = {"participants": n, "comparison": n // 5, "load_before": load_average()}
    procs = {}
    try:
        procs, backends = start(tmp)
        t = time.monotonic()
        subprocess.run([str(BIN_DIR / "lvctl"), "simulate", *backends, "--activity", "sweep", "--participants", str(n),
                        "--comparison", str(n // 5), "--seed", "99"], check=True, capture_output=True)
        row["simulate_s"] = round(time.monotonic() - t, 1)
        stop(procs)
        procs, backends = start(tmp)
        gateway = procs["lv-gateway"]
        lvctl_s = []
        view = dict(method="lv.gateway.v1.Gateway/GetActivityValidation")
        for run in range(runs):
            t = time.monotonic()
            subprocess.run([str(BIN_DIR / "lvctl"), "report", "activity", "sweep", "--addr", gateway.address, "--timeout", "600"],
                           check=True, capture_output=True)
            lvctl_s.append(round(time.monotonic() - t, 3))
            if run == 0:
                # The first view after a restart finds no kept summaries (a cold read); the
                # following ones may (engagement keeps an activity's summaries until it changes).
                first, _ = summed(metrics(gateway.fields["metrics"]), "lv_rpc_request_duration_seconds", **view)
                row["view_s_first"] = round(first, 3)
        text = metrics(gateway.fields["metrics"])
        total, count = summed(text, "lv_rpc_request_duration_seconds", **view)
        row["view_s_mean"] = round(total / count, 3) if count else None
        row["view_s_repeat_mean"] = round((total - row["view_s_first"]) / (count - 1), 3) if count > 1 else None
        row["lvctl_report_s"] = lvctl_s
        row["backend_s_per_view"] = {k: round(v[0] / runs, 3) for k, v in sorted(backend_methods(text).items())}
        row["backend_calls_per_view"] = {k: int(v[1] / runs) for k, v in sorted(backend_methods(text).items())}
        row["peak_rss_mib"] = {name: round(peak_rss_mib(p.process.pid), 1) for name, p in procs.items()}
        row["load_after"] = load_average()
        return row
    finally:
        stop(procs)
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[500, 2000, 10000, 50000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep each size's data directories")
    a = ap.parse_args()
    rows = []
    for n in a.sizes:
        row = one_size(n, a.runs, a.keep)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| participants (+ comparison) | view, gateway's time: first / repeated | lvctl report (runs) | simulate | peak RSS MiB reg / eng / asm / gw | load before |")
    print("|---:|---:|---|---:|---|---|")
    for r in rows:
        rss = r["peak_rss_mib"]
        print(f'| {r["participants"]:,} (+{r["comparison"]:,}) | {r["view_s_first"]:.3f} / {r["view_s_repeat_mean"] or 0:.3f} s | {", ".join(f"{x:.2f}" for x in r["lvctl_report_s"])} s '
              f'| {r["simulate_s"]} s | {rss["lv-registration"]:.0f} / {rss["lv-engagement"]:.0f} / {rss["lv-assessment"]:.0f} / {rss["lv-gateway"]:.0f} '
              f'| {" ".join(r["load_before"])} |')


if __name__ == "__main__":
    main()
