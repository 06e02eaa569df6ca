#!/usr/bin/env bash
# A/B publish throughput of two minibus binaries, alternating runs so that both see the
# same machine (the VM's speed drifts by ±15 % over minutes: docs/BENCHMARKS.md).
#
#   ./scripts/bench-ab.sh A_BIN B_BIN [RUNS]     (default 3 rounds; ~4 minutes)
#
# Each run: a fresh bus on a fresh data dir with its defaults, one `minibus bench publish`
# (driven by B_BIN's bench client for both, so only the bus differs), SIGTERM. Prints one
# JSON line per run, prefixed with A or B, the case and the bus's CPU ticks.
set -euo pipefail

A=$1
B=$2
RUNS=${3:-3}
PORT=${MINIBUS_BENCH_PORT:-18040}
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/minibus-ab.XXXXXX)
BUS_PID=
trap 'if [ -n "$BUS_PID" ]; then kill "$BUS_PID" 2>/dev/null; fi; rm -rf "$WORK"' EXIT

wait_ready() { # PID: polls /readyz for at most 10 s
  for _ in $(seq 1000); do
    curl -sf "$URL/readyz" >/dev/null && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.01
  done
  echo "the bus did not become ready: $(tail -3 "$WORK/bus.log")" >&2
  return 1
}

one() { # LABEL BUS_BIN ARGS...
  local label=$1 bin=$2
  shift 2
  rm -rf "$WORK/data"
  "$bin" bus --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/bus.log" 2>&1 &
  BUS_PID=$!
  local pid=$BUS_PID
  wait_ready "$pid"
  local before
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  local json
  json=$("$B" bench publish "$@" --bus-url "$URL" 2>/dev/null | grep '^{')
  echo "$label $json bus_cpu_ticks=$(($(awk '{print $14 + $15}' "/proc/$pid/stat") - before))"
  kill -TERM "$pid"
  wait "$pid" || true
  BUS_PID=
}

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); A=$A B=$B"
for run in $(seq "$RUNS"); do
  for case in "c1 --concurrency 1 --events 20000" \
    "c16 --concurrency 16 --events 100000" \
    "c64 --concurrency 64 --events 200000" \
    "c4-b100 --concurrency 4 --events 200000 --batch 100"; do
    set -- $case
    name=$1
    shift
    one "A $name" "$A" "$@" --size 200
    one "B $name" "$B" "$@" --size 200
  done
done
