#!/usr/bin/env bash
# Installs tansu, the Apache-2.0 Kafka-protocol broker the Kafka tests run
# against, into cargo's bin directory. A build already present at the pinned
# version is reused: the first build took about 20 minutes on 2 cores here, a
# second run of this script takes milliseconds.
set -euo pipefail

TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
bin="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  echo "tansu $TANSU_VERSION: already installed at $bin"
  exit 0
fi

echo "installing tansu $TANSU_VERSION (first time only, about 20 minutes)"
# Its own target directory, so it never contends with the project's build lock
# and a later `cargo clean` of the project does not force a rebuild.
CARGO_TARGET_DIR="${TANSU_BUILD_DIR:-${TMPDIR:-/tmp}/tansu-build}" \
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
"$bin" --version
