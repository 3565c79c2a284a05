#!/usr/bin/env bash
# Installs the real Trakt client libraries that tests/trakt_clients.rs
# drives, unmodified, under this folder: pytrakt from PyPI in .venv
# (requirements.txt) and the npm package trakt.tv in node_modules
# (package-lock.json). Idempotent: a second run checks the stamps and
# returns at once; a first run takes about 15 s.
set -euo pipefail
cd "$(dirname "$0")"

want_py="$(cat requirements.txt)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/installed 2>/dev/null)" != "$want_py" ]; then
  echo "trakt clients: installing $want_py into tests/trakt/.venv"
  rm -rf .venv
  python3 -m venv .venv || {
    apt-get install -y python3-venv >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3-venv >/dev/null; }
    python3 -m venv .venv
  }
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want_py" >.venv/installed
fi

if ! command -v npm >/dev/null; then
  apt-get install -y nodejs npm >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nodejs npm >/dev/null; }
fi
if [ ! -f node_modules/trakt.tv/package.json ] || ! cmp -s package-lock.json node_modules/.package-lock.stamp; then
  echo "trakt clients: npm ci (trakt.tv) into tests/trakt/node_modules"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.package-lock.stamp
fi
echo "trakt clients: pytrakt $(.venv/bin/python -c 'import trakt; print(trakt.__version__)'), trakt.tv $(node -p 'require("./node_modules/trakt.tv/package.json").version')"
