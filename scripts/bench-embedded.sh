#!/usr/bin/env bash
# Benchmarks the embedded default (see docs/benchmarks.md):
#   1. start-up time: process spawn -> first 200 from /health/live (5 runs)
#   2. GET /movies/{id} with a warm cache, anonymous and with a token (wrk)
# Needs wrk (Debian package `wrk`; installed if missing) and curl.
# Usage: scripts/bench-embedded.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
PORT=${BENCH_PORT:-18181}
BIN=target/release/watchme

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
DATA=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT

echo "== start-up time (spawn -> /health/live 200), 5 runs"
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$DATA WATCHME_LOG=warn $BIN >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/live; do sleep 0.002; done
  end=$(date +%s%N)
  echo "run $i: $(( (end - start) / 1000000 )) ms"
  kill $PID; wait $PID 2>/dev/null || true
done

WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$DATA WATCHME_LOG=warn $BIN >/dev/null 2>&1 &
PID=$!
until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/live; do sleep 0.01; done
curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550   # warm the cache
curl -sf -X POST http://127.0.0.1:$PORT/auth/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse"}' >/dev/null
TOKEN=$(curl -sf -X POST http://127.0.0.1:$PORT/auth/login -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

echo "== GET /movies/550, warm cache, anonymous (view counted in analytics), wrk -t2 -c$CONNS -d${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency http://127.0.0.1:$PORT/movies/550
echo "== GET /movies/550, warm cache, with a token (view recorded in history), wrk -t2 -c$CONNS -d${DURATION}s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/movies/550
echo "== GET /health/live (floor: routing, middleware, logging)"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency http://127.0.0.1:$PORT/health/live
