#!/usr/bin/env bash
# `make bench-ingest` (and the last part of `make bench`): engagement ingest against its ceiling, in the same run.
#   1. lv-engagement (release, synchronous=FULL, a fresh database each run) fed by `lv-load ingest`: batches of
#      500 events, 8 calls in flight on 2 connections, time-ordered then random ids;
#   2. Benchmarks/RawSQLite/raw-sqlite-ingest (C, the system's SQLite): the same rows into the same schema with the
#      same pragmas and statement, 500 rows a SAVEPOINT, GROUP (default 4) savepoints a transaction, one thread;
#   3. the ratio of the two, each run's server CPU seconds, events per CPU second, and the load average (`uptime`)
#      before the run: the machine is shared, so wall-clock rates move with the other work on it.
# RUNS (default 3) runs of each kind, BENCH_DURATION (default 8) seconds each. JSON lines, then a table.
# BENCH_BIN=DIR uses the release binaries in DIR instead of building them.
# ENGAGEMENT_BEFORE=PATH adds, in every run, another lv-engagement binary (a build from before a change) fed the
# same way, and the ratio now ÷ before: a same-run comparison across a change.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-8}
runs=${RUNS:-3}
group=${GROUP:-4}
scratch=${LV_SCRATCH:+--scratch-path $LV_SCRATCH}
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN   # binaries built elsewhere (lv-engagement and lv-load); nothing is built
else
  swift build -c release $scratch --product lv-engagement >/dev/null
  swift build -c release $scratch --product lv-load >/dev/null
  bin=$(swift build -c release $scratch --show-bin-path)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/raw-sqlite-ingest" Benchmarks/RawSQLite/raw-sqlite-ingest.c -lsqlite3
cpu_s() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, ${duration}s per run, $runs runs" >&2
# ours BIN DIR IDS: lv-engagement BIN on a fresh database in DIR fed by lv-load; leaves DIR/load.json and
# DIR/cpu (the server's CPU seconds over the load) and DIR/rss (its VmHWM in KiB).
ours() {
  "$1" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$2" --sqlite-synchronous full --log-level warning >"$2/out" &
  local epid=$! addr before after
  for _ in $(seq 1 100); do grep -q ready "$2/out" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/.*rpc=\([^ ]*\).*/\1/p' "$2/out")
  before=$(cpu_s $epid)
  "$bin/lv-load" ingest --addr "$addr" --batch 500 --concurrency 8 --connections 2 --duration "$duration" \
    --warmup 1 --id-kind "$3" --output json 2>/dev/null >"$2/load.json"
  after=$(cpu_s $epid)
  awk -v a="$after" -v b="$before" 'BEGIN {print a - b}' >"$2/cpu"
  awk '/VmHWM/ {print $2}' /proc/$epid/status >"$2/rss"
  kill -TERM $epid; wait $epid 2>/dev/null || true
}
for run in $(seq 1 "$runs"); do
  for ids in time random; do
    db=$(mktemp -d -p "$tmp")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    ours "$bin/lv-engagement" "$db" "$ids"
    prior=$(mktemp -d -p "$tmp")
    # ENGAGEMENT_BEFORE: another build of lv-engagement (e.g. from before a change), measured in the same run.
    if [ -n "${ENGAGEMENT_BEFORE:-}" ]; then ours "$ENGAGEMENT_BEFORE" "$prior" "$ids"; fi
    raw=$(mktemp -d -p "$tmp")
    "$tmp/raw-sqlite-ingest" "$raw/e.db" "$duration" "$ids" 500 "$group" full >"$raw/out.json"
    python3 - "$db" "$prior" "$raw/out.json" "$ids" "$run" "$load" "$duration" <<'PY'
import json, os, sys
db, prior, raw_path, ids, run, avg, duration = sys.argv[1:8]
raw = json.loads(open(raw_path).read())
def measured(d):
    load = json.load(open(os.path.join(d, "load.json")))
    cpu = float(open(os.path.join(d, "cpu")).read())
    rate = load["calls_per_s"] * 500
    return rate, cpu, load, int(open(os.path.join(d, "rss")).read())
ours, cpu, load, rss = measured(db)
row = {"run": int(run), "id_kind": ids, "events_per_s": round(ours), "server_cpu_s": round(cpu, 2),
       "events_per_server_cpu_s": round(ours * (float(duration) + 1) / cpu) if cpu else None,
       "p50_ms": load["latency_ms"]["p50"], "p99_ms": load["latency_ms"]["p99"], "peak_rss_kib": rss,
       "raw_c_rows_per_s": raw["rows_per_s"], "raw_c_rows_per_cpu_s": raw["rows_per_cpu_s"],
       "ratio": round(ours / raw["rows_per_s"], 3), "load_average": avg}
if os.path.exists(os.path.join(prior, "load.json")):
    then, then_cpu, _, _ = measured(prior)
    then_per_cpu = round(then * (float(duration) + 1) / then_cpu) if then_cpu else None
    row.update({"before_events_per_s": round(then), "before_server_cpu_s": round(then_cpu, 2),
                "before_events_per_server_cpu_s": then_per_cpu,
                "ratio_to_before": round(ours / then, 3) if then else None,
                "ratio_to_before_per_cpu_s": round(row["events_per_server_cpu_s"] / then_per_cpu, 3)
                if then_per_cpu and row["events_per_server_cpu_s"] else None})
print(json.dumps(row))
PY
    rm -rf "$db" "$prior" "$raw"
  done
done | tee "$tmp/results.jsonl"
python3 - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nids    | ours events/s | raw C rows/s | ours ÷ raw C | ours events/server-CPU-s | raw C rows/CPU-s | load average before")
for r in rows:
    print(f'{r["id_kind"]:<6} | {r["events_per_s"]:>13,} | {r["raw_c_rows_per_s"]:>12,.0f} | {r["ratio"]:>12.2f} | '
          f'{r["events_per_server_cpu_s"] or 0:>24,} | {r["raw_c_rows_per_cpu_s"]:>16,.0f} | {r["load_average"]}'
          + (f' | before: {r["before_events_per_s"]:,} events/s, {r["before_events_per_server_cpu_s"] or 0:,}/CPU-s; now ÷ before'
             f' {r["ratio_to_before"]} (per CPU-s {r["ratio_to_before_per_cpu_s"]})' if "before_events_per_s" in r else ""))
PY
