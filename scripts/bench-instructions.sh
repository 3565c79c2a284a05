#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: the
# same build, load and environment give the same count whatever else the
# machine is doing, so changes to WatchMe's own per-request work can be
# compared across runs and machines (the req/s of scripts/bench-cache.sh
# swing by 20 % on 2 shared cores). Kernel time (the TCP stack, scheduling)
# is not counted: it is the same per request for every case.
# Cases: GET /movies/550 as an L1 hit and as a Redis-only hit, GET
# /health/live (routing and middleware only), and the bare poem handler of
# scripts/bench-cache.sh. Each case is warmed for 2 s, then counted over
# `seconds` of wrk with 1 thread and 4 connections (callgrind runs the
# server on one core, about 50x slower than native).
# Usage: scripts/bench-instructions.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
PORT=${BENCH_PORT:-18184}
REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
command -v valgrind >/dev/null || { apt-get install -y valgrind >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }; }
cargo build --release --quiet
cargo build --release --quiet --example bare_handler
REL=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
VPID=
trap 'kill $VPID 2>/dev/null || true; rm -rf "$WORK"' EXIT

count() { # $1 = case name, $2 = path; the server is starting under callgrind as $VPID
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT$2"; do sleep 0.2; done
  wrk -t1 -c4 -d2s "http://127.0.0.1:$PORT$2" >/dev/null
  callgrind_control -z "$VPID" >/dev/null 2>&1
  local n
  n=$(wrk -t1 -c4 -d"${SECS}s" "http://127.0.0.1:$PORT$2" | awk '/requests in/ {print $1}')
  callgrind_control -d "$VPID" >/dev/null 2>&1
  sleep 1
  local ir
  ir=$(grep -h "^summary:" "$WORK"/cg.out.1 | awk '{s += $2} END {print s}')
  kill "$VPID"; wait "$VPID" 2>/dev/null || true
  rm -f "$WORK"/cg.out*
  printf '  %-12s %8d instructions/request (%d requests)\n' "$1" $((ir / n)) "$n"
}

watchme() { # $1 = L1 TTL seconds
  WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$WORK WATCHME_LOG=warn WATCHME_DATABASE_URL=memory: WATCHME_RATE_LIMIT=false \
    WATCHME_REDIS_URL=$REDIS WATCHME_REDIS_NAMESPACE="bench-$$:" WATCHME_CACHE_L1_TTL_SECS=$1 \
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$REL/watchme" >/dev/null 2>&1 &
  VPID=$!
}

echo "callgrind, ${SECS}s per case, wrk 1 thread / 4 connections"
watchme 3600; count l1-hit /movies/550
watchme 0; count redis-only /movies/550
watchme 3600; count health-live /health/live
# The bare handler answers the body WatchMe serves.
WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$WORK WATCHME_LOG=warn WATCHME_DATABASE_URL=memory: WATCHME_RATE_LIMIT=false \
  "$REL/watchme" >/dev/null 2>&1 & VPID=$!
until curl -sf -o "$WORK/body.json" "http://127.0.0.1:$PORT/movies/550"; do sleep 0.05; done
kill "$VPID"; wait "$VPID" 2>/dev/null || true
valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$REL/examples/bare_handler" 127.0.0.1:$PORT "$WORK/body.json" >/dev/null 2>&1 &
VPID=$!
count bare /movies/550
redis-cli -u "$REDIS" --scan --pattern "bench-$$:*" | xargs -r redis-cli -u "$REDIS" unlink >/dev/null
