#!/usr/bin/env bash
# Our unary Health/Check against two baselines measured in the same run, closed loop, one
# connection, at 1, 16, 64 and 256 in flight:
#   - a raw SwiftNIO echo of the same frame bytes (our protocol's overhead over bare TCP);
#   - the same unary call served by grpc-swift-2 over HTTP/2 (Benchmarks/Baselines).
# Prints JSON lines and a ratio table. `make bench` runs it after scripts/bench.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${BENCH_DURATION:-5}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
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
echo "# $(date -u +%FT%TZ) $(nproc) cores, ${seconds}s per point" >&2
for c in 1 16 64 256; do
  "$bin/lv-load" unary --addr "$lv" --concurrency "$c" --duration "$seconds" --warmup 1 --output json 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); l=d["latency_ms"]; print(json.dumps({"baseline":"lv-protocol","concurrency":'"$c"',"calls_per_s":int(d["calls_per_s"]),"p50_ms":l["p50"],"p99_ms":l["p99"]}))'
  "$base" grpc-load "$port_grpc" "$c" "$seconds"
  "$base" echo-load "$port_echo" "$c" "$seconds"
done | tee "$tmp/results.jsonl"
python3 - "$tmp/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["baseline"], r["concurrency"]): r for r in rows}
print("\nin flight | lv calls/s | grpc-swift-2 calls/s | lv ÷ grpc | echo calls/s | lv ÷ echo | p99 ms lv / grpc / echo")
for c in (1, 16, 64, 256):
    lv, g, e = by[("lv-protocol", c)], by[("grpc-swift-2", c)], by[("raw-swiftnio-echo", c)]
    print(f"{c:>9} | {lv['calls_per_s']:>10,} | {g['calls_per_s']:>20,} | {lv['calls_per_s']/g['calls_per_s']:>9.2f} | {e['calls_per_s']:>12,} | {lv['calls_per_s']/e['calls_per_s']:>9.2f} | {lv['p99_ms']:.3f} / {g['p99_ms']:.3f} / {e['p99_ms']:.3f}")
PY
