#!/usr/bin/env bash
# GET /movies/{id} on a cache hit, in one run with the same load:
#   (a) L1 hit: the two-tier cache, entry in the in-process L1
#   (b) Redis only: WATCHME_CACHE_L1_TTL_SECS=0, every hit read from Redis
#   (c) a bare poem handler returning the same JSON bytes (examples/bare_handler.rs)
# The server runs on `memory:` storage, so the cache path is what is
# measured; each WatchMe request still records its anonymous view event.
# Rate limiting is off here (WATCHME_RATE_LIMIT=false): with Redis it adds a
# round trip per request, which scripts/bench-login.sh measures on its own.
# Usage: scripts/bench-cache.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
PORT=${BENCH_PORT:-18183}
REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}
BIN=target/release/watchme

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
load() { wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/movies/550" | grep -E "Requests/sec|99%|50%|Non-2xx"; }

echo "== (a) L1 hit (two-tier, L1 TTL 3600 s)"
serve 3600; curl -s http://127.0.0.1:$PORT/movies/550 > "$WORK/body.json"; load; kill $PID; wait $PID 2>/dev/null || true
echo "== (b) Redis only (no L1)"
serve 0; load; kill $PID; wait $PID 2>/dev/null || true
echo "== (c) bare poem handler, same bytes ($(wc -c < "$WORK/body.json") bytes)"
target/release/examples/bare_handler 127.0.0.1:$PORT "$WORK/body.json" & PID=$!
until curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550; do sleep 0.02; done
load
redis-cli -u "$REDIS" --scan --pattern "bench-$$:*" | xargs -r redis-cli -u "$REDIS" unlink >/dev/null
