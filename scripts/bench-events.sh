#!/usr/bin/env bash
# Events per second from the outbox to the analytics aggregates through
# Kafka (relay + consumer on PostgreSQL), next to the broker's raw produce
# rate with the same message size, measured in the same run
# (examples/bench_events.rs). Starts a tansu broker of its own (in-memory
# storage, port 18092) and uses the PostgreSQL of scripts/test-services.sh.
# Usage: scripts/bench-events.sh [events] [storage-engine]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh >/dev/null
cargo build --release --quiet --example bench_events
PORT=${BENCH_BROKER_PORT:-18092}
"${CARGO_HOME:-$HOME/.cargo}/bin/tansu" broker --listener-url tcp://127.0.0.1:$PORT \
  --advertised-listener-url tcp://127.0.0.1:$PORT --storage-engine "${2:-memory://tansu/}" >/dev/null 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
until (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do sleep 0.1; done
target/release/examples/bench_events "127.0.0.1:$PORT" "${BENCH_PG:-postgres://postgres@127.0.0.1:5432}" "${1:-20000}"
