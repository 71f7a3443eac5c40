#!/usr/bin/env bash
# `make bench`: release build, then on loopback
#   1. closed-loop Health round trips on lv-registration at 1, 16, 64 and 256 calls in flight (one connection);
#   2. engagement ingest into lv-engagement, batches of 500, synchronous=FULL, time-ordered then random ids
#      (a fresh database each), 8 calls in flight on 2 connections.
# Results go to stdout as JSON lines; docs/BENCHMARKS.md records them with the machine and date.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-5}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
tmp=$(mktemp -d)
"$bin/lv-registration" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$tmp" --log-level warning >"$tmp/out" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 100); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/.*rpc=\([^ ]*\).*/\1/p' "$tmp/out")
echo "# $(date -u +%FT%TZ) $(nproc) cores, lv-registration release at $addr, ${duration}s per point" >&2
for c in 1 16 64 256; do
  "$bin/lv-load" unary --addr "$addr" --concurrency "$c" --connections 1 --duration "$duration" --warmup 1 --output json
done

for ids in time random; do
  db=$(mktemp -d)
  "$bin/lv-engagement" --listen 127.0.0.1:0 --metrics-listen off --data-dir "$db" --sqlite-synchronous full \
    --log-level warning >"$db/out" &
  epid=$!
  for _ in $(seq 1 100); do grep -q ready "$db/out" 2>/dev/null && break; sleep 0.1; done
  eaddr=$(sed -n 's/.*rpc=\([^ ]*\).*/\1/p' "$db/out")
  "$bin/lv-load" ingest --addr "$eaddr" --batch 500 --concurrency 8 --connections 2 --duration "$duration" \
    --warmup 1 --id-kind "$ids" --output json 2>/dev/null
  rss=$(awk '/VmHWM/ {print $2}' /proc/$epid/status)
  echo "{\"service\":\"lv-engagement\",\"id_kind\":\"$ids\",\"peak_rss_kib\":$rss}"
  kill -TERM $epid; wait $epid 2>/dev/null || true
  rm -rf "$db"
done
