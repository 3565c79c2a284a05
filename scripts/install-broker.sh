#!/usr/bin/env bash
# Installs tansu, the Apache-2.0 Kafka-protocol broker the Kafka tests run
# against, into cargo's bin directory. A build already present at the pinned
# version is reused: the first build takes about 10 minutes on 2 cores here (it is
# compiled from crates.io, as nothing else here can provide a broker), a
# second run of this script takes milliseconds.
set -euo pipefail

TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
bin="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  echo "tansu $TANSU_VERSION: already installed at $bin"
  exit 0
fi

# Its own target directory, so it never contends with the project's build lock
# and a later `cargo clean` of the project does not force a rebuild.
build_dir="${TANSU_BUILD_DIR:-${TMPDIR:-/tmp}/tansu-build}"
mkdir -p "$build_dir"
log="$build_dir/install.log"
echo "installing tansu $TANSU_VERSION, the Kafka-protocol broker of the tests: compiled once from"
echo "crates.io, about 10 minutes on 2 cores (up to 20 on a slower machine); later runs reuse it (cargo's output: $log)"
start=$(date +%s)
(
  while sleep 60; do
    echo "  still building tansu: $(( ($(date +%s) - start) / 60 )) min so far, about 10 to 20 in all"
  done
) &
heartbeat=$!
trap 'kill $heartbeat 2>/dev/null || true' EXIT
if ! CARGO_TARGET_DIR="$build_dir" cargo install tansu --version "$TANSU_VERSION" --locked \
  --features dynostore,libsql >"$log" 2>&1; then
  tail -n 30 "$log"
  echo "building tansu failed; the whole log is $log"
  exit 1
fi
echo "tansu $TANSU_VERSION built in $(( ($(date +%s) - start) / 60 )) min"
"$bin" --version
