#!/usr/bin/env bash
# The fair table: our unary Health/Check beside grpc-swift-2 and a raw SwiftNIO echo, every
# figure from the same run, closed loop, one connection, at 1, 16, 64 and 256 in flight.
# Each server is driven by an efficient client, so the table compares servers, not clients:
#   - ours (lv-registration) by `lv-load unary --pipelined` (a channel handler on the event
#     loop, pre-encoded frames, no task per call) and by `lv-load unary` (the RPCClient, as
#     the services call each other);
#   - grpc-swift-2 2.4.3 over HTTP/2 (Benchmarks/Baselines) by h2load (nghttp2, C) and by
#     grpc-swift-2's own client;
#   - a raw SwiftNIO echo of the same frame bytes by its pipelining echo client (bare TCP).
# BENCH_RUNS runs (default 1; docs/BENCHMARKS.md uses 3) one after another, each with the load
# average beside it. Prints JSON lines, then one ratio table per run and the spread over runs.
# `make bench` runs it after scripts/bench.sh; h2load comes from `scripts/install-deps.sh --bench`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${BENCH_DURATION:-5}
runs=${BENCH_RUNS:-1}
points=${BENCH_POINTS:-"1 16 64 256"}
command -v h2load >/dev/null || { echo "h2load is missing: run scripts/install-deps.sh --bench (Debian's nghttp2-client)" >&2; exit 1; }
if [[ -z "${LV_BIN_DIR:-}" ]]; then
  swift build -c release --product lv-registration >/dev/null
  swift build -c release --product lv-load >/dev/null
fi
bin=${LV_BIN_DIR:-$(swift build -c release --show-bin-path)}
(cd Benchmarks/Baselines && swift build -c release >/dev/null)
base=$(cd Benchmarks/Baselines && swift build -c release --show-bin-path)/lv-baseline
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

"$bin/lv-registration" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$tmp" --log-level warning >"$tmp/lv.out" & pids+=($!)
port_grpc=$((20000 + RANDOM % 5000)); port_echo=$((25000 + RANDOM % 5000))
"$base" grpc-serve "$port_grpc" & pids+=($!)
"$base" echo-serve "$port_echo" & pids+=($!)
for _ in $(seq 1 100); do grep -q ready "$tmp/lv.out" 2>/dev/null && break; sleep 0.1; done
sleep 1
lv=$(sed -n 's/.*rpc=\([^ ]*\).*/\1/p' "$tmp/lv.out")
# One gRPC message: not compressed, length 0 (HealthCheckRequest{} is empty, as ours).
printf '\x00\x00\x00\x00\x00' >"$tmp/grpc-request"

lvload() { # NAME C [lv-load flags…]: one JSON line
  local name=$1 c=$2; shift 2
  "$bin/lv-load" unary --addr "$lv" --concurrency "$c" --duration "$seconds" --warmup 1 --output json "$@" 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); l=d["latency_ms"]; print(json.dumps({"baseline":sys.argv[1],"concurrency":int(sys.argv[2]),"calls_per_s":int(d["calls_per_s"]),"p50_ms":l["p50"],"p99_ms":l["p99"],"errors":sum(d["errors"].values())}))' "$name" "$c"
}

h2() { # C: grpc-swift-2 driven by h2load, one JSON line
  # grpc-swift-2's server allows 100 concurrent streams (SETTINGS_MAX_CONCURRENT_STREAMS); asked
  # for more, h2load starts no request at all (0 req/s), so it gets at most 100 (the "streams" key).
  local c=$1 m=$(( $1 < 100 ? $1 : 100 ))
  rm -f "$tmp/h2.log"
  h2load -c 1 -t 1 -m "$m" -D "$seconds" --warm-up-time 1 -d "$tmp/grpc-request" \
    -H 'content-type: application/grpc' -H 'te: trailers' --log-file "$tmp/h2.log" \
    "http://127.0.0.1:$port_grpc/lv.bench.Baseline/Check" >"$tmp/h2.out" 2>&1 || { cat "$tmp/h2.out" >&2; return 1; }
  python3 - "$c" "$tmp/h2.out" "$tmp/h2.log" "$m" <<'PY'
import json, re, sys
c, out, log, m_streams = int(sys.argv[1]), open(sys.argv[2]).read(), sys.argv[3], int(sys.argv[4])
rate = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))
m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
# --log-file: start (µs since the epoch), HTTP status, µs to the end of the response; one line a request.
lat = sorted(int(l.split("\t")[2]) for l in open(log) if l.strip())
p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q / 100))] / 1000 if lat else 0
started = int(m.group(2))
print(json.dumps({"baseline": "grpc-swift-2 (h2load)", "concurrency": c, "streams": m_streams, "calls_per_s": int(rate), "p50_ms": p(50), "p99_ms": p(99),
                  "errors": int(m.group(5)) + int(m.group(6)) + (1 if started == 0 else 0)}))
PY
}

for run in $(seq 1 "$runs"); do
  echo "# run $run of $runs: $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${seconds}s per point" >&2
  for c in $points; do
    lvload "ours (pipelined)" "$c" --pipelined
    lvload "ours (lv-load)" "$c"
    h2 "$c"
    "$base" grpc-load "$port_grpc" "$c" "$seconds" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["baseline"]="grpc-swift-2 (its client)"; print(json.dumps(d))'
    "$base" echo-load "$port_echo" "$c" "$seconds"
  done | python3 -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l); d["run"] = int(sys.argv[1]); print(json.dumps(d), flush=True)' "$run" | tee -a "$tmp/results.jsonl"
done
python3 - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["run"], r["baseline"], r["concurrency"]): r for r in rows}
runs = sorted({r["run"] for r in rows}); points = sorted({r["concurrency"] for r in rows})
cols = [("ours (pipelined)", "ours pipelined"), ("ours (lv-load)", "ours lv-load"), ("grpc-swift-2 (h2load)", "grpc h2load"),
        ("grpc-swift-2 (its client)", "grpc client"), ("raw-swiftnio-echo", "echo")]
ratios = [("ours (pipelined)", "grpc-swift-2 (h2load)", "pipelined÷h2load"), ("ours (lv-load)", "grpc-swift-2 (its client)", "lv-load÷grpc client"),
          ("ours (pipelined)", "raw-swiftnio-echo", "pipelined÷echo")]
spread = {}
for run in runs:
    print(f"\nrun {run}: calls/s (p50 ms), one connection, closed loop")
    print("in flight | " + " | ".join(n for _, n in cols) + " | " + " | ".join(n for _, _, n in ratios))
    for c in points:
        cells = [f"{by[(run, k, c)]['calls_per_s']:,} ({by[(run, k, c)]['p50_ms']:.3f})" for k, _ in cols]
        rs = []
        for a, b, n in ratios:
            r = by[(run, a, c)]["calls_per_s"] / max(1, by[(run, b, c)]["calls_per_s"])
            spread.setdefault((n, c), []).append(r); rs.append(f"{r:.2f}")
        for k, _ in cols: spread.setdefault((k, c), []).append(by[(run, k, c)]["calls_per_s"])
        print(f"{c:>9} | " + " | ".join(cells) + " | " + " | ".join(rs))
    errs = sum(r.get("errors", 0) for r in rows if r["run"] == run)
    print(f"errors in run {run}: {errs}")
if len(runs) > 1:
    print(f"\nover {len(runs)} runs, min–max")
    print("in flight | " + " | ".join(n for _, n in cols) + " | " + " | ".join(n for _, _, n in ratios))
    for c in points:
        cells = [f"{min(spread[(k, c)]):,}–{max(spread[(k, c)]):,}" for k, _ in cols]
        rs = [f"{min(spread[(n, c)]):.2f}–{max(spread[(n, c)]):.2f}" for _, _, n in ratios]
        print(f"{c:>9} | " + " | ".join(cells) + " | " + " | ".join(rs))
PY
