#!/usr/bin/env bash
# Login cost and its effect on other traffic:
#  1. in process (examples/bench_login.rs): one argon2id verification vs
#     logins/s through AuthService at 1-16 concurrent clients;
#  2. over HTTP, one run of the release server (memory storage, the OWASP
#     argon2id default): GET /movies/{id} latency alone, then while logins
#     are hammered (rate limits raised so every login really hashes), then
#     while logins are hammered with the default login budget (20 per 15 min
#     per IP: the flood is answered 429 before any hashing). A run with
#     WATCHME_ARGON2_MAX_CONCURRENT=$(nproc) shows what the default of one
#     core fewer buys.
# Usage: scripts/bench-login.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-16}
PORT=${BENCH_PORT:-18184}
BIN=target/release/watchme

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
cargo build --release --quiet --example bench_login
WORK=$(mktemp -d)
PID=
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "== in process"
target/release/examples/bench_login 5

cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email": "bench@example.com", "password": "correct horse battery"}'
LUA

serve() { # extra env as arguments
  env WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$WORK WATCHME_LOG=warn WATCHME_DATABASE_URL=memory: \
    WATCHME_RATE_ANONYMOUS=1000000/1 "$@" $BIN >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/live; do sleep 0.02; done
  curl -sf -o /dev/null -H 'content-type: application/json' -d '{"email": "bench@example.com", "password": "correct horse battery"}' http://127.0.0.1:$PORT/auth/register
  curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550
}
movies() { wrk -t1 -c8 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/movies/550" | grep -E "Requests/sec|50%|99%"; }
logins() { wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WORK/login.lua" "http://127.0.0.1:$PORT/auth/login" > "$WORK/logins.txt"; }
report_logins() { grep -E "Requests/sec|Non-2xx" "$WORK/logins.txt" | sed 's/^/  logins: /'; }

echo "== GET /movies/550 alone (8 connections)"
serve WATCHME_RATE_AUTH_IP=1000000/1 WATCHME_RATE_AUTH_ACCOUNT=1000000/1
movies
echo "== GET /movies/550 while $CONNS connections hammer POST /auth/login (budgets raised: every login hashes)"
logins & LP=$!
movies
wait $LP; report_logins
kill $PID; wait $PID 2>/dev/null || true
echo "== the same with WATCHME_ARGON2_MAX_CONCURRENT=$(nproc) (a hash on every core)"
serve WATCHME_RATE_AUTH_IP=1000000/1 WATCHME_RATE_AUTH_ACCOUNT=1000000/1 WATCHME_ARGON2_MAX_CONCURRENT=$(nproc)
logins & LP=$!
movies
wait $LP; report_logins
kill $PID; wait $PID 2>/dev/null || true
echo "== the same with the default login budget (20 per 15 min per IP and per account)"
serve
logins & LP=$!
movies
wait $LP; report_logins
