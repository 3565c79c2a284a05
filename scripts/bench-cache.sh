#!/usr/bin/env bash
# GET /movies/{id} on a cache hit, in one run with the same load:
#   (a) L1 hit: the two-tier cache, entry in the in-process L1
#   (b) Redis only: WATCHME_CACHE_L1_TTL_SECS=0, every hit read from Redis
#   (c) a bare poem handler returning the same JSON bytes (examples/bare_handler.rs)
# The server runs on `memory:` storage, so the cache path is what is
# measured; each WatchMe request still records its anonymous view event.
# Rate limiting is off here (WATCHME_RATE_LIMIT=false): with Redis it adds a
# round trip per request, which scripts/bench-login.sh measures on its own.
# The three cases run in turn, `rounds` times (wrk shares the 2 cores with
# the server, so one round varies by about 10 %); the summary gives each
# case's median and the ratios of the medians.
# The load tool runs as SCHED_BATCH (BENCH_SCHED=batch, the default) in
# every case: it shares the 2 cores with the server, and when its wake-ups
# preempt the server, the run falls into a ping-pong of one response per
# context switch that costs the server far more than its own work
# (docs/benchmarks.md, "The load tool's wake-ups"). Clients on other
# machines never preempt a server; BENCH_SCHED=normal measures the old way.
# Usage: scripts/bench-cache.sh [duration_secs] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
ROUNDS=${3:-3}
PORT=${BENCH_PORT:-18183}
REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}
REL=${CARGO_TARGET_DIR:-target}/release
BIN=$REL/watchme
SCHED=${BENCH_SCHED:-batch}
case $SCHED in
  batch) LOADER=(chrt --batch 0) ;;
  normal) LOADER=() ;;
  *) echo "BENCH_SCHED must be batch or normal" >&2; exit 2 ;;
esac

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
cargo build --release --quiet --example bare_handler
WORK=$(mktemp -d)
PID=
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

serve() { # $1 = L1 TTL seconds
  WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$WORK WATCHME_LOG=warn WATCHME_DATABASE_URL=memory: WATCHME_RATE_LIMIT=false \
    WATCHME_REDIS_URL=$REDIS WATCHME_REDIS_NAMESPACE="bench-$$:" WATCHME_CACHE_L1_TTL_SECS=$1 $BIN >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/live; do sleep 0.02; done
  curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550
  [ "$(curl -s -o /dev/null -w '%header{x-cache}' http://127.0.0.1:$PORT/movies/550)" = HIT ] || { echo "not a cache hit"; exit 1; }
}
stop() { kill $PID; wait $PID 2>/dev/null || true; }
# The server's CPU time (user + system, in clock ticks) and its threads'
# involuntary context switches, summed over its threads.
server_counters() {
  local ticks switches=0 t
  ticks=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  for t in /proc/"$PID"/task/*; do
    switches=$((switches + $(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$t/status")))
  done
  echo "$ticks $switches"
}
load() { # $1 = case name; prints and records req/s, p50, p99, server CPU and preemptions per request
  local out before after
  before=$(server_counters)
  out=$("${LOADER[@]}" wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/movies/550")
  after=$(server_counters)
  if grep -q "Non-2xx" <<<"$out"; then echo "$out"; echo "non-2xx answers in case $1"; exit 1; fi
  local rps p50 p99 n cpu preempt
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  read -r cpu preempt < <(awk -v b="$before" -v a="$after" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    printf "%.1f %.3f\n", (y[1] - x[1]) * 1e6 / hz / n, (y[2] - x[2]) / n }')
  echo "$1 $rps $p50 $p99 $cpu $preempt" >> "$WORK/results"
  printf '  %-10s %10s req/s  p50 %8s  p99 %8s  server CPU %5s us/req  preempted %s/req\n' \
    "$1" "$rps" "$p50" "$p99" "$cpu" "$preempt"
}

serve 3600; curl -s http://127.0.0.1:$PORT/movies/550 > "$WORK/body.json"; stop
echo "body: $(wc -c < "$WORK/body.json") bytes; $ROUNDS rounds of ${DURATION}s, wrk 2 threads / $CONNS connections, wrk scheduled $SCHED"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  serve 3600; load l1-hit; stop
  serve 0; load redis-only; stop
  "$REL/examples/bare_handler" 127.0.0.1:$PORT "$WORK/body.json" & PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550; do sleep 0.02; done
  load bare; stop
done
redis-cli -u "$REDIS" --scan --pattern "bench-$$:*" | xargs -r redis-cli -u "$REDIS" unlink >/dev/null

median() { # $1 = case, $2 = column of the results (2 = req/s, 5 = server CPU, 6 = preemptions)
  grep "^$1 " "$WORK/results" | awk -v c="${2:-2}" '{print $c}' | sort -n |
    awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'
}
L1=$(median l1-hit); RO=$(median redis-only); BARE=$(median bare)
echo "== medians"
awk -v a="$L1" -v b="$RO" -v c="$BARE" 'BEGIN {
  printf "  (a) L1 hit      %10.0f req/s  %.2fx bare (target 0.70x)\n", a, a / c
  printf "  (b) Redis only  %10.0f req/s  %.2fx bare (target 0.40x)\n", b, b / c
  printf "  (c) bare        %10.0f req/s\n", c
}'
for c in l1-hit redis-only bare; do
  printf '  %-10s server CPU %5s us/req  preempted %s/req\n' "$c" "$(median $c 5)" "$(median $c 6)"
done
