#!/usr/bin/env bash
# GET /movies/{id} with a warm cache on the storage people run, in one run
# with the same load (docs/benchmarks.md, "Storage"):
#   memory:   the in-memory store of the same build (the ceiling)
#   sqlite:   the embedded default (a fresh file)
#   postgres: a fresh PostgreSQL database on 127.0.0.1:5432
#   nest:     the seed's NestJS stack (../shared/peers/nest-seed), which
#             records nothing (installed with npm into ~/.cache on first use)
# each anonymous (the view is counted in analytics) and with a token (the
# view is recorded in the user's history, durable before the answer). After
# each storage's runs: the server's RSS, and for sqlite and postgres the
# views stored against the 200s wrk counted (every answered view must be
# there). Rate limiting is off (it is measured by bench-login.sh); the load
# tool runs as SCHED_BATCH so its wake-ups do not preempt the server on the
# shared 2 cores (as in bench-cache.sh; BENCH_SCHED=normal to compare).
# Usage: scripts/bench-storage.sh [duration_secs] [connections]
#   BENCH_BIN=path/to/watchme measures another build; BENCH_CASES="sqlite postgres" a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-64}
PORT=${BENCH_PORT:-18184}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=watchme_bench_storage
CASES=${BENCH_CASES:-memory sqlite postgres nest}
SCHED=${BENCH_SCHED:-batch}
case $SCHED in
  batch) LOADER=(chrt --batch 0) ;;
  normal) LOADER=() ;;
  *) echo "BENCH_SCHED must be batch or normal" >&2; exit 2 ;;
esac

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/watchme
else
  BIN=$BENCH_BIN
fi
WORK=$(mktemp -d)
PID=
PIDS=()
trap 'kill $PID "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
RESULTS=$WORK/results

rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

load() { # $1 = case name, $2.. = extra wrk arguments; prints and records req/s, p50, p99, 200s
  local name=$1 out
  shift
  out=$("${LOADER[@]}" wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "$@" "http://127.0.0.1:$PORT/movies/550")
  if grep -q "Non-2xx" <<<"$out"; then echo "$out"; echo "non-2xx answers in case $name"; exit 1; fi
  local rps p50 p99 n
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$name $rps $p50 $p99" >> "$RESULTS"
  printf '  %-18s %8s req/s  p50 %8s  p99 %8s  (%s answers)\n' "$name" "$rps" "$p50" "$p99" "$n"
  LAST_N=$n
}

watchme() { # $1 = storage; starts the server on it and logs a user in
  local url
  case $1 in
    memory) url=memory: ;;
    sqlite) url=sqlite://$WORK/bench.db ;;
    postgres)
      psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB"
      url=$PG/$DB ;;
  esac
  rm -f "$WORK"/bench.db*
  WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$WORK WATCHME_LOG=warn WATCHME_DATABASE_URL=$url \
    WATCHME_RATE_LIMIT=false $BIN >"$WORK/server.log" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/ready; do sleep 0.05; done
  curl -sf -X POST http://127.0.0.1:$PORT/auth/register -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse"}' >/dev/null
  TOKEN=$(curl -sf -X POST http://127.0.0.1:$PORT/auth/login -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"correct horse"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550
}

stored_views() { # $1 = storage
  case $1 in
    sqlite) sqlite3 "$WORK/bench.db" 'select count(*) from views' 2>/dev/null || python3 -c "
import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from views').fetchone()[0])" "$WORK/bench.db" ;;
    postgres) psql "$PG/$DB" -Atc 'select count(*) from views' ;;
  esac
}

nest() {
  local dir=${BENCH_NEST_DIR:-$HOME/.cache/watchme-bench/nest-seed}
  if [ ! -f "$dir/dist/main.js" ]; then
    echo "  (installing the NestJS peer into $dir)"
    rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && cp -r ../shared/peers/nest-seed "$dir"
    (cd "$dir" && npm install --silent --no-audit --no-fund >/dev/null && npx tsc -p . >/dev/null)
  fi
  UPSTREAM_PORT=18777 node "$dir/upstream.js" >/dev/null 2>&1 &
  PIDS+=($!)
  PORT=$PORT TMDB_BASE=http://127.0.0.1:18777/3 node "$dir/dist/main.js" >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550; do sleep 0.1; done
}

echo "== GET /movies/550, warm cache, wrk -t2 -c$CONNS -d${DURATION}s ($SCHED), $BIN"
for c in $CASES; do
  case $c in
    nest)
      nest
      load nest
      echo "  nest RSS: $(rss_mb "$PID") MB"
      kill "$PID" "${PIDS[@]}"; wait 2>/dev/null || true; PIDS=() ;;
    *)
      watchme "$c"
      load "$c-anonymous"
      load "$c-token" -H "Authorization: Bearer $TOKEN"
      answered=$LAST_N
      # Answered views are durable: count them (the anonymous run stored none).
      if [ "$c" != memory ]; then
        echo "  views stored: $(stored_views "$c") of $answered answered with a token"
      fi
      echo "  $c RSS after both runs: $(rss_mb "$PID") MB"
      kill "$PID"; wait "$PID" 2>/dev/null || true ;;
  esac
done
[ -n "${BENCH_PG:-}" ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true

echo "== ratios"
awk '{rps[$1] = $2} END {
  for (s in rps) if (s ~ /-anonymous$/ || s ~ /-token$/) {
    split(s, p, "-"); base = rps["memory-" p[2]]
    if (base) printf "  %-18s %.2fx memory", s, rps[s] / base
    if (rps["nest"]) printf ", %.1fx nest", rps[s] / rps["nest"]
    printf "\n"
  }
}' "$RESULTS" | sort
