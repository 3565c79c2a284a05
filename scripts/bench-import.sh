#!/usr/bin/env bash
# How long an import of a 10,000-row Letterboxd diary takes against the
# bundled catalog, on the embedded default (SQLite) and on PostgreSQL (see
# docs/benchmarks.md). For each storage: the release server on a fresh
# database, one user, a diary.csv of ROWS entries (the catalog's films by
# title and year, each on its own day, so every row is a new play) in a
# ZIP; timed from the POST to the job's `done` (polled every 50 ms), then
# the same file again (every row already there). The limit it is compared
# with, in the same run: the same plays sent by movie id through
# POST /me/history in batches of 1,000 (no file to read, nothing to match).
# The load tool is curl, one request at a time, on the same 2 cores.
# Usage: scripts/bench-import.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000}
PORT=${BENCH_PORT:-18184}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=watchme_bench_import
BIN=target/release/watchme

scripts/test-services.sh >/dev/null
cargo build --release --quiet
DATA=$(mktemp -d)
PID=
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
B=http://127.0.0.1:$PORT

now_ms() { date +%s%3N; }

run() {
  local name=$1 url=$2
  rm -rf "${DATA:?}"/*
  WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$DATA WATCHME_LOG=warn WATCHME_DATABASE_URL="$url" \
    WATCHME_RATE_LIMIT=false $BIN >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null $B/health/ready; do sleep 0.05; done
  for who in bench direct; do
    curl -sf -X POST $B/auth/register -H 'content-type: application/json' \
      -d "{\"email\":\"$who@example.com\",\"password\":\"correct horse\"}" >/dev/null
  done
  login() {
    curl -sf -X POST $B/auth/login -H 'content-type: application/json' \
      -d "{\"email\":\"$1@example.com\",\"password\":\"correct horse\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
  }
  local token direct
  token=$(login bench)
  direct=$(login direct)
  for p in 1 2; do curl -sf "$B/movies/popular?per_page=100&page=$p"; echo; done > "$DATA/films.jsonl"
  python3 - "$ROWS" "$DATA" <<'PY'
import datetime, io, json, sys, zipfile
rows, data = int(sys.argv[1]), sys.argv[2]
films = [m for line in open(f"{data}/films.jsonl") if line.strip() for m in json.loads(line)["items"]]
day = datetime.date(1990, 1, 1)
diary, batches = io.StringIO(), []
diary.write("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n")
plays = []
for i in range(rows):
    m = films[i % len(films)]
    d = day + datetime.timedelta(days=i)
    name = m["title"].replace('"', '""')
    diary.write(f'{d},"{name}",{m["release_date"][:4]},https://boxd.it/{i},,,,{d}\n')
    plays.append({"movie_id": m["id"], "watched_at": f"{d}T00:00:00Z"})
with zipfile.ZipFile(f"{data}/export.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("diary.csv", diary.getvalue())
for n in range(0, rows, 1000):
    json.dump({"plays": plays[n:n + 1000]}, open(f"{data}/batch{n // 1000}.json", "w"))
PY
  import_once() {
    local t0 id status
    t0=$(now_ms)
    id=$(curl -sf -X POST "$B/me/imports?source=letterboxd" -H "authorization: Bearer $token" \
      -H 'content-type: application/zip' --data-binary @"$DATA/export.zip" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    while :; do
      status=$(curl -sf "$B/me/imports/$id" -H "authorization: Bearer $token")
      case "$status" in *'"status":"done"'*|*'"status":"failed"'*) break ;; esac
      sleep 0.05
    done
    echo "$(( $(now_ms) - t0 )) $(echo "$status" | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["counts"]; print(j["status"], c["plays_added"], c["already_present"], c["unmatched"])')"
  }
  local first again t0 direct_ms
  first=$(import_once)
  again=$(import_once)
  t0=$(now_ms)
  for f in "$DATA"/batch*.json; do
    curl -sf -o /dev/null -X POST $B/me/history -H "authorization: Bearer $direct" -H 'content-type: application/json' \
      --data-binary @"$f"
  done
  direct_ms=$(( $(now_ms) - t0 ))
  echo "$name: import of $ROWS diary rows: ${first%% *} ms (status, plays added, already there, unmatched: ${first#* }); again: ${again%% *} ms (${again#* }); the same plays by id through POST /me/history: $direct_ms ms"
  kill $PID; wait $PID 2>/dev/null || true
}

run "SQLite" "sqlite://$DATA/watchme.db"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" -qc "CREATE DATABASE $DB" >/dev/null
run "PostgreSQL" "$PG/$DB"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
