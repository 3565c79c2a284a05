#!/usr/bin/env bash
# How long one POST /me/history with 1,000 plays takes, on the embedded
# default (SQLite) and on PostgreSQL (see docs/benchmarks.md). For each
# storage: the release server on a fresh database, one user, ROUNDS batches
# of 1,000 new plays (the bundled catalog's movies at distinct seconds, so
# every play is added), timed by curl one at a time; then the same batch
# again (every play `existing`). Prints each time and the median. The limit
# it is compared with: a batch of 1,000 single-row inserts of the same rows
# in one transaction, through psql (PostgreSQL) or sqlite3's shell (not
# installed here, so SQLite has no such line).
# Usage: scripts/bench-history.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
PORT=${BENCH_PORT:-18183}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=watchme_bench_history
BIN=target/release/watchme

scripts/test-services.sh >/dev/null
cargo build --release --quiet
DATA=$(mktemp -d)
PID=
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
B=http://127.0.0.1:$PORT

# A batch of 1,000 plays on day $1 (YYYY-MM-DD) over the catalog's movies.
batch() {
  python3 - "$1" "$2" <<'PY'
import json, sys
ids = json.loads(sys.argv[2])
plays = [{"movie_id": ids[i % len(ids)], "watched_at": f"{sys.argv[1]}T{i // 3600:02}:{i // 60 % 60:02}:{i % 60:02}Z"} for i in range(1000)]
print(json.dumps({"plays": plays}))
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() {
  local name=$1 url=$2
  rm -rf "${DATA:?}"/*
  WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$DATA WATCHME_LOG=warn WATCHME_DATABASE_URL="$url" \
    WATCHME_RATE_LIMIT=false $BIN >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null $B/health/ready; do sleep 0.05; done
  curl -sf -X POST $B/auth/register -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse"}' >/dev/null
  local token ids times=() again
  token=$(curl -sf -X POST $B/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  ids=$(curl -sf "$B/movies/popular?per_page=100" | python3 -c 'import json,sys; print(json.dumps([m["id"] for m in json.load(sys.stdin)["items"]]))')
  for r in $(seq 1 "$ROUNDS"); do
    batch "2025-01-$(printf %02d "$r")" "$ids" > "$DATA/batch.json"
    times+=("$(curl -sf -o "$DATA/out.json" -w '%{time_total}' -X POST $B/me/history -H "authorization: Bearer $token" \
      -H 'content-type: application/json' --data-binary @"$DATA/batch.json")")
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert len(o["added"]) == 1000, len(o["added"])' "$DATA/out.json"
  done
  again=$(curl -sf -o "$DATA/out.json" -w '%{time_total}' -X POST $B/me/history -H "authorization: Bearer $token" \
    -H 'content-type: application/json' --data-binary @"$DATA/batch.json")
  python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert len(o["existing"]) == 1000' "$DATA/out.json"
  echo "$name: 1,000 new plays per request: ${times[*]} s; median $(printf '%s\n' "${times[@]}" | median) s; the same 1,000 again: $again s"
  kill $PID; wait $PID 2>/dev/null || true
}

run "SQLite (embedded default)" "sqlite://$DATA/watchme.db"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB"
run "PostgreSQL" "$PG/$DB"
psql "$PG/$DB" -qc "CREATE TABLE bench_plays (LIKE plays INCLUDING ALL)"
SQL="$DATA/inserts.sql"
python3 - > "$SQL" <<'PY'
print("BEGIN;")
for i in range(1000):
    print(f"INSERT INTO bench_plays (id, user_id, movie_id, title, year, poster_url, watched_at, action, source) VALUES "
          f"('p{i}', 'u', {i % 100 + 1}, 'Movie', 1999, NULL, {1735689600 + i}000000, 'watch', 'api');")
print("COMMIT;")
PY
start=$(date +%s.%N); psql "$PG/$DB" -qf "$SQL" >/dev/null; end=$(date +%s.%N)
echo "PostgreSQL limit: 1,000 single-row INSERTs in one transaction through psql: $(python3 -c "print(round($end - $start, 3))") s"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
