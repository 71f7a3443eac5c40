#!/usr/bin/env bash
# `make bench`: release build, then on loopback closed-loop Health round trips on lv-registration at 1, 16, 64
# and 256 calls in flight (one connection). Engagement ingest, with its raw-SQLite ceiling in the same run, is
# scripts/bench-ingest.sh (the last part of `make bench`).
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

