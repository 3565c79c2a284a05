#!/usr/bin/env bash
# Events per second from the outbox to the analytics aggregates through
# Kafka (relay + consumer on PostgreSQL), next to the broker's raw produce
# rate with the same message size, measured in the same run
# (examples/bench_events.rs). Uses the broker and PostgreSQL that
# scripts/test-services.sh starts.
# Usage: scripts/bench-events.sh [events]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh >/dev/null
cargo build --release --quiet --example bench_events
target/release/examples/bench_events "${BENCH_BROKERS:-127.0.0.1:9092}" "${BENCH_PG:-postgres://postgres@127.0.0.1:5432}" "${1:-20000}"
