#!/usr/bin/env bash
# `make bench-ingest` (and the last part of `make bench`): engagement ingest against its ceiling, in the same run.
#   1. lv-engagement (release, synchronous=FULL, a fresh database each run) fed by `lv-load ingest`: batches of
#      500 events, 8 calls in flight on 2 connections, time-ordered then random ids;
#   2. Benchmarks/RawSQLite/raw-sqlite-ingest (C, the system's SQLite): the same rows into the same schema with the
#      same pragmas and statement, 500 rows a SAVEPOINT, GROUP (default 4) savepoints a transaction, one thread;
#   3. the ratio of the two, each run's server CPU seconds, events per CPU second, and the load average (`uptime`)
#      before the run: the machine is shared, so wall-clock rates move with the other work on it.
# RUNS (default 3) runs of each kind, BENCH_DURATION (default 8) seconds each. JSON lines, then a table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-8}
runs=${RUNS:-3}
group=${GROUP:-4}
scratch=${LV_SCRATCH:+--scratch-path $LV_SCRATCH}
swift build -c release $scratch --product lv-engagement >/dev/null
swift build -c release $scratch --product lv-load >/dev/null
bin=$(swift build -c release $scratch --show-bin-path)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/raw-sqlite-ingest" Benchmarks/RawSQLite/raw-sqlite-ingest.c -lsqlite3
cpu_s() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, ${duration}s per run, $runs runs" >&2
for run in $(seq 1 "$runs"); do
  for ids in time random; do
    db=$(mktemp -d -p "$tmp")
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    "$bin/lv-engagement" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$db" --sqlite-synchronous full \
      --log-level warning >"$db/out" &
    epid=$!
    for _ in $(seq 1 100); do grep -q ready "$db/out" 2>/dev/null && break; sleep 0.1; done
    eaddr=$(sed -n 's/.*rpc=\([^ ]*\).*/\1/p' "$db/out")
    before=$(cpu_s $epid)
    "$bin/lv-load" ingest --addr "$eaddr" --batch 500 --concurrency 8 --connections 2 --duration "$duration" \
      --warmup 1 --id-kind "$ids" --output json 2>/dev/null >"$db/load.json"
    after=$(cpu_s $epid)
    rss=$(awk '/VmHWM/ {print $2}' /proc/$epid/status)
    kill -TERM $epid; wait $epid 2>/dev/null || true
    raw=$(mktemp -d -p "$tmp")
    "$tmp/raw-sqlite-ingest" "$raw/e.db" "$duration" "$ids" 500 "$group" full >"$raw/out.json"
    python3 - "$db/load.json" "$raw/out.json" "$ids" "$run" "$before" "$after" "$rss" "$load" "$duration" <<'PY'
import json, sys
load, raw = json.load(open(sys.argv[1])), json.loads(open(sys.argv[2]).read())
ids, run, before, after, rss, avg, duration = sys.argv[3:10]
ours = load["calls_per_s"] * 500
cpu = float(after) - float(before)
print(json.dumps({"run": int(run), "id_kind": ids, "events_per_s": round(ours), "server_cpu_s": round(cpu, 2),
                  "events_per_server_cpu_s": round(ours * (float(duration) + 1) / cpu) if cpu else None,
                  "p50_ms": load["latency_ms"]["p50"], "p99_ms": load["latency_ms"]["p99"], "peak_rss_kib": int(rss),
                  "raw_c_rows_per_s": raw["rows_per_s"], "raw_c_rows_per_cpu_s": raw["rows_per_cpu_s"],
                  "ratio": round(ours / raw["rows_per_s"], 3), "load_average": avg}))
PY
    rm -rf "$db" "$raw"
  done
done | tee "$tmp/results.jsonl"
python3 - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nids    | ours events/s | raw C rows/s | ours ÷ raw C | ours events/server-CPU-s | raw C rows/CPU-s | load average before")
for r in rows:
    print(f'{r["id_kind"]:<6} | {r["events_per_s"]:>13,} | {r["raw_c_rows_per_s"]:>12,.0f} | {r["ratio"]:>12.2f} | '
          f'{r["events_per_server_cpu_s"] or 0:>24,} | {r["raw_c_rows_per_cpu_s"]:>16,.0f} | {r["load_average"]}')
PY
