#!/usr/bin/env bash
# GET /movies/{id} (memory storage, warm cache) with span export off and on,
# in one run with the same load: export goes to a local OTLP/HTTP sink that
# accepts every batch (a stand-in for a collector on the same host).
# Usage: scripts/bench-tracing.sh [duration_secs] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-32}
PORT=${BENCH_PORT:-18185}
SINK=${BENCH_SINK_PORT:-18186}
BIN=target/release/watchme

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --release --quiet
WORK=$(mktemp -d)
PID=
SINK_PID=
trap 'kill $PID $SINK_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 - "$SINK" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
SINK_PID=$!

serve() { # extra env as arguments
  env WATCHME_BIND=127.0.0.1:$PORT WATCHME_DATA_DIR=$WORK WATCHME_LOG=warn WATCHME_DATABASE_URL=memory: \
    WATCHME_RATE_LIMIT=false "$@" $BIN >/dev/null 2>&1 &
  PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/health/live; do sleep 0.02; done
  curl -sf -o /dev/null http://127.0.0.1:$PORT/movies/550
}
load() { wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/movies/550" | grep -E "Requests/sec|50%|99%"; }

echo "== span export off"
serve; load; kill $PID; wait $PID 2>/dev/null || true
echo "== span export on (every request sampled, OTLP/HTTP to a local sink)"
serve WATCHME_OTLP_ENDPOINT=http://127.0.0.1:$SINK; load; kill $PID; wait $PID 2>/dev/null || true
echo "== span export on, 10 % of traces sampled"
serve WATCHME_OTLP_ENDPOINT=http://127.0.0.1:$SINK WATCHME_TRACE_SAMPLE_RATIO=0.1; load
