#!/usr/bin/env bash
# The whole test suite, set-up included: the README's test command, and what
# CI (.ci/run) calls. It makes sure the services the tests talk to are
# installed and running (PostgreSQL, Redis, a Kafka-protocol broker: see
# scripts/test-services.sh), installs the Python tools of the OpenAPI tests
# (scripts/test-tools.sh), then runs `cargo test` over the whole workspace,
# passing on any arguments (`scripts/test.sh -p watchme-core`). Every step
# is idempotent and takes seconds when its part is already there; the one
# slow first step is building the broker (about 10 minutes on 2 cores, up to 20).
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  local name="$1"
  shift
  local t0=$SECONDS
  echo "== $name"
  "$@"
  echo "== $name: done in $((SECONDS - t0)) s"
}

step "services: PostgreSQL, Redis, Kafka-protocol broker" scripts/test-services.sh
step "test tools: schemathesis, openapi-python-client" scripts/test-tools.sh
echo "== cargo test $*"
exec cargo test "$@"
