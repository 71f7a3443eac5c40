#!/usr/bin/env bash
# `make demo`: start every service on loopback (SQLite under ./var/), simulate two CME
# activities through the real protocol — an effective heart-failure course with a comparison
# cohort, and a sepsis refresher that teaches nothing (learning effect 0) — then print their validation views and a
# physician's learning transcript from the gateway, print where lv-web shows them (LV_DEMO_KEEP=1
# keeps everything running so the web view can be opened), and stop the services cleanly.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
launcher=$root/deploy/local/lv-local.sh
bin=${LV_BIN_DIR:-$root/.build/debug}
lvctl=$bin/lvctl

[[ -n ${LV_DEMO_KEEP:-} ]] || trap '"$launcher" stop' EXIT
rm -rf "${LV_VAR:-$root/var}"
"$launcher" start
echo
"$launcher" status
echo
"$lvctl" simulate --activity sim-hf-2026 --participants 120 --comparison 40 --seed 2027 --learning 1.1 \
  --title "Heart failure 2026: guideline-directed therapy in practice"
"$lvctl" simulate --activity sim-sepsis-2026 --participants 80 --comparison 20 --seed 7 --learning 0 \
  --title "Sepsis bundle refresher (lecture, nothing learned)"
echo
echo "== all activities (lvctl report activities) =="
"$lvctl" report activities
echo
"$lvctl" report activity sim-hf-2026
echo
"$lvctl" report activity sim-sepsis-2026
echo
# Physicians 0-2 of the simulations took both activities: their learning transcripts.
for npi in 8000000009 8000000017 8000000025; do
  "$lvctl" report physician "$npi"
  echo
done
if [[ -x $bin/lv-web ]]; then
  echo "== the web view (lv-web) =="
  echo "open http://${LV_HOST:-127.0.0.1}:$("$lvctl" ports | awk '$1 == "lv-web" { print $2 }')/ and sign in with any API key (loopback accepts any key until credentials land);"
  echo "physician view: the same key with NPI 8000000009. Outcomes report as PDF:"
  echo "  $lvctl report activity sim-hf-2026 --pdf outcomes-sim-hf-2026.pdf"
  if [[ -z ${LV_DEMO_KEEP:-} ]]; then
    echo "(the services stop now; run 'LV_DEMO_KEEP=1 make demo' to keep them and lv-web running, then 'deploy/local/lv-local.sh stop')"
  fi
fi
