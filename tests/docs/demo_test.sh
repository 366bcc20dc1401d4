#!/usr/bin/env bash
# scripts/demo run again and again: its own start sequence (CARGOMON_DEMO_SKIP_SETUP=1:
# no bootstrap, no build; the binaries of CARGOMON_BUILD_DIR) twice in one temp folder, and
# once at the same time in another folder on other ports. Each run's daemon must export
# cargo_batch_runs with no collector reporting "duplicate series"; a second demo in a busy
# folder and a demo on a port in use must refuse with a clear message.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$1"
export CARGOMON_BUILD_DIR="$2" CARGOMON_DEMO_SKIP_SETUP=1
work="$(mktemp -d /tmp/cargomon-demo-test-XXXXXX)"
pids=()
finish() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap finish EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.out "$work"/*/cargomon.log "$work"/*/sim.log; do [ -f "$f" ] && { echo "== $f"; tail -30 "$f"; }; done >&2; exit 1; }

# start NAME DIR SIM_PORT DAEMON_PORT: a demo in the background; its output in $work/NAME.out
start() {
  CARGOMON_DEMO_DIR="$2" CARGOMON_SIM_PORT="$3" CARGOMON_PORT="$4" "$src/scripts/demo" >"$work/$1.out" 2>&1 &
  pids+=($!)
  eval "pid_$1=$!"
}

# up NAME DAEMON_PORT: the demo printed that it runs, and its daemon exports batch runs
up() {
  local name="$1" port="$2" pid
  pid="$(eval echo "\$pid_$name")"
  for _ in $(seq 1 600); do
    grep -q "Ctrl-C stops everything." "$work/$name.out" && break
    kill -0 "$pid" 2>/dev/null || fail "$name: the demo exited"
    sleep 0.2
  done
  grep -q "Ctrl-C stops everything." "$work/$name.out" || fail "$name: the demo did not start"
  local metrics=""
  for _ in $(seq 1 300); do
    metrics="$(curl -sf "http://127.0.0.1:$port/metrics" || true)"
    grep -q '^cargo_batch_runs{' <<<"$metrics" && break
    sleep 0.2
  done
  grep -q '^cargo_batch_runs{' <<<"$metrics" || fail "$name: no cargo_batch_runs on :$port"
  # Every collector has run once by now (batches runs after discovery); none may have
  # refused its snapshot for duplicate series.
  local status
  status="$(curl -sf "http://127.0.0.1:$port/api/v1/status")" || fail "$name: no /api/v1/status"
  if grep -q 'duplicate series' <<<"$status"; then fail "$name: duplicate series: $status"; fi
  echo "$name: up on :$port, cargo_batch_runs exported, no duplicate series"
}

# stop NAME: SIGTERM (what Ctrl-C does; a background job ignores SIGINT), and it exits
stop() {
  local pid
  pid="$(eval echo "\$pid_$1")"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && fail "$1: still running 30 s after SIGTERM"
  wait "$pid" 2>/dev/null || true
  grep -q "demo: stopping" "$work/$1.out" || fail "$1: did not say it stopped"
}

a_sim=$(free_port) a_daemon=$(free_port) b_sim=$(free_port) b_daemon=$(free_port)

start a1 "$work/a" "$a_sim" "$a_daemon"
start b "$work/b" "$b_sim" "$b_daemon"
up a1 "$a_daemon"
up b "$b_daemon"

# The same folder while its demo runs: refused, before anything starts.
if CARGOMON_DEMO_DIR="$work/a" CARGOMON_SIM_PORT="$(free_port)" CARGOMON_PORT="$(free_port)" \
    "$src/scripts/demo" >"$work/busy.out" 2>&1; then fail "a second demo in a busy folder started"; fi
grep -q "another demo is running in $work/a" "$work/busy.out" || fail "busy folder: $(cat "$work/busy.out")"
# A port in use: refused, naming it.
if CARGOMON_DEMO_DIR="$work/c" CARGOMON_SIM_PORT="$(free_port)" CARGOMON_PORT="$b_daemon" \
    "$src/scripts/demo" >"$work/port.out" 2>&1; then fail "a demo on a port in use started"; fi
grep -q "port $b_daemon is in use" "$work/port.out" || fail "port in use: $(cat "$work/port.out")"
echo "busy folder and port in use: refused"

stop a1
start a2 "$work/a" "$a_sim" "$a_daemon"
up a2 "$a_daemon"
grep -q "was used before; starting clean" "$work/a2.out" || fail "a2: did not say it starts clean"
grep -q "rm -rf $work/a" "$work/a2.out" || fail "a2: did not say how to start from nothing"
stop a2
stop b
echo "demo: ran twice in one folder and once beside it"
