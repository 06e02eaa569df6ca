#!/usr/bin/env bash
# The benchmark series of docs/BENCHMARKS.md: every figure there comes from this script.
#
#   ./scripts/bench-series.sh [RUNS]      (default 3 runs of each; ~5 minutes)
#
# Each run starts a fresh bus on a fresh data dir (release build, defaults: fsync, 32 MiB
# cache), runs one `minibus bench`, and stops the bus with SIGTERM. The 1,000,000-event log
# is built once, then reopened for the restart, read/RSS and replay runs. Every bench's
# JSON summary line is printed, prefixed with what was run; the bus's CPU time is printed
# after each run. Needs curl; run it on a quiet machine (`cat /proc/loadavg`).
set -euo pipefail

RUNS=${1:-3}
cd "$(dirname "$0")/.."
cargo build --release --locked -q
BIN=$PWD/target/release/minibus
PORT=${MINIBUS_BENCH_PORT:-18030}
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/minibus-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

start_bus() { # DATA_DIR → sets BUS_PID
  "$BIN" bus --listen "127.0.0.1:$PORT" --data-dir "$1" >"$WORK/bus.log" 2>&1 &
  BUS_PID=$!
  until curl -sf "$URL/readyz" >/dev/null; do sleep 0.01; done
}
stop_bus() {
  kill -TERM "$BUS_PID"
  wait "$BUS_PID" || true
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

fresh() { # LABEL ARGS...: one bench on a fresh bus
  local label=$1
  shift
  rm -rf "$WORK/data"
  start_bus "$WORK/data"
  local before
  before=$(cpu_ticks "$BUS_PID")
  local json
  json=$("$BIN" bench "$@" --bus-url "$URL" 2>/dev/null | grep '^{')
  echo "$label $json bus_cpu_ticks=$(($(cpu_ticks "$BUS_PID") - before))"
  stop_bus
}

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(git rev-parse --short HEAD)"
for run in $(seq "$RUNS"); do
  fresh "publish-c1" publish --concurrency 1 --events 30000 --size 200
  fresh "publish-c16" publish --concurrency 16 --events 100000 --size 200
  fresh "publish-c64" publish --concurrency 64 --events 200000 --size 200
  fresh "publish-c4-b100" publish --concurrency 4 --events 200000 --size 200 --batch 100
  fresh "publish-c16-b100" publish --concurrency 16 --events 200000 --size 200 --batch 100
  fresh "fanout-b1" fanout --events 30000 --batch 1
  fresh "fanout-b1-s4" fanout --events 20000 --batch 1 --subscribers 4
  fresh "fanout-b100" fanout --events 200000 --batch 100
  fresh "fanout-latency" fanout --latency-samples 2000
  fresh "fanout-amo-b1" fanout --events 5000 --batch 1 --delivery at_most_once
  fresh "fanout-amo-b100" fanout --events 200000 --batch 100 --delivery at_most_once
  fresh "fanout-amo-latency" fanout --latency-samples 2000 --delivery at_most_once
done

# The store alone (no HTTP).
for run in $(seq "$RUNS"); do
  MINIBUS_STORE_BENCH_REOPEN=0 cargo bench -q -p bus --features daemon --bench store 2>/dev/null |
    grep '^{' | sed 's/^/store /'
done

# A log of 1,000,000 events.
BIG=$WORK/big
start_bus "$BIG"
echo "build-1m $("$BIN" bench publish --concurrency 4 --batch 100 --events 1000000 --size 200 \
  --bus-url "$URL" 2>/dev/null | grep '^{')"
stop_bus
echo "size-1m $(du -sm "$BIG" | cut -f1) MiB"
for run in 1 2 3 4 5; do
  t0=$(date +%s.%N)
  start_bus "$BIG"
  t1=$(date +%s.%N)
  echo "restart-1m $(echo "$t1 - $t0" | bc) s"
  stop_bus
done
read_rss() { # LABEL DATA_DIR: RSS after opening, then `bench read` and its peak RSS
  start_bus "$2"
  # Let the start settle before reading the RSS after opening.
  sleep 0.5
  local before json peak
  before=$(awk '/VmRSS/ {print $2}' "/proc/$BUS_PID/status")
  json=$("$BIN" bench read --bus-url "$URL" 2>/dev/null | grep '^{')
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$BUS_PID/status")
  echo "$1 $json rss_before_kb=$before rss_peak_kb=$peak"
  stop_bus
}
for run in $(seq "$RUNS"); do
  read_rss read-1m "$BIG"
done
for run in $(seq "$RUNS"); do
  start_bus "$BIG"
  echo "replay-1m $("$BIN" bench fanout --existing --batch 100 --bus-url "$URL" 2>/dev/null | grep '^{')"
  stop_bus
done

# Backup and restore of the 1M log: `events export` from a bus on it to a file, then `bus
# import` of that file into a fresh dir (wall time of each; the export's first line is its
# header), then `bus check` of the imported store.
start_bus "$BIG"
for run in $(seq "$RUNS"); do
  t0=$(date +%s.%N)
  "$BIN" events export --bus-url "$URL" >"$WORK/export.ndjson"
  echo "export-1m $(echo "$(date +%s.%N) - $t0" | bc) s, load $(cut -d' ' -f1 /proc/loadavg)"
done
stop_bus
for run in $(seq "$RUNS"); do
  rm -rf "$WORK/imported"
  t0=$(date +%s.%N)
  "$BIN" bus import --data-dir "$WORK/imported" "$WORK/export.ndjson" >/dev/null
  echo "import-1m $(echo "$(date +%s.%N) - $t0" | bc) s, load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "check-1m $("$BIN" bus check --data-dir "$WORK/imported" | grep 'checked in')"
rm -rf "$WORK/imported" "$WORK/export.ndjson"
# The import's inserts alone, and sled's own floor under them (no file, no validation).
MINIBUS_IMPORT_FLOOR_RUNS=$RUNS cargo bench -q -p bus --features daemon --bench import_floor \
  2>/dev/null | grep '^{' | sed 's/^/import-floor /'

# The same size of log with every event on a stream of 3 (as the blog's comments): one
# more index entry per event, so more of sled's per-page metadata in memory.
STREAMS=$WORK/streams
start_bus "$STREAMS"
echo "build-1m-streams $("$BIN" bench publish --concurrency 4 --batch 100 --events 1000000 --size 200 \
  --stream-events 3 --bus-url "$URL" 2>/dev/null | grep '^{')"
stop_bus
echo "size-1m-streams $(du -sm "$STREAMS" | cut -f1) MiB"
for run in $(seq "$RUNS"); do
  read_rss read-1m-streams "$STREAMS"
done

# The blog's chain: a fresh `minibus up` (OS-chosen ports, read from its banner) per run,
# `bench blog` against it (latency at 100/s, then 1,000 comments/s for 5 s).
blog_url() { awk -v s="$1" '$1 == s && $2 ~ /^http/ {print $2; exit}' "$WORK/up.log"; }
for run in $(seq "$RUNS"); do
  rm -rf "$WORK/blog"
  : >"$WORK/up.log"
  "$BIN" up --any-ports --data-dir "$WORK/blog" >"$WORK/up.log" 2>&1 &
  UP_PID=$!
  until [ -n "$(blog_url query)" ] && curl -sf "$(blog_url query)/readyz" >/dev/null; do sleep 0.01; done
  echo "blog $("$BIN" bench blog --bus-url "$(blog_url bus)" --posts-url "$(blog_url posts)" \
    --comments-url "$(blog_url comments)" --query-url "$(blog_url query)" 2>/dev/null | grep '^{')"
  kill -TERM "$UP_PID"
  wait "$UP_PID" || true
done
fresh "query-rebuild-1m" query-rebuild --persist
