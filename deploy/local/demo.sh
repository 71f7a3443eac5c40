#!/usr/bin/env bash
# `make demo`: start every service on loopback (SQLite under ./var/), simulate four CME
# activities through the real protocol, each with its own content, format, dates and credit
# (Services/Simulation/SimulationParameters.swift) and realistic attrition — an effective live
# heart-failure course with a comparison cohort, a jointly accredited sepsis webinar for physicians,
# nurses and pharmacists that teaches nothing (learning effect 0), an on-demand anticoagulation
# module and a diabetes grand-rounds series — print their PARS files, validation views and a
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
"$lvctl" simulate --course hf --activity sim-hf-2026 --participants 120 --comparison 40 --seed 2027 --learning 1.1
"$lvctl" simulate --course sepsis --activity sim-sepsis-2026 --participants 80 --comparison 20 --seed 7 --learning 0
"$lvctl" simulate --course anticoag --activity sim-anticoag-2026 --participants 60 --comparison 20 --seed 11 --learning 0.8
"$lvctl" simulate --course diabetes-rss --activity sim-diabetes-rss-2026 --participants 50 --comparison 15 --seed 13 --learning 0.6
echo
echo "== all activities (lvctl report activities) =="
"$lvctl" report activities
echo
"$lvctl" report activity sim-hf-2026
echo
"$lvctl" report activity sim-sepsis-2026
echo
# ACCME PARS: the jointly accredited sepsis webinar (physicians AMA PRA 1 + ABIM MOC, nurses ANCC,
# pharmacists ACPE with NABP e-Profile ID) and the heart-failure course (with MOC pass/fail).
for act in sim-sepsis-2026 sim-hf-2026; do
  echo "== PARS learner upload and activity record: $act (lvctl report pars; first 8 rows) =="
  "$lvctl" report pars "$act" --output "${LV_VAR:-$root/var}/pars-$act-learners.txt" --activity-output "${LV_VAR:-$root/var}/pars-$act-activity.txt"
  head -n 8 "${LV_VAR:-$root/var}/pars-$act-learners.txt"
  echo "rows by credit type: $(cut -f8 "${LV_VAR:-$root/var}/pars-$act-learners.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
  echo "activity record: $(cat "${LV_VAR:-$root/var}/pars-$act-activity.txt")"
  echo
done
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
