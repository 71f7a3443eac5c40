#!/usr/bin/env bash
# The local launcher: the one place that says how each service is started on this machine,
# with which flags and ports. `make demo` uses it; other deployment targets copy this table.
#
#   deploy/local/lv-local.sh start    start every service in the background, wait until healthy
#   deploy/local/lv-local.sh stop     SIGTERM each (they drain calls in flight) and wait
#   deploy/local/lv-local.sh status   lvctl health for each
#
# Environment: LV_BIN_DIR (default .build/debug), LV_VAR (default ./var), LV_HOST (127.0.0.1).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LV_BIN_DIR:-$root/.build/debug}
var=${LV_VAR:-$root/var}
host=${LV_HOST:-127.0.0.1}

# "name rpc-port metrics-port" for each service, in start order, from the one table of default
# ports (LVRPC's DefaultPorts) as `lvctl ports` prints it.
[[ -x $bin/lvctl ]] || { echo "lv-local: $bin/lvctl not found (build first, or set LV_BIN_DIR)" >&2; exit 1; }
mapfile -t services < <("$bin/lvctl" ports | grep -v '^lv-web ')
# lv-web (HTTP, reads the gateway): started last, stopped first, checked with its own --probe.
read -r _ web_port web_metrics < <("$bin/lvctl" ports | grep '^lv-web ')
read -r _ gateway_port _ < <("$bin/lvctl" ports | grep '^lv-gateway ')

start() {
  mkdir -p "$var/run" "$var/log"
  for entry in "${services[@]}"; do
    read -r name port metrics <<<"$entry"
    if [[ -f $var/run/$name.pid ]] && kill -0 "$(cat "$var/run/$name.pid")" 2>/dev/null; then
      echo "$name already running (pid $(cat "$var/run/$name.pid"))"; continue
    fi
    "$bin/$name" --listen "$host:$port" --metrics-listen "$host:$metrics" --data-dir "$var" \
      >"$var/log/$name.out" 2>"$var/log/$name.log" &
    echo $! >"$var/run/$name.pid"
  done
  for entry in "${services[@]}"; do
    read -r name port _ <<<"$entry"
    for _ in $(seq 1 100); do
      "$bin/lvctl" health --addr "$host:$port" --timeout 1 >/dev/null 2>&1 && break
      kill -0 "$(cat "$var/run/$name.pid")" 2>/dev/null || { echo "$name exited; see $var/log/$name.log" >&2; cat "$var/log/$name.log" >&2; exit 1; }
      sleep 0.1
    done
    "$bin/lvctl" health --addr "$host:$port" --timeout 2 >/dev/null || { echo "$name is not healthy on $host:$port" >&2; exit 1; }
    echo "started $name on $host:$port (metrics $host:${entry##* }) pid $(cat "$var/run/$name.pid")"
  done
  if [[ -x $bin/lv-web ]]; then
    "$bin/lv-web" --listen "$host:$web_port" --metrics-listen "$host:$web_metrics" --gateway-addr "$host:$gateway_port" \
      >"$var/log/lv-web.out" 2>"$var/log/lv-web.log" &
    echo $! >"$var/run/lv-web.pid"
    for _ in $(seq 1 100); do
      "$bin/lv-web" --probe --listen "$host:$web_port" 2>/dev/null && break
      kill -0 "$(cat "$var/run/lv-web.pid")" 2>/dev/null || { echo "lv-web exited; see $var/log/lv-web.log" >&2; cat "$var/log/lv-web.log" >&2; exit 1; }
      sleep 0.1
    done
    "$bin/lv-web" --probe --listen "$host:$web_port" || { echo "lv-web is not answering on $host:$web_port" >&2; exit 1; }
    echo "started lv-web on http://$host:$web_port/ (metrics $host:$web_metrics) pid $(cat "$var/run/lv-web.pid")"
  fi
}

stop() {
  for entry in "lv-web - -" "${services[@]}"; do
    read -r name _ _ <<<"$entry"
    pidfile=$var/run/$name.pid
    [[ -f $pidfile ]] || continue
    pid=$(cat "$pidfile")
    if kill -TERM "$pid" 2>/dev/null; then
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { echo "$name did not stop in 30 s; killing" >&2; kill -KILL "$pid"; }
      echo "stopped $name"
    fi
    rm -f "$pidfile"
  done
}

status() {
  local rc=0
  for entry in "${services[@]}"; do
    read -r name port _ <<<"$entry"
    printf '%-16s ' "$name"
    "$bin/lvctl" health --addr "$host:$port" --timeout 2 || rc=1
  done
  if [[ -f $var/run/lv-web.pid ]]; then
    printf '%-16s ' lv-web
    if "$bin/lv-web" --probe --listen "$host:$web_port"; then echo "http://$host:$web_port/ answering"; else echo "http://$host:$web_port/ not answering"; rc=1; fi
  fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
