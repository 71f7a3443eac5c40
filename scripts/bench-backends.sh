#!/usr/bin/env bash
# Engagement ingest on SQLite and on PostgreSQL 15, alternating, in the same run (docs/BENCHMARKS.md):
# lv-engagement with synchronous=FULL on SQLite, and on a local PostgreSQL 15 with its durable defaults
# (fsync, synchronous_commit on; scripts/pg-throwaway.py with LV_PG_DURABLE=1), lv-load ingest with
# batches of 500, 8 calls in flight on 2 connections, time-ordered ids, a fresh database each run.
# BENCH_BIN: the binaries (default: a release build); BENCH_DURATION seconds per run (5); BENCH_ROUNDS (2).
# BENCH_BASELINE_ENGAGEMENT: another lv-engagement binary (e.g. built from the commit before a change),
# run on PostgreSQL in each round too ("postgres-baseline"), so before and after come from the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-5}
rounds=${BENCH_ROUNDS:-2}
if [[ -z "${BENCH_BIN:-}" ]]; then
  swift build -c release >/dev/null
  BENCH_BIN=$(swift build -c release --show-bin-path)
fi
bin=$BENCH_BIN
pgdir=$(LV_PG_DURABLE=1 python3 scripts/pg-throwaway.py start)
trap 'python3 scripts/pg-throwaway.py stop "$pgdir"' EXIT
admin=$(cat "$pgdir/url")
echo "# $(date -u +%FT%TZ) $(nproc) cores, $bin, PostgreSQL at $admin, ${duration}s per run" >&2

run() {
  local label=$1; shift
  local engagement=$bin/lv-engagement
  if [[ $label == *-baseline ]]; then engagement=$BENCH_BASELINE_ENGAGEMENT; fi
  local db; db=$(mktemp -d)
  "$engagement" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$db" --log-level warning "$@" >"$db/out" &
  local pid=$!
  for _ in $(seq 1 300); do grep -q ready "$db/out" 2>/dev/null && break; sleep 0.1; done
  local addr; addr=$(sed -n 's/.*rpc=\([^ ]*\).*/\1/p' "$db/out")
  printf '{"backend":"%s",' "$label"
  "$bin/lv-load" ingest --addr "$addr" --batch 500 --concurrency 8 --connections 2 --duration "$duration" \
    --warmup 1 --id-kind time --output json 2>/dev/null | sed 's/^{//'
  kill -TERM $pid; wait $pid 2>/dev/null || true
  rm -rf "$db"
}

for round in $(seq 1 "$rounds"); do
  run sqlite --sqlite-synchronous full
  psql -X -q "$admin" -c "CREATE DATABASE bench_$round"
  run postgres --database "${admin%/postgres}/bench_$round"
  if [[ -n "${BENCH_BASELINE_ENGAGEMENT:-}" ]]; then
    psql -X -q "$admin" -c "CREATE DATABASE bench_base_$round"
    run postgres-baseline --database "${admin%/postgres}/bench_base_$round"
  fi
done
