#!/usr/bin/env bash
# The soak test (docs/reliability.md): the real stack under a mixed load for
# [minutes] (10 by default; --short is about one minute, what CI runs through
# tests/soak.rs), with faults on a schedule, then a verdict from the data.
#
#   scripts/soak.sh            # 10 minutes, release build
#   scripts/soak.sh 30         # a longer run (the schedule stretches with it)
#   scripts/soak.sh --short    # about a minute
#
# Everything runs on this machine: its own PostgreSQL cluster (as the
# postgres user, so run as root), Redis, tansu, two API replicas, a relay,
# two consumers, a TMDb-shaped server and locust (the load shares the cores
# with the stack). Environment: SOAK_BINARY (a built watchme; default: build
# the release one), SOAK_USERS (default 40, 20 in --short), SOAK_THINK
# ("min,max" seconds, default 0.5,2), SOAK_MIX ("task=weight,...", see
# tests/soak/workload.py), SOAK_FAULTS (only these faults of the schedule,
# e.g. "broker,consumer"), SOAK_OUT (default target/soak/<time>). Exit
# status 0 when every check passed; the report is SOAK_OUT/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
users="${SOAK_USERS:-40}"
case "${1:-}" in
  --short) minutes=1; users="${SOAK_USERS:-20}" ;;
  "") ;;
  *) minutes="$1" ;;
esac
[ "$(id -u)" = 0 ] || { echo "soak: run as root (it starts a PostgreSQL cluster of its own as the postgres user)"; exit 1; }

scripts/test-services.sh >/dev/null  # PostgreSQL's binaries, redis-server, tansu
scripts/test-tools.sh >/dev/null     # locust, in the test tools' venv
tools="${WATCHME_TEST_TOOLS_DIR:-$HOME/.cache/watchme-test-tools}"
binary="${SOAK_BINARY:-}"
if [ -z "$binary" ]; then
  cargo build --release --quiet --bin watchme
  binary=target/release/watchme
fi
tansu="${WATCHME_TANSU:-${CARGO_HOME:-$HOME/.cargo}/bin/tansu}"
out="${SOAK_OUT:-target/soak/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
exec "$tools/venv/bin/python" tests/soak/soak.py --minutes "$minutes" --users "$users" \
  --think "${SOAK_THINK:-0.5,2}" --mix "${SOAK_MIX:-}" --faults "${SOAK_FAULTS:-}" --binary "$binary" --tansu "$tansu" --out "$out"
