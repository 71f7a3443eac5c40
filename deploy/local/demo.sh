#!/usr/bin/env bash
# `make demo`: start every service on loopback (SQLite under ./var/), show that each is up and
# what it serves, then stop them cleanly. Later issues add the simulated CME activity and the
# validation report here.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
launcher=$root/deploy/local/lv-local.sh
bin=${LV_BIN_DIR:-$root/.build/debug}

trap '"$launcher" stop' EXIT
"$launcher" start
echo
echo "== health (lvctl health) =="
"$launcher" status
echo
echo "== what the registration service answers (lvctl list) =="
"$bin/lvctl" list --addr 127.0.0.1:7401
echo
echo "== a burst of health checks through the protocol (lv-load unary, 2 s) =="
"$bin/lv-load" unary --addr 127.0.0.1:7400 --concurrency 16 --duration 2 --warmup 0.5
