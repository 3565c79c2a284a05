#!/usr/bin/env bash
# Recorded views per second through the HTTP API on PostgreSQL, next to
# pgbench's single-row insert rate on the same server, in one run
# (see docs/benchmarks.md).
#   1. a fresh database, the release server on it (pool of 10 connections)
#   2. wrk: authenticated GET /movies/{id} for DURATION s; each request's
#      view + its movie_viewed event is durable before its 200 (group
#      commit), and the relay publishes the events to analytics meanwhile;
#      the rows are counted afterwards (every 200 must be there)
#   3. pgbench: one INSERT per transaction into a table shaped like `views`,
#      as many clients as wrk has connections, DURATION s
# Rate limiting is off (it is measured by bench-login.sh); wrk runs as
# SCHED_BATCH so its wake-ups do not preempt the server (bench-cache.sh).
# Usage: scripts/bench-views-pg.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
PORT=${BENCH_PORT:-18182}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=watchme_bench
BIN=target/release/watchme

scripts/test-services.sh >/dev/null
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB"
DATA=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT

WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$DATA WATCHME_LOG=warn WATCHME_DATABASE_URL="$PG/$DB" \
  WATCHME_RATE_LIMIT=false $BIN >/dev/null 2>&1 &
PID=$!
until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/ready; do sleep 0.05; done
curl -sf -X POST http://127.0.0.1:$PORT/auth/register -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse"}' >/dev/null
TOKEN=$(curl -sf -X POST http://127.0.0.1:$PORT/auth/login -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"correct horse"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550

echo "== recorded views through HTTP: wrk -t2 -c$CONNS -d${DURATION}s, authenticated GET /movies/550"
OUT=$(chrt --batch 0 wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/movies/550)
echo "$OUT"
if grep -q "Non-2xx" <<<"$OUT"; then echo "non-2xx answers: the figure is not one of recorded views"; exit 1; fi
ANSWERED=$(awk '/requests in/ {print $1}' <<<"$OUT")
sleep 2
STORED=$(psql "$PG/$DB" -Atc 'select count(*) from views')
echo "views stored: $STORED of $ANSWERED answered"
[ "$STORED" -ge "$ANSWERED" ] || { echo "answered views are missing"; exit 1; }
echo "outbox rows: $(psql "$PG/$DB" -Atc 'select count(*) from outbox') (unpublished: $(psql "$PG/$DB" -Atc 'select count(*) from outbox where published_at is null'))"
echo "analytics views of 550: $(psql "$PG/$DB" -Atc 'select views from movie_stats where movie_id = 550')"
kill $PID; wait $PID 2>/dev/null || true

echo "== pgbench: one INSERT per transaction, $CONNS clients, ${DURATION}s"
psql "$PG/$DB" -qc "CREATE TABLE bench_views (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL, movie_id BIGINT NOT NULL, title TEXT NOT NULL, viewed_at BIGINT NOT NULL)"
SCRIPT=$(mktemp)
cat > "$SCRIPT" <<'SQL'
\set movie random(1, 1000000)
INSERT INTO bench_views (user_id, movie_id, title, viewed_at) VALUES ('6f1c2d4e-8a9b-4c3d-9e2f-1a2b3c4d5e6f', :movie, 'Fight Club', 1764322200000000);
SQL
chrt --batch 0 pgbench -n -c "$CONNS" -j 2 -T "$DURATION" -f "$SCRIPT" "$PG/$DB" | grep -E "tps|latency|transactions actually"
rm -f "$SCRIPT"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
